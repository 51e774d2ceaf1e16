"""Suivi's IMAP client: the "test connection" button, drafts filed into the user's Drafts folder, and the
incremental read of an inbox (by UIDVALIDITY and last UID, in batches the caller commits one by one).

Every connection goes through the outbound guard (`suivi.lib.network.connect_guarded`, rule S6). Every
problem comes out as a MailboxError whose `step` says where it failed and whose `message` tells the user
what to do; nothing here touches the database.
"""

from __future__ import annotations

import imaplib
import logging
import re
import socket
import ssl
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from imapclient import IMAPClient
from imapclient import exceptions as imap_errors

from suivi.lib.network import DestinationRefused, connect_guarded

logger = logging.getLogger(__name__)

SECURITY_MODES = ("ssl", "starttls", "none")
STEPS = ("dns", "tcp", "tls", "login", "folder", "server")
DEFAULT_BATCH_BYTES = 50_000_000  # a batch of mails held in memory at once, whatever their count

# Usual names of special folders on servers that do not mark them (RFC 6154 SPECIAL-USE), in English,
# French, Dutch and German. Matched on the whole name, then on its last part ("INBOX.Drafts",
# "[Gmail]/Drafts"), ignoring case.
USUAL_NAMES = {
    "\\Drafts": (
        "Drafts",
        "Draft",
        "Brouillons",
        "Brouillon",
        "Concepten",
        "Concept",
        "Entwürfe",
        "Entwurf",
    ),
    "\\Sent": (
        "Sent",
        "Sent Items",
        "Sent Messages",
        "Sent Mail",
        "Envoyés",
        "Éléments envoyés",
        "Messages envoyés",
        "Envoyé",
        "Verzonden",
        "Verzonden items",
        "Verzonden berichten",
        "Gesendet",
        "Gesendete Elemente",
        "Gesendete Objekte",
        "Gesendete Nachrichten",
    ),
}


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    security: str  # "ssl" | "starttls" | "none"
    login: str
    password: str = field(repr=False)
    timeout: float = 20.0


class MailboxError(Exception):
    """`step`: "dns", "tcp", "tls", "login", "folder" or "server"; `message`: for the user, translated."""

    def __init__(self, step: str, message: str):
        super().__init__(message)
        self.step = step
        self.message = message


@dataclass
class Batch:
    uidvalidity: int
    last_uid: int  # commit it with the mails: the next read starts after it
    resynced: bool  # the folder was read from its start (first read, or UIDVALIDITY changed)
    mails: list[tuple[int, bytes]]  # (uid, RFC 822 bytes), in uid order


# --- connecting ---------------------------------------------------------------------------------------------


class _ConnectedIMAP4(imaplib.IMAP4):
    """imaplib over a socket Suivi connected itself (through the guard, and already in TLS for "ssl")."""

    def __init__(self, host: str, port: int, sock: socket.socket):
        self._connected_socket = sock
        super().__init__(host, port)

    def _create_socket(self, timeout=None):
        return self._connected_socket


class _Client(IMAPClient):
    def __init__(self, settings: ImapSettings, sock: socket.socket):
        self._connected_socket = sock
        super().__init__(settings.host, settings.port, ssl=settings.security == "ssl", timeout=settings.timeout)

    def _create_IMAP4(self):  # noqa: N802  (IMAPClient's name)
        return _ConnectedIMAP4(self.host, self.port, self._connected_socket)


Report = Callable[[str, str], None]


def _where(s: ImapSettings) -> str:
    return f"{s.host}:{s.port}"


def _server_text(exc: BaseException, secret: str = "") -> str:
    """The server's own words, short, without the password should a server echo it."""
    text = str(exc)
    text = re.sub(r"^b'(.*)'$", r"\1", text)
    text = re.sub(r"^(\w+ failed: )", "", text)
    if secret and len(secret) >= 3:
        text = text.replace(secret, "…")
    return text[:300]


def _lost(s: ImapSettings, exc: BaseException) -> MailboxError:
    if isinstance(exc, TimeoutError):
        return MailboxError(
            "server",
            _("The mail server %(where)s stopped answering (nothing within %(seconds)s seconds). Try again later.")
            % {"where": _where(s), "seconds": f"{s.timeout:g}"},
        )
    return MailboxError(
        "server",
        _("The connection to the mail server %(where)s was lost (%(error)s). Try again later.")
        % {"where": _where(s), "error": _server_text(exc) or type(exc).__name__},
    )


