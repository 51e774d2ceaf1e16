"""Bounces of e-mailings (issue 11, point 6; RELIABILITY M10): delivery reports (RFC 3464) read
from the bounce mailbox, each attributed to the recipient whose mail bounced, counted on the
address, and the address marked invalid after a threshold, so that later e-mailings skip it.

**Which mailbox.** Reports go to the envelope sender (``Return-Path``) of the mail:
``Mailing.envelope_from``, or the sender address when it is empty. The bounce mailbox of an
e-mailing is therefore the ``Mailbox`` (any one: a shared one, a user's) whose address is that
envelope address; there is no setting to keep in step. ``bounce_mailboxes()`` lists those of
the e-mailings of the last ``WINDOW``; ``read_bounces(mailbox_id)`` reads the new mails of its
INBOX. It reads them itself rather than from the inbox's ``IncomingMail`` rows: those keep
neither the report's per-recipient status fields nor the returned headers of the original mail
(the raw mail only when it has attachments), which is what attribution needs. Its own cursor is a
``FolderState`` row under the folder name ``CURSOR`` (the inbox reader's is ``INBOX``); the mails
stay in the mailbox, unflagged, and the inbox reader files them as it always did (kind "bounce",
ignored).

**Attribution**, for each report (``record_report``):

1. by the original mail's Message-ID, from the headers the report returns (``message/rfc822``,
   ``text/rfc822-headers``, ``message/global-headers``), else its In-Reply-To / References:
   every e-mailing recipient's row holds a unique Message-ID fixed before its mail left. A report
   that returns the original's headers with a Message-ID no e-mailing sent is about another mail
   (one a user wrote): it is left alone, never matched by address;
2. else by address: the failed recipients' addresses (Original-Recipient, Final-Recipient,
   Exim's X-Failed-Recipients), each matched with the last recipient's row of that address sent
   within ``WINDOW`` by an e-mailing whose envelope address is the mailbox's.

**Recording.** The recipient's row goes from *sent* (or *unknown*: a bounce proves it left) to
*failed* with the reason ``BOUNCED`` and the status and diagnostic as the remote server said
them. Only that transition counts a bounce on the address (``InvalidAddress.bounces``): a report
read twice, or two reports for one mail, count once. Reports that only say "delayed" or
"delivered" count nothing.

**Thresholds.** A *hard* bounce — the address does not exist: status 5.1.x (bad mailbox, bad
domain, bad syntax, moved) or 5.2.1 (mailbox disabled) — marks the address invalid at once
(``HARD_THRESHOLD`` = 1). Any other failure is *soft*: a 4.x.x the remote server gave up on, a
full mailbox (5.2.2), a message too large, and the 5.7.x policy refusals, which say more about the
message or the sender's configuration (SPF, DKIM, a blocklist) than about the address — one
misconfigured e-mailing must not mark a whole customer base invalid. The address is marked at its
``SOFT_THRESHOLD``-th (3rd) bounce, hard or soft, i.e. after three different mails bounced. A
recipient row per address per e-mailing, so three soft bounces are three e-mailings. Marking an
address also skips its rows still waiting in e-mailings being sent.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy as email_policy
from email.message import Message
from email.parser import BytesParser, HeaderParser

from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower, Trim
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from suivi.core import audit
from suivi.lib.text import one_line

from . import imap
from .mailings import InvalidAddress, Mailing, MailingRecipient, RecipientReason, RecipientStatus, normalise_address
from .models import FolderState, Mailbox
from .parsing import BOUNCE, _delivery_status_blocks, normalise_message_id, parse_mail

logger = logging.getLogger(__name__)

HARD_THRESHOLD = 1
SOFT_THRESHOLD = 3
BOUNCED = "bounced"  # ``MailingRecipient.reason_code`` of a recipient whose mail bounced
WINDOW = timedelta(days=30)  # reports later than this after the e-mailing are not matched by address
INBOX = "INBOX"
CURSOR = "\\Bounces:INBOX"  # the FolderState of the bounce reader (the inbox reader's is "INBOX")
MAX_REPORT_BYTES = 5 * 1024 * 1024  # a report is small; the rest of a larger mail is not read

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SMTP_CODE = re.compile(r"\b([245])\d\d\b")
_RETURNED_HEADERS = ("text/rfc822-headers", "message/global-headers")
_RETURNED_MESSAGES = ("message/rfc822", "message/global")


@dataclass
class Failure:
    """One recipient a report says the mail could not be delivered to."""

    addresses: list[str]  # normalised: the original recipient, then the final one
    status: str = ""  # the enhanced status code, "5.1.1"; "" when the report gives none
    diagnostic: str = ""

    @property
    def hard(self) -> bool:
        """The address does not exist (or its mailbox is disabled): no use trying it again."""
        return self.status.startswith("5.1.") or self.status == "5.2.1"

    @property
    def reason(self) -> str:
        return one_line(f"{self.status} {self.diagnostic}".strip())[:1000]


@dataclass
class Report:
    """What a delivery report says: the original's Message-IDs (from its returned headers, else
    the report's In-Reply-To and References) and the recipients it failed for."""

    message_ids: list[str] = field(default_factory=list)
    returned_headers: bool = False  # the report returned the original's headers (with a Message-ID)
    failures: list[Failure] = field(default_factory=list)


