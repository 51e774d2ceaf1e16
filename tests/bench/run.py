"""``make bench``: response times of the hot pages on the large demo dataset.

Runs each database in its own process: SQLite (var/bench.sqlite3) and PostgreSQL (database
``suivi_bench`` on BENCH_POSTGRES, default postgres://postgres@127.0.0.1:5432). The dataset is
made once by ``suivi demo --size large`` and kept between runs. Prints a table (operation,
database, p50, p95, queries) and writes it as JSON under var/bench/.

    make bench                          # both databases
    make bench BENCH_ARGS="--only sqlite --rounds 50"
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
    pages = Party.objects.filter(archived=False).count() // 50
    operations = {
        "party type-ahead": lambda: f"/parties/typeahead/?q={rng.choice(words)}",
        "party list, page 1, any sort": lambda: f"/parties/?sort={rng.choice(sorts)}",
        "party list, deep page, any sort": lambda: f"/parties/?sort={rng.choice(sorts)}&page={rng.randrange(2, pages)}",
        "party list, search + filter": lambda: f"/parties/?q={rng.choice(words)}&kind=customer",
        "action list, first page": lambda: "/crm/actions/",
        "action list, page 1,000 (keyset)": lambda: f"/crm/actions/?after={page_1000}",
        "action list, one follower": lambda: f"/crm/actions/?followed_by={follower}",
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--child", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.rounds)))
        return
    results = []
    for database in [args.only] if args.only else ["sqlite", "postgres"]:
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
    path.write_text(json.dumps(results, indent=2))
    print(f"\nwritten to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
