"""The authorisation table of mail (issue 10): every mail page and mail API route × anonymous,
another user, the owner (of a mailbox, its inbox mails and the mails they composed, and member of
a shared mailbox), a manager and an administrator; and with the CRM off, every one of them gated.

Who reads what (``suivi.mailing.queries``): a mailbox is read by its owner, a shared one by its
members, every one by administrators; only its owner changes an own mailbox (an administrator
reads it but gets 403 changing it), administrators change shared ones. Composed mails are their
author's and every manager's. The company SMTP server page is read by everyone, changed and
tested by administrators (the test button is a 404 for others). The machinery is
``authorisation.py``; a refused request must leave the mail records as they were.
"""

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from suivi.activities.models import Action
from suivi.core.models import CompanySettings
from suivi.mailing import services
from suivi.mailing.models import (
    IncomingMail,
    Mailbox,
    MailStatus,
    MailTemplate,
    OutgoingMail,
    OutgoingServer,
    Security,
    Signature,
)

from .authorisation import (
    ADMINS,
    ALL,
    API_ALL,
    API_CREATED,
    API_PRIVATE,
    DONE,
    MANAGERS,
    PRIVATE_READ,
    PRIVATE_WRITE,
    ROLES,
    L,
    _check,
    _url,
    make_world,
)


@pytest.fixture
def world(db, settings):
    settings.SUIVI_MS_CLIENT_ID = ""  # Microsoft 365 not configured: its connect button is a 404
    w = make_world()
    owner, admin = w["users"]["owner"], w["users"]["admin"]
    box = {"imap_host": "127.0.0.1", "imap_port": 1, "imap_security": Security.NONE}  # refused by the guard
    mailbox = services.save_mailbox(
        acting_user=owner,
        mailbox=None,
        values={"name": "Olive", "address": "olive@acme.test", "login": "olive", "is_default": True, **box},
        password="secret",
    )
    shared = services.save_mailbox(
        acting_user=admin,
        mailbox=None,
        values={"name": "Sales", "address": "sales@acme.test", "login": "sales", "shared": True, **box},
        password="secret",
    )
    shared.members.set([owner])

    def incoming(box, n):
        return IncomingMail.objects.create(
            mailbox=box,
            folder="INBOX",
            uid=n,
            message_id=f"<in-{n}@dupont.test>",
            subject="Question",
            sender_name="Jean Dupont",
            sender_email="jean@dupont.test",
            date=timezone.now(),
            text="Bonjour",
        )

    failed = services.compose(
        acting_user=owner, to=["jean@dupont.test"], subject="Devis", body="Voici.", party=w["party"], method="send"
    )
    OutgoingMail.objects.filter(pk=failed.pk).update(status=MailStatus.FAILED, error="Refused")
    handed = services.compose(
        acting_user=owner, to=["jean@dupont.test"], subject="Outlook", body="Voici.", method="outlook"
    )
    return {
        **w,
        "mailbox": mailbox,
        "shared": shared,
        "incoming": incoming(mailbox, 1),
        "shared_in": incoming(shared, 2),
        "outgoing": failed,
        "handed": handed,
        "server": OutgoingServer.objects.get_or_create(pk=1)[0],
        "template": services.save_template(
            acting_user=w["users"]["manager"],
            template=None,
            values={"name": "Quote", "subject": "Your quote", "body": "Hello,"},
        ),
    }


def _mail_fingerprint(w):
    """What a refused request must leave: mailboxes (version, password, members), inbox mails
    (status, action), composed mails (status), the number of actions, the SMTP server, the
    templates and signatures."""
    return (
        sorted(
            (m.pk, m.version, m.password, m.is_default, tuple(m.members.values_list("pk", flat=True)))
            for m in Mailbox.objects.all()
        ),
        sorted(IncomingMail.objects.values_list("pk", "status", "action_id")),
        sorted(OutgoingMail.objects.values_list("pk", "status", "attempts")),
        Action.objects.count(),
        tuple(OutgoingServer.objects.values_list("version", "host", "password")),
        sorted(MailTemplate.objects.values_list("pk", "version", "name")),
        list(Signature.objects.values_list("user_id", "text")),
    )


