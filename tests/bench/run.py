"""``make bench``: response times of the hot pages on the large demo dataset.

Runs each database in its own process: SQLite (var/bench.sqlite3) and PostgreSQL (database
``suivi_bench`` on BENCH_POSTGRES, default postgres://postgres@127.0.0.1:5432). The dataset is
made once by ``suivi demo --size large`` and kept between runs. Prints a table (operation,
database, p50, p95, queries) and writes it as JSON under var/bench/.

    make bench                          # both databases, pages and imports
    make bench BENCH_ARGS="--only sqlite --rounds 50"
    make bench BENCH_ARGS="--suite imports --import-rows 100000"   # imports only (CSV and XLSX)
    make bench BENCH_ARGS="--suite sales --rounds 20"   # documents: PDF rendering, validations (tests/bench/sales.py)
    make bench BENCH_ARGS="--suite mail"   # mailbox reads against Dovecot, filing suggestions (tests/bench/mail.py)
    make bench BENCH_ARGS="--suite mailing"   # e-mailing: mails/s, pace, memory (tests/bench/mailing.py)
    make bench BENCH_ARGS="--suite agenda"    # agenda week / month views, ICS feed, free slots (tests/bench/agenda.py)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "var" / "bench"


def database_env(name: str) -> dict[str, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "suivi.settings", "ALLOWED_HOSTS": "testserver"}
    if name == "sqlite":
        env.pop("DATABASE_URL", None)
        env["SUIVI_SQLITE_PATH"] = str(ROOT / "var" / "bench.sqlite3")
    else:
        base = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
        env["DATABASE_URL"] = f"{base}/suivi_bench"
    return env


def ensure_postgres_database() -> bool:
    base = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    import psycopg

    try:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname='suivi_bench'").fetchone():
                conn.execute("CREATE DATABASE suivi_bench")
    except psycopg.OperationalError as e:
        print(f"PostgreSQL unreachable, skipped: {e}", file=sys.stderr)
        return False
    return True


def measure(database: str, rounds: int) -> list[dict]:
    """Runs inside the child process, with Django set up for ``database``."""
    import django

    django.setup()
    import random

    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from suivi.accounts.models import User
    from suivi.activities.models import Action
    from suivi.activities.queries import encode_cursor
    from suivi.core.models import CompanySettings
    from suivi.parties.models import Party

    call_command("migrate", verbosity=0)
    if Party.objects.count() < 200_000 or Action.objects.count() < 1_000_000:
        started = time.monotonic()
        call_command("demo", size="large")
        print(f"[{database}] large dataset made in {time.monotonic() - started:.0f} s", file=sys.stderr)
    # Fresh statistics, and on PostgreSQL a visibility map, as autovacuum keeps them in
    # production (index-only scans need it after a bulk load).
    connection.cursor().execute("ANALYZE" if connection.vendor == "sqlite" else "VACUUM ANALYZE")
    CompanySettings.objects.filter(pk=1).update(crm_enabled=True, opportunities_enabled=True)
    client = Client()
    client.force_login(User.objects.get(username="admin"))
    page_1000 = encode_cursor(Action.objects.order_by("-when", "-id")[50 * 999 - 1])
    party_ids = list(Party.objects.values_list("id", flat=True)[::1000])
    follower = User.objects.get(username="luc").pk
    rng = random.Random(3)
    words = [
        "dup",
        "jans",
        "garage",
        "brux",
        "gent",
        "boul",
        "peeters",
        "lam",
        "b",
        "info1",
        "be04",
        "liege",
        "mar",
        "atelier simon",
        "c0012",
        "transports w",
    ]
    sorts = ["name", "-name", "code", "-code", "city", "-city", "created", "-created"]
    me = User.objects.get(username="admin").pk
    action_sorts = ["subject", "-subject", "status", "-status", "when"]
    action_words = ["relance", "namur", "dupont", "visite chantier", "garage", "devis", "peeters", "zzzz"]
    pages = Party.objects.filter(archived=False).count() // 50
    operations = {
        "party type-ahead": lambda: f"/parties/typeahead/?q={rng.choice(words)}",
        "party list, page 1, any sort": lambda: f"/parties/?sort={rng.choice(sorts)}",
        "party list, deep page, any sort": lambda: f"/parties/?sort={rng.choice(sorts)}&page={rng.randrange(2, pages)}",
        "party list, search + filter": lambda: f"/parties/?q={rng.choice(words)}&kind=customer",
        "home page": lambda: "/",
        "action list, first page, counted": lambda: "/crm/actions/?sort=-when",
        "action list, page 1,000 (keyset)": lambda: f"/crm/actions/?sort=-when&after={page_1000}",
        "action list, one follower": lambda: f"/crm/actions/?sort=-when&followed_by={follower}",
        "action list, my open actions (default)": lambda: f"/crm/actions/?followed_by={me}&status=todo&sort=when",
        "action list, sorted by a column": lambda: f"/crm/actions/?sort={rng.choice(action_sorts)}",
        "action search, plain words": lambda: f"/crm/actions/?sort=-when&query={rng.choice(action_words)}",
        "party page with its timeline": lambda: f"/parties/{rng.choice(party_ids)}/",
        "pipeline board (5,000 open)": lambda: "/crm/pipeline/",
    }
    results = []
    for name, url_of in operations.items():
        timings, queries = [], 0
        for i in range(rounds + 3):
            url = url_of()
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(url)
                elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (url, response.status_code)
            if i >= 3:  # warm-up rounds are not counted
                timings.append(elapsed)
                queries = max(queries, len(captured))
        timings.sort()
        results.append(
            {
                "operation": name,
                "database": database,
                "rounds": rounds,
                "p50_ms": round(statistics.median(timings), 1),
                "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 1),
                "queries": queries,
            }
        )
    return results


# --- import of parties ---------------------------------------------------------------------------
# Each (database, format) runs in a fresh child process on its own empty database, so that its
# peak resident memory (ru_maxrss) is the import's own: reading, dry run and import, as the worker
# runs them.

IMPORT_HEADERS = ["Nom", "TVA", "Email", "Téléphone", "Rue", "Code postal", "Ville", "Type", "Prénom", "Contact"]


def import_rows(count: int):
    kinds = ["client", "fournisseur", "prospect", "client, fournisseur"]
    for i in range(count):
        body = 2_000_000 + i * 7
        vat = f"BE0{body:07d}{97 - (body % 97):02d}"
        yield [
            f"Société {i} SRL",
            vat,
            f"info{i}@societe{i}.be",
            f"+32 2 {200 + i % 700} {10 + i % 89:02d} {10 + i % 83:02d}",
            f"Rue de la Station {i % 300}",
            f"{1000 + i % 8000}",
            ["Namur", "Liège", "Gent", "Bruxelles"][i % 4],
            kinds[i % 4],
            "Marie",
            f"Dupont{i}",
        ]


def write_import_files(count: int) -> dict[str, Path]:
    import csv

    OUT.mkdir(parents=True, exist_ok=True)
    paths = {"csv": OUT / f"import-{count}.csv", "xlsx": OUT / f"import-{count}.xlsx"}
    if not paths["csv"].exists():
        with paths["csv"].open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, delimiter=";")
            writer.writerow(IMPORT_HEADERS)
            writer.writerows(import_rows(count))
    if not paths["xlsx"].exists():
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("Parties")
        sheet.append(IMPORT_HEADERS)
        for row in import_rows(count):
            sheet.append(row)
        workbook.save(paths["xlsx"])
    return paths


def import_env(database: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "suivi.settings",
        "SUIVI_VAR_DIR": str(ROOT / "var" / "bench-import"),
    }
    env["SUIVI_IMPORT_MAX_BYTES"] = str(64 * 1024 * 1024)
    if database == "sqlite":
        env.pop("DATABASE_URL", None)
        env["SUIVI_SQLITE_PATH"] = str(ROOT / "var" / "bench-import" / "import.sqlite3")
    else:
        base = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
        env["DATABASE_URL"] = f"{base}/suivi_bench_import"
    return env


def fresh_import_database(database: str) -> bool:
    if database == "sqlite":
        folder = ROOT / "var" / "bench-import"
        folder.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            (folder / f"import.sqlite3{suffix}").unlink(missing_ok=True)
        return True
    base = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    import psycopg

    try:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS suivi_bench_import")
            conn.execute("CREATE DATABASE suivi_bench_import")
    except psycopg.OperationalError as e:
        print(f"PostgreSQL unreachable, skipped: {e}", file=sys.stderr)
        return False
    return True


def measure_import(database: str, path: str) -> dict:
    """Runs inside the child process: the three steps of the worker on ``path``."""
    import resource

    import django

    django.setup()
    from django.conf import settings
    from django.core.files import File
    from django.core.management import call_command

    from suivi.accounts.models import Role
    from suivi.accounts.services import create_user
    from suivi.parties import importing
    from suivi.parties.models import Party, PartyImport

    call_command("migrate", verbosity=0)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # Argon2 takes 100 MB
    manager = create_user(acting_user=None, username="importer", password="x" * 20, role=Role.MANAGER, language="en")
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    source = Path(path)
    with source.open("rb") as f:
        party_import = importing.create_import(acting_user=manager, upload=File(f, name=source.name), encoding="utf-8")
    timings = {}
    started = time.perf_counter()
    importing.read_uploaded(party_import.pk)
    party_import.refresh_from_db()
    timings["read"] = time.perf_counter() - started
    importing.start_check(acting_user=manager, party_import=party_import, mapping=party_import.mapping)
    started = time.perf_counter()
    importing.check_import(party_import.pk, "BE")
    timings["dry run"] = time.perf_counter() - started
    party_import.refresh_from_db()
    assert party_import.status == "checked", (party_import.status, party_import.error)
    rows = party_import.row_count
    assert party_import.report["accepted"] == rows, party_import.report["rejected"][:3]
    importing.start_apply(acting_user=manager, party_import=party_import)
    started = time.perf_counter()
    report = importing.apply_import(party_import.pk, "BE")
    timings["import"] = time.perf_counter() - started
    assert report is not None and report.created == rows == Party.objects.count(), report
    assert PartyImport.objects.get().status == "applied"
    total = sum(timings.values())
    return {
        "database": database,
        "format": source.suffix[1:],
        "rows": rows,
        **{f"{k}_s": round(v, 1) for k, v in timings.items()},
        "total_s": round(total, 1),
        "rows_per_s": round(rows / total),
        "import_rows_per_s": round(rows / timings["import"]),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "baseline_rss_mb": round(baseline / 1024),
    }


def run_imports(databases: list[str], count: int) -> list[dict]:
    paths = write_import_files(count)
    results = []
    for database in databases:
        for fmt in ("csv", "xlsx"):
            if not fresh_import_database(database):
                break
            out = subprocess.run(
                [sys.executable, "-m", "tests.bench.run", "--import-child", database, "--file", str(paths[fmt])],
                env=import_env(database),
                cwd=ROOT,
                check=True,
                stdout=subprocess.PIPE,
                text=True,
            ).stdout
            results.append(json.loads(out.strip().splitlines()[-1]))
        if database == "postgres":
            fresh_import_database(database)  # leaves an empty database, dropped below
            import psycopg

            base = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
            with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
                conn.execute("DROP DATABASE IF EXISTS suivi_bench_import")
    print(
        f"\n{'import':14} {'database':9} {'rows':>7} {'read s':>7} {'dry s':>7} {'apply s':>8} {'total s':>8} "
        f"{'rows/s':>7} {'peak MB':>8}"
    )
    for r in results:
        print(
            f"{r['format']:14} {r['database']:9} {r['rows']:7} {r['read_s']:7} {r['dry run_s']:7} {r['import_s']:8} "
            f"{r['total_s']:8} {r['rows_per_s']:7} {r['peak_rss_mb']:8}"
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--child", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    parser.add_argument("--import-child", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--import-rows", type=int, default=100_000, help="rows of the import benchmark")
    parser.add_argument(
        "--suite", choices=["all", "pages", "imports", "sales", "mail", "mailing", "agenda"], default="all"
    )
    parser.add_argument("--sales-child", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    parser.add_argument("--mail-child", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    parser.add_argument("--mailing-child", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    parser.add_argument("--agenda-child", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.rounds)))
        return
    if args.import_child:
        print(json.dumps(measure_import(args.import_child, args.file)))
        return
    if args.sales_child:
        from .sales import measure_sales

        print(json.dumps(measure_sales(args.sales_child, args.rounds)))
        return
    if args.mail_child:
        from .mail import measure_mail

        print(json.dumps(measure_mail(args.mail_child)))
        return
    if args.agenda_child:
        from .agenda import measure_agenda

        print(json.dumps(measure_agenda(args.agenda_child, args.rounds)))
        return
    if args.mailing_child:
        from .mailing import measure_mailing

        print(json.dumps(measure_mailing(args.mailing_child)))
        return
    databases = [args.only] if args.only else ["sqlite", "postgres"]
    if args.suite in ("all", "sales"):
        from .sales import run_sales

        sales = run_sales(databases, min(args.rounds, 30))
        if args.suite == "sales":
            OUT.mkdir(parents=True, exist_ok=True)
            path = OUT / f"bench-sales-{time.strftime('%Y%m%d-%H%M%S')}.json"
            path.write_text(json.dumps(sales, indent=2))
            print(f"\nwritten to {path.relative_to(ROOT)}")
            return
    mail = []
    if args.suite in ("all", "mail"):
        from .mail import run_mail

        mail = run_mail(databases)
        if args.suite == "mail":
            OUT.mkdir(parents=True, exist_ok=True)
            path = OUT / f"bench-mail-{time.strftime('%Y%m%d-%H%M%S')}.json"
            path.write_text(json.dumps(mail, indent=2))
            print(f"\nwritten to {path.relative_to(ROOT)}")
            return
    mailing = []
    if args.suite in ("all", "mailing"):
        from .mailing import run_mailing

        mailing = run_mailing(databases)
        if args.suite == "mailing":
            OUT.mkdir(parents=True, exist_ok=True)
            path = OUT / f"bench-mailing-{time.strftime('%Y%m%d-%H%M%S')}.json"
            path.write_text(json.dumps(mailing, indent=2))
            print(f"\nwritten to {path.relative_to(ROOT)}")
            return
    agenda = []
    if args.suite in ("all", "agenda"):
        from .agenda import run_agenda

        agenda = run_agenda(databases, min(args.rounds, 50))
        if args.suite == "agenda":
            OUT.mkdir(parents=True, exist_ok=True)
            path = OUT / f"bench-agenda-{time.strftime('%Y%m%d-%H%M%S')}.json"
            path.write_text(json.dumps(agenda, indent=2))
            print(f"\nwritten to {path.relative_to(ROOT)}")
            return
    imports = run_imports(databases, args.import_rows) if args.suite in ("all", "imports") else []
    if args.suite == "imports":
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / f"bench-imports-{time.strftime('%Y%m%d-%H%M%S')}.json"
        path.write_text(json.dumps(imports, indent=2))
        print(f"\nwritten to {path.relative_to(ROOT)}")
        return
    results = []
    for database in databases:
        if database == "postgres" and not ensure_postgres_database():
            continue
        out = subprocess.run(
            [sys.executable, "-m", "tests.bench.run", "--child", database, "--rounds", str(args.rounds)],
            env=database_env(database),
            cwd=ROOT,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout
        results += json.loads(out.strip().splitlines()[-1])
    print(f"\n{'operation':38} {'database':9} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    for r in results:
        print(f"{r['operation']:38} {r['database']:9} {r['p50_ms']:8} {r['p95_ms']:8} {r['queries']:8}")
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(
        json.dumps({"pages": results, "imports": imports, "mail": mail, "mailing": mailing, "agenda": agenda}, indent=2)
    )
    print(f"\nwritten to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
