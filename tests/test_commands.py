"""The `suivi` command: demo data, and `suivi start` (what `make run` runs)."""

import os
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request

import pytest
from django.core.management import call_command

from suivi.accounts.models import User
from suivi.activities.models import Action, Folder
from suivi.parties.models import Contact, Party


def test_demo_fills_a_realistic_company_once(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("demo", stdout=open(os.devnull, "w"))
    counts = (Party.objects.count(), Contact.objects.count(), Action.objects.count(), Folder.objects.count())
    # 1,500 actions, plus the agenda's two recurring series (the team meeting, the monthly review)
    assert counts[0] == 300 and counts[1] == 600 and counts[2] == 1_502 and counts[3] >= 40
    assert {u.role for u in User.objects.all()} == {"admin", "manager", "user"}
    secret = tmp_path / "demo-admin.txt"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    password = secret.read_text().split("password: ")[1].split()[0]
    assert User.objects.get(username="admin").check_password(password)
    call_command("demo", stdout=open(os.devnull, "w"))  # idempotent
    assert (
        Party.objects.count(),
        Contact.objects.count(),
        Action.objects.count(),
        Folder.objects.count(),
    ) == counts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout_sensitive
def test_start_serves_with_a_worker_and_ctrl_c_stops_both(tmp_path):
    port = free_port()
    env = {**os.environ, "SUIVI_VAR_DIR": str(tmp_path), "PORT": str(port), "WEB_CONCURRENCY": "1"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "suivi", "start"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert process.poll() is None, process.stdout.read().decode()[-2000:]
                assert time.monotonic() < deadline, "Suivi did not answer within 90 s"
                time.sleep(0.5)
        assert (tmp_path / "demo-admin.txt").exists()
        children = subprocess.run(["pgrep", "-s", str(process.pid)], capture_output=True, text=True).stdout.split()
        assert len(children) >= 3  # start, worker, web server (and its workers)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        time.sleep(1)
        left = subprocess.run(["pgrep", "-s", str(process.pid)], capture_output=True, text=True).stdout.split()
        assert left == [], f"processes left running: {left}"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
