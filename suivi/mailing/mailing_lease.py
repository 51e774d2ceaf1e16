"""The e-mailing worker's identity and its lease on an e-mailing (``mailing_sender``): one worker
per e-mailing, a dead holder's lease free at once on this machine, else after ``LEASE``."""

import logging
import os
import secrets
import socket
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .mailings import (
    Mailing,
    MailingMethod,
    MailingRecipient,
    MailingStatus,
    RecipientReason,
    RecipientStatus,
)

logger = logging.getLogger(__name__)


LEASE = timedelta(seconds=90)  # renewed before each mail and while waiting


# --- the worker's identity and lease ------------------------------------------------------------------


def _process_start(pid: int) -> str:
    """When process ``pid`` started (clock ticks since boot), "" if unknown: with the pid, it
    names one process (a pid can be reused)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return ""
    return fields[19].decode() if len(fields) > 19 else ""


def new_token() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()[:60]}|{pid}|{_process_start(pid)}|{secrets.token_hex(6)}"


def holder_alive(token: str) -> bool:
    """Whether the worker ``token`` may still be running: false only when it ran on this machine
    and its process is gone (or a zombie, or another process has its pid)."""
    try:
        host, pid_text, started, _random = token.split("|")
        pid = int(pid_text)
    except ValueError:
        return True
    if host != socket.gethostname()[:60]:
        return True
    if pid == os.getpid():
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        state = fields[0].decode()
    except FileNotFoundError:
        return False
    except (OSError, IndexError):
        return _signal_zero(pid)
    return state not in ("Z", "X") and (not started or _process_start(pid) == started)


def _signal_zero(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def acquire(mailing_id: int) -> str | None:
    """Take the e-mailing for this worker if it is being sent and nobody alive holds it; mark
    what a dead holder left *sending*. The lease token, or None."""
    token = new_token()
    now = timezone.now()
    with transaction.atomic():
        mailing = Mailing.objects.select_for_update().filter(pk=mailing_id).first()
        if mailing is None or mailing.status != MailingStatus.SENDING:
            return None
        if mailing.worker and mailing.lease_until and mailing.lease_until > now and holder_alive(mailing.worker):
            return None
        Mailing.objects.filter(pk=mailing_id).update(worker=token, lease_until=now + LEASE)
        left = MailingRecipient.objects.filter(mailing_id=mailing_id, status=RecipientStatus.SENDING)
        if mailing.method == MailingMethod.DRAFTS:  # appended once by Message-ID: safe to do again
            left.update(status=RecipientStatus.PENDING, lease_until=None)
        else:
            count = left.update(
                status=RecipientStatus.UNKNOWN, lease_until=None, reason_code=RecipientReason.INTERRUPTED, detail=""
            )
            if count:
                logger.warning(
                    "E-mailing %s: %s recipient(s) left sending by a stopped worker: unknown", mailing_id, count
                )
    return token


def release(mailing_id: int, token: str) -> None:
    Mailing.objects.filter(pk=mailing_id, worker=token).update(worker="", lease_until=None)
