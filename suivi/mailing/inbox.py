"""Reading a mailbox into the inbox (S15), in the worker.

Incremental: each folder's UIDVALIDITY and last UID are kept in ``FolderState`` and committed
after every batch, so a crash resumes where it stopped; a changed UIDVALIDITY reads the folder
again and the unique (mailbox, Message-ID) keeps every mail once. Mails are parsed with the
standard library's modern e-mail API (``parsing``); auto-replies and bounces are kept apart and
never filed as conversations. Mails from a contact of exactly one party are filed at once when
the mailbox says so. The Sent folder is read too, for its Message-IDs only: a mail Suivi stored
in Drafts becomes *sent* when it shows up there.
"""

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from suivi.activities import attachments
from suivi.activities.models import Action, ActionStatus

from . import imap
from .models import FolderState, InboxStatus, IncomingMail, Mailbox, MailKind, MailStatus, OutgoingMail
from .parsing import ParsedMail, all_addresses, parse_mail

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
INBOX = "INBOX"


def _claim(mailbox_id: int) -> bool:
    now = timezone.now()
    return bool(
        Mailbox.objects.filter(Q(reading_until__isnull=True) | Q(reading_until__lt=now), pk=mailbox_id).update(
            reading_until=now + LEASE
        )
    )


def _release(mailbox_id: int, error: str = "") -> None:
    Mailbox.objects.filter(pk=mailbox_id).update(
        reading_until=None, last_read_at=timezone.now(), last_error=error[:500]
    )


def _row(mailbox: Mailbox, folder: str, uid: int, raw: bytes, parsed: ParsedMail) -> IncomingMail:
    own = mailbox.address.lower()
    sender = (parsed.sender.email if parsed.sender else "").lower()
    others = [a for a in all_addresses(parsed) if a.lower() != sender]
    stored = ""
    if parsed.attachments:
        stored = attachments.storage().save(f"mail/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.eml", ContentFile(raw))
    return IncomingMail(
        mailbox=mailbox,
        folder=folder,
        uid=uid,
        message_id=parsed.message_id[:255],
        in_reply_to=parsed.in_reply_to[:255],
        references=parsed.references,
        subject=parsed.subject[:500],
        sender_name=(parsed.sender.name if parsed.sender else "")[:200],
        sender_email=(parsed.sender.email if parsed.sender else "")[:320],
        recipients=[a for a in others if a.lower() != own][:2000],
        date=parsed.date or timezone.now(),
        text=parsed.text,
        html=parsed.html,
        kind=parsed.kind,
        status=InboxStatus.NEW if parsed.kind == MailKind.CONVERSATION else InboxStatus.IGNORED,
        attachment_names=[a.filename for a in parsed.attachments][:100],
        raw=stored,
        size=parsed.size,
    )


def _store_batch(mailbox: Mailbox, folder: str, batch: imap.Batch) -> list[IncomingMail]:
    rows = []
    for uid, raw in batch.mails:
        try:
            rows.append(_row(mailbox, folder, uid, raw, parse_mail(raw, max_attachment_bytes=attachments.max_bytes())))
        except Exception:  # one mail that cannot be read must not stop the others
            logger.exception("Could not read mail %s of mailbox %s", uid, mailbox.pk)
    known = set(
        IncomingMail.objects.filter(mailbox=mailbox, message_id__in=[r.message_id for r in rows]).values_list(
            "message_id", flat=True
        )
    )
    fresh, seen = [], set(known)
    for row in rows:
        if row.message_id in seen:
            if row.raw:
                attachments.remove_files([row.raw])
            continue
        seen.add(row.message_id)
        fresh.append(row)
    with transaction.atomic():
        IncomingMail.objects.bulk_create(fresh, ignore_conflicts=True)
        FolderState.objects.update_or_create(
            mailbox=mailbox,
            folder=folder,
            defaults={"uidvalidity": batch.uidvalidity, "last_uid": batch.last_uid, "read_at": timezone.now()},
        )
    # read back: ignore_conflicts leaves the primary keys unset on some databases
    return list(
        IncomingMail.objects.filter(mailbox=mailbox, message_id__in=[r.message_id for r in fresh]).defer("text", "html")
    )


def _sent_seen(mailbox: Mailbox, session: "imap.ImapSession") -> int:
    """Drafts Suivi stored that now sit in the Sent folder: *sent*, their action done."""
    waiting = list(
        OutgoingMail.objects.filter(mailbox=mailbox, status=MailStatus.DRAFTED).values_list("pk", "message_id")[:200]
    )
    if not waiting:
        return 0
    try:
        sent_folder = session.special_folder("\\Sent")
    except imap.MailboxError:
        return 0
    done = 0
    for pk, message_id in waiting:
        if session.has_message(sent_folder, message_id):
            mail = OutgoingMail.objects.get(pk=pk)
            OutgoingMail.objects.filter(pk=pk).update(status=MailStatus.SENT, sent_at=timezone.now())
            Action.objects.filter(pk=mail.action_id, status=ActionStatus.TODO).update(status=ActionStatus.DONE)
            done += 1
    return done


def read_mailbox(mailbox_id: int) -> int:
    """Read what is new in the mailbox ``mailbox_id``; returns how many mails were added. Its
    error, if any, is kept on the mailbox for its owner to see."""
    from .sending import imap_settings
    from .services import auto_file

    if not _claim(mailbox_id):
        return 0
    mailbox = Mailbox.objects.select_related("owner").get(pk=mailbox_id)
    language = mailbox.owner.language if mailbox.owner_id else settings.LANGUAGE_CODE
    with override(language):  # the error is kept for the mailbox's reader, in their language
        added, error = _read(mailbox, auto_file, imap_settings)
    _release(mailbox_id, error)
    return added


def _read(mailbox: Mailbox, auto_file, imap_settings) -> tuple[int, str]:
    mailbox_id = mailbox.pk
    added = 0
    error = ""
    try:
        with imap.session(imap_settings(mailbox)) as session:
            state = FolderState.objects.filter(mailbox=mailbox, folder=INBOX).first()
            for batch in session.read_new(
                INBOX, state.uidvalidity if state else None, state.last_uid if state else 0, batch=500
            ):
                fresh = _store_batch(mailbox, INBOX, batch)
                added += len(fresh)
                if mailbox.auto_file and mailbox.owner_id:
                    auto_file(mailbox, [m for m in fresh if m.status == InboxStatus.NEW])
                Mailbox.objects.filter(pk=mailbox_id).update(reading_until=timezone.now() + LEASE)
            _sent_seen(mailbox, session)
    except imap.MailboxError as e:
        error = e.message
    except Exception:
        logger.exception("Reading mailbox %s failed", mailbox_id)
        error = _("The mailbox could not be read; Suivi will try again.")
    return added, error
