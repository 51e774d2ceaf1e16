"""The e-mailing worker (issue 11): sends the mails of one e-mailing, one at a time, at the
company's pace, so that a crash, a restart, two workers or a flaky server never send a mail twice
nor forget one.

How (RELIABILITY "Mass mailing"):

- **One worker per e-mailing**: ``acquire`` takes a lease on the ``Mailing`` row (a conditional
  update); another worker, a repeated task or a double click finds it taken and does nothing. A
  lease whose holder died on this machine (its process is gone) is free at once; elsewhere it
  expires after ``LEASE``. The new holder first marks what the dead one left *sending*: *unknown*
  (it may have left: never sent again by itself), or back to *pending* in drafts mode (the
  append to Drafts is looked up by Message-ID first, so it is safe to do again).
- **Recipients' rows** are made from the selection by chunks, each committed with its cursor
  (``prepared_upto``): a crash while preparing resumes after the last committed chunk.
- **Claim before acting**: each recipient is marked *sending* by one conditional UPDATE (still
  *pending*, and the e-mailing still *sending* and held by this worker: paused, cancelled or taken
  over, the worker stops), committed before anything leaves; then the mail leaves with the
  Message-ID its row has held since it was made; then the row says *sent* (or failed, or pending
  again for a later try). The lease is renewed every third of ``LEASE``.
- **Pace** (``Pacer``): the mails reach the server ``mailing_delay_seconds`` apart, never closer:
  the transaction is started just before the turn and only the message's last line waits for it,
  and the next turn is one delay after that moment, so the time the database and the server take
  does not add up (no drift); a worker late by more than one delay (a pause, a restart, a slow
  server) sends at once and goes on from there instead of catching up in a burst. After a restart
  the first mail waits what is left of the delay since the last claim.
- **SMTP**: one connection for many mails; each transaction is MAIL, RCPT, DATA by hand, so that
  a lost connection is known to have happened before the message's end (not sent: the same
  recipient goes again on a new connection) or after it (*unknown*, never sent again by itself).
  A 4xx is tried again later (``RETRY_SECONDS``, doubling, at most ``MAX_ATTEMPTS`` tries); a 5xx
  fails that recipient only; after a failed transaction the connection is reset (RSET). A run of
  ``MAX_CONSECUTIVE_FAILURES`` (a server that cannot be reached included, tried again with a
  growing wait) pauses the e-mailing with the reason; a refused login or a server Suivi may not
  connect to pauses it at once.
- **Drafts mode** (S7): each message goes to the Drafts folder of the e-mailing's mailbox.
- **Memory**: recipients are read by keyset, ``BATCH`` rows at a time.

Entry points: ``run(mailing_id)`` (the huey task ``jobs.send_mailing`` runs it by slices of
``SLICE_SECONDS``), ``sweep()`` (the periodic ``jobs.mailing_sweep``), ``begin_scheduled``.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Max, Min, Q
from django.utils import timezone

from suivi.activities.models import ActionStatus, ActionType
from suivi.core import audit
from suivi.core.company import company_settings
from suivi.core.expressions import ExpressionError
from suivi.lib.text import one_line

from .mailing_lease import LEASE, acquire, holder_alive, new_token, release  # noqa: F401 (used by jobs and tests)
from .mailing_messages import Built, Composer, PreparationFailed, as_bytes, send_one  # noqa: F401
from .mailing_services import (
    Candidate,
    candidate_chunks,
    usable_address,
)
from .mailing_transports import AGAIN, FAILED, PAUSE, RETRY, SENT, UNKNOWN, DraftsTransport, Outcome, SmtpTransport  # noqa: F401
from .mailings import (
    InvalidAddress,
    Mailing,
    MailingMethod,
    MailingOptOut,
    MailingRecipient,
    MailingStatus,
    PauseReason,
    RecipientReason,
    RecipientStatus,
    normalise_address,
)
from .models import MailRecord

logger = logging.getLogger(__name__)

SLICE_SECONDS = 240.0  # the huey task sends this long, then queues itself again (other jobs run between)
BATCH = 200  # recipients read at once
PREPARE_CHUNK = 1000  # recipients' rows made per transaction
MAX_ATTEMPTS = 5  # tries of one recipient (a 4xx, or a connection lost before the message's end)
RETRY_SECONDS = 60.0  # the wait after a 4xx: doubled at each try…
RETRY_MAX_SECONDS = 3600.0  # …up to this
RECONNECT_SECONDS = 1.0  # the wait after a failed connection: doubled, up to 30 s
MAX_CONSECUTIVE_FAILURES = 10
CHECK_SECONDS = 1.0  # how often a waiting worker looks at the e-mailing's state
LEAD_SECONDS = 0.02  # a mail is claimed and its transaction started at least this long before its turn…
LEAD_MAX_SECONDS = 2.0  # …and at most this long (never more than half the delay)
PACE_MARGIN = 0.001  # added to each delay: the network and the server's own jitter never make two mails closer
STALE_SCHEDULE = timedelta(hours=1)  # a scheduled e-mailing later than this does not start by itself

# What run() returns.
DONE = "done"  # every recipient is sent, failed, skipped or unknown
MORE = "more"  # the slice of time ended: queue it again
PAUSED = "paused"  # paused, cancelled or no longer sending
BUSY = "busy"  # another worker holds it
STOPPED = "stopped"  # asked to stop (``stop``), or its lease was taken over


# --- the pace ------------------------------------------------------------------------------------------


class Pacer:
    """Turns ``delay`` seconds apart on the monotonic clock.

    The worker ``wait``s until ``lead`` seconds before its turn, claims the recipient and starts
    the SMTP transaction, then ``hold``s the message's last byte until the turn itself, and
    ``turn`` sets the next one a delay (and ``PACE_MARGIN``) after that moment. So the mails reach
    the server ``delay`` apart and never closer, while the time the database, the message and the
    server's answer take does not add up (only the sleep's own overshoot does, well under a
    millisecond a mail). A
    worker late by more than one delay (a pause, a restart, a slow server) sends at once and goes
    on from there: there is no burst to catch up."""

    def __init__(self, delay: float, last_send_at: datetime | None = None):
        self.delay = max(0.0, delay)
        self.next_at: float | None = None
        self.released: float | None = None
        if last_send_at is not None and self.delay > 0:
            since = (timezone.now() - last_send_at).total_seconds()
            if 0 <= since < self.delay:
                self.next_at = time.monotonic() + (self.delay - since)

    def wait(self, still_on: Callable[[], bool], lead: float = 0.0) -> bool:
        """Sleep until ``lead`` seconds before the next turn, asking ``still_on`` every
        CHECK_SECONDS; False if it said no."""
        if self.next_at is None:
            return True
        while True:
            left = self.next_at - lead - time.monotonic()
            if left <= 0:
                return True
            if left > CHECK_SECONDS:
                time.sleep(CHECK_SECONDS)
                if not still_on():
                    return False
            else:
                time.sleep(left)

    def hold(self) -> None:
        """Sleep until the turn itself: the message leaves now."""
        if self.next_at is not None and (left := self.next_at - time.monotonic()) > 0:
            time.sleep(left)
        self.released = time.monotonic()

    def turn(self) -> None:
        """The turn was taken (when ``hold`` returned, or now if the attempt failed before): the
        next one is a delay later."""
        taken = self.released if self.released is not None else time.monotonic()
        self.released = None
        self.next_at = taken + self.delay + (PACE_MARGIN if self.delay else 0.0)


# --- the worker ------------------------------------------------------------------------------------------


class _Lost(Exception):
    """The lease was taken over, or the e-mailing no longer sends."""


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(RETRY_MAX_SECONDS, RETRY_SECONDS * 2 ** max(attempts - 1, 0)))


class Worker:
    def __init__(self, mailing_id: int, token: str, deadline: float | None, stop: Callable[[], bool] | None):
        self.mailing_id = mailing_id
        self.token = token
        self.deadline = deadline
        self.stop = stop or (lambda: False)
        self.failures = 0
        self.last_failure = ""
        self.lease_renewed = time.monotonic()
        self.mailing = Mailing.objects.select_related("author", "mailbox").get(pk=mailing_id)
        self.domain = self.mailing.sender_address.rsplit("@", 1)[-1] or "suivi.invalid"
        self.action_type: ActionType | None = None
        self.lead = LEAD_SECONDS

    # the lease and the state

    def _mine(self) -> Q:
        return Q(pk=self.mailing_id, status=MailingStatus.SENDING, worker=self.token)

    def still_on(self) -> bool:
        """Still ours and still sending (the lease renewed every third of it)."""
        if self.stop():
            return False
        if time.monotonic() - self.lease_renewed > LEASE.total_seconds() / 3:
            self.lease_renewed = time.monotonic()
            return bool(Mailing.objects.filter(self._mine()).update(lease_until=timezone.now() + LEASE))
        return Mailing.objects.filter(self._mine()).exists()

    def _sleep(self, seconds: float) -> bool:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if self.deadline is not None and time.monotonic() > self.deadline:
                return False
            time.sleep(min(left, CHECK_SECONDS))
            if not self.still_on():
                return False
        return True

    def _pause(self, code: str, detail: str) -> str:
        with transaction.atomic():
            mailing = Mailing.objects.select_for_update().filter(self._mine()).first()
            if mailing is not None:
                Mailing.objects.filter(pk=self.mailing_id).update(
                    status=MailingStatus.PAUSED, pause_code=code, pause_detail=detail[:1000]
                )
                audit.record(None, "status", mailing, {"status": [MailingStatus.SENDING, MailingStatus.PAUSED]})
        logger.warning("E-mailing %s paused itself: %s %s", self.mailing_id, code, detail)
        return PAUSED

    def _finish(self) -> bool:
        with transaction.atomic():
            mailing = Mailing.objects.select_for_update().filter(self._mine()).first()
            if mailing is None:
                return False
            open_rows = MailingRecipient.objects.filter(
                mailing_id=self.mailing_id, status__in=[RecipientStatus.PENDING, RecipientStatus.SENDING]
            )
            if open_rows.exists():
                return False
            Mailing.objects.filter(pk=self.mailing_id).update(
                status=MailingStatus.DONE, finished_at=timezone.now(), worker="", lease_until=None
            )
            audit.record(None, "status", mailing, {"status": [MailingStatus.SENDING, MailingStatus.DONE]})
        return True

    # preparing the recipients' rows

    def prepare(self, mailing: Mailing) -> None:
        cursor = mailing.prepared_upto
        for chunk, end in candidate_chunks(mailing, after=cursor, limit=PREPARE_CHUNK):
            rows = self._rows_for(mailing, chunk)
            with transaction.atomic():
                moved = Mailing.objects.filter(self._mine(), prepared_upto=cursor).update(
                    prepared_upto=end, lease_until=timezone.now() + LEASE
                )
                if not moved:
                    raise _Lost
                MailingRecipient.objects.bulk_create(rows)
            cursor = end
            if self.stop():
                raise _Lost
        if not Mailing.objects.filter(self._mine(), prepared_upto=cursor).update(prepared=True):
            raise _Lost

    def _rows_for(self, mailing: Mailing, chunk: list[Candidate]) -> list[MailingRecipient]:
        addresses = {c.position: usable_address(c.address) for c in chunk}
        keys = {normalise_address(a) for a in addresses.values() if a}
        contact_ids = {c.contact_id for c in chunk if c.contact_id is not None}
        mine = MailingRecipient.objects.filter(mailing_id=mailing.pk)
        taken = set(mine.filter(address_key__in=keys).values_list("address_key", flat=True))
        seen_contacts = set(mine.filter(contact_id__in=contact_ids).values_list("contact_id", flat=True))
        opted = set(MailingOptOut.objects.filter(address__in=keys).values_list("address", flat=True))
        invalid = set(
            InvalidAddress.objects.filter(address__in=keys, marked_at__isnull=False).values_list("address", flat=True)
        )
        rows = []
        for c in chunk:
            if c.contact_id is not None:
                if c.contact_id in seen_contacts:
                    continue  # a contact at two selected parties: one mail
                seen_contacts.add(c.contact_id)
            row = MailingRecipient(
                mailing_id=mailing.pk,
                contact_id=c.contact_id,
                party_id=c.party_id,
                name=one_line(c.name)[:200],
                address=one_line(c.address)[:254],
            )
            address = addresses[c.position]
            key = normalise_address(address)
            if not address:
                row.status, row.reason_code = RecipientStatus.SKIPPED, RecipientReason.NO_ADDRESS
            elif key in taken:
                row.status, row.reason_code = RecipientStatus.SKIPPED, RecipientReason.DUPLICATE
            else:
                taken.add(key)
                row.address_key = key
                if key in opted:
                    row.status, row.reason_code = RecipientStatus.SKIPPED, RecipientReason.OPTED_OUT
                elif key in invalid:
                    row.status, row.reason_code = RecipientStatus.SKIPPED, RecipientReason.INVALID
                else:
                    row.message_id = f"<{secrets.token_hex(10)}.m{mailing.pk}@{self.domain}>"
            rows.append(row)
        return rows

    # sending

    def _batch(self, after: int) -> list[MailingRecipient]:
        now = timezone.now()
        return list(
            MailingRecipient.objects.filter(mailing_id=self.mailing_id, status=RecipientStatus.PENDING, pk__gt=after)
            .filter(Q(next_try_at__isnull=True) | Q(next_try_at__lte=now))
            .select_related("contact", "party")
            .order_by("pk")[:BATCH]
        )

    def _claim(self, row: MailingRecipient, slow_pace: bool) -> bool:
        """Mark ``row`` *sending* (committed before anything leaves) if it is still pending and the
        e-mailing still ours and still sending: one conditional UPDATE, whose own condition on the
        row's state a concurrent claim re-checks (so two claims of one row cannot both succeed).
        The lease is renewed on the e-mailing every third of it, or at each mail of a slow pace."""
        now = timezone.now()
        if slow_pace or time.monotonic() - self.lease_renewed > LEASE.total_seconds() / 3:
            if not Mailing.objects.filter(self._mine()).update(lease_until=now + LEASE, last_send_at=now):
                raise _Lost
            self.lease_renewed = time.monotonic()
        ours = Mailing.objects.filter(self._mine()).values("pk")
        claimed = MailingRecipient.objects.filter(
            pk=row.pk, status=RecipientStatus.PENDING, mailing_id__in=ours
        ).update(status=RecipientStatus.SENDING, lease_until=now + LEASE, claimed_at=now, attempts=F("attempts") + 1)
        if not claimed and not Mailing.objects.filter(self._mine()).exists():
            raise _Lost
        return bool(claimed)

    def _record(self, row: MailingRecipient, outcome: Outcome, built: Built | None) -> None:
        now = timezone.now()
        ours = MailingRecipient.objects.filter(pk=row.pk)
        attempts = row.attempts + 1
        if outcome.kind == SENT:
            sent = ours.filter(status__in=[RecipientStatus.SENDING, RecipientStatus.UNKNOWN])
            if self.action_type is None or built is None:
                sent.update(status=RecipientStatus.SENT, sent_at=now, lease_until=None, reason_code="", detail="")
                return
            with transaction.atomic():
                sent.update(status=RecipientStatus.SENT, sent_at=now, lease_until=None, reason_code="", detail="")
                self._timeline(row, built)
            return
        if outcome.kind in (RETRY, AGAIN) and attempts < MAX_ATTEMPTS:
            ours.filter(status=RecipientStatus.SENDING).update(
                status=RecipientStatus.PENDING,
                lease_until=None,
                next_try_at=now + _backoff(attempts) if outcome.kind == RETRY else None,
                reason_code=outcome.code if outcome.kind == RETRY else "",
                detail=outcome.detail[:1000] if outcome.kind == RETRY else "",
            )
            return
        if outcome.kind == PAUSE:
            ours.filter(status=RecipientStatus.SENDING).update(status=RecipientStatus.PENDING, lease_until=None)
            return
        if outcome.kind == UNKNOWN:
            status, code = RecipientStatus.UNKNOWN, outcome.code
        elif outcome.kind in (RETRY, AGAIN):
            status, code = RecipientStatus.FAILED, RecipientReason.RETRIES
        else:
            status, code = RecipientStatus.FAILED, outcome.code
        ours.filter(status=RecipientStatus.SENDING).update(
            status=status, lease_until=None, reason_code=code, detail=outcome.detail[:1000]
        )

    def _timeline(self, row: MailingRecipient, built: Built) -> None:
        """The e-mailing action on the party's timeline, once per Message-ID (point 7)."""
        if row.party_id is None or not row.message_id or MailRecord.objects.filter(message_id=row.message_id).exists():
            return
        from suivi.activities import services as action_services
        from suivi.parties.models import Contact, Party

        try:
            with transaction.atomic():
                contacts = list(Contact.objects.filter(pk=row.contact_id)) if row.contact_id else []
                action = action_services.create_action(
                    acting_user=self.mailing.author,
                    values={
                        "subject": built.subject[:200],
                        "description": built.html,
                        "action_type": self.action_type,
                        "party": Party.objects.get(pk=row.party_id),
                        "start": timezone.now(),
                        "status": ActionStatus.DONE,
                        "followed_by": self.mailing.author,
                    },
                    contacts=contacts,
                )
                MailRecord.objects.create(
                    message_id=row.message_id,
                    action=action,
                    incoming=False,
                    sender=self.mailing.sender_address,
                    recipients=[row.address],
                )
                MailingRecipient.objects.filter(pk=row.pk).update(action=action)
        except Exception:  # the mail left: its timeline entry is secondary, never a reason to stop
            logger.exception("E-mailing %s: no timeline action for recipient %s", self.mailing_id, row.pk)

    def _action_type(self) -> ActionType | None:
        from .queries import email_action_type

        found = ActionType.objects.filter(active=True, name_en__iexact="e-mailing").first()
        if found is not None:
            return found
        try:
            return email_action_type()
        except Exception:  # no active type at all
            return None

    def work(self) -> str:
        mailing = self.mailing
        try:
            if not mailing.prepared:
                self.prepare(mailing)
            composer = Composer(mailing)
        except _Lost:
            return self._why_stopped()
        except ExpressionError as e:
            return self._pause(PauseReason.TEMPLATE, e.message)
        except PreparationFailed as e:
            return self._pause(PauseReason.TEMPLATE, e.message)
        if mailing.record_actions:
            self.action_type = self._action_type()
        transport: SmtpTransport | DraftsTransport = (
            DraftsTransport(mailing)
            if mailing.method == MailingMethod.DRAFTS
            else SmtpTransport(composer.envelope_from)
        )
        try:
            return self._loop(composer, transport)
        except _Lost:
            return self._why_stopped()
        finally:
            transport.close()

    def _over(self) -> str | None:
        if self.stop():
            return STOPPED
        if self.deadline is not None and time.monotonic() > self.deadline:
            return MORE
        return None

    def _loop(self, composer: Composer, transport: SmtpTransport | DraftsTransport) -> str:
        delay = float(company_settings().mailing_delay_seconds)
        last = self.mailing.last_send_at
        if delay:  # at a quick pace the e-mailing's row is written every LEASE / 3 only: its rows know better
            claimed = (
                MailingRecipient.objects.filter(mailing_id=self.mailing_id, claimed_at__isnull=False)
                .order_by()
                .aggregate(last=Max("claimed_at"))["last"]
            )
            last = max(filter(None, (last, claimed)), default=None)
        pacer = Pacer(delay, last)
        settings_read_at = time.monotonic()
        cursor = 0
        while True:
            if over := self._over():
                return over
            batch = self._batch(cursor)
            if not batch:
                if cursor:
                    cursor = 0  # a new pass: the recipients whose next try came
                    continue
                waiting = (
                    MailingRecipient.objects.filter(mailing_id=self.mailing_id, status=RecipientStatus.PENDING)
                    .exclude(next_try_at__isnull=True)
                    .aggregate(first=Min("next_try_at"))["first"]
                )
                if waiting is None:
                    if self._finish():
                        return DONE
                    if not self._sleep(CHECK_SECONDS):  # a recipient put back in the queue meanwhile
                        return self._why_stopped()
                    continue
                if not self._sleep(min(max(0.0, (waiting - timezone.now()).total_seconds()), 30.0) + 0.01):
                    return self._why_stopped()
                continue
            for row in batch:
                cursor = row.pk
                if time.monotonic() - settings_read_at > 30:
                    settings_read_at = time.monotonic()
                    pacer.delay = float(company_settings().mailing_delay_seconds)
                if not pacer.wait(self.still_on, lead=min(self.lead, pacer.delay / 2)):
                    return self._why_stopped()
                if over := self._over():
                    return over
                began = time.monotonic()
                if not self._claim(row, slow_pace=pacer.delay >= 1):
                    continue
                result = self._send(row, composer, transport, pacer, began)
                if result is not None:
                    return result

    def _send(self, row: MailingRecipient, composer: Composer, transport, pacer: Pacer, began: float) -> str | None:
        built = None
        try:
            built = composer.build_for(row, message_id=row.message_id)
        except PreparationFailed as e:
            outcome = Outcome(FAILED, RecipientReason.TEMPLATE, e.message)
        except Exception as e:  # a bug: this recipient fails with a reason, never stuck in "sending"
            logger.exception("E-mailing %s: the mail of recipient %s cannot be built", self.mailing_id, row.pk)
            outcome = Outcome(FAILED, RecipientReason.TEMPLATE, type(e).__name__)
        else:
            assert row.message_id

            def hold() -> None:
                # what claiming and starting a mail takes, twice over: the next one starts that early
                self.lead = min(LEAD_MAX_SECONDS, max(LEAD_SECONDS, 2 * (time.monotonic() - began)))
                pacer.hold()

            outcome = transport.send(built, row.address, row.message_id, hold)
        pacer.turn()
        self._record(row, outcome, built)
        if outcome.kind == PAUSE:
            return self._pause(outcome.code, outcome.detail)
        if outcome.kind == SENT:
            self.failures = 0
            return None
        self.failures += 1
        self.last_failure = outcome.detail or outcome.code
        if self.failures >= MAX_CONSECUTIVE_FAILURES:
            if outcome.connection:
                return self._pause(PauseReason.UNREACHABLE, self.last_failure)
            return self._pause(PauseReason.FAILURES, f"{self.failures}|{self.last_failure}")
        if outcome.connection and not self._sleep(min(30.0, RECONNECT_SECONDS * 2 ** (self.failures - 1))):
            return self._why_stopped()
        return None

    def _why_stopped(self) -> str:
        if self.stop():
            return STOPPED
        if self.deadline is not None and time.monotonic() > self.deadline:
            return MORE
        mine = Mailing.objects.filter(pk=self.mailing_id).values_list("status", "worker").first()
        if mine is None or mine[0] != MailingStatus.SENDING:
            return PAUSED
        return STOPPED


