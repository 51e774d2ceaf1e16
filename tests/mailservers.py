"""Real mail servers on loopback for the tests: Debian's Dovecot (IMAP) and aiosmtpd (SMTP).

    from .mailservers import dovecot, smtp_server  # noqa: F401  (fixtures)

`dovecot` is one server per test session (per xdist worker); each test takes fresh users from it with
`dovecot.add_user()`. Tests set `settings.SUIVI_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]` themselves so Suivi's
outbound guard lets them reach these servers.
"""

from __future__ import annotations

import datetime
import email
import ipaddress
import itertools
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from imapclient import IMAPClient

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
START_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) != 0


@dataclass(frozen=True)
class MailUser:
    login: str
    password: str
    address: str


def dovecot_version() -> tuple[int, ...]:
    out = subprocess.run([DOVECOT, "--version"], capture_output=True, text=True, check=True).stdout
    return tuple(int(n) for n in re.match(r"(\d+)\.(\d+)", out).groups())


def _identities() -> dict[str, object]:
    """Who Dovecot's processes and mail files run as. As root: Debian's `dovecot` / `dovenull` users for
    the service processes and `nobody` for mail (Dovecot refuses uid 0 for mail). Otherwise: ourselves."""
    if os.getuid() == 0:
        nobody = pwd.getpwnam("nobody")
        return {
            "internal_user": "dovecot",
            "login_user": "dovenull",
            "mail_uid": nobody.pw_uid,
            "mail_gid": nobody.pw_gid,
            "first_valid_uid": 1,
            "chroot_login": True,
        }
    me = pwd.getpwuid(os.getuid())
    return {
        "internal_user": me.pw_name,
        "login_user": me.pw_name,
        "mail_uid": me.pw_uid,
        "mail_gid": me.pw_gid,
        "first_valid_uid": min(me.pw_uid, 500) or 1,
        "chroot_login": False,
    }


