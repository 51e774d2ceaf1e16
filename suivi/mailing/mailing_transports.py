"""How the e-mailing worker's mails leave (``mailing_sender``): SMTP transactions written by hand,
so that a lost connection is known to have happened before or after the message's end, and the
Drafts folder (S7). Each send has an ``Outcome``."""

import logging
import smtplib
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.utils.translation import gettext as _

from suivi.lib.network import DestinationRefused
from suivi.lib.text import one_line

from . import imap
from .mailing_messages import Built, as_bytes
from .mailings import (
    Mailing,
    PauseReason,
    RecipientReason,
)
from .sending import imap_settings, smtp_connection, smtp_reason

logger = logging.getLogger(__name__)


# --- transports ------------------------------------------------------------------------------------------

SENT = "sent"
FAILED = "failed"
RETRY = "retry"  # a 4xx: this recipient again later
AGAIN = "again"  # not sent (the connection failed or was lost before the message's end): again now
UNKNOWN = "unknown"
PAUSE = "pause"  # nothing can leave (login refused, no drafts folder…): pause the e-mailing


@dataclass
class Outcome:
    kind: str
    code: str = ""
    detail: str = ""
    connection: bool = False  # the connection itself failed (wait before the next try)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return one_line(str(value))[:900]


def _by_code(code: int, reply: Any, failed_code: str) -> Outcome:
    detail = f"{code} {_text(reply)}".strip()
    if 400 <= code < 500:
        return Outcome(RETRY, failed_code, detail)
    return Outcome(FAILED, failed_code, detail)


class SmtpTransport:
    """One connection to the company server for many mails; reopened when lost."""

    def __init__(self, envelope_from: str) -> None:
        self.envelope_from = envelope_from
        self.backend: Any = None
        self.conn: smtplib.SMTP | None = None
        self.dirty = False

    def _open(self) -> Outcome | None:
        try:
            backend = smtp_connection()
            if not isinstance(backend, SmtpBackend):
                self.backend = backend  # a development backend (console, memory): whole messages
                return None
            backend.open()
            if backend.connection is None:
                raise smtplib.SMTPServerDisconnected("no connection")
            backend.connection.ehlo_or_helo_if_needed()
            if backend.connection.sock is not None:  # the last line of a message goes alone, at its turn: at once
                backend.connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except smtplib.SMTPAuthenticationError as e:
            return Outcome(PAUSE, PauseReason.LOGIN, f"{e.smtp_code} {_text(e.smtp_error)}")
        except DestinationRefused as e:
            return Outcome(PAUSE, PauseReason.UNREACHABLE, e.reason)
        except (smtplib.SMTPException, OSError) as e:
            return Outcome(AGAIN, PauseReason.UNREACHABLE, _text(smtp_reason(e)), connection=True)
        self.backend, self.conn, self.dirty = backend, backend.connection, False
        return None

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except (smtplib.SMTPException, OSError):
                pass
            try:
                self.conn.close()
            except OSError:
                pass
        self.conn = None
        self.backend = None

    def _lost(self) -> None:
        try:
            if self.conn is not None:
                self.conn.close()
        except OSError:
            pass
        self.conn = None
        self.backend = None

    def send(self, built: Built, recipient: str, message_id: str, hold: Callable[[], None]) -> Outcome:
        if self.conn is None and self.backend is None:
            failed = self._open()
            if failed is not None:
                return failed
        if self.conn is None:  # a development backend
            hold()
            try:
                self.backend.send_messages([built.message])
            except Exception as e:
                return Outcome(AGAIN, PauseReason.UNREACHABLE, _text(e), connection=True)
            return Outcome(SENT)
        conn = self.conn
        after_end = False
        try:
            if self.dirty:  # a transaction failed on this connection: reset it before the next one
                if conn.rset()[0] != 250:
                    self._lost()
                    return Outcome(AGAIN, PauseReason.UNREACHABLE, "RSET refused", connection=True)
                self.dirty = False
            code, reply = conn.mail(self.envelope_from)
            if code != 250:
                self.dirty = True
                return self._closing(code, _by_code(code, reply, RecipientReason.SENDER))
            code, reply = conn.rcpt(recipient)
            if code not in (250, 251):
                self.dirty = True
                return self._closing(code, _by_code(code, reply, RecipientReason.REFUSED))
            conn.putcmd("data")
            code, reply = conn.getreply()
            if code != 354:
                self.dirty = True
                return self._closing(code, _by_code(code, reply, RecipientReason.MESSAGE))
            content = smtplib._quote_periods(as_bytes(built.message))  # type: ignore[attr-defined]
            if content[-2:] != b"\r\n":
                content += b"\r\n"
            conn.send(content)
            hold()  # the message reaches the server at its turn
            after_end = True  # from the final dot on, the server may have taken the message
            conn.send(b".\r\n")
            code, reply = conn.getreply()
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException, OSError) as e:
            self._lost()
            detail = _text(e) or type(e).__name__
            if after_end:
                return Outcome(UNKNOWN, RecipientReason.LOST, detail)
            return Outcome(AGAIN, PauseReason.UNREACHABLE, detail, connection=True)
        if code == 250:
            return Outcome(SENT)
        self.dirty = True
        return self._closing(code, _by_code(code, reply, RecipientReason.MESSAGE))

    def _closing(self, code: int, outcome: Outcome) -> Outcome:
        if code == 421:  # the server closes the connection
            self._lost()
        return outcome


class DraftsTransport:
    """Each message appended once (by its Message-ID) to the Drafts folder of the mailbox."""

    def __init__(self, mailing: Mailing):
        self.mailbox = mailing.mailbox
        self._session: Any = None
        self.box: imap.ImapSession | None = None

    def _open(self) -> Outcome | None:
        if self.mailbox is None:
            return Outcome(PAUSE, PauseReason.MAILBOX, _("the e-mailing's mailbox was deleted"))
        try:
            self._session = imap.session(imap_settings(self.mailbox))
            self.box = self._session.__enter__()
        except imap.MailboxError as e:
            self._session = None
            if e.step in ("login", "folder"):
                return Outcome(PAUSE, PauseReason.MAILBOX, e.message)
            return Outcome(AGAIN, PauseReason.MAILBOX, e.message, connection=True)
        return None

    def close(self) -> None:
        if self._session is not None:
            try:
                self._session.__exit__(None, None, None)
            except Exception:  # a connection already gone
                logger.debug("closing the drafts session failed", exc_info=True)
        self._session = None
        self.box = None

    def send(self, built: Built, recipient: str, message_id: str, hold: Callable[[], None]) -> Outcome:
        if self.box is None:
            failed = self._open()
            if failed is not None:
                return failed
        assert self.box is not None
        hold()
        try:
            self.box.append_draft_once(as_bytes(built.message), message_id)
        except imap.MailboxError as e:
            if e.step == "folder":
                self.close()
                return Outcome(PAUSE, PauseReason.MAILBOX, e.message)
            self.close()  # a lost connection, or a refused command: again, on a new session
            return Outcome(AGAIN, PauseReason.MAILBOX, e.message, connection=True)
        except ValueError as e:
            return Outcome(FAILED, RecipientReason.DRAFTS, _text(e))
        return Outcome(SENT)
