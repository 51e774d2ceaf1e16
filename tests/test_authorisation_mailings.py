"""The authorisation table of e-mailings (issue 11): every e-mailing page and API route ×
anonymous, another user, the owner (the e-mailing's author), a manager and an administrator; with
the CRM off, every one of them gated; the public unsubscribe link open to anyone, CRM or not.

Who does what (``suivi.mailing.mailing_services``): every signed-in user reads every e-mailing,
its progress, recipients and export, previews it and sends its test to themselves; its author and
managers (administrators are managers) change, send, pause, resume and cancel it, and decide about
its unknown recipients; anyone else gets 403. The machinery is ``authorisation.py``; a refused
request must leave the e-mailings as they were.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from suivi.core.models import CompanySettings
from suivi.mailing import mailing_sender
from suivi.mailing import mailing_services as services
from suivi.mailing.mailings import Mailing, MailingAttachment, MailingOptOut, MailingRecipient
from suivi.mailing.models import OutgoingServer

from .authorisation import ALL, API_ALL, API_CREATED, DONE, FOLDER_WRITE, ROLES, L, _check, _url, make_world

WRITE_FORM = {"anonymous": L, "other": 403, "owner": 200, "manager": 200, "admin": 200}
API_WRITE = {"anonymous": 401, "other": 403, "owner": 200, "manager": 200, "admin": 200}
API_DELETE = {"anonymous": 401, "other": 403, "owner": 204, "manager": 204, "admin": 204}
PUBLIC = {"anonymous": 200, "other": 200, "owner": 200, "manager": 200, "admin": 200}


class Token:
    """An unsubscribe token where the table's URLs expect an object with a ``pk``."""

    def __init__(self, address: str):
        self.pk = services.unsubscribe_token(address)


def _started(owner, **values) -> Mailing:
    mailing = services.create_mailing(
        acting_user=owner,
        values={"subject": "News", "body": "<p>Hello {{ contact.first_name }}</p>", "expression": "", **values},
    )
    mailing = services.start(acting_user=owner, mailing=mailing, expected_version=mailing.version)
    Mailing.objects.filter(pk=mailing.pk).update(worker="t")
    mailing_sender.Worker(mailing.pk, "t", None, None).prepare(Mailing.objects.get(pk=mailing.pk))
    Mailing.objects.filter(pk=mailing.pk).update(worker="")
    return Mailing.objects.get(pk=mailing.pk)


@pytest.fixture
def world(db, settings):
    settings.SUIVI_BASE_URL = "https://crm.acme.test"
    w = make_world()
    OutgoingServer.objects.update_or_create(pk=1, defaults={"from_address": "crm@acme.test"})
    owner = w["users"]["owner"]
    w["contact"].email = "peeters@alpha.test"
    w["contact"].save()
    draft = services.create_mailing(
        acting_user=owner,
        values={"name": "Draft", "subject": "News", "body": "<p>Hello</p>", "expression": 'party.name = "Alpha"'},
    )
    attachment = services.add_attachment(acting_user=owner, mailing=draft, name="prices.txt", content=b"prices")
    sending = _started(owner, name="Sending")
    MailingRecipient.objects.filter(mailing=sending).update(status="unknown", reason_code="interrupted")
    paused = services.pause(acting_user=owner, mailing=_started(owner, name="Paused"))
    return {
        **w,
        "draft": Mailing.objects.get(pk=draft.pk),
        "attachment": attachment,
        "sending": sending,
        "paused": paused,
        "token": Token("peeters@alpha.test"),
    }


def _fingerprint():
    """What a refused request must leave: the e-mailings (version, status, name), their
    recipients' states, attachments and opt-outs."""
    return (
        sorted(Mailing.objects.values_list("pk", "version", "status", "name")),
        sorted(MailingRecipient.objects.values_list("pk", "status", "reason_code")),
        sorted(MailingAttachment.objects.values_list("pk", "name")),
        sorted(MailingOptOut.objects.values_list("address", flat=True)),
    )


