"""``make bench BENCH_ARGS="--suite agenda"``: the shared agenda and planning (issue 12).

On the large dataset of the page benchmark (1,000,000 actions, 50 users, five years, made once by
``suivi demo --size large`` and kept): the week view of 10 users (the agenda's JSON and the API),
the month view of one user with 50 weekly recurring series, the ICS feed of a user with five years
of history, and the free-slot search for 5 users over 4 weeks. Each database runs in its own child
process. Server-side times (Django's test client), p50 / p95 over ``rounds``, and query counts.
"""

import json
import statistics
import subprocess
import sys
import time
from datetime import timedelta

from .run import ROOT, database_env, ensure_postgres_database

SERIES_SUBJECT = "Bench weekly series"


def _timed(client, url: str, rounds: int, connection) -> tuple[list[float], int, int]:
    from django.test.utils import CaptureQueriesContext

    timings, queries, size = [], 0, 0
    for i in range(rounds + 3):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        if i >= 3:
            timings.append(elapsed)
            queries = max(queries, len(captured))
            size = len(response.content)
    return timings, queries, size


def _row(name: str, database: str, timings: list[float], queries: int, **extra) -> dict:
    timings.sort()
    return {
        "operation": name,
        "database": database,
        "rounds": len(timings),
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(timings[max(0, int(len(timings) * 0.95) - 1)], 1),
        "queries": queries,
        **extra,
    }


def measure_agenda(database: str, rounds: int) -> list[dict]:
    """Runs inside the child process, with Django set up for ``database``."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from suivi.accounts.models import User
    from suivi.activities import services as action_services
    from suivi.activities.models import Action, ActionType
    from suivi.agenda import services as agenda_services
    from suivi.agenda.planning import free_slots
    from suivi.core.models import CompanySettings
    from suivi.parties.models import Party

    call_command("migrate", verbosity=0)
    if Party.objects.count() < 200_000 or Action.objects.count() < 1_000_000:
        started = time.monotonic()
        call_command("demo", size="large")
        print(f"[{database}] large dataset made in {time.monotonic() - started:.0f} s", file=sys.stderr)
        connection.cursor().execute("ANALYZE" if connection.vendor == "sqlite" else "VACUUM ANALYZE")
    CompanySettings.objects.filter(pk=1).update(crm_enabled=True, crm_level="full")
    admin = User.objects.get(username="admin")
    users = list(User.objects.filter(is_active=True).exclude(pk=admin.pk).order_by("pk")[:10])
    ids = ",".join(str(u.pk) for u in users)
    client = Client()
    client.force_login(admin)
    zone = timezone.get_current_timezone()
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    week = (monday.isoformat(), (monday + timedelta(days=7)).isoformat())
    first = today.replace(day=1)
    month = (first - timedelta(days=first.weekday()), first + timedelta(days=42 - first.weekday()))

    # 50 weekly series of one user (made once), whose month view expands them all.
    owner = users[0]
    meeting = ActionType.objects.filter(is_calendar_item=True).order_by("position").first()
    made = Action.objects.filter(subject__startswith=SERIES_SUBJECT, followed_by=owner).count()
    for n in range(made, 50):
        start = timezone.make_aware(
            timezone.datetime.combine(today - timedelta(days=400 + n), timezone.datetime.min.time()), zone
        ) + timedelta(hours=8 + n % 9)
        action_services.create_action(
            acting_user=owner,
            values={
                "subject": f"{SERIES_SUBJECT} {n}",
                "action_type": meeting,
                "followed_by": owner,
                "start": start,
                "end": start + timedelta(minutes=30),
                "rrule": "FREQ=WEEKLY",
            },
        )

    results = []
    timings, queries, size = _timed(
        client, f"/crm/agenda/events/?start={week[0]}&end={week[1]}&users={ids}", rounds, connection
    )
    results.append(_row("agenda week view, 10 users (page JSON)", database, timings, queries, kb=size // 1024))
    timings, queries, size = _timed(
        client, f"/api/v1/agenda/?start={week[0]}T00:00:00Z&end={week[1]}T00:00:00Z&users={ids}", rounds, connection
    )
    results.append(_row("agenda week, 10 users (API)", database, timings, queries, kb=size // 1024))
    timings, queries, size = _timed(
        client, f"/crm/agenda/events/?start={month[0]}&end={month[1]}&users={owner.pk}", rounds, connection
    )
    results.append(_row("agenda month view, 1 user + 50 weekly series", database, timings, queries, kb=size // 1024))

    # The ICS feed of a user with five years of history (the dataset's actions span five years).
    _feed, token = agenda_services.create_feed(acting_user=owner, view=None)
    feed_client = Client()
    timings, queries, size = _timed(feed_client, f"/ics/{token}.ics", max(5, rounds // 5), connection)
    events = feed_client.get(f"/ics/{token}.ics").content.count(b"BEGIN:VEVENT")
    results.append(
        _row("ICS feed, 1 user, 5 years of history", database, timings, queries, kb=size // 1024, events=events)
    )

    # The free-slot search for 5 users over 4 weeks.
    five = [u.pk for u in users[:5]]
    timings = []
    for i in range(rounds + 3):
        started = time.perf_counter()
        slots = free_slots(five, timedelta(minutes=60), timezone.now(), timezone.now() + timedelta(days=28))
        if i >= 3:
            timings.append((time.perf_counter() - started) * 1000)
    results.append(_row("free slots, 5 users, 4 weeks", database, timings, 0, slots=len(slots)))
    return results


def run_agenda(databases: list[str], rounds: int) -> list[dict]:
    results = []
    for database in databases:
        if database == "postgres" and not ensure_postgres_database():
            continue
        out = subprocess.run(
            [sys.executable, "-m", "tests.bench.run", "--agenda-child", database, "--rounds", str(rounds)],
            env=database_env(database),
            cwd=ROOT,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout
        results += json.loads(out.strip().splitlines()[-1])
    print(f"\n{'agenda':46} {'database':9} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    for r in results:
        print(f"{r['operation']:46} {r['database']:9} {r['p50_ms']:8} {r['p95_ms']:8} {r['queries']:8}")
    return results