def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()  # certificate and host name verified


def _tls_error(s: ImapSettings, exc: BaseException) -> MailboxError:
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = exc.verify_message or str(exc)
        return MailboxError(
            "tls",
            _(
                "The certificate of %(host)s could not be verified (%(detail)s). Check the server name: it must "
                "be the one on the server's certificate."
            )
            % {"host": s.host, "detail": detail},
        )
    if isinstance(exc, TimeoutError):
        detail = _("no answer within %(seconds)s seconds") % {"seconds": f"{s.timeout:g}"}
    else:
        detail = getattr(exc, "reason", None) or _server_text(exc) or type(exc).__name__
    return MailboxError(
        "tls",
        _(
            "No secure connection could be set up with %(where)s (%(detail)s). Check the security setting: SSL "
            "is usually port 993, STARTTLS or none port 143."
        )
        % {"where": _where(s), "detail": detail},
    )


def _open(s: ImapSettings, report: Report | None = None) -> _Client:
    """Connects and logs in, calling `report(step, message)` after each step that succeeded."""
    if s.security not in SECURITY_MODES:
        raise ValueError(f"unknown IMAP security {s.security!r}")
    done = report or (lambda step, message: None)
    where = _where(s)

    # dns + tcp: one resolution, checked by the guard, then a connection to the checked address
    try:
        sock = connect_guarded(s.host, s.port, s.timeout)
    except DestinationRefused as exc:
        raise MailboxError("dns", exc.reason) from None
    except OSError as exc:
        done("dns", _("%(host)s found.") % {"host": s.host})
        if isinstance(exc, TimeoutError):
            detail = _("no answer within %(seconds)s seconds") % {"seconds": f"{s.timeout:g}"}
        else:
            detail = exc.strerror or str(exc) or type(exc).__name__
        raise MailboxError(
            "tcp",
            _(
                "Could not connect to %(where)s (%(detail)s). Check the server name and the port, and that the "
                "server accepts connections from this Suivi."
            )
            % {"where": where, "detail": detail},
        ) from None
    address = sock.getpeername()[0]
    done("dns", _("%(host)s is %(address)s.") % {"host": s.host, "address": address})
    done("tcp", _("Connected to %(address)s, port %(port)s.") % {"address": address, "port": s.port})

    if s.security == "ssl":
        try:
            server_name = s.host.strip().strip("[]").rstrip(".")
            sock = _tls_context().wrap_socket(sock, server_hostname=server_name)
        except (ssl.SSLError, OSError) as exc:
            sock.close()
            raise _tls_error(s, exc) from None

    try:
        client = _Client(s, sock)  # reads the server's greeting
    except (imaplib.IMAP4.error, OSError, EOFError, ValueError) as exc:
        sock.close()
        if isinstance(exc, TimeoutError) and s.security != "ssl":
            hint = _("If the server expects SSL on this port (usually 993), choose SSL.")
        else:
            hint = _("Check the port: usually 993 for SSL, 143 for STARTTLS or none.")
        raise MailboxError(
            "server",
            _("%(where)s did not answer as an IMAP mail server (%(detail)s). %(hint)s")
            % {"where": where, "detail": _server_text(exc) or type(exc).__name__, "hint": hint},
        ) from None

    try:
        if s.security == "starttls":
            try:
                client.starttls(_tls_context())
            except imap_errors.CapabilityError:
                raise MailboxError(
                    "tls",
                    _("%(where)s does not offer STARTTLS. Choose SSL (usually port 993) or ask your provider.")
                    % {"where": where},
                ) from None
            except ssl.SSLError as exc:
                raise _tls_error(s, exc) from None
            except imap_errors.IMAPClientAbortError as exc:
                raise _tls_error(s, exc) from None
            except imap_errors.IMAPClientError as exc:
                raise _tls_error(s, exc) from None
        if s.security != "none":
            tls_socket = client.socket()
            version = tls_socket.version() if isinstance(tls_socket, ssl.SSLSocket) else "TLS"
            done("tls", _("Secure connection (%(version)s), certificate verified.") % {"version": version})

        if s.security == "none" and client.has_capability("LOGINDISABLED"):
            raise MailboxError(
                "login",
                _("%(where)s refuses to receive a password over an unencrypted connection. Choose SSL or STARTTLS.")
                % {"where": where},
            )
        try:
            client.login(s.login, s.password)
        except imap_errors.LoginError as exc:
            raise MailboxError(
                "login",
                _(
                    "%(where)s refused the login “%(login)s” (%(detail)s). Check the user name and the "
                    "password; some providers want an application password."
                )
                % {"where": where, "login": s.login, "detail": _server_text(exc, s.password)},
            ) from None
        except UnicodeEncodeError:
            raise MailboxError(
                "login",
                _(
                    "The user name or password contains characters (accents, symbols) that %(where)s cannot "
                    "receive. Use an application password made of plain letters and digits."
                )
                % {"where": where},
            ) from None
        done("login", _("Logged in as %(login)s.") % {"login": s.login})
        return client
    except MailboxError:
        _close(client, broken=True)
        raise
    except (imap_errors.IMAPClientAbortError, OSError, EOFError) as exc:
        _close(client, broken=True)
        raise _lost(s, exc) from None
    except imap_errors.IMAPClientError as exc:
        _close(client, broken=True)
        raise MailboxError(
            "server",
            _("%(where)s answered something unexpected (%(detail)s).")
            % {"where": where, "detail": _server_text(exc, s.password)},
        ) from None


