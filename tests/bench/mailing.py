"""``make bench BENCH_ARGS="--suite mailing"``: the e-mailing engine (issue 11).

Rows, with the targets of issue 11:

- **throughput** with delay 0 to an SMTP server on loopback (aiosmtpd in its own process, as a
  real server would be): mails per second from the first mail to the last (target ≥ 50 on
  SQLite, ≥ 100 on PostgreSQL), and the time to make the recipients' rows;
- **pace**: delay 0.5 s over 200 mails: the share of the gaps between two mails, as the server
  saw them, within [0.5, 0.6] s (target 99 %), and the total against 100 s (200 turns of 0.5 s;
  199 gaps make 99.5 s) (target within 1 %);
- **memory**: the recipients' rows made and then read by the worker's keyset for 10,000 and for
  100,000 recipients: peak of Python allocations (tracemalloc) and the process's peak resident
  size: flat means the same peak for both.

Each database runs in its own child process on a fresh database (var/bench-mailing/mailing.sqlite3,
or ``suivi_bench_mailing`` on BENCH_POSTGRES).
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "var" / "bench-mailing"
PG_NAME = "suivi_bench_mailing"

THROUGHPUT = 3_000
PACED = 200
PACE = 0.5
MEMORY = (10_000, 100_000)

# An SMTP server in its own process: prints "monotonic-time address" for each message taken, when
# its standard input closes.
SERVER = r"""
import sys, time
from aiosmtpd.controller import Controller
seen = []
class Handler:
    async def handle_DATA(self, server, session, envelope):
        seen.append((time.monotonic(), envelope.rcpt_tos[0]))
        return "250 OK"
