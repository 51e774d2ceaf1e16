"""Killing the e-mailing worker (issue 11's "done when"; RELIABILITY M1, M2, M3): a real worker
process sends to a real server on loopback, is SIGKILLed at random moments and started again, at
least 20 times; then every address received exactly one mail, or its row says failed, skipped or
unknown, with at most one unknown per kill, and none received two.

The workers are forked from one process that set Django up once (``ZYGOTE``), so that each of
the many restarts costs milliseconds instead of an interpreter start: each life is still its own
process, with its own database connection and SMTP connection, killed with SIGKILL. They use the
test database (a file on SQLite; pytest-django's ``test_…`` database on PostgreSQL), so these
tests commit for real (``transaction=True``)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.db import connection

from suivi.mailing import mailing_services as services
from suivi.mailing.mailings import Mailing, MailingRecipient, MailingStatus, RecipientStatus
from suivi.mailing.models import OutgoingServer, Security

from .conftest import make_user
from .mailservers import dovecot, free_port  # noqa: F401  (fixture)
from .test_mailing_engine import FaultySmtp, delay, people

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout_sensitive]

ROOT = Path(__file__).resolve().parents[1]
RESULTS = {0: "done", 1: "paused", 2: "busy", 3: "stopped", 4: "more"}

# Reads commands on stdin: "spawn MAILING_ID" forks a worker and answers its pid; "wait PID" reaps
# it and answers its exit status. A worker stops between two mails on SIGTERM.
ZYGOTE = r"""
import os, signal, sys, traceback
import django
django.setup()
from django.db import connections
from suivi.mailing import mailing_sender
mailing_sender.RECONNECT_SECONDS = 0.01
mailing_sender.RETRY_SECONDS = 0.01
mailing_sender.CHECK_SECONDS = 0.05
CODES = {"done": 0, "paused": 1, "busy": 2, "stopped": 3, "more": 4}
connections.close_all()
print("ready", flush=True)
for line in sys.stdin:
    command, argument = line.split()
    if command == "spawn":
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                asked = []
                signal.signal(signal.SIGTERM, lambda *_: asked.append(1))
                code = CODES[mailing_sender.run(int(argument), stop=lambda: bool(asked))]
                connections.close_all()
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        print(pid, flush=True)
    elif command == "wait":
        print(os.waitstatus_to_exitcode(os.waitpid(int(argument), 0)[1]), flush=True)
"""


def database_env() -> dict[str, str]:
    """The environment of a process that uses this test's database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "suivi.settings",
        "SUIVI_ALLOWED_PRIVATE_HOSTS": "127.0.0.1",
        "PYTHONUNBUFFERED": "1",
    }
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        env.pop("DATABASE_URL", None)
        env["SUIVI_SQLITE_PATH"] = str(db["NAME"])
    else:
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    return env


