"""Sending a composed mail by its method (S7, S3), in the worker.

The ``OutgoingMail`` row is claimed first (a lease: a second worker, a double click or a repeated
task does nothing), then the mail leaves:

- **send**: through the company SMTP server (``OutgoingServer``; Django's EMAIL_* settings when
  no host is set), the action is then *done*;
- **drafts**: appended once to the Drafts folder of the author's default mailbox (searched by
  Message-ID first, flagged ``\\Draft``); the action stays *to do* until the inbox reader sees
  the message in the Sent folder;
- **graph / graph_drafts**: through the author's Microsoft 365 account (``graph``);
- **outlook** (desktop) never comes here: the page hands the ``.eml`` to the browser.

A failure records its reason on the row (*failed*): nothing is lost, and it can be sent again.
"""

import logging
import smtplib
from datetime import timedelta
from email.message import EmailMessage

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from suivi.activities import attachments
from suivi.activities.models import Action, ActionStatus
from suivi.lib.network import DestinationRefused, connect_guarded

from . import imap
from .models import Mailbox, MailStatus, Method, MicrosoftAccount, OutgoingMail, Security
from .queries import outgoing_server
from .services import _body_html

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
SMTP_TIMEOUT = 20


def claim(mail_id: int) -> bool:
    """Take the mail for this worker: a queued one, or one whose sender died (lease expired)."""
    now = timezone.now()
    claimable = Q(status=MailStatus.QUEUED) | Q(status=MailStatus.SENDING, lease_until__lt=now)
    return bool(
        OutgoingMail.objects.filter(claimable, pk=mail_id).update(
            status=MailStatus.SENDING, lease_until=now + LEASE, attempts=F("attempts") + 1
        )
    )


def _finish(mail: OutgoingMail, status: str, error: str = "") -> None:
    OutgoingMail.objects.filter(pk=mail.pk).update(
        status=status,
        error=error[:1000],
        lease_until=None,
        sent_at=timezone.now() if status == MailStatus.SENT else None,
    )
    if status == MailStatus.SENT and mail.action_id:
        Action.objects.filter(pk=mail.action_id, status=ActionStatus.TODO).update(status=ActionStatus.DONE)


def build_message(mail: OutgoingMail) -> EmailMultiAlternatives:
    """The mail as it leaves: headers from the row (each checked when composed), the text and an
    HTML alternative, the action's files attached."""
    message = EmailMultiAlternatives(
        subject=mail.subject,
        body=mail.body,
        from_email=mail.from_address,
        to=list(mail.to),
        cc=list(mail.cc),
        bcc=list(mail.bcc),
        headers={"Message-ID": mail.message_id},
    )
    if mail.in_reply_to:
        message.extra_headers["In-Reply-To"] = mail.in_reply_to
        message.extra_headers["References"] = mail.in_reply_to
    message.attach_alternative(_body_html(mail.body), "text/html")
    if mail.action_id:
        for attachment in mail.action.attachments.all():
            with attachments.open_file(attachment) as handle:
                message.attach(attachment.name, handle.read(), attachment.content_type)
    return message


def as_bytes(message: EmailMultiAlternatives) -> bytes:
    return message.message().as_bytes(linesep="\r\n")


def as_email_message(message: EmailMultiAlternatives) -> EmailMessage:
    from email import message_from_bytes, policy

    return message_from_bytes(as_bytes(message), policy=policy.default)


class _GuardedSMTP(smtplib.SMTP):
    def _get_socket(self, host, port, timeout):
        return connect_guarded(host, port, timeout)


class _GuardedSMTPSSL(smtplib.SMTP_SSL):
    def _get_socket(self, host, port, timeout):
        sock = connect_guarded(host, port, timeout)
        return self.context.wrap_socket(sock, server_hostname=self._host)