controller = Controller(Handler(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
sys.stdout.write("".join(f"{t} {a}\n" for t, a in seen))
"""


def _base() -> str:
    return os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")


def mailing_env(database: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "suivi.settings",
        "SUIVI_VAR_DIR": str(FOLDER),
        "SUIVI_ALLOWED_PRIVATE_HOSTS": "127.0.0.1",
    }
    if database == "sqlite":
        env.pop("DATABASE_URL", None)
        env["SUIVI_SQLITE_PATH"] = str(FOLDER / "mailing.sqlite3")
    else:
        env["DATABASE_URL"] = f"{_base()}/{PG_NAME}"
    return env


def fresh_database(database: str, *, create: bool = True) -> bool:
    FOLDER.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(FOLDER / "media", ignore_errors=True)
    if database == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            (FOLDER / f"mailing.sqlite3{suffix}").unlink(missing_ok=True)
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


class Server:
    def __init__(self):
        from tests.mailservers import free_port

        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(self.port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout.readline().strip() == "ready"

    def arrivals(self) -> list[tuple[float, str]]:
        out, _err = self.process.communicate(timeout=60)
        return [(float(t), a) for t, a in (line.split() for line in out.splitlines())]


def _people(count: int, prefix: str, city: str) -> None:
    from suivi.parties.models import Affiliation, Contact, Party

    for start in range(0, count, 5000):
        size = min(5000, count - start)
        parties = Party.objects.bulk_create(
            Party(code=f"{prefix}{start + i}", name=f"Garage {prefix}{start + i}", city=city) for i in range(size)
        )
        contacts = Contact.objects.bulk_create(
            Contact(first_name="Marie", last_name=f"{prefix}{start + i}", email=f"{prefix}{start + i}@example.test")
            for i in range(size)
        )
        Affiliation.objects.bulk_create(Affiliation(party=p, contact=c) for p, c in zip(parties, contacts, strict=True))


def _mailing(user, city: str):
    from suivi.mailing import mailing_services as services

    mailing = services.create_mailing(
        acting_user=user,
        values={
            "subject": "News for {{ party.name }}",
            "body": "<p>Hello {{ contact.first_name }},</p><p>Our spring news.</p>"
            '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
            "expression": f'party.city = "{city}"',
        },
    )
    return services.start(acting_user=user, mailing=mailing, expected_version=mailing.version)


def measure_mailing(database: str) -> dict:
    """Runs inside the child process, with Django set up for ``database``."""
    import resource
    import tracemalloc
    from decimal import Decimal

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from suivi.accounts.models import Role
    from suivi.accounts.services import create_user
    from suivi.core.models import CompanySettings
    from suivi.mailing import mailing_sender
    from suivi.mailing.mailings import Mailing, MailingRecipient, RecipientStatus
    from suivi.mailing.models import OutgoingServer, Security

    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    CompanySettings.objects.get_or_create(pk=1)
    olive = create_user(
        acting_user=None, username="olive", password="x" * 20, role=Role.MANAGER, language="fr", email="olive@acme.test"
    )
    result: dict = {"database": database}

    def serve() -> Server:
        server = Server()
        OutgoingServer.objects.update_or_create(
            pk=1,
            defaults={
                "host": "127.0.0.1",
                "port": server.port,
                "security": Security.NONE,
                "from_address": "crm@acme.test",
            },
        )
        return server

    # throughput, delay 0
    CompanySettings.objects.filter(pk=1).update(mailing_delay_seconds=Decimal("0"))
    _people(THROUGHPUT, "t", "Throughput")
    connection.cursor().execute("ANALYZE")
    mailing = _mailing(olive, "Throughput")
    server = serve()
    started = time.perf_counter()
    worker = mailing_sender.Worker(mailing.pk, mailing_sender.acquire(mailing.pk), None, None)
    worker.prepare(worker.mailing)
    prepared_s = time.perf_counter() - started
    mailing_sender.release(mailing.pk, worker.token)
    started = time.perf_counter()
    assert mailing_sender.run(mailing.pk) == mailing_sender.DONE
    sending_s = time.perf_counter() - started
    arrivals = server.arrivals()
    assert len(arrivals) == THROUGHPUT == len({a for _t, a in arrivals}), len(arrivals)
    span = arrivals[-1][0] - arrivals[0][0]
    result |= {
        "throughput_mails": THROUGHPUT,
        "prepare_rows_per_s": round(THROUGHPUT / prepared_s),
        "mails_per_s": round((THROUGHPUT - 1) / span),
        "mails_per_s_with_start": round(THROUGHPUT / sending_s),
    }
    print(f"[{database}] throughput: {result['mails_per_s']} mails/s", file=sys.stderr)

    # pace, delay 0.5 s
    CompanySettings.objects.filter(pk=1).update(mailing_delay_seconds=Decimal(str(PACE)))
    _people(PACED, "p", "Paced")
    mailing = _mailing(olive, "Paced")
    server = serve()
    assert mailing_sender.run(mailing.pk) == mailing_sender.DONE
    times = [t for t, _a in server.arrivals()]
    assert len(times) == PACED
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    total = times[-1] - times[0]
    result |= {
        "paced_mails": PACED,
        "gaps_in_window_pct": round(100 * sum(PACE <= g <= PACE + 0.1 for g in gaps) / len(gaps), 1),
        "gap_min_s": round(min(gaps), 4),
        "gap_median_s": round(statistics.median(gaps), 4),
        "gap_max_s": round(max(gaps), 4),
        "paced_total_s": round(total, 2),
        "total_vs_99_5_pct": round(100 * (total - 99.5) / 99.5, 2),
        "total_plus_one_turn_vs_100_pct": round(100 * (total + PACE - 100) / 100, 2),
    }
    print(f"[{database}] pace: {result['gaps_in_window_pct']} % of gaps in window", file=sys.stderr)

    # memory: the rows made and read by keyset, for 10,000 then 100,000 recipients
    for count in MEMORY:
        city = f"Memory{count}"
        _people(count, f"m{count}-", city)
        connection.cursor().execute("ANALYZE")
        mailing = _mailing(olive, city)
        token = mailing_sender.acquire(mailing.pk)
        worker = mailing_sender.Worker(mailing.pk, token, None, None)
        tracemalloc.start()
        started = time.perf_counter()
        worker.prepare(worker.mailing)
        made_s = time.perf_counter() - started
        read, cursor = 0, 0
        while batch := worker._batch(cursor):
            read += len(batch)
            cursor = batch[-1].pk
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        mailing_sender.release(mailing.pk, token)
        assert read == count == MailingRecipient.objects.filter(mailing=mailing, status=RecipientStatus.PENDING).count()
        result[f"memory_{count}_peak_mb"] = round(peak / 1024 / 1024, 1)
        result[f"memory_{count}_rows_per_s"] = round(count / made_s)
        Mailing.objects.filter(pk=mailing.pk).delete()
        print(f"[{database}] {count:,} recipients: peak {result[f'memory_{count}_peak_mb']} MB", file=sys.stderr)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return result


def run_mailing(databases: list[str]) -> list[dict]:
    results = []
    for database in databases:
        if not fresh_database(database):
            continue
        started = time.monotonic()
        out = subprocess.run(
            [sys.executable, "-m", "tests.bench.run", "--mailing-child", database],
            env=mailing_env(database),
            cwd=ROOT,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        result["child_s"] = round(time.monotonic() - started)
        results.append(result)
        fresh_database(database, create=False)
    print(
        f"\n{'e-mailing':9} {'mails/s':>8} {'rows/s':>7} {'gaps ok %':>9} {'gap min':>8} {'gap max':>8} "
        f"{'total s':>8} {'vs 99.5':>8} {'10k MB':>7} {'100k MB':>8} {'RSS MB':>7} {'suite s':>8}"
    )
    for r in results:
        print(
            f"{r['database']:9} {r['mails_per_s']:8} {r['prepare_rows_per_s']:7} {r['gaps_in_window_pct']:9} "
            f"{r['gap_min_s']:8} {r['gap_max_s']:8} {r['paced_total_s']:8} {r['total_vs_99_5_pct']:7}% "
            f"{r['memory_10000_peak_mb']:7} {r['memory_100000_peak_mb']:8} {r['peak_rss_mb']:7} {r['child_s']:8}"
        )
    return results