def _close(client: IMAPClient, broken: bool = False) -> None:
    if not broken:
        try:
            client.logout()
            return
        except Exception:  # noqa: BLE001  (closing: the connection may already be gone)
            pass
    try:
        client.shutdown()
    except Exception:  # noqa: BLE001
        pass


# --- the public entry points --------------------------------------------------------------------------------


def check_connection(s: ImapSettings) -> list[tuple[str, bool, str]]:
    """The "test connection" button: (step, ok, message) for dns, tcp, tls (not listed for "none"), login
    and folder (INBOX can be opened, a Drafts folder is found), in order, up to the first failure. The failed
    step is the MailboxError's (so it may be "server" when the server stops answering midway)."""
    steps: list[tuple[str, bool, str]] = []

    def done(step: str, message: str) -> None:
        steps.append((step, True, message))

    try:
        client = _open(s, done)
        imap = ImapSession(client, s)
        try:
            info = imap._select("INBOX")
            drafts = imap.special_folder("\\Drafts")
            done(
                "folder",
                _("INBOX holds %(count)s messages; drafts go to “%(drafts)s”.")
                % {"count": info.get(b"EXISTS", 0), "drafts": drafts},
            )
        finally:
            _close(client, broken=imap._broken)
    except MailboxError as exc:
        steps.append((exc.step, False, exc.message))
    except Exception as exc:  # a server answering nonsense must not break the settings page
        logger.warning("IMAP check of %s failed unexpectedly", _where(s), exc_info=True)
        steps.append(
            (
                "server",
                False,
                _("%(where)s answered something unexpected (%(detail)s).")
                % {"where": _where(s), "detail": _server_text(exc, s.password) or type(exc).__name__},
            )
        )
    return steps


@contextmanager
def session(s: ImapSettings) -> Iterator[ImapSession]:
    """A logged-in connection (through the outbound guard); raises MailboxError with the failed step."""
    client = _open(s)
    imap = ImapSession(client, s)
    try:
        yield imap
    finally:
        _close(client, broken=imap._broken)


def _folder_key(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


def _name_of(raw) -> str:
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "replace")
    return str(raw)  # IMAPClient may give an int for a folder named "2024"


def _message_id(message_id: str) -> str:
    value = (message_id or "").strip()
    if not value or any(not 33 <= ord(c) <= 126 or c in '"\\' for c in value):
        raise ValueError(f"not a usable Message-ID: {message_id!r}")
    if not value.startswith("<"):
        value = f"<{value}>"
    return value