def _mail_page(w, role, name, method, url, data, expected):
    client = Client()
    if role != "anonymous":
        client.force_login(w["users"][role])
    user = w["users"].get(role) or w["users"]["other"]
    before = _mail_fingerprint(w)
    response = getattr(client, method)(_url(url, w), data(w, user) if data else None)
    _check(w, role, name, expected[role], response, None, None)
    if response.status_code >= 400 or expected[role] == L:
        assert _mail_fingerprint(w) == before, (name, role, "a refused request changed a mail record")


def _mail_api(w, role, name, method, url, data, expected, headers):
    client = APIClient()
    if role != "anonymous":
        client.force_authenticate(w["users"][role])
    user = w["users"].get(role) or w["users"]["other"]
    before = _mail_fingerprint(w)
    response = getattr(client, method)(
        _url(url, w), data(w, user) if data else None, format="json", **(headers(w) if headers else {})
    )
    _check(w, role, name, expected[role], response, None, None)
    if response.status_code >= 400:
        assert _mail_fingerprint(w) == before, (name, role, "a refused request changed a mail record")


# Readers of the owner's own mailbox (and of the shared one the owner is a member of): the owner
# and administrators; a manager is nobody special here.
BOX_READ = {"anonymous": L, "other": 404, "owner": 200, "manager": 404, "admin": 200}
BOX_DONE = {"anonymous": L, "other": 404, "owner": 302, "manager": 404, "admin": 302}
# Changing the owner's own mailbox: the owner only (an administrator reads it, may not change it).
OWN_BOX_WRITE = {"anonymous": L, "other": 404, "owner": 302, "manager": 404, "admin": 403}
OWN_BOX_FORM = {"anonymous": L, "other": 404, "owner": 200, "manager": 404, "admin": 403}
# Changing a shared mailbox: administrators (its member reads it, may not change it).
SHARED_BOX_WRITE = {"anonymous": L, "other": 404, "owner": 403, "manager": 404, "admin": 302}
SHARED_BOX_FORM = {"anonymous": L, "other": 404, "owner": 403, "manager": 404, "admin": 200}
# An administrator manages every mailbox but reads nobody else's mail: the inbox is one's own and
# the shared mailboxes one is a member of.
INBOX_READ = {**BOX_READ, "admin": 404}
INBOX_DONE = {**BOX_DONE, "admin": 404}
NOBODY = {"anonymous": L, "other": 404, "owner": 404, "manager": 404, "admin": 404}
ADMINS_ONLY_404 = {"anonymous": L, "other": 404, "owner": 404, "manager": 404, "admin": 302}


def _mailbox_form(key, **extra):
    def data(w, u):
        box = Mailbox.objects.get(pk=w[key].pk)
        return {
            "name": "Renamed",
            "address": box.address,
            "imap_host": box.imap_host,
            "imap_port": box.imap_port,
            "imap_security": box.imap_security,
            "login": box.login,
            "password": "changed",
            "version": box.version,
            **extra,
        }

    return data


def _new_mailbox(**extra):
    return lambda w, u: {
        "name": f"Box of {u.username}",
        "address": f"{u.username}@acme.test",
        "imap_host": "imap.acme.test",
        "imap_port": 993,
        "imap_security": "ssl",
        "login": u.username,
        **extra,
    }


def _server_form(w, u):
    server = OutgoingServer.objects.get(pk=1)
    return {"host": "smtp.acme.test", "port": 587, "security": "starttls", "password": "x", "version": server.version}


def _template_form(key):
    def data(w, u):
        version = {"version": MailTemplate.objects.get(pk=w[key].pk).version} if key else {}
        return {"name": "Thanks", "subject": "Thank you", "body": "Dear customer,", "active": "on", **version}

    return data