def _page(w, role, name, method, url, data, expected):
    client = Client()
    if role != "anonymous":
        client.force_login(w["users"][role])
    user = w["users"].get(role) or w["users"]["other"]
    before = _fingerprint()
    response = getattr(client, method)(_url(url, w), data(w, user) if data else None)
    _check(w, role, name, expected[role], response, None, None)
    if response.status_code >= 400 or expected[role] == L:
        assert _fingerprint() == before, (name, role, "a refused request changed an e-mailing")


def _api(w, role, name, method, url, data, expected, headers):
    client = APIClient()
    if role != "anonymous":
        client.force_authenticate(w["users"][role])
    user = w["users"].get(role) or w["users"]["other"]
    before = _fingerprint()
    response = getattr(client, method)(
        _url(url, w), data(w, user) if data else None, format="json", **(headers(w) if headers else {})
    )
    _check(w, role, name, expected[role], response, None, None)
    if response.status_code >= 400:
        assert _fingerprint() == before, (name, role, "a refused request changed an e-mailing")


def _draft_form(w, u):
    return {
        "name": "Renamed",
        "subject": "News",
        "body": "<p>Hi</p>",
        "selection": "expression",
        "expression": "",
        "method": "send",
        "version": Mailing.objects.get(pk=w["draft"].pk).version,
    }


def _version(key):
    return lambda w, u: {"version": Mailing.objects.get(pk=w[key].pk).version}


def _if_match(key):
    return lambda w: {"HTTP_IF_MATCH": f'"{Mailing.objects.get(pk=w[key].pk).version}"'}


MAILING_PAGES = [
    ("e-mailings", "get", "/crm/mailings/", None, ALL),
    ("new e-mailing form", "get", "/crm/mailings/new/", None, ALL),
    (
        "create an e-mailing",
        "post",
        "/crm/mailings/new/",
        lambda w, u: {"subject": "Hello", "body": "<p>Hi</p>", "selection": "expression", "method": "send"},
        DONE,
    ),
    ("count a selection", "get", "/crm/mailings/selection/?expression=", None, ALL),
    ("contacts to tick", "get", "/crm/mailings/contacts/?contact_q=Peeters", None, ALL),
    ("a draft", "get", "/crm/mailings/{draft}/", None, ALL),
    ("an e-mailing being sent", "get", "/crm/mailings/{sending}/", None, ALL),
    ("a draft's form", "get", "/crm/mailings/{draft}/update/", None, WRITE_FORM),
    ("change a draft", "post", "/crm/mailings/{draft}/update/", _draft_form, FOLDER_WRITE),
    ("delete a draft", "post", "/crm/mailings/{draft}/delete/", None, FOLDER_WRITE),
    ("preview", "get", "/crm/mailings/{draft}/preview/", None, ALL),
    ("send a test to oneself", "post", "/crm/mailings/{draft}/test/", None, DONE),
    ("send, the confirmation", "get", "/crm/mailings/{draft}/send/", None, WRITE_FORM),
    ("send", "post", "/crm/mailings/{draft}/send/", _version("draft"), FOLDER_WRITE),
    ("pause", "post", "/crm/mailings/{sending}/pause/", None, FOLDER_WRITE),
    ("resume", "post", "/crm/mailings/{paused}/resume/", None, FOLDER_WRITE),
    ("cancel", "post", "/crm/mailings/{sending}/cancel/", None, FOLDER_WRITE),
    ("progress", "get", "/crm/mailings/{sending}/progress/", None, ALL),
    ("recipients", "get", "/crm/mailings/{sending}/recipients/", None, ALL),
    ("recipients, unknown", "get", "/crm/mailings/{sending}/recipients/?status=unknown", None, ALL),
    ("recipients as CSV", "get", "/crm/mailings/{sending}/recipients.csv", None, ALL),
    ("recipients as XLSX", "get", "/crm/mailings/{sending}/recipients.xlsx?status=unknown", None, ALL),
    (
        "decide about unknown recipients",
        "post",
        "/crm/mailings/{sending}/unknown/",
        lambda w, u: {"do": "sent"},
        FOLDER_WRITE,
    ),
    (
        "attach a file",
        "post",
        "/crm/mailings/{draft}/attachments/",
        lambda w, u: {"file": SimpleUploadedFile("terms.txt", b"terms")},
        FOLDER_WRITE,
    ),
    ("remove a file", "post", "/crm/mailings/{draft}/attachments/{attachment}/delete/", None, FOLDER_WRITE),
    ("the unsubscribe page", "get", "/u/{token}/", None, PUBLIC),
    ("unsubscribe", "post", "/u/{token}/", lambda w, u: {"List-Unsubscribe": "One-Click"}, PUBLIC),
]

