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
