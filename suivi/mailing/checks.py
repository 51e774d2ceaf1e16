"""The *test connection* buttons: each step of reaching a mail server (DNS, TCP, TLS, login,
folder) with what failed, in the user's language. Steps are plain dicts (kept in the session
between the button and the page that shows them)."""

import smtplib
import ssl

from django.utils.translation import gettext as _

from suivi.lib.network import DestinationRefused, allowed_addresses, connect_guarded

from . import imap
from .models import Mailbox, OutgoingServer, Security

TIMEOUT = 10


def _network_words(error: Exception) -> str:
    """A network failure in the user's words (not the system's English)."""
    if isinstance(error, DestinationRefused):
        return error.reason
    if isinstance(error, ConnectionRefusedError):
        return _("the server refused the connection (nothing listens on that port)")
    if isinstance(error, TimeoutError):
        return _("no answer in time (a firewall, or the wrong host)")
    return _("the connection failed")


def _step(step: str, ok: bool, message: str) -> dict:
    return {"step": step, "ok": ok, "message": message}


def check_mailbox(mailbox: Mailbox) -> list[dict]:
    from .sending import imap_settings

    return [_step(step, ok, message) for step, ok, message in imap.check_connection(imap_settings(mailbox))]


def check_smtp(server: OutgoingServer) -> list[dict]:
    """Reach the company SMTP server step by step; stop at the first failure."""
    if not server.host:
        return [_step("dns", False, _("No SMTP server is set: Suivi uses the server's own settings (EMAIL_HOST)."))]
    host, port = server.host, server.port
    steps = []
    try:
        allowed_addresses(host, port)
    except DestinationRefused as e:
        return [_step("dns", False, e.reason)]
    steps.append(_step("dns", True, _("%(host)s found.") % {"host": host}))
    try:
        sock = connect_guarded(host, port, TIMEOUT)
    except (OSError, DestinationRefused) as e:
        steps.append(
            _step(
                "tcp",
                False,
                _("No answer from %(host)s on port %(port)s: %(detail)s.")
                % {"host": host, "port": port, "detail": _network_words(e)},
            )
        )
        return steps
    steps.append(_step("tcp", True, _("Port %(port)s answers.") % {"port": port}))
    context = ssl.create_default_context()
    client = smtplib.SMTP(timeout=TIMEOUT)
    client._host = host  # for STARTTLS's certificate check
    try:
        if server.security == Security.SSL:
            sock = context.wrap_socket(sock, server_hostname=host)
            steps.append(_step("tls", True, _("Encrypted connection (SSL/TLS) established.")))
        client.sock = sock
        client.file = None
        code, _banner = client.getreply()
        if code != 220:
            raise smtplib.SMTPConnectError(code, _banner)
        client.ehlo()
        if server.security == Security.STARTTLS:
            if not client.has_extn("starttls"):
                steps.append(_step("tls", False, _("The server does not offer STARTTLS: choose another security.")))
                client.close()
                return steps
            client.starttls(context=context)
            client.ehlo()
            steps.append(_step("tls", True, _("Encrypted connection (STARTTLS) established.")))
    except (ssl.SSLError, ssl.CertificateError) as e:
        steps.append(_step("tls", False, _("The encrypted connection failed: %(detail)s.") % {"detail": e.reason or e}))
        sock.close()
        return steps
    except (OSError, smtplib.SMTPException):
        steps.append(
            _step(
                "server",
                False,
                _("Something answers on port %(port)s, but not as a mail server (SMTP): check the port.")
                % {"port": port},
            )
        )
        sock.close()
        return steps
    steps.append(_step("server", True, _("The server answers as a mail server (SMTP).")))
    try:
        if server.login:
            client.login(server.login, server.password)
            steps.append(_step("login", True, _("Signed in as %(login)s.") % {"login": server.login}))
    except smtplib.SMTPNotSupportedError:
        steps.append(_step("login", False, _("This server offers no login: leave the login and password empty.")))
    except smtplib.SMTPException:
        steps.append(
            _step(
                "login",
                False,
                _("The server refused the login %(login)s: check it and its password.") % {"login": server.login},
            )
        )
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()
    return steps
