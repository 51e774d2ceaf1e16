"""``make bench BENCH_ARGS="--suite sales"``: the commercial side (issue 9).

Rows: a one-page invoice of 20 lines rendered to PDF (median and p95 of warm renders), a
30-page document, and 1,000 validations in a row whose numbers must come out gapless. Each
database runs in its own child process on a fresh database (var/bench-sales/sales.sqlite3, or
``suivi_bench_sales`` on BENCH_POSTGRES).
"""

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "var" / "bench-sales"
PG_NAME = "suivi_bench_sales"


def _base() -> str:
    return os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")


def sales_env(database: str) -> dict[str, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "suivi.settings", "SUIVI_VAR_DIR": str(FOLDER)}
    if database == "sqlite":
        env.pop("DATABASE_URL", None)
        env["SUIVI_SQLITE_PATH"] = str(FOLDER / "sales.sqlite3")
    else:
        env["DATABASE_URL"] = f"{_base()}/{PG_NAME}"
    return env


def fresh_database(database: str, *, create: bool = True) -> bool:
    if database == "sqlite":
        FOLDER.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            (FOLDER / f"sales.sqlite3{suffix}").unlink(missing_ok=True)
        return True
    import psycopg

    try:
        with psycopg.connect(f"{_base()}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_NAME}")
            if create:
                conn.execute(f"CREATE DATABASE {PG_NAME}")
    except psycopg.OperationalError as e:
        print(f"PostgreSQL unreachable, skipped: {e}", file=sys.stderr)
        return False
    return True


def measure_sales(database: str, rounds: int) -> dict:
    """Runs inside the child process, with Django set up for ``database``."""
    import io

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from pypdf import PdfReader

    from suivi.accounts.models import Role
    from suivi.accounts.services import create_user
    from suivi.parties import services as party_services
    from suivi.sales import services
    from suivi.sales.demo import load_sales
    from suivi.sales.models import Document, Journal, Layout, VatRate

    call_command("migrate", verbosity=0)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    load_sales()
    seller = create_user(acting_user=None, username="seller", password="x" * 20, role=Role.MANAGER, language="en")
    seller.groups.add(Group.objects.get_or_create(name="Sales")[0])
    party = party_services.create_party(acting_user=seller, values={"name": "Bench SA", "city": "Namur"})
    journal, rate = Journal.objects.get(code="VF"), VatRate.objects.get(code="21")
    layout = Layout.objects.get(journal=journal)

    def invoice(lines: int) -> Document:
        rows = [
            {"description": f"Service {n}", "quantity": "2", "unit_price": "12.345", "vat_rate": rate}
            for n in range(lines)
        ]
        document = services.create_document(acting_user=seller, values={"journal": journal, "party": party}, lines=rows)
        return services.validate_document(acting_user=seller, document=document, expected_version=1)

    one_page = invoice(20)
    services.document_pdf(one_page, layout)  # warm: fonts, caches
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        pdf = services.document_pdf(one_page, layout)
        times.append(time.perf_counter() - started)
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1

    long = invoice(1000)
    started = time.perf_counter()
    pdf = services.document_pdf(long, layout)
    long_s = time.perf_counter() - started
    long_pages = len(PdfReader(io.BytesIO(pdf)).pages)

    drafts = [
        services.create_document(
            acting_user=seller,
            values={"journal": journal, "party": party},
            lines=[{"description": "x", "unit_price": "1", "vat_rate": rate}],
        )
        for _ in range(1000)
    ]
    started = time.perf_counter()
    for document in drafts:
        services.validate_document(acting_user=seller, document=document, expected_version=1)
    validations_s = time.perf_counter() - started
    sequences = list(Document.objects.filter(journal=journal).order_by("sequence").values_list("sequence", flat=True))
    gapless = sequences == list(range(1, len(sequences) + 1)) and len(sequences) == 1002
    times.sort()
    return {
        "database": database,
        "pdf_20_lines_p50_ms": round(statistics.median(times) * 1000),
        "pdf_20_lines_p95_ms": round(times[int(len(times) * 0.95) - 1] * 1000),
        "pdf_long_pages": long_pages,
        "pdf_long_s": round(long_s, 2),
        "validations": 1000,
        "validations_s": round(validations_s, 2),
        "validations_gapless": gapless,
    }


def run_sales(databases: list[str], rounds: int) -> list[dict]:
    results = []
    for database in databases:
        if not fresh_database(database):
            continue
        out = subprocess.run(
            [sys.executable, "-m", "tests.bench.run", "--sales-child", database, "--rounds", str(rounds)],
            env=sales_env(database),
            cwd=ROOT,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
        if database == "postgres":
            fresh_database(database, create=False)
    print(
        f"\n{'sales':9} {'PDF 20 lines p50 ms':>20} {'p95 ms':>7} {'long doc pages':>15} {'long doc s':>11} "
        f"{'1,000 validations s':>20} {'gapless':>8}"
    )
    for r in results:
        print(
            f"{r['database']:9} {r['pdf_20_lines_p50_ms']:20} {r['pdf_20_lines_p95_ms']:7} {r['pdf_long_pages']:15} "
            f"{r['pdf_long_s']:11} {r['validations_s']:20} {r['validations_gapless']!s:>8}"
        )
    return results
