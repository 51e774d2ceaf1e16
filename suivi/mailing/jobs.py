"""Background jobs of mail. Each task only wakes the work up: the state lives in the rows
(``OutgoingMail`` status and lease, ``Mailbox`` lease, ``FolderState``), so a repeated task does
nothing twice and the sweeps resume what a dead worker left."""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from . import inbox, sending
from .models import Mailbox, MailStatus, OutgoingMail


@db_task()
def deliver_mail(mail_id: int) -> None:
    sending.deliver(mail_id)


@db_task()
def read_mailbox(mailbox_id: int) -> int:
    return inbox.read_mailbox(mailbox_id)


def resume_mails(now=None) -> int:
    """Queue again the mails waiting for a worker that never came or died (lease expired)."""
    now = now or timezone.now()
    stuck = OutgoingMail.objects.filter(
        Q(status=MailStatus.QUEUED, created_at__lt=now - timedelta(minutes=1))
        | Q(status=MailStatus.SENDING, lease_until__lt=now)
    )
    pks = list(stuck.values_list("pk", flat=True)[:500])
    for pk in pks:
        deliver_mail(pk)
    return len(pks)


def read_all_mailboxes() -> int:
    """Queue a read of every default and shared mailbox not being read now."""
    now = timezone.now()
    boxes = Mailbox.objects.filter(Q(is_default=True) | Q(owner__isnull=True)).exclude(reading_until__gt=now)
    pks = list(boxes.values_list("pk", flat=True))
    for pk in pks:
        read_mailbox(pk)
    return len(pks)


@db_periodic_task(crontab(minute="*/2"))
def mail_sweep() -> None:
    resume_mails()


@db_periodic_task(crontab(minute="*/5"))
def inbox_sweep() -> None:
    read_all_mailboxes()


# --- e-mailings (issue 11) ------------------------------------------------------------------------------
# The state lives in the ``Mailing`` and ``MailingRecipient`` rows (mailing_sender): a task only
# wakes a worker up. A repeated task finds the lease taken and does nothing; the sweep wakes the
# e-mailings whose worker died or never came, and starts the scheduled ones.


@db_task()
def send_mailing(mailing_id: int) -> str:
    """Send an e-mailing for a slice of time, then queue itself again if it is not finished (so
    that other jobs run between the slices of a long e-mailing)."""
    from . import mailing_sender

    outcome = mailing_sender.run(mailing_id, seconds=mailing_sender.SLICE_SECONDS)
    if outcome == mailing_sender.MORE:
        send_mailing(mailing_id)
    return outcome


@db_task()
def start_scheduled_mailing(mailing_id: int) -> None:
    from . import mailing_sender

    if mailing_sender.begin_scheduled(mailing_id):
        send_mailing(mailing_id)


def resume_mailings(now=None) -> int:
    """Start the scheduled e-mailings whose time came; wake those no live worker sends."""
    from . import mailing_sender

    pks = mailing_sender.sweep(now)
    for pk in pks:
        send_mailing(pk)
    return len(pks)


@db_periodic_task(crontab(minute="*"))
def mailing_sweep() -> None:
    resume_mailings()