MAIL_PAGES = [
    ("inbox", "get", "/crm/mail/", None, ALL),
    ("inbox, filed", "get", "/crm/mail/?status=filed", None, ALL),
    ("read the mailboxes now", "post", "/crm/mail/read/", None, DONE),
    ("an inbox mail", "get", "/crm/mail/inbox/{incoming}/", None, INBOX_READ),
    ("a shared inbox mail", "get", "/crm/mail/inbox/{shared_in}/", None, INBOX_READ),
    ("file an inbox mail", "post", "/crm/mail/inbox/{incoming}/", lambda w, u: {"party": w["party"].pk}, INBOX_DONE),
    (
        "file a shared inbox mail",
        "post",
        "/crm/mail/inbox/{shared_in}/",
        lambda w, u: {"party": w["party"].pk},
        INBOX_DONE,
    ),
    ("ignore an inbox mail", "post", "/crm/mail/inbox/{incoming}/ignore/", None, INBOX_DONE),
    ("compose form", "get", "/crm/mail/new/?party={party}", None, ALL),
    ("reply form", "get", "/crm/mail/new/?reply={incoming}", None, INBOX_READ),
    (
        "compose",
        "post",
        "/crm/mail/new/",
        lambda w, u: {"to": "jean@dupont.test", "subject": "Hello", "body": "Hi", "method": "send"},
        DONE,
    ),
    ("sent mails", "get", "/crm/mail/sent/", None, ALL),
    ("a sent mail", "get", "/crm/mail/sent/{outgoing}/", None, PRIVATE_READ),
    ("send again", "post", "/crm/mail/sent/{outgoing}/retry/", None, PRIVATE_WRITE),
    ("the .eml for Outlook", "get", "/crm/mail/sent/{handed}/outlook.eml", None, PRIVATE_READ),
    ("no .eml for a mail sent by Suivi", "get", "/crm/mail/sent/{outgoing}/outlook.eml", None, NOBODY),
    ("mailboxes", "get", "/crm/mail/mailboxes/", None, ALL),
    ("new mailbox form", "get", "/crm/mail/mailboxes/new/", None, ALL),
    ("add an own mailbox", "post", "/crm/mail/mailboxes/new/", _new_mailbox(), DONE),
    # ?shared=1 is an administrator's form; anyone else posting it adds an own mailbox (test below).
    ("add a shared mailbox", "post", "/crm/mail/mailboxes/new/?shared=1", _new_mailbox(members=[]), DONE),
    ("own mailbox form", "get", "/crm/mail/mailboxes/{mailbox}/", None, OWN_BOX_FORM),
    ("change an own mailbox", "post", "/crm/mail/mailboxes/{mailbox}/", _mailbox_form("mailbox"), OWN_BOX_WRITE),
    ("shared mailbox form", "get", "/crm/mail/mailboxes/{shared}/", None, SHARED_BOX_FORM),
    ("change a shared mailbox", "post", "/crm/mail/mailboxes/{shared}/", _mailbox_form("shared"), SHARED_BOX_WRITE),
    ("test a mailbox", "post", "/crm/mail/mailboxes/{mailbox}/check/", None, BOX_DONE),
    ("test a shared mailbox", "post", "/crm/mail/mailboxes/{shared}/check/", None, BOX_DONE),
    ("delete an own mailbox", "post", "/crm/mail/mailboxes/{mailbox}/delete/", None, OWN_BOX_WRITE),
    ("delete a shared mailbox", "post", "/crm/mail/mailboxes/{shared}/delete/", None, SHARED_BOX_WRITE),
    ("company SMTP server, read", "get", "/crm/mail/server/", None, ALL),
    ("change the company SMTP server", "post", "/crm/mail/server/", _server_form, ADMINS),
    ("test the company SMTP server", "post", "/crm/mail/server/check/", None, ADMINS_ONLY_404),
    ("e-mail templates", "get", "/crm/mail/templates/", None, ALL),
    ("new template form", "get", "/crm/mail/templates/new/", None, ALL),
    ("add a template", "post", "/crm/mail/templates/new/", _template_form(None), MANAGERS),
    ("template form", "get", "/crm/mail/templates/{template}/", None, ALL),
    ("change a template", "post", "/crm/mail/templates/{template}/", _template_form("template"), MANAGERS),
    ("compose from a template", "get", "/crm/mail/new/?party={party}&template={template}", None, ALL),
    ("signature", "get", "/crm/mail/signature/", None, ALL),
    ("save one's signature", "post", "/crm/mail/signature/", lambda w, u: {"text": "Olive"}, DONE),
    ("connect Microsoft 365 (not configured)", "post", "/crm/mail/microsoft/connect/", None, NOBODY),
    ("back from Microsoft 365 without a flow", "get", "/crm/mail/microsoft/done/?code=x&state=y", None, DONE),
    ("disconnect Microsoft 365", "post", "/crm/mail/microsoft/disconnect/", None, DONE),
]