class Workers:
    """Worker processes forked from one prepared process."""

    def __init__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE],
            env=database_env(),
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._answer() == "ready"

    def _answer(self) -> str:
        line = self.process.stdout.readline()
        assert line, "the worker process died"
        return line.strip()

    def _ask(self, command: str) -> str:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._answer()

    def spawn(self, mailing_id: int) -> int:
        return int(self._ask(f"spawn {mailing_id}"))

    def wait(self, pid: int) -> int:
        return int(self._ask(f"wait {pid}"))

    def alive(self, pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except FileNotFoundError:
            return False

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(10)


@pytest.fixture
def workers():
    started = Workers()
    yield started
    started.close()


@pytest.fixture
def server(settings):
    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    handler = FaultySmtp()
    handler.port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    OutgoingServer.objects.update_or_create(
        pk=1,
        defaults={
            "host": "127.0.0.1",
            "port": handler.port,
            "security": Security.NONE,
            "from_address": "crm@acme.test",
        },
    )
    yield handler
    controller.stop()


def start_mailing(user, count: int, **values) -> Mailing:
    people(count)
    values = {"subject": "Hello {{ contact.first_name }}", "body": "<p>News for {{ party.name }}</p>", **values}
    mailing = services.create_mailing(acting_user=user, values={"expression": "", **values})
    return services.start(acting_user=user, mailing=mailing, expected_version=mailing.version)


def finish(workers: Workers, mailing: Mailing, timeout: float = 60) -> str:
    """Run workers to the end (a paused or busy one is run again)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        pid = workers.spawn(mailing.pk)
        result = RESULTS.get(workers.wait(pid), "crashed")
        if result == "done":
            return result
        assert result in ("busy", "more"), result
        time.sleep(0.05)
    raise AssertionError("the e-mailing did not finish")


def report(name: str, numbers: dict) -> None:
    """The numbers of a crash test, for the record (var/…/mailing-crash-*.json and the output)."""
    numbers = {"database": connection.vendor, **numbers}
    print(f"\n{name}: {numbers}")
    folder = Path(os.environ.get("SUIVI_VAR_DIR", ROOT / "var"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"mailing-crash-{name}-{connection.vendor}.json").write_text(json.dumps(numbers))


def test_killing_the_worker_at_random_twenty_times_never_sends_a_mail_twice_nor_forgets_one(workers, server):
    user = make_user("olive", email="olive@acme.test")
    delay(0)
    mailing = start_mailing(user, 500)
    rng = random.Random(int(os.environ.get("SUIVI_CRASH_SEED", "11")))
    began = time.monotonic()
    kills = 0
    while kills < 25 and Mailing.objects.get(pk=mailing.pk).status != MailingStatus.DONE:
        pid = workers.spawn(mailing.pk)
        if kills < 3:  # the first lives: while the recipients' rows are being made, or just after
            time.sleep(rng.uniform(0.0, 0.15))
        else:  # later ones: after a random number of mails, at a random moment of the next one
            target = sum(server.received.values()) + rng.randint(0, 20)
            deadline = time.monotonic() + 5
            while sum(server.received.values()) < target and workers.alive(pid) and time.monotonic() < deadline:
                time.sleep(0.0005)
            time.sleep(rng.uniform(0.0, 0.004))
        was_alive = workers.alive(pid)
        os.kill(pid, signal.SIGKILL)
        workers.wait(pid)
        kills += was_alive
    assert kills >= 20, f"only {kills} kills: the e-mailing ended too soon"
    assert finish(workers, mailing) == "done"
    elapsed = time.monotonic() - began
    rows = list(MailingRecipient.objects.filter(mailing=mailing).values_list("address", "status"))
    states = Counter(status for _a, status in rows)
    assert len(rows) == 500 and not states[RecipientStatus.PENDING] and not states[RecipientStatus.SENDING]
    duplicates = [a for a, n in server.received.items() if n > 1]
    assert not duplicates
    for address, status in rows:
        if status == RecipientStatus.SENT:
            assert server.received[address] == 1, address
        else:
            assert status in (RecipientStatus.UNKNOWN, RecipientStatus.FAILED, RecipientStatus.SKIPPED), status
            assert status == RecipientStatus.UNKNOWN or server.received[address] == 0, address
    assert states[RecipientStatus.UNKNOWN] <= kills
    assert set(server.received) <= {a for a, _s in rows}
    assert Mailing.objects.get(pk=mailing.pk).status == MailingStatus.DONE
    report(
        "sigkill",
        {
            "recipients": 500,
            "kills": kills,
            "sent": states[RecipientStatus.SENT],
            "unknown": states[RecipientStatus.UNKNOWN],
            "unknown_received": sum(1 for a, s in rows if s == RecipientStatus.UNKNOWN and server.received[a]),
            "failed": states[RecipientStatus.FAILED],
            "duplicates": len(duplicates),
            "seconds": round(elapsed, 1),
        },
    )


def test_sigterm_stops_the_worker_between_two_mails_and_leaves_nothing_unknown(workers, server):
    user = make_user("olive", email="olive@acme.test")
    delay("0.005")
    mailing = start_mailing(user, 120)
    rng = random.Random(3)
    terms = 0
    while terms < 6 and Mailing.objects.get(pk=mailing.pk).status != MailingStatus.DONE:
        pid = workers.spawn(mailing.pk)
        time.sleep(rng.uniform(0.05, 0.25))
        os.kill(pid, signal.SIGTERM)
        result = RESULTS.get(workers.wait(pid), "crashed")
        assert result in ("stopped", "done"), result
        terms += result == "stopped"
        assert not MailingRecipient.objects.filter(mailing=mailing, status=RecipientStatus.SENDING).exists()
        if Mailing.objects.get(pk=mailing.pk).status != MailingStatus.DONE:
            assert MailingRecipient.objects.filter(mailing=mailing, status=RecipientStatus.PENDING).exists()
    assert terms >= 3
    assert finish(workers, mailing) == "done"
    states = Counter(MailingRecipient.objects.filter(mailing=mailing).values_list("status", flat=True))
    assert states == {RecipientStatus.SENT: 120}
    assert len(server.received) == 120 and set(server.received.values()) == {1}


def test_killing_the_worker_during_appends_to_drafts_stores_each_draft_once(workers, dovecot, settings):  # noqa: F811
    import email

    from suivi.mailing import services as mail_services

    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    user = make_user("olive", email="olive@acme.test")
    box = dovecot.add_user()
    mail_services.save_mailbox(
        acting_user=user,
        mailbox=None,
        values={
            "name": "Mine",
            "address": box.address,
            "imap_host": "127.0.0.1",
            "imap_port": dovecot.port,
            "imap_security": "none",
            "login": box.login,
            "is_default": True,
        },
        password=box.password,
    )
    delay(0)
    mailing = start_mailing(user, 100, method="drafts")

    def drafts() -> list[tuple[str, bytes]]:
        with dovecot.client(box) as client:
            client.select_folder("Drafts", readonly=True)
            fetched = client.fetch(client.search("ALL"), ["FLAGS", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
        return [
            (email.message_from_bytes(f[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"])["Message-ID"], f[b"FLAGS"])
            for f in fetched.values()
        ]

    rng = random.Random(5)
    kills = 0
    while kills < 10 and Mailing.objects.get(pk=mailing.pk).status != MailingStatus.DONE:
        pid = workers.spawn(mailing.pk)
        done_before = MailingRecipient.objects.filter(mailing=mailing, status=RecipientStatus.SENT).count()
        target = done_before + rng.randint(1, 10)
        deadline = time.monotonic() + 5
        while (
            MailingRecipient.objects.filter(mailing=mailing, status=RecipientStatus.SENT).count() < target
            and workers.alive(pid)
            and time.monotonic() < deadline
        ):
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 0.01))  # in the middle of the next append, or its search
        was_alive = workers.alive(pid)
        os.kill(pid, signal.SIGKILL)
        workers.wait(pid)
        kills += was_alive
    assert kills >= 5
    assert finish(workers, mailing) == "done"
    stored = drafts()
    ids = [i for i, _flags in stored]
    assert len(ids) == 100 and len(set(ids)) == 100  # one draft per recipient, no Message-ID twice
    assert set(ids) == set(MailingRecipient.objects.filter(mailing=mailing).values_list("message_id", flat=True))
    assert all(b"\\Draft" in flags for _i, flags in stored)
    states = Counter(MailingRecipient.objects.filter(mailing=mailing).values_list("status", flat=True))
    assert states == {RecipientStatus.SENT: 100}
    report("drafts", {"recipients": 100, "kills": kills, "drafts": len(ids), "duplicates": len(ids) - len(set(ids))})