@dataclass
class Attribution:
    """A failure attributed to a recipient's row; ``counted``: it was the row's first bounce."""

    recipient_id: int
    address: str
    hard: bool
    counted: bool
    marked: bool = False  # the address became invalid with this bounce


def _status_of(block: dict[str, str]) -> str:
    for text in (block.get("status", ""), block.get("diagnostic-code", "")):
        if match := _STATUS.search(text):
            return ".".join(match.groups())
    if match := _SMTP_CODE.search(block.get("diagnostic-code", "")):
        return f"{match.group(1)}.0.0"
    return ""


def _address_of(value: str) -> str:
    """The address of an ``rfc822; someone@example.com`` field, normalised ("" if none)."""
    value = value.split(";", 1)[-1].strip().strip("<>").strip()
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain or len(value) > 254 or any(c.isspace() for c in value):
        return ""
    return normalise_address(value)


def _walk(message: Message, limit: int = 200):
    """The parts of ``message`` (at most ``limit``), without descending into a returned mail."""
    stack = [message]
    seen = 0
    while stack and seen < limit:
        part = stack.pop()
        seen += 1
        yield part
        content_type = part.get_content_type()
        if content_type in _RETURNED_MESSAGES:
            continue
        payload = part.get_payload()
        if part.is_multipart() and isinstance(payload, list):
            stack.extend(reversed([p for p in payload if isinstance(p, Message)]))


def _returned_message_id(part: Message) -> str | None:
    """The Message-ID of the original mail a report part returns; None if the part returns none."""
    content_type = part.get_content_type()
    if content_type in _RETURNED_MESSAGES:
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if isinstance(inner, Message):
            return normalise_message_id(str(inner.get("message-id", "") or ""))
        return None
    if content_type in _RETURNED_HEADERS:
        raw = part.get_payload(decode=True)
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else ""
        headers = HeaderParser().parsestr(text, headersonly=True)
        return normalise_message_id(str(headers.get("message-id", "") or ""))
    return None


def read_report(raw: bytes) -> Report | None:
    """The report ``raw`` is, or None when it is no delivery report (an ordinary mail, an
    automatic reply). Never raises on bad input."""
    raw = bytes(raw or b"")[:MAX_REPORT_BYTES]
    parsed = parse_mail(raw)
    if parsed.kind != BOUNCE:
        return None
    report = Report()
    blocks: list[dict[str, str]] = []
    try:
        message = BytesParser(policy=email_policy.compat32).parsebytes(raw)
        for part in _walk(message):
            content_type = part.get_content_type()
            if content_type in ("message/delivery-status", "message/global-delivery-status"):
                blocks.extend(_delivery_status_blocks(part))
            returned = _returned_message_id(part)
            if returned:
                report.message_ids.append(returned)
                report.returned_headers = True
    except Exception:  # a broken report: what parse_mail found is still used below
        logger.info("A delivery report could not be read completely", exc_info=True)
    for block in blocks:
        found = (_address_of(block.get("original-recipient", "")), _address_of(block.get("final-recipient", "")))
        addresses = list(dict.fromkeys(a for a in found if a))
        if not addresses:
            continue
        action = block.get("action", "").strip().lower()
        status = _status_of(block)
        if action == "failed" or (not action and status.startswith("5")):
            report.failures.append(Failure(addresses, status, one_line(block.get("diagnostic-code", ""))[:900]))
    known = {a for f in report.failures for a in f.addresses}
    for address in parsed.bounced_recipients:  # X-Failed-Recipients, a report without status blocks
        key = normalise_address(address)
        if key and key not in known:
            known.add(key)
            match = _STATUS.search(parsed.text)
            report.failures.append(Failure([key], ".".join(match.groups()) if match else "", parsed.subject[:300]))
    for value in [parsed.in_reply_to, *parsed.references]:
        if value and value not in report.message_ids:
            report.message_ids.append(value)
    return report


# --- attribution and recording ------------------------------------------------------------------------------


def _envelope_is(address: str) -> Q:
    return Q(mailing__envelope_from__iexact=address) | Q(
        mailing__envelope_from="", mailing__sender_address__iexact=address
    )


def _by_address(address: str, envelope: str, now: datetime) -> MailingRecipient | None:
    qs = MailingRecipient.objects.filter(
        address_key=address,
        status__in=[RecipientStatus.SENT, RecipientStatus.UNKNOWN, RecipientStatus.FAILED],
        mailing__started_at__gte=now - WINDOW,
    )
    if envelope:
        qs = qs.filter(_envelope_is(envelope))
    return qs.order_by("-mailing__started_at", "-id").first()