MAILING_API = [
    ("e-mailings", "get", "/api/v1/mailings/", None, API_ALL, None),
    ("an e-mailing", "get", "/api/v1/mailings/{draft}/", None, API_ALL, None),
    (
        "create an e-mailing",
        "post",
        "/api/v1/mailings/",
        lambda w, u: {"subject": "Hello", "body": "<p>Hi</p>", "expression": "", "method": "send"},
        API_CREATED,
        None,
    ),
    (
        "change a draft",
        "patch",
        "/api/v1/mailings/{draft}/",
        lambda w, u: {"name": "Renamed"},
        API_WRITE,
        _if_match("draft"),
    ),
    ("delete a draft", "delete", "/api/v1/mailings/{draft}/", None, API_DELETE, None),
    ("start", "post", "/api/v1/mailings/{draft}/start/", _version("draft"), API_WRITE, None),
    ("pause", "post", "/api/v1/mailings/{sending}/pause/", None, API_WRITE, None),
    ("resume", "post", "/api/v1/mailings/{paused}/resume/", None, API_WRITE, None),
    ("cancel", "post", "/api/v1/mailings/{sending}/cancel/", None, API_WRITE, None),
    ("progress", "get", "/api/v1/mailings/{sending}/progress/", None, API_ALL, None),
    ("recipients", "get", "/api/v1/mailings/{sending}/recipients/?status=unknown", None, API_ALL, None),
    (
        "decide about unknown recipients",
        "post",
        "/api/v1/mailings/{sending}/unknown/",
        lambda w, u: {"do": "sent"},
        API_WRITE,
        None,
    ),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name, method, url, data, expected", MAILING_PAGES, ids=[r[0] for r in MAILING_PAGES])
def test_mailing_pages(world, role, name, method, url, data, expected):
    _page(world, role, name, method, url, data, expected)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name, method, url, data, expected, headers", MAILING_API, ids=[r[0] for r in MAILING_API])
def test_mailing_api(world, role, name, method, url, data, expected, headers):
    _api(world, role, name, method, url, data, expected, headers)


# --- the CRM gate: with the CRM off, every e-mailing page and endpoint is a 404 saying why -----------------

GATED_PAGES = [row for row in MAILING_PAGES if not row[2].startswith("/u/")]


@pytest.mark.parametrize("name, method, url, data, expected", GATED_PAGES, ids=[r[0] for r in GATED_PAGES])
def test_with_the_crm_off_mailing_pages_are_gated(world, name, method, url, data, expected):
    CompanySettings.objects.filter(pk=1).update(crm_enabled=False)
    for role, status in (("anonymous", L), ("owner", 404), ("admin", 404)):
        _page(world, role, name, method, url, data, {role: status})


@pytest.mark.parametrize("name, method, url, data, expected, headers", MAILING_API, ids=[r[0] for r in MAILING_API])
def test_with_the_crm_off_mailing_endpoints_are_gated(world, name, method, url, data, expected, headers):
    CompanySettings.objects.filter(pk=1).update(crm_enabled=False)
    for role, status in (("anonymous", 401), ("owner", 404), ("admin", 404)):
        _api(world, role, name, method, url, data, {role: status}, headers)
    client = APIClient()
    client.force_authenticate(world["users"]["owner"])
    response = getattr(client, method)(_url(url, world), data(world, world["users"]["owner"]) if data else None)
    assert "CRM" in response.json()["detail"], response.json()


def test_with_the_crm_off_the_unsubscribe_link_still_works(world):
    CompanySettings.objects.filter(pk=1).update(crm_enabled=False)
    response = Client().post(f"/u/{world['token'].pk}/", {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and MailingOptOut.objects.filter(address="peeters@alpha.test").exists()
