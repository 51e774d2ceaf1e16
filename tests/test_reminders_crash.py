"""Killing the reminder worker (issue 12, point 3 and "a worker killed while sending reminders:
no reminder twice, none lost"): worker processes e-mail due reminders to a real SMTP server on
loopback and are SIGKILLed at random moments, at least 15 times, then started again. In the end
every reminder row is ``sent`` (its mail received exactly once) or ``unknown`` (the one row a
killed worker was handing to the server: received at most once, never sent again), with at most
one unknown per kill; no mail is received twice and no row is left waiting.

The workers are forked from one process that set Django up once, as in
``test_mailing_crash.py``: each is its own process with its own database and SMTP connections,
running the worker's own code (``agenda.reminders_mail.send_due``), killed with SIGKILL."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from suivi.activities import reminders, services
from suivi.activities.models import ActionType, DeliveryState, ReminderDelivery
from suivi.core.models import CompanySettings
from suivi.mailing.models import OutgoingServer, Security

from .conftest import make_user
from .mailservers import free_port
from .test_mailing_crash import ROOT, database_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout_sensitive]

# "spawn" forks a worker that sends due reminders until none is left to claim (exit 0);
# "wait PID" reaps it and answers its exit status. The lease is short so that the rows a killed
# worker had claimed come back quickly.
ZYGOTE = r"""
import os, sys, traceback
from datetime import timedelta
import django
django.setup()
from django.db import connections
from suivi.activities import reminders
from suivi.agenda import reminders_mail
from suivi.activities.models import ReminderDelivery
from django.db.models import Q
from django.utils import timezone
import time
reminders.LEASE = timedelta(seconds=1)
reminders.CLAIM_BATCH = 10
connections.close_all()
print("ready", flush=True)
for line in sys.stdin:
    command, argument = line.split()
    if command == "spawn":
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                while True:
                    sent = reminders_mail.send_due()
                    now = timezone.now()
                    left = ReminderDelivery.objects.filter(
                        Q(state="pending", due_at__lte=now) | Q(state="sending")
                    ).exists()
                    if not left:
                        break
                    if not sent:
                        time.sleep(0.05)  # rows claimed by a killed worker: back after its lease
                code = 0
                connections.close_all()
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        print(pid, flush=True)
    elif command == "wait":
        print(os.waitstatus_to_exitcode(os.waitpid(int(argument), 0)[1]), flush=True)
