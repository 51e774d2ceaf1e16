"""``make load``: Suivi served over HTTP, driven by Locust with 50 office users for a few minutes.

    make load LOAD_ARGS="--database sqlite"                    # 1 web process, 1 worker
    make load LOAD_ARGS="--database postgres --web 2 --workers 2"   # Huey on Redis

Uses the large bench dataset (``make bench`` makes it: var/bench.sqlite3, or the PostgreSQL
database ``suivi_bench``). Starts ``suivi serve`` (gunicorn) and ``suivi worker`` on loopback,
makes a session for each of the first demo users, runs Locust headless, and prints throughput,
p50 / p95 / p99 and errors per request kind; the table is also written as JSON under var/bench/.
"""

import argparse
import csv
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "var" / "bench"
BIN = Path(sys.executable).parent


def environment(database: str) -> dict[str, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "suivi.settings", "ALLOWED_HOSTS": "127.0.0.1,localhost"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    if database == "sqlite":
        env["SUIVI_SQLITE_PATH"] = str(ROOT / "var" / "bench.sqlite3")
    else:
        base = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
        env["DATABASE_URL"] = f"{base}/suivi_bench"
        env["REDIS_URL"] = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/5")
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(env: dict[str, str], users: int, folder: Path) -> None:
    """Sessions for the first ``users`` demo users, and ids the load picks from."""
    script = f"""
import json, random
import django
django.setup()
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret
from suivi.accounts.models import User
from suivi.activities.models import ActionType, Folder, Stage
from suivi.parties.models import Party
from suivi.core.models import CompanySettings
CompanySettings.objects.filter(pk=1).update(crm_enabled=True, opportunities_enabled=True)
sessions = []
for user in User.objects.filter(is_active=True).order_by("id")[:{users}]:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    secret = _get_new_csrf_string()
    sessions.append({{"session": store.session_key, "csrf": secret, "user": user.pk}})
rng = random.Random(5)
ids = list(Party.objects.filter(archived=False).values_list("id", flat=True)[:200000:400])
fixture = {{
    "parties": ids,
    "party_pages": Party.objects.filter(archived=False).count() // 50,
    "opportunities": {{}},
    "stages": list(Stage.objects.values_list("id", flat=True)),
    "action_type": ActionType.objects.filter(active=True).first().pk,
}}
for pk, follower in Folder.objects.filter(is_opportunity=True, status="open").values_list("id", "followed_by_id"):
    fixture["opportunities"].setdefault(str(follower), []).append(pk)
open({str(folder / "sessions.json")!r}, "w").write(json.dumps(sessions))
open({str(folder / "fixture.json")!r}, "w").write(json.dumps(fixture))
"""
    subprocess.run([sys.executable, "-c", script], env=env, check=True, cwd=ROOT)


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"Suivi did not answer on {url}")


def summary(stats_csv: Path, seconds: float) -> list[dict]:
    rows = []
    with stats_csv.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            rows.append(
                {
                    "request": row["Name"],
                    "count": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "per_second": round(int(row["Request Count"]) / seconds, 1),
                    "p50_ms": float(row["50%"] or 0),
                    "p95_ms": float(row["95%"] or 0),
                    "p99_ms": float(row["99%"] or 0),
                }
            )
    return rows


def uptime() -> str:
    """The machine's load, to read the figures against."""
    return "load average " + " ".join(open("/proc/loadavg").read().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--web", type=int, default=1, help="web processes (gunicorn workers)")
    parser.add_argument("--workers", type=int, default=1, help="background worker processes")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--think", default="1,3", help="seconds between a user's requests, min,max")
    args = parser.parse_args()
    env = environment(args.database)
    label = f"{args.database}-{args.web}web-{args.workers}worker-think{args.think.replace(',', '-')}"
    folder = OUT / f"load-{label}-{time.strftime('%Y%m%d-%H%M%S')}"
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(BIN / "suivi"), "migrate", "-v0"], env=env, check=True, cwd=ROOT)
    prepare(env, args.users, folder)
    port = free_port()
    logs = (folder / "serve.log").open("w")
    processes = [
        subprocess.Popen(
            [str(BIN / "suivi"), "serve", "--bind", f"127.0.0.1:{port}", "--workers", str(args.web)],
            env=env,
            cwd=ROOT,
            stdout=logs,
            stderr=subprocess.STDOUT,
        )
    ]
    processes += [
        subprocess.Popen([str(BIN / "suivi"), "worker"], env=env, cwd=ROOT, stdout=logs, stderr=subprocess.STDOUT)
        for _ in range(args.workers)
    ]
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz")
        started = time.monotonic()
        subprocess.run(
            [
                str(BIN / "locust"),
                "-f",
                str(ROOT / "tests" / "load" / "locustfile.py"),
                "--headless",
                "-u",
                str(args.users),
                "-r",
                "10",
                "-t",
                f"{int(args.minutes * 60)}s",
                "--host",
                f"http://127.0.0.1:{port}",
                "--csv",
                str(folder / "locust"),
                "--only-summary",
            ],
            env={
                **env,
                "LOAD_SESSIONS": str(folder / "sessions.json"),
                "LOAD_FIXTURE": str(folder / "fixture.json"),
                "LOAD_THINK": args.think,
            },
            cwd=ROOT,
            check=False,
        )
        seconds = time.monotonic() - started
    finally:
        for p in processes:
            p.terminate()
        for p in processes:
            p.wait(timeout=30)
    rows = summary(folder / "locust_stats.csv", seconds)
    print(f"\n{label}, {args.users} users, {args.minutes:g} min, {uptime()}")
    print(f"{'request':28} {'count':>7} {'fail':>5} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6}")
    for r in rows:
        print(
            f"{r['request'][:28]:28} {r['count']:7} {r['failures']:5} {r['per_second']:7} "
            f"{r['p50_ms']:6.0f} {r['p95_ms']:6.0f} {r['p99_ms']:6.0f}"
        )
    (folder / "summary.json").write_text(json.dumps({"setup": label, "users": args.users, "rows": rows}, indent=1))
    print(f"\nwritten to {folder.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
