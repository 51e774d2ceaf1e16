"""Reminders of actions (M2): the durable rows that make "exactly once per reminder, occurrence
and person" true, and the sweep that creates and claims them.

A ``Reminder`` says "N minutes before each occurrence". The worker's sweep (every minute, see
``jobs``) turns the reminders whose time fell since its last run into ``ReminderDelivery`` rows,
one per reminder, occurrence and person (the follower and the participants) — a unique row, so
two sweeps, or a sweep run again, create nothing twice. Recurring series are expanded with the
agenda's own expansion (``recurrence.occurrences``); a series' reminders also remind its
exceptions.

The browser reads these rows (the notification area: due, unread). The e-mail is sent by the
``agenda`` app (layer 6, which may use the mail server; this app may not): it claims due rows
with a conditional UPDATE, ``pending`` → ``sending`` with a lease, and then, row by row:

- just before handing the mail to the SMTP server the row becomes ``unknown`` (a conditional
  UPDATE that only the lease holder can make);
- once the server accepted it, ``sent``.

A worker killed while holding claimed rows leaves them ``sending``: their lease expires and the
next sweep claims them again (nothing was handed to the server). A worker killed between the
hand-over and ``sent`` leaves that one row ``unknown``: it is never sent again — at most once,
since the server may have accepted it — and still shows in the browser like a sent one. At most
one row per sending thread of a killed worker (the consumer runs two) can be in that state.

A reminder whose time passed while no worker ran is created by the next sweep (which reads from
its last run, up to ``CATCH_UP`` back) and sent once, marked ``late``.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from suivi.core.company import company_settings
from suivi.core.gates import refusal
from suivi.core.models import CrmLevel

from . import recurrence
from .models import Action, ActionStatus, DeliveryState, Reminder, ReminderDelivery, ReminderSweep

# A sweep reads back this far before its previous run: a transaction that committed a reminder
# just as the last sweep read is not missed (the unique row keeps it from being created twice).
GRACE = timedelta(minutes=2)
# After an outage, reminders are caught up this far back at most; older ones are not worth a mail.
CATCH_UP = timedelta(days=1)
# A reminder sent more than this after its time is marked late (and says so).
LATE_AFTER = timedelta(minutes=2)
# How long a claim holds rows before another worker may take them again (an operator's setting:
# longer than a batch of mails takes to send).
LEASE = timedelta(seconds=int(os.environ.get("SUIVI_REMINDER_LEASE_SECONDS", "300") or 300))
# How long a pending row waits after the mail server could not be reached.
RETRY = timedelta(minutes=2)
CLAIM_BATCH = 100


def _recipients(action: Action) -> list[int]:
    ids = [action.followed_by_id, *action.participants.values_list("pk", flat=True)]
    from suivi.accounts.models import User

    active = set(User.objects.filter(pk__in=ids, is_active=True).values_list("pk", flat=True))
    return [pk for pk in dict.fromkeys(ids) if pk in active]


def active() -> bool:
    """Reminders are an M2 feature: at M1 the sweep plans and sends nothing (the rows are kept)."""
    return refusal(company_settings(), CrmLevel.FULL) is None


def plan(now: datetime | None = None) -> int:
    """Create the delivery rows of the reminders due since the last sweep; returns how many.
    At M1 nothing is created, and what fell due meanwhile is not caught up later."""
    now = now or timezone.now()
    last = ReminderSweep.objects.filter(pk=1).values_list("last_run", flat=True).first()
    since = max((last or now) - GRACE, now - CATCH_UP)
    created = plan_between(since, now) if active() else 0
    with transaction.atomic():
        sweep, made = ReminderSweep.objects.select_for_update().get_or_create(pk=1, defaults={"last_run": now})
        if not made and sweep.last_run < now:
            sweep.last_run = now
            sweep.save(update_fields=["last_run"])
    return created


def plan_between(since: datetime, now: datetime) -> int:
    """Create the delivery rows of reminders whose time is in [since, now]."""
    from .services import MAX_REMINDER_MINUTES

    horizon = now + timedelta(minutes=MAX_REMINDER_MINUTES)
    plain = Q(action__rrule="", action__start__gte=since, action__start__lte=horizon)
    series = (
        ~Q(action__rrule="")
        & Q(action__start__lte=horizon)
        & (Q(action__series_end__isnull=True) | Q(action__series_end__gte=since))
    )
    with_exceptions = Q(action__exceptions__start__gte=since, action__exceptions__start__lte=horizon)
    reminders = (
        Reminder.objects.filter(plain | series | with_exceptions)
        .exclude(action__status=ActionStatus.CANCELLED)
        .select_related("action")
        .distinct()
    )
    rows: list[ReminderDelivery] = []
    for reminder in reminders:
        before = timedelta(minutes=reminder.minutes_before)
        low, high = since + before, now + before
        holders = [reminder.action, *reminder.action.exceptions.exclude(status=ActionStatus.CANCELLED)]
        for holder in holders:
            people = None
            for occurrence in recurrence.occurrences(holder, low, high + timedelta(seconds=1)):
                if not low <= occurrence.start <= high:
                    continue
                people = people if people is not None else _recipients(holder)
                due = occurrence.start - before
                rows.extend(
                    ReminderDelivery(
                        reminder=reminder,
                        action=holder,
                        user_id=user_id,
                        occurrence_start=occurrence.start,
                        due_at=due,
                        late=now - due > LATE_AFTER,
                    )
                    for user_id in people
                )
    rows.extend(_overdue_on_arrival(since, now))
    # The unique (reminder, user, occurrence) row is what makes a reminder happen once.
    ReminderDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _overdue_on_arrival(since: datetime, now: datetime) -> list[ReminderDelivery]:
    """Reminders of actions written since the last sweep whose time had already passed when they
    were written (a meeting in 10 minutes with a reminder 15 minutes before): they remind now,
    before the occurrence starts, rather than never."""
    rows: list[ReminderDelivery] = []
    recent = (
        Reminder.objects.filter(Q(action__updated_at__gte=since) | Q(action__exceptions__updated_at__gte=since))
        .exclude(action__status=ActionStatus.CANCELLED)
        .select_related("action")
        .distinct()
    )
    for reminder in recent:
        before = timedelta(minutes=reminder.minutes_before)
        holders = [reminder.action, *reminder.action.exceptions.exclude(status=ActionStatus.CANCELLED)]
        for holder in holders:
            if holder.updated_at < since:
                continue
            for occurrence in recurrence.occurrences(holder, now, now + before):
                if not (now < occurrence.start <= now + before) or occurrence.start - before >= since:
                    continue  # not started yet and due before the window (the regular rows cover the rest)
                rows.extend(
                    ReminderDelivery(
                        reminder=reminder,
                        action=holder,
                        user_id=user_id,
                        occurrence_start=occurrence.start,
                        due_at=now,
                        late=False,
                    )
                    for user_id in _recipients(holder)
                )
    return rows


def claim(now: datetime | None = None, limit: int = CLAIM_BATCH) -> tuple[datetime, list[ReminderDelivery]]:
    """Take due rows for this worker: pending ones whose time came and claimed ones whose worker
    died (lease expired, nothing handed to the mail server). One conditional UPDATE per row, so
    two sweeps never take the same row; returns the lease (the claim's token) and the rows."""
    now = now or timezone.now()
    lease = now + LEASE
    if not active():
        return lease, []
    candidates = list(
        ReminderDelivery.objects.filter(
            Q(state=DeliveryState.PENDING, due_at__lte=now) & (Q(lease_until__isnull=True) | Q(lease_until__lte=now))
            | Q(state=DeliveryState.SENDING, lease_until__lt=now)
        )
        .order_by("due_at", "id")
        .values_list("pk", "state", "lease_until")[:limit]
    )
    taken: list[int] = []
    for pk, state, previous in candidates:
        if ReminderDelivery.objects.filter(pk=pk, state=state, lease_until=previous).update(
            state=DeliveryState.SENDING, lease_until=lease
        ):
            taken.append(pk)
    rows = list(
        ReminderDelivery.objects.filter(pk__in=taken)
        .select_related("user", "action", "action__action_type", "action__party", "reminder")
        .order_by("due_at", "id")
    )
    return lease, rows


def hand_over(row: ReminderDelivery, lease: datetime) -> bool:
    """Mark ``row`` as being handed to the mail server; False if this worker lost its claim."""
    return bool(
        ReminderDelivery.objects.filter(pk=row.pk, state=DeliveryState.SENDING, lease_until=lease).update(
            state=DeliveryState.UNKNOWN
        )
    )


def mark_sent(row: ReminderDelivery, now: datetime | None = None) -> None:
    now = now or timezone.now()
    late = row.late or now - row.due_at > LATE_AFTER
    ReminderDelivery.objects.filter(pk=row.pk).update(state=DeliveryState.SENT, sent_at=now, late=late)


def give_back(row: ReminderDelivery, now: datetime | None = None) -> None:
    """The mail server could not be reached before anything was handed over: try again later."""
    now = now or timezone.now()
    ReminderDelivery.objects.filter(pk=row.pk).update(state=DeliveryState.PENDING, lease_until=now + RETRY)


def is_late(row: ReminderDelivery, now: datetime | None = None) -> bool:
    return row.late or (now or timezone.now()) - row.due_at > LATE_AFTER


# --- the browser's notification area --------------------------------------------------------


def delivered_to(user, now: datetime | None = None):
    """The reminders due for ``user`` (what the notification area lists), newest first."""
    now = now or timezone.now()
    return (
        ReminderDelivery.objects.filter(user=user, due_at__lte=now)
        .select_related("action", "action__action_type")
        .order_by("-due_at", "-id")
    )


def unread_count(user, now: datetime | None = None) -> int:
    return delivered_to(user, now).filter(read_at__isnull=True).count()


def mark_read(*, acting_user, ids=None) -> int:
    """Mark ``acting_user``'s reminders (``ids``, or all) as read; others' rows are untouched."""
    rows = ReminderDelivery.objects.filter(user=acting_user, read_at__isnull=True)
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    return rows.update(read_at=timezone.now())


def shown_minutes(values) -> str:
    """Reminders recorded as minutes before the start, as the history shows them: “15 min, 1 h
    before” (“” for none)."""
    parts = []
    for value in sorted(int(v) for v in values or []):
        if value and value % 1440 == 0:
            parts.append(ngettext("%(n)s day", "%(n)s days", value // 1440) % {"n": value // 1440})
        elif value and value % 60 == 0:
            parts.append(_("%(n)s h") % {"n": value // 60})
        else:
            parts.append(_("%(n)s min") % {"n": value})
    return _("%(list)s before") % {"list": ", ".join(parts)} if parts else ""