def _if_match(key):
    return lambda w: {"HTTP_IF_MATCH": f'"{Mailbox.objects.get(pk=w[key].pk).version}"'}


API_BOX_READ = {"anonymous": 401, "other": 404, "owner": 200, "manager": 404, "admin": 200}
API_OWN_BOX_WRITE = {"anonymous": 401, "other": 404, "owner": 200, "manager": 404, "admin": 403}
API_SHARED_BOX_WRITE = {"anonymous": 401, "other": 404, "owner": 403, "manager": 404, "admin": 200}
API_OWN_BOX_DELETE = {"anonymous": 401, "other": 404, "owner": 204, "manager": 404, "admin": 403}
API_SHARED_BOX_DELETE = {"anonymous": 401, "other": 404, "owner": 403, "manager": 404, "admin": 204}
API_ADMINS_CREATED = {"anonymous": 401, "other": 403, "owner": 403, "manager": 403, "admin": 201}
API_INBOX_READ = {**API_BOX_READ, "admin": 404}
API_BOX_FILED = {"anonymous": 401, "other": 404, "owner": 201, "manager": 404, "admin": 404}
API_BOX_IGNORED = {"anonymous": 401, "other": 404, "owner": 204, "manager": 404, "admin": 404}

# (name, method, url, data(world, user) or None, expected by role, headers(world) or None)
MAIL_API = [
    ("mailboxes", "get", "/api/v1/mailboxes/", None, API_ALL, None),
    ("an own mailbox", "get", "/api/v1/mailboxes/{mailbox}/", None, API_BOX_READ, None),
    ("a shared mailbox", "get", "/api/v1/mailboxes/{shared}/", None, API_BOX_READ, None),
    ("add an own mailbox", "post", "/api/v1/mailboxes/", _new_mailbox(), API_CREATED, None),
    ("add a shared mailbox", "post", "/api/v1/mailboxes/", _new_mailbox(shared=True), API_ADMINS_CREATED, None),
    (
        "change an own mailbox",
        "patch",
        "/api/v1/mailboxes/{mailbox}/",
        lambda w, u: {"name": "Renamed", "password": "changed"},
        API_OWN_BOX_WRITE,
        _if_match("mailbox"),
    ),
    (
        "change a shared mailbox",
        "patch",
        "/api/v1/mailboxes/{shared}/",
        lambda w, u: {"name": "Renamed", "members": [u.pk]},
        API_SHARED_BOX_WRITE,
        _if_match("shared"),
    ),
    ("test a mailbox", "post", "/api/v1/mailboxes/{mailbox}/check/", None, API_BOX_READ, None),
    ("delete an own mailbox", "delete", "/api/v1/mailboxes/{mailbox}/", None, API_OWN_BOX_DELETE, None),
    ("delete a shared mailbox", "delete", "/api/v1/mailboxes/{shared}/", None, API_SHARED_BOX_DELETE, None),
    ("composed mails", "get", "/api/v1/messages/", None, API_ALL, None),
    ("a composed mail", "get", "/api/v1/messages/{outgoing}/", None, API_PRIVATE, None),
    (
        "compose",
        "post",
        "/api/v1/messages/",
        lambda w, u: {"to": ["jean@dupont.test"], "subject": "Hello", "body": "Hi", "party": w["party"].pk},
        API_CREATED,
        None,
    ),
    ("send again", "post", "/api/v1/messages/{outgoing}/retry/", None, API_PRIVATE, None),
    ("inbox", "get", "/api/v1/inbox/", None, API_ALL, None),
    ("inbox, ignored", "get", "/api/v1/inbox/?status=ignored", None, API_ALL, None),
    ("an inbox mail", "get", "/api/v1/inbox/{incoming}/", None, API_INBOX_READ, None),
    ("a shared inbox mail", "get", "/api/v1/inbox/{shared_in}/", None, API_INBOX_READ, None),
    (
        "file an inbox mail",
        "post",
        "/api/v1/inbox/{incoming}/file/",
        lambda w, u: {"party": w["party"].pk},
        API_BOX_FILED,
        None,
    ),
    ("ignore an inbox mail", "post", "/api/v1/inbox/{incoming}/ignore/", None, API_BOX_IGNORED, None),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name, method, url, data, expected", MAIL_PAGES, ids=[r[0] for r in MAIL_PAGES])
def test_mail_pages(world, role, name, method, url, data, expected):
    _mail_page(world, role, name, method, url, data, expected)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name, method, url, data, expected, headers", MAIL_API, ids=[r[0] for r in MAIL_API])
def test_mail_api(world, role, name, method, url, data, expected, headers):
    _mail_api(world, role, name, method, url, data, expected, headers)


# --- the CRM gate: with the CRM off, every mail page and endpoint is a 404 saying why ------------


@pytest.mark.parametrize("name, method, url, data, expected", MAIL_PAGES, ids=[r[0] for r in MAIL_PAGES])
def test_with_the_crm_off_mail_pages_are_gated(world, name, method, url, data, expected):
    CompanySettings.objects.filter(pk=1).update(crm_enabled=False)
    for role, status in (("anonymous", L), ("owner", 404), ("admin", 404)):
        _mail_page(world, role, name, method, url, data, {role: status})


@pytest.mark.parametrize("name, method, url, data, expected, headers", MAIL_API, ids=[r[0] for r in MAIL_API])
def test_with_the_crm_off_mail_endpoints_are_gated(world, name, method, url, data, expected, headers):
    CompanySettings.objects.filter(pk=1).update(crm_enabled=False)
    for role, status in (("anonymous", 401), ("owner", 404), ("admin", 404)):
        _mail_api(world, role, name, method, url, data, {role: status}, headers)
    client = APIClient()
    client.force_authenticate(world["users"]["owner"])
    response = getattr(client, method)(_url(url, world), data(world, world["users"]["owner"]) if data else None)
    assert "CRM" in response.json()["detail"], response.json()


def test_a_shared_mailbox_form_posted_by_a_non_administrator_adds_an_own_mailbox(world):
    client = Client()
    client.force_login(world["users"]["other"])
    response = client.post("/crm/mail/mailboxes/new/?shared=1", _new_mailbox()(world, world["users"]["other"]))
    assert response.status_code == 302
    added = Mailbox.objects.get(name="Box of otto")
    assert added.owner == world["users"]["other"]
    api = APIClient()
    api.force_authenticate(world["users"]["other"])
    body = {**_new_mailbox(shared=True)(world, world["users"]["other"]), "name": "X"}
    refused = api.post("/api/v1/mailboxes/", body, format="json")
    assert refused.status_code == 403 and "administrator" in refused.json()["detail"]