"""


class Workers:
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

    def spawn(self) -> int:
        return int(self._ask("spawn 0"))

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


class CountingSmtp:
    """Takes every mail after a short pause (so that kills land while mails are in flight) and
    counts them by subject."""

    def __init__(self):
        self.received: Counter = Counter()
        self.port = free_port()
        self.delay = 0.003

    async def handle_DATA(self, server, session, envelope):  # noqa: N802  (aiosmtpd's hook name)
        await asyncio.sleep(self.delay)
        import email
        from email import policy

        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.received[str(message["Subject"])] += 1
        return "250 OK"


@pytest.fixture
def workers():
    started = Workers()
    yield started
    started.close()


@pytest.fixture
def server(settings):
    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    handler = CountingSmtp()
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


def test_killing_the_reminder_worker_at_random_never_sends_a_reminder_twice_nor_forgets_one(workers, server):
    CompanySettings.objects.filter(pk=1).update(crm_level="full")
    olive = make_user("olive", email="olive@acme.test")
    visit = ActionType.objects.create(name_fr="Visite", name_en="Visit", name_nl="Bezoek", is_calendar_item=True)
    now = timezone.now().replace(second=0, microsecond=0)
    count = 300
    for n in range(count):
        services.create_action(
            acting_user=olive,
            values={
                "subject": f"Visit {n:03d}",
                "action_type": visit,
                "followed_by": olive,
                "start": now + timedelta(minutes=5),
            },
            reminders=[10],
        )
    reminders.plan_between(now - timedelta(minutes=10), now)
    assert ReminderDelivery.objects.count() == count
    rng = random.Random(int(os.environ.get("SUIVI_CRASH_SEED", "12")))
    kills = 0
    deadline = time.monotonic() + 120
    while kills < 20 and sum(server.received.values()) < count - 20 and time.monotonic() < deadline:
        pid = workers.spawn()
        target = sum(server.received.values()) + rng.randint(1, 12)
        wait_until = time.monotonic() + 5
        while sum(server.received.values()) < target and workers.alive(pid) and time.monotonic() < wait_until:
            time.sleep(0.0005)
        time.sleep(rng.uniform(0.0, 0.004))
        was_alive = workers.alive(pid)
        os.kill(pid, signal.SIGKILL)
        workers.wait(pid)
        kills += was_alive
    assert kills >= 15, f"only {kills} kills: the reminders were all sent too soon"
    # Then workers run to the end (claimed rows of the killed ones come back after their lease).
    while ReminderDelivery.objects.filter(state__in=[DeliveryState.PENDING, DeliveryState.SENDING]).exists():
        assert time.monotonic() < deadline + 60, "the reminders were not all sent"
        pid = workers.spawn()
        assert workers.wait(pid) == 0
        time.sleep(0.2)
    rows = dict(ReminderDelivery.objects.values_list("action__subject", "state"))
    states = Counter(rows.values())
    assert set(states) <= {DeliveryState.SENT, DeliveryState.UNKNOWN}
    duplicates = [s for s, n in server.received.items() if n > 1]
    assert not duplicates
    for subject, state in rows.items():
        received = (
            server.received[f"Late reminder: {subject} at " + _local(now + timedelta(minutes=5))]
            + server.received[f"Reminder: {subject} at " + _local(now + timedelta(minutes=5))]
        )
        if state == DeliveryState.SENT:
            assert received == 1, subject
        else:
            assert received <= 1, subject
    assert states[DeliveryState.UNKNOWN] <= kills
    assert sum(server.received.values()) >= count - kills
    print(f"\nreminder kills: {kills}, sent: {states[DeliveryState.SENT]}, unknown: {states[DeliveryState.UNKNOWN]}")


def _local(moment):
    from zoneinfo import ZoneInfo

    from django.conf import settings

    return moment.astimezone(ZoneInfo(settings.TIME_ZONE)).strftime("%d/%m/%Y %H:%M")


def test_the_suivi_worker_command_sends_due_reminders_and_a_killed_one_leaves_none_twice(server, tmp_path):
    """The real ``suivi worker`` (Huey's consumer, its periodic reminder sweeps registered by the
    apps' ``ready``) e-mails due reminders on its minute tick; SIGKILLed in the middle of them and
    started again, it finishes them once its dead claim's lease expired (5 s here)."""
    CompanySettings.objects.filter(pk=1).update(crm_level="full")
    olive = make_user("olive", email="olive@acme.test")
    visit = ActionType.objects.create(name_fr="Visite", name_en="Visit", name_nl="Bezoek", is_calendar_item=True)
    server.delay = 0.02
    now = timezone.now()
    count = 200
    for n in range(count):
        services.create_action(
            acting_user=olive,
            values={
                "subject": f"Call {n:03d}",
                "action_type": visit,
                "followed_by": olive,
                "start": now + timedelta(minutes=3),
            },
            reminders=[5],
        )
    env = {**database_env(), "SUIVI_VAR_DIR": str(tmp_path), "SUIVI_REMINDER_LEASE_SECONDS": "5"}

    def start():
        return subprocess.Popen(
            [sys.executable, "-m", "suivi", "worker"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    worker = start()
    try:
        deadline = time.monotonic() + 130
        while sum(server.received.values()) < 40 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sum(server.received.values()) >= 40, "the worker sent no reminder within two minutes"
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        killed_at = sum(server.received.values())
        assert killed_at < count, "the worker finished before it was killed"
        worker = start()
        deadline = time.monotonic() + 150
        while (
            ReminderDelivery.objects.filter(state__in=[DeliveryState.PENDING, DeliveryState.SENDING]).exists()
            and time.monotonic() < deadline
        ):
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    states = Counter(ReminderDelivery.objects.values_list("state", flat=True))
    assert sum(states.values()) == count
    unknown = [
        (subject, [n for s, n in server.received.items() if f" {subject} at " in s])
        for subject in ReminderDelivery.objects.filter(state=DeliveryState.UNKNOWN).values_list(
            "action__subject", flat=True
        )
    ]
    # At most one row in flight per sending thread: the consumer runs two (settings.HUEY), and
    # two sweeps can run at once (one queued at start-up, one at the minute's tick).
    assert set(states) <= {DeliveryState.SENT, DeliveryState.UNKNOWN} and states[DeliveryState.UNKNOWN] <= 2, unknown
    assert not [s for s, n in server.received.items() if n > 1]
    assert sum(server.received.values()) >= count - 2