def smtp_connection():
    """A connection to the company SMTP server (Django's EMAIL_* settings when none is set)."""
    server = outgoing_server()
    if not server.host:
        return get_connection(fail_silently=False, timeout=SMTP_TIMEOUT)
    from django.core.mail.backends.smtp import EmailBackend

    class Backend(EmailBackend):
        @property
        def connection_class(self):
            return _GuardedSMTPSSL if self.use_ssl else _GuardedSMTP

    return Backend(
        host=server.host,
        port=server.port,
        username=server.login or None,
        password=server.password or None,
        use_tls=server.security == Security.STARTTLS,
        use_ssl=server.security == Security.SSL,
        timeout=SMTP_TIMEOUT,
        fail_silently=False,
    )


def smtp_reason(error: Exception) -> str:
    if isinstance(error, DestinationRefused):
        return error.reason
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return _("The mail server refused the login: check the login and password of the company's mail server.")
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return _("The mail server refused the recipient: %(detail)s") % {"detail": ", ".join(error.recipients)}
    if isinstance(error, smtplib.SMTPException):
        return _("The mail server refused the message: %(detail)s") % {"detail": error}
    return _("The mail server could not be reached (%(detail)s). Send it again later.") % {
        "detail": str(error) or type(error).__name__
    }


def imap_settings(mailbox: Mailbox) -> imap.ImapSettings:
    return imap.ImapSettings(
        host=mailbox.imap_host,
        port=mailbox.imap_port,
        security=mailbox.imap_security,
        login=mailbox.login,
        password=mailbox.password,
    )


def _send(mail: OutgoingMail, message: EmailMultiAlternatives) -> tuple[str, str]:
    try:
        smtp_connection().send_messages([message])
    except (TimeoutError, smtplib.SMTPException, OSError, DestinationRefused) as e:
        return MailStatus.FAILED, smtp_reason(e)
    return MailStatus.SENT, ""


def _to_drafts(mail: OutgoingMail, message: EmailMultiAlternatives) -> tuple[str, str]:
    if mail.mailbox is None:
        return MailStatus.FAILED, _("You have no default mailbox to store the draft in.")
    try:
        with imap.session(imap_settings(mail.mailbox)) as box:
            box.append_draft_once(as_bytes(message), mail.message_id)
    except imap.MailboxError as e:
        return MailStatus.FAILED, e.message
    return MailStatus.DRAFTED, ""


def _through_graph(mail: OutgoingMail, message: EmailMultiAlternatives) -> tuple[str, str]:
    from . import graph, microsoft

    account = MicrosoftAccount.objects.filter(user_id=mail.author_id).first()
    if account is None:
        return MailStatus.FAILED, _("Connect your Microsoft 365 account (Preferences) to send through Outlook.")
    try:
        tokens = microsoft.fresh_tokens(account)
        if mail.method == Method.GRAPH_DRAFTS:
            graph_id = graph.create_draft(tokens, as_email_message(message))
            OutgoingMail.objects.filter(pk=mail.pk).update(graph_id=graph_id[:255])
            return MailStatus.DRAFTED, ""
        graph.send_mail(tokens, as_email_message(message))
    except graph.GraphError as e:
        return MailStatus.FAILED, e.message
    return MailStatus.SENT, ""


def deliver(mail_id: int) -> None:
    """Send the mail ``mail_id`` if it is still to send; record what became of it."""
    if not claim(mail_id):
        return
    mail = OutgoingMail.objects.select_related("mailbox", "author", "action").get(pk=mail_id)
    with override(mail.author.language or settings.LANGUAGE_CODE):
        try:
            message = build_message(mail)
            way = {Method.SEND: _send, Method.DRAFTS: _to_drafts}.get(mail.method, _through_graph)
            status, error = way(mail, message)
        except Exception:  # a bug or a file gone from the store: failed with a reason, never stuck in "sending"
            logger.exception("Sending mail %s failed", mail_id)
            status, error = (
                MailStatus.FAILED,
                _("The mail could not be prepared for sending; it is kept. Send it again."),
            )
    _finish(mail, status, error)