def run(mailing_id: int, *, seconds: float | None = None, stop: Callable[[], bool] | None = None) -> str:
    """Send the e-mailing ``mailing_id`` if it is being sent and no other worker holds it: until
    every recipient is done (DONE), it is paused or cancelled (PAUSED), ``seconds`` passed (MORE),
    or ``stop()`` says so between two mails (STOPPED). BUSY: another worker holds it, or it is not
    being sent."""
    deadline = time.monotonic() + seconds if seconds else None
    result = BUSY
    for _round in range(3):
        token = acquire(mailing_id)
        if token is None:
            return result
        try:
            result = Worker(mailing_id, token, deadline, stop).work()
        except IntegrityError:
            logger.exception("E-mailing %s: a recipient's row conflicts", mailing_id)
            raise
        finally:
            release(mailing_id, token)
        if result != PAUSED:
            return result
        # paused and resumed while this worker was leaving: nobody else may have taken it
    return result


def begin_scheduled(mailing_id: int, now: datetime | None = None) -> bool:
    """Start a scheduled e-mailing whose time came; one whose time is past by more than
    STALE_SCHEDULE (Suivi was not running then) pauses and asks instead. True if it starts."""
    now = now or timezone.now()
    with transaction.atomic():
        mailing = (
            Mailing.objects.select_for_update()
            .filter(pk=mailing_id, status=MailingStatus.SCHEDULED, scheduled_at__lte=now)
            .first()
        )
        if mailing is None or mailing.scheduled_at is None:
            return False
        if now - mailing.scheduled_at > STALE_SCHEDULE:
            Mailing.objects.filter(pk=mailing_id).update(
                status=MailingStatus.PAUSED, pause_code=PauseReason.STALE, pause_detail=mailing.scheduled_at.isoformat()
            )
            audit.record(None, "status", mailing, {"status": [MailingStatus.SCHEDULED, MailingStatus.PAUSED]})
            return False
        Mailing.objects.filter(pk=mailing_id).update(status=MailingStatus.SENDING, started_at=now)
        audit.record(None, "status", mailing, {"status": [MailingStatus.SCHEDULED, MailingStatus.SENDING]})
    return True


def sweep(now: datetime | None = None) -> list[int]:
    """The e-mailings a worker should send now: scheduled ones whose time came (started, or
    paused when stale), and those being sent that no live worker holds."""
    now = now or timezone.now()
    for pk in Mailing.objects.filter(status=MailingStatus.SCHEDULED, scheduled_at__lte=now).values_list(
        "pk", flat=True
    )[:100]:
        begin_scheduled(pk, now)
    wanted = []
    for pk, worker, lease_until in Mailing.objects.filter(status=MailingStatus.SENDING).values_list(
        "pk", "worker", "lease_until"
    )[:500]:
        if not worker or lease_until is None or lease_until < now or not holder_alive(worker):
            wanted.append(pk)
    return wanted