def record_report(raw: bytes, *, envelope: str = "", now: datetime | None = None) -> list[Attribution]:
    """Read the delivery report ``raw`` (received by the mailbox of the envelope address
    ``envelope``, "" for any) and record each failure on its recipient; what was attributed."""
    report = read_report(raw)
    if report is None or not report.failures:
        return []
    now = now or timezone.now()
    if report.message_ids:
        row = MailingRecipient.objects.filter(message_id__in=report.message_ids[:50]).order_by("id").first()
        if row is not None:
            failure = next((f for f in report.failures if row.address_key in f.addresses), report.failures[0])
            return [record_bounce(row, failure, now=now)]
        if report.returned_headers:
            return []  # a report about a mail no e-mailing sent
    found = []
    for failure in report.failures:
        for address in failure.addresses:
            row = _by_address(address, envelope, now)
            if row is not None:
                found.append(record_bounce(row, failure, now=now))
                break
    return found


@transaction.atomic
def record_bounce(row: MailingRecipient, failure: Failure, *, now: datetime | None = None) -> Attribution:
    """The mail of ``row`` bounced: the row says so and, the first time, the bounce counts on its
    address (marked invalid at the threshold)."""
    now = now or timezone.now()
    changed = MailingRecipient.objects.filter(
        pk=row.pk, status__in=[RecipientStatus.SENT, RecipientStatus.UNKNOWN]
    ).update(status=RecipientStatus.FAILED, reason_code=BOUNCED, detail=failure.reason, lease_until=None)
    address = row.address_key or normalise_address(row.address)
    result = Attribution(row.pk, address, failure.hard, counted=bool(changed))
    if not changed or not address:
        return result
    invalid, _created = InvalidAddress.objects.select_for_update().get_or_create(address=address)
    invalid.bounces += 1
    invalid.last_bounce_at = now
    invalid.last_reason = failure.reason[:500]
    if invalid.marked_at is None and (
        (failure.hard and invalid.bounces >= HARD_THRESHOLD) or invalid.bounces >= SOFT_THRESHOLD
    ):
        invalid.marked_at = now
        result.marked = True
    invalid.save()
    if result.marked:
        audit.record(None, "invalid", invalid, {"bounces": ["", invalid.bounces], "reason": ["", invalid.last_reason]})
        MailingRecipient.objects.filter(address_key=address, status=RecipientStatus.PENDING).update(
            status=RecipientStatus.SKIPPED, reason_code=RecipientReason.INVALID
        )
    return result


# --- the bounce mailboxes ---------------------------------------------------------------------------------


def envelope_addresses(now: datetime | None = None) -> set[str]:
    """The envelope addresses of the e-mailings started within ``WINDOW`` (or still sending)."""
    now = now or timezone.now()
    recent = Mailing.objects.filter(Q(started_at__gte=now - WINDOW) | Q(status__in=["sending", "paused"]))
    return {
        normalise_address(envelope or sender)
        for envelope, sender in recent.values_list("envelope_from", "sender_address")
        if envelope or sender
    }


def bounce_mailboxes(now: datetime | None = None) -> QuerySet[Mailbox]:
    """The mailboxes delivery reports of recent e-mailings come to."""
    addresses = envelope_addresses(now)
    if not addresses:
        return Mailbox.objects.none()
    return Mailbox.objects.annotate(key=Lower(Trim("address"))).filter(key__in=addresses).order_by("pk")


def read_bounces(mailbox_id: int) -> int:
    """Read the new mails of the INBOX of mailbox ``mailbox_id`` and record the delivery reports
    among them; how many failures were attributed. Its own cursor, committed after each batch: a
    crash reads the batch again, which counts nothing twice."""
    from .sending import imap_settings

    mailbox = Mailbox.objects.filter(pk=mailbox_id).first()
    if mailbox is None:
        return 0
    attributed = 0
    state = FolderState.objects.filter(mailbox=mailbox, folder=CURSOR).first()
    try:
        with imap.session(imap_settings(mailbox)) as session:
            for batch in session.read_new(
                INBOX, state.uidvalidity if state else None, state.last_uid if state else 0, batch=200
            ):
                for uid, raw in batch.mails:
                    try:
                        attributed += len(record_report(raw, envelope=mailbox.address))
                    except Exception:  # one report that cannot be recorded must not stop the others
                        logger.exception("Bounce %s of mailbox %s could not be recorded", uid, mailbox.pk)
                FolderState.objects.update_or_create(
                    mailbox=mailbox,
                    folder=CURSOR,
                    defaults={"uidvalidity": batch.uidvalidity, "last_uid": batch.last_uid, "read_at": timezone.now()},
                )
    except imap.MailboxError as e:
        logger.warning("The bounce mailbox %s could not be read: %s", mailbox.pk, e.message)
    return attributed


def read_all_bounces() -> int:
    return sum(read_bounces(pk) for pk in bounce_mailboxes().values_list("pk", flat=True)[:50])


@db_periodic_task(crontab(minute="*/10"))
def bounce_sweep() -> None:
    read_all_bounces()
