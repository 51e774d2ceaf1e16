"""The *test connection* buttons (issue 10, point 1): each step of reaching the mail server is
reported, the first failure named (DNS, TCP, TLS, login, folder), against real servers."""

import pytest

from suivi.accounts.models import Role
from suivi.mailing import checks, services
from suivi.mailing.models import OutgoingServer, Security

from .conftest import logged_in, make_user
from .mailservers import dovecot, free_port, smtp_server  # noqa: F401  (fixtures)


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]


def steps(found):
    return [(s["step"], s["ok"]) for s in found]


def mailbox_of(user, dovecot, password=None, **values):  # noqa: F811
    account = dovecot.add_user()
    return services.save_mailbox(
        acting_user=user,
        mailbox=None,
        values={
            "name": "Box",
            "address": account.address,
            "imap_host": dovecot.host,
            "imap_port": dovecot.port,
            "imap_security": Security.NONE,
            "login": account.login,
            "is_default": True,
            **values,
        },
        password=account.password if password is None else password,
    )


def test_a_mailbox_that_answers_passes_every_step_and_the_page_shows_them(db, dovecot):  # noqa: F811
    user = make_user("olive")
    box = mailbox_of(user, dovecot)
    client = logged_in(user)
    assert client.post(f"/crm/mail/mailboxes/{box.pk}/check/").status_code == 302
    page = client.get(f"/crm/mail/mailboxes/{box.pk}/").content.decode()
    assert 'data-step="login" data-ok="yes"' in page and 'data-ok="no"' not in page
    assert box.password and box.password not in page  # never shown back


def test_a_wrong_password_fails_at_login_without_showing_it(db, dovecot):  # noqa: F811
    box = mailbox_of(make_user("olive"), dovecot, password="Wr0ng-Secret")
    found = checks.check_mailbox(box)
    assert steps(found)[-1] == ("login", False)
    assert "Wr0ng-Secret" not in " ".join(s["message"] for s in found)


def test_a_closed_port_fails_at_tcp_and_an_unknown_host_at_dns(db, dovecot):  # noqa: F811
    user = make_user("olive")
    closed = mailbox_of(user, dovecot, imap_port=free_port())
    assert steps(checks.check_mailbox(closed))[-1] == ("tcp", False)
    unknown = mailbox_of(user, dovecot, imap_host="no-such-host.invalid", is_default=False)
    assert steps(checks.check_mailbox(unknown)) == [("dns", False)]


def test_a_private_host_not_allowed_by_the_administrator_is_refused_before_connecting(db, dovecot, settings):  # noqa: F811
    box = mailbox_of(make_user("olive"), dovecot)
    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = []
    found = checks.check_mailbox(box)
    assert steps(found) == [("dns", False)]


def test_the_smtp_check_reports_each_step(db, smtp_server):  # noqa: F811
    admin = make_user("ada", role=Role.ADMINISTRATOR)
    OutgoingServer.objects.update_or_create(
        pk=1, defaults={"host": "127.0.0.1", "port": smtp_server.port, "security": Security.NONE}
    )
    assert steps(checks.check_smtp(OutgoingServer.objects.get())) == [("dns", True), ("tcp", True), ("server", True)]
    OutgoingServer.objects.filter(pk=1).update(security=Security.STARTTLS)
    assert steps(checks.check_smtp(OutgoingServer.objects.get()))[-1] == ("tls", False)
    OutgoingServer.objects.filter(pk=1).update(login="bureau", password="x", security=Security.NONE)
    found = checks.check_smtp(OutgoingServer.objects.get())
    assert steps(found)[-1] == ("login", False) and "offers no login" in found[-1]["message"]
    OutgoingServer.objects.filter(pk=1).update(login="", port=free_port())
    found = checks.check_smtp(OutgoingServer.objects.get())
    assert steps(found)[-1] == ("tcp", False) and "Errno" not in found[-1]["message"]
    client = logged_in(admin)
    assert client.post("/crm/mail/server/check/").status_code == 302
    assert 'data-step="tcp" data-ok="no"' in client.get("/crm/mail/server/").content.decode()
    assert logged_in(make_user("otto")).post("/crm/mail/server/check/").status_code == 404
