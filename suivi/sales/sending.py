"""Delivery of a document's e-mail through Django's e-mail framework (the SMTP settings of
the server: EMAIL_HOST, EMAIL_PORT…). The send is a row first (services.send_document); this
claims it, renders the PDF, sends, and records the outcome. Nothing is lost: an unreachable
server leaves the row *failed* with the reason, and it can be sent again. The reason is stored as
a code and a technical detail, and read in each reader's language (DocumentEvent.reason)."""

import smtplib
import socket
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import Q
from django.utils import timezone

from suivi.lib.network import DestinationRefused
from suivi.mailing.queries import outgoing_server
from suivi.mailing.sending import smtp_connection

from . import merge_fields
from .layouts import TemplateFailed
from .models import DocumentEvent, EventStatus, SendFailure
from .pdf import pdf_filename, render_pdf

LEASE = timedelta(minutes=5)
SMTP_TIMEOUT = 15


def _claim(event_id: int) -> bool:
    """Take the send for this worker: only a pending or failed one, or one whose sender died."""
    now = timezone.now()
    claimable = Q(status__in=[EventStatus.PENDING, EventStatus.FAILED]) | Q(
        status=EventStatus.SENDING, lease_until__lt=now
    )
    return bool(
        DocumentEvent.objects.filter(claimable, pk=event_id).update(
            status=EventStatus.SENDING, lease_until=now + LEASE, error="", error_code=""
        )
    )


def _finish(event_id: int, status: str, code: str = "", detail: str = "") -> None:
    from django.db.models import F

    DocumentEvent.objects.filter(pk=event_id).update(
        status=status,
        error=detail[:1000],
        error_code=code,
        attempts=F("attempts") + 1,
        lease_until=None,
        done_at=timezone.now() if status == EventStatus.DONE else None,
    )


def _failure(error: Exception) -> tuple[str, str]:
    """Why the send failed: a code (read in each reader's language, see DocumentEvent.reason)
    and the technical detail, as the server or the system said it."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return SendFailure.RECIPIENT, ", ".join(
            f"{who}: {code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
            for who, (code, text) in error.recipients.items()
        )
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return SendFailure.LOGIN, str(error)
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return SendFailure.UNREACHABLE, str(error) or type(error).__name__
    if isinstance(error, smtplib.SMTPException):
        return SendFailure.MESSAGE, str(error) or type(error).__name__
    if isinstance(error, ConnectionRefusedError):
        return SendFailure.REFUSED, str(error)
    if isinstance(error, TimeoutError):
        return SendFailure.TIMEOUT, str(error)
    if isinstance(error, socket.gaierror):
        return SendFailure.UNKNOWN_HOST, str(error)
    return SendFailure.UNREACHABLE, str(error) or type(error).__name__


def deliver(event_id: int) -> None:
    """Send the e-mail of event ``event_id`` if it is still to send; record sent or failed."""
    if not _claim(event_id):
        return
    event = DocumentEvent.objects.select_related("document__journal", "document__party", "layout").get(pk=event_id)
    document, layout = event.document, event.layout
    try:
        pdf = render_pdf(layout, merge_fields.context(document, layout.language))
    except TemplateFailed as e:
        _finish(event_id, EventStatus.FAILED, SendFailure.LAYOUT, str(e.problem))
        return
    server = outgoing_server()
    message = EmailMessage(
        subject=event.subject,
        body=event.body,
        from_email=server.from_address or settings.DEFAULT_FROM_EMAIL,
        to=[event.recipient],
    )
    message.attach(pdf_filename(document), pdf, "application/pdf")
    try:
        smtp_connection().send_messages([message])  # the company SMTP server of the mail settings
    except DestinationRefused as e:
        _finish(event_id, EventStatus.FAILED, *_failure(OSError(e.reason)))
        return
    except (TimeoutError, smtplib.SMTPException, OSError) as e:
        _finish(event_id, EventStatus.FAILED, *_failure(e))
        return
    _finish(event_id, EventStatus.DONE)