def self_signed_certificate(folder: Path, name: str = "localhost") -> tuple[Path, Path]:
    """A certificate for `name` and 127.0.0.1 (and its key), as PEM files in `folder`. Trust it in a test
    with `monkeypatch.setenv("SSL_CERT_FILE", str(cert))` (OpenSSL reads it when a context loads defaults)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / f"{name}.crt", folder / f"{name}.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_file.chmod(0o600)
    return cert_file, key_file


def dovecot_config(
    root: Path, port: int, greeting: str, who: dict, tls: tuple[Path, Path] | None = None, tls_port: int = 0
) -> str:
    if dovecot_version() >= (2, 4):
        raise RuntimeError("tests/mailservers.py writes a Dovecot 2.3 configuration; Dovecot 2.4 needs its own")
    login_chroot = "" if who["chroot_login"] else "\n  chroot ="
    return textwrap.dedent(
        f"""\
        # Suivi's throwaway test server (tests/mailservers.py)
        base_dir = {root}/run
        state_dir = {root}/state
        log_path = {root}/dovecot.log
        info_log_path = {root}/dovecot.log
        protocols = imap
        listen = 127.0.0.1
        ssl = {"yes" if tls else "no"}
        {f"ssl_cert = <{tls[0]}" if tls else "# no certificate"}
        {f"ssl_key = <{tls[1]}" if tls else "# no key"}
        disable_plaintext_auth = no
        auth_mechanisms = plain login
        auth_failure_delay = 0
        login_greeting = {greeting}
        default_internal_user = {who["internal_user"]}
        default_login_user = {who["login_user"]}
        first_valid_uid = {who["first_valid_uid"]}
        mail_location = maildir:{root}/mail/%u
        mail_fsync = never
        passdb {{
          driver = passwd-file
          args = scheme=PLAIN username_format=%u {root}/users/%u
        }}
        userdb {{
          driver = static
          args = uid={who["mail_uid"]} gid={who["mail_gid"]} home={root}/mail/%u
        }}
        service imap-login {{
          inet_listener imap {{
            address = 127.0.0.1
            port = {port}
          }}
          inet_listener imaps {{
            address = 127.0.0.1
            port = {tls_port}
          }}{login_chroot}
        }}
        namespace inbox {{
          inbox = yes
          separator = /
          mailbox Drafts {{
            special_use = \\Drafts
            auto = subscribe
          }}
          mailbox Sent {{
            special_use = \\Sent
            auto = subscribe
          }}
          mailbox Trash {{
            special_use = \\Trash
            auto = subscribe
          }}
          mailbox Junk {{
            special_use = \\Junk
            auto = subscribe
          }}
        }}
        """
    )


class Dovecot:
    host = "127.0.0.1"

    def __init__(self, tls: tuple[Path, Path] | None = None):
        """`tls`: (certificate, key) files to serve STARTTLS on `port` and SSL on `tls_port` too."""
        self.tls = tls
        self.tls_port = 0
        self.root = Path(tempfile.mkdtemp(prefix="suivi-dovecot-"))
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.startup_seconds = 0.0
        self._users = itertools.count(1)
        self._token = secrets.token_hex(6)

    @property
    def log_path(self) -> Path:
        return self.root / "dovecot.log"

    def start(self) -> None:
        started = time.monotonic()
        who = _identities()
        os.chmod(self.root, 0o711)  # mail processes run as another user and walk into mail/
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir()
        os.chown(self.root / "mail", who["mail_uid"], who["mail_gid"])
        (self.root / "users").mkdir(mode=0o755)
        last_error = ""
        for _attempt in range(3):  # a free port can be taken by another process between check and bind
            self.port = free_port()
            if not port_is_free(self.port):
                continue
            greeting = f"Suivi test Dovecot {self._token} {self.port}"
            config = self.root / "dovecot.conf"
            if self.tls:
                self.tls_port = free_port()
            config.write_text(dovecot_config(self.root, self.port, greeting, who, self.tls, self.tls_port))
            with open(self.root / "stderr.log", "ab") as stderr:
                self.process = subprocess.Popen(
                    [DOVECOT, "-F", "-c", str(config)],
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    start_new_session=True,
                )
            # After one failed login Dovecot slows every later login from the same address by seconds
            # (auth_failure_delay does not stop it). The auth process connects to this socket when it starts,
            # on the first client connection: removed before that, it finds none and keeps no penalty.
            penalty_socket = self.root / "run" / "anvil-auth-penalty"
            if self._wait_for(penalty_socket.exists):
                penalty_socket.unlink()
                if self._wait_for_greeting(greeting):
                    self.startup_seconds = time.monotonic() - started
                    return
            last_error = self._tail()
            self.stop(remove=False)
        raise RuntimeError(f"Dovecot did not start on 127.0.0.1: {last_error}")

    def _wait_for(self, condition) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.process.poll() is None:
            if condition():
                return True
            time.sleep(0.01)
        return False

    def _wait_for_greeting(self, greeting: str) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with socket.create_connection((self.host, self.port), timeout=2) as s:
                    line = s.makefile("rb").readline().decode("ascii", "replace")
                    return greeting in line  # our own server, not another one on the same port
            except OSError:
                time.sleep(0.05)
        return False

    def _tail(self) -> str:
        text = ""
        for name in ("stderr.log", "dovecot.log"):
            path = self.root / name
            if path.exists():
                text += path.read_text(errors="replace")[-2000:]
        return text

    def stop(self, remove: bool = True) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)

    def add_user(self, login: str | None = None, password: str | None = None) -> MailUser:
        """A fresh user of this server, usable at once."""
        login = login or f"user{next(self._users)}-{secrets.token_hex(3)}"
        password = password if password is not None else secrets.token_urlsafe(12)
        if any(c in login + password for c in ":\n\r") or "/" in login or login.startswith("."):
            raise ValueError("a passwd-file entry cannot hold ':', '/' or a line break")
        # One passwd-file per user ({root}/users/%u): Dovecot re-reads a changed passwd-file at most once a
        # second (a user added to one shared file may not log in yet), but reads a new file at once.
        entry = self.root / "users" / login
        partial = entry.with_name(f".{login}.tmp")
        partial.write_text(f"{login}:{{PLAIN}}{password}::::::\n")
        partial.chmod(0o644)
        partial.rename(entry)
        return MailUser(login=login, password=password, address=f"{login}@suivi.test")

    def client(self, user: MailUser) -> IMAPClient:
        """A logged-in IMAP client for the test's own checks (close it, or use it in `with`)."""
        client = IMAPClient(self.host, self.port, ssl=False, timeout=10)
        client.login(user.login, user.password)
        return client

    def deliver(self, user: MailUser, raw: bytes, folder: str = "INBOX", flags=()) -> int | None:
        """APPEND one mail as the user; returns its UID (APPENDUID)."""
        with self.client(user) as client:
            answer = client.append(folder, raw, flags=flags)
        match = re.search(rb"APPENDUID \d+ (\d+)", answer or b"")
        return int(match.group(1)) if match else None

    def deliver_many(self, user: MailUser, raws: list[bytes], folder: str = "INBOX") -> None:
        """Many mails in one MULTIAPPEND command (a thousand in well under a second)."""
        with self.client(user) as client:
            client.multiappend(folder, raws)


@pytest.fixture(scope="session")
def dovecot():
    if not os.path.exists(DOVECOT):
        pytest.fail("Dovecot is not installed: `make mailservers` (apt-get install dovecot-imapd)")
    server = Dovecot()
    try:
        server.start()
        yield server
    finally:
        server.stop()


# --- SMTP ---------------------------------------------------------------------------------------------------


@dataclass
class SmtpServer:
    """What the SMTP server received: `messages` is a list of (envelope recipients, parsed message).
    Set `refuse_next = "550 …"` to answer the next DATA with that reply, or `refuse_recipients[address]`
    to refuse one recipient at RCPT."""

    host: str = "127.0.0.1"
    port: int = 0
    messages: list = field(default_factory=list)
    envelopes: list = field(default_factory=list)
    refuse_next: str | None = None
    refuse_recipients: dict = field(default_factory=dict)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802  (aiosmtpd's hook)
        refusal = self.refuse_recipients.get(address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802  (aiosmtpd's hook name)
        if self.refuse_next:
            refusal, self.refuse_next = self.refuse_next, None
            return refusal
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        self.messages.append(
            (list(envelope.rcpt_tos), email.message_from_bytes(envelope.content, policy=policy.default))
        )
        return "250 OK"


@pytest.fixture
def smtp_server():
    server = SmtpServer(port=free_port())
    controller = Controller(server, hostname=server.host, port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