class ImapSession:
    """One logged-in connection. Methods raise MailboxError ("folder" for a folder that cannot be opened
    or found, "server" for a refused command or a lost connection)."""

    def __init__(self, client: IMAPClient, settings: ImapSettings):
        self._client = client
        self._settings = settings
        self._folders: list[tuple[tuple, str, str]] | None = None
        self._selected: str | None = None
        self._broken = False

    @contextmanager
    def _talking(self) -> Iterator[None]:
        try:
            yield
        except MailboxError:
            raise
        except (imap_errors.IMAPClientAbortError, OSError, EOFError) as exc:
            self._broken = True
            raise _lost(self._settings, exc) from None
        except imap_errors.IMAPClientError as exc:
            raise MailboxError(
                "server",
                _("%(where)s refused a command (%(detail)s). Try again later.")
                % {"where": _where(self._settings), "detail": _server_text(exc, self._settings.password)},
            ) from None

    def _select(self, folder: str) -> dict:
        with self._talking():
            try:
                info = self._client.select_folder(folder, readonly=True)
            except imap_errors.IMAPClientAbortError:
                raise
            except imap_errors.IMAPClientError as exc:
                self._selected = None
                raise MailboxError(
                    "folder",
                    _(
                        "The folder “%(folder)s” cannot be opened on %(host)s (%(detail)s). It may have been "
                        "deleted or renamed: choose the folder again in the mailbox settings."
                    )
                    % {"folder": folder, "host": self._settings.host, "detail": _server_text(exc)},
                ) from None
        self._selected = folder
        return info

    def _folder_list(self) -> list[tuple[tuple, str, str]]:
        if self._folders is None:
            with self._talking():
                listed = self._client.list_folders()
                if self._client.has_capability("SPECIAL-USE") and not any(
                    flag.lower() in (b"\\drafts", b"\\sent") for flags, _d, _n in listed for flag in flags
                ):
                    listed = self._list_special_use() or listed
            self._folders = [
                (tuple(f.decode("ascii", "replace").lower() for f in flags), _name_of(delim or b""), _name_of(name))
                for flags, delim, name in listed
            ]
        return self._folders

    def _list_special_use(self) -> list:
        """LIST … RETURN (SPECIAL-USE), for servers that mark special folders only when asked (RFC 6154)."""
        imap = self._client._imap
        try:
            typ, data = imap._simple_command("LIST", '""', '"*"', "RETURN (SPECIAL-USE)")
            typ, data = imap._untagged_response(typ, data, "LIST")
            return self._client._proc_folder_list(data) if typ == "OK" else []
        except imap_errors.IMAPClientAbortError:
            raise
        except imap_errors.IMAPClientError:
            return []

    def special_folder(self, use: str) -> str:
        """The folder for `use` ("\\Drafts" or "\\Sent"): the one the server marks (SPECIAL-USE), else one of
        the usual names in English, French, Dutch or German."""
        wanted = use.lower()
        selectable = [
            (flags, delim, name)
            for flags, delim, name in self._folder_list()
            if "\\noselect" not in flags and "\\nonexistent" not in flags
        ]
        for flags, _delim, name in selectable:
            if wanted in flags:
                return name
        usual = [_folder_key(n) for n in USUAL_NAMES.get(use, ())]
        by_key: dict[str, str] = {}
        for _flags, _delim, name in selectable:
            by_key.setdefault(_folder_key(name), name)
        for key in usual:
            if key in by_key:
                return by_key[key]
        for key in usual:
            for _flags, delim, name in selectable:
                last = name.rsplit(delim, 1)[-1] if delim else name
                if _folder_key(last) == key:
                    return name
        kind = _("drafts") if use == "\\Drafts" else _("sent mail") if use == "\\Sent" else use
        raise MailboxError(
            "folder",
            _(
                "No %(kind)s folder was found on %(host)s: the server marks none and none has a usual name "
                "(%(names)s). Create one in your mail program, then try again."
            )
            % {"kind": kind, "host": self._settings.host, "names": ", ".join(USUAL_NAMES.get(use, ())[:4])},
        )

    def has_message(self, folder: str, message_id: str) -> int | None:
        """The UID of the message with this Message-ID in `folder`, or None."""
        wanted = _message_id(message_id)
        self._select(folder)
        with self._talking():
            uids = self._client.search(["HEADER", "Message-ID", wanted])
        return min(uids) if uids else None

    def append_draft_once(self, raw: bytes, message_id: str) -> tuple[str, int | None, bool]:
        """Files `raw` into the Drafts folder unless a message with this Message-ID is there already (a
        retried job files nothing twice). Returns (folder, uid or None, appended)."""
        folder = self.special_folder("\\Drafts")
        existing = self.has_message(folder, message_id)
        if existing is not None:
            return folder, existing, False
        with self._talking():
            try:
                answer = self._client.append(folder, raw, flags=(b"\\Draft", b"\\Seen"))
            except imap_errors.IMAPClientAbortError:
                raise
            except imap_errors.IMAPClientError as exc:
                detail = _server_text(exc)
                raise MailboxError(
                    "folder" if "TRYCREATE" in detail.upper() else "server",
                    _("%(host)s refused to store the draft in “%(folder)s” (%(detail)s).")
                    % {"host": self._settings.host, "folder": folder, "detail": detail},
                ) from None
        match = re.search(rb"\[APPENDUID \d+ (\d+)\]", answer or b"", re.IGNORECASE)
        return folder, int(match.group(1)) if match else None, True

    def read_new(
        self,
        folder: str,
        uidvalidity: int | None,
        last_uid: int,
        batch: int = 200,
        max_batch_bytes: int = DEFAULT_BATCH_BYTES,
    ) -> Iterator[Batch]:
        """The mails of `folder` after `last_uid`, in batches in UID order (nothing is marked as seen). When
        the folder's UIDVALIDITY is not `uidvalidity` (or that is None) the folder is read from its start
        and every batch says `resynced`. Nothing new: one SELECT (and at most one SEARCH), nothing yielded."""
        info = self._select(folder)
        current = info.get(b"UIDVALIDITY")
        if current is None:
            raise MailboxError(
                "server",
                _("%(host)s gives no UIDVALIDITY for “%(folder)s”: Suivi cannot read it incrementally.")
                % {"host": self._settings.host, "folder": folder},
            )
        current = int(current)
        resynced = uidvalidity is None or int(uidvalidity) != current
        after = 0 if resynced else max(0, int(last_uid))
        uidnext = info.get(b"UIDNEXT")
        if not info.get(b"EXISTS") or (uidnext is not None and int(uidnext) <= after + 1):
            return
        with self._talking():
            found = self._client.search(f"UID {after + 1}:*".encode("ascii"))
        uids = sorted(uid for uid in found if uid > after)  # "N:*" also matches the last mail when N > it
        batch = max(1, batch)
        window = max(batch * 5, 1000)  # sizes asked for this many mails at a time
        for start in range(0, len(uids), window):
            if not self._still_selected(folder, current):
                return
            with self._talking():
                chunk = uids[start : start + window]
                sizes = self._client.fetch(chunk, ["RFC822.SIZE"])
            for group in _batches(chunk, sizes, batch, max_batch_bytes):
                if not self._still_selected(folder, current):
                    return
                with self._talking():
                    fetched = self._client.fetch(group, ["BODY.PEEK[]"])
                mails = []
                for uid in group:
                    body = fetched.get(uid, {}).get(b"BODY[]")
                    if body is not None:  # else expunged since the SEARCH
                        mails.append((uid, bytes(body)))
                yield Batch(uidvalidity=current, last_uid=group[-1], resynced=resynced, mails=mails)

    def _still_selected(self, folder: str, uidvalidity: int) -> bool:
        """Between two batches the caller may have used the session for another folder: select ours again,
        and stop when its UIDVALIDITY changed meanwhile (the next read starts over)."""
        if self._selected == folder:
            return True
        return int(self._select(folder).get(b"UIDVALIDITY", -1)) == uidvalidity


def _batches(uids: list[int], sizes: dict, count: int, max_bytes: int) -> Iterator[list[int]]:
    """UIDs grouped by `count` and by `max_bytes` of mail (a group holds at least one mail)."""
    group: list[int] = []
    total = 0
    for uid in uids:
        size = int(sizes.get(uid, {}).get(b"RFC822.SIZE") or 0)
        if group and (len(group) >= count or total + size > max_bytes):
            yield group
            group, total = [], 0
        group.append(uid)
        total += size
    if group:
        yield group
