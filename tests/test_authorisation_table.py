"""Who may do what, in one table (RELIABILITY S2): every page and API route × anonymous, another
user, the owner, a manager and an administrator, with the status each must get.

The *owner* follows the private action, the folder and the opportunity; *another user* is a
plain user too. Parties and contacts are shared by the whole company; archiving is for managers;
company settings for administrators. A refused write must leave its record as it was.

Statuses: ``L`` means a redirect to the login page; 302 a redirect elsewhere (done).
"""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from suivi.accounts.models import User
from suivi.activities.models import Action, Folder, Stage
from suivi.core.models import CompanySettings
from suivi.parties.models import Party

from . import factories
from .authorisation import (
    ADMINS,
    ADMINS_READ,
    ALL,
    API_ADMINS,
    API_ALL,
    API_CREATED,
    API_FOLDER_WRITE,
    API_MANAGERS_DELETE,
    API_PRIVATE,
    DONE,
    FOLDER_WRITE,
    MANAGERS,
    MANAGERS_READ,
    PRIVATE_READ,
    PRIVATE_WRITE,
    PUBLIC,
    ROLES,
    L,
    _api,
    _page,
    action_form,
    folder_form,
    if_match,
    make_world,
    party_form,
    settings_form,
    version_of,
)
from .conftest import PASSWORD


@pytest.fixture
def world(db):
    return make_world()


# (name, method, url, data(world, user) or None, expected by role, record a refusal must keep)
PAGES = [
    ("home", "get", "/", None, ALL, None),
    ("crm home", "get", "/crm/", None, ALL, None),
    ("action list", "get", "/crm/actions/?sort=-when", None, ALL, None),
    ("my open actions", "get", "/crm/actions/", None, {**DONE, "anonymous": L}, None),
    ("new action form", "get", "/crm/actions/new/", None, ALL, None),
    ("search completion fields", "get", "/crm/actions/fields/", None, ALL, None),
    # Another user's bulk close skips the private action they cannot see (test below).
    ("bulk close", "post", "/crm/actions/bulk/", lambda w, u: {"ids": [w["secret"].pk], "do": "close"}, DONE, None),
    ("create action", "post", "/crm/actions/new/", action_form, DONE, None),
    ("party fields", "get", "/crm/actions/party-fields/?party={party}", None, ALL, None),
    ("private action", "get", "/crm/actions/{secret}/", None, PRIVATE_READ, None),
    ("linked-doc search", "get", "/crm/actions/documents/?number=1", None, ALL, None),
    (
        "attach a file",
        "post",
        "/crm/actions/{secret}/attachments/",
        lambda w, u: {"file": SimpleUploadedFile("a.txt", b"hello")},
        PRIVATE_WRITE,
        "secret",
    ),
    ("download an attachment", "get", "/crm/actions/{secret}/attachments/{attachment}/", None, PRIVATE_READ, None),
    (
        "delete an attachment",
        "post",
        "/crm/actions/{secret}/attachments/{attachment}/delete/",
        None,
        PRIVATE_WRITE,
        "secret",
    ),
    ("edit private action", "post", "/crm/actions/{secret}/", action_form, PRIVATE_WRITE, "secret"),
    (
        "close private action",
        "post",
        "/crm/actions/{secret}/status/",
        lambda w, u: {"status": "done"},
        PRIVATE_WRITE,
        "secret",
    ),
    ("folder list", "get", "/crm/folders/", None, ALL, None),
    ("new folder form", "get", "/crm/folders/new/", None, ALL, None),
    (
        "create folder",
        "post",
        "/crm/folders/new/",
        lambda w, u: {"name": "New", "followed_by": u.pk, "currency": "EUR"},
        DONE,
        None,
    ),
    (
        "quick party folder",
        "post",
        "/crm/folders/quick/",
        lambda w, u: {"party": w["party"].pk, "new_folder_name": "Quick"},
        ALL,
        None,
    ),
    ("folder form", "get", "/crm/folders/{folder}/update/", None, ALL, None),
    ("edit folder", "post", "/crm/folders/{folder}/update/", folder_form, FOLDER_WRITE, "folder"),
    (
        "edit opportunity",
        "post",
        "/crm/folders/{deal}/update/",
        lambda w, u: {**folder_form(w, u, "deal"), "is_opportunity": "on", "budget": "999999", "probability": "99"},
        FOLDER_WRITE,
        "deal",
    ),
    (
        "delete folder",
        "post",
        "/crm/folders/{folder}/delete/",
        lambda w, u: {"actions": "detach", **version_of(Folder, "folder")(w, u)},
        {**FOLDER_WRITE, "other": 403},
        "folder",
    ),
    ("lose opportunity", "post", "/crm/folders/{deal}/status/", lambda w, u: {"status": "lost"}, FOLDER_WRITE, "deal"),
    ("pipeline", "get", "/crm/pipeline/", None, ALL, None),
    ("more cards of a column", "get", "/crm/pipeline/stages/{stage}/?offset=1", None, ALL, None),
    (
        "move on the board",
        "post",
        "/crm/pipeline/{deal}/move/",
        lambda w, u: {"stage": Stage.objects.order_by("position").last().pk},
        FOLDER_WRITE,
        "deal",
    ),
    ("party list", "get", "/parties/", None, ALL, None),
    ("new party form", "get", "/parties/new/", None, ALL, None),
    ("new contact form", "get", "/contacts/new/", None, ALL, None),
    (
        "link contact",
        "post",
        "/contacts/{contact}/link/",
        lambda w, u: {"party": w["party"].pk, "function": "Buyer"},
        DONE,
        None,
    ),
    ("unlink contact", "post", "/contacts/{contact}/unlink/{party}/", None, DONE, None),
    (
        "someone's import",
        "get",
        "/parties/import/{import}/",
        None,
        {"anonymous": L, "other": 403, "owner": 403, "manager": 200, "admin": 404},
        None,
    ),
    ("settings, read", "get", "/settings/", None, ALL, None),
    ("party page", "get", "/parties/{party}/", None, ALL, None),
    ("party form", "get", "/parties/{party}/update/", None, ALL, None),
    ("edit party", "post", "/parties/{party}/update/", party_form, DONE, None),
    ("archive party", "post", "/parties/{party}/archive/", version_of(Party, "party"), MANAGERS, "party"),
    (
        "add address",
        "post",
        "/parties/{party}/addresses/",
        lambda w, u: {"kind": "delivery", "street": "Rue 1", "postal_code": "5000", "city": "Namur", "country": "BE"},
        DONE,
        None,
    ),
    ("type-ahead", "get", "/parties/typeahead/?q=alp", None, ALL, None),
    ("export", "get", "/parties/export.csv", None, ALL, None),
    ("contacts export", "get", "/contacts/export.csv", None, ALL, None),
    ("import", "get", "/parties/import/", None, MANAGERS_READ, None),
    ("contact list", "get", "/contacts/", None, ALL, None),
    ("contact page", "get", "/contacts/{contact}/", None, ALL, None),
    (
        "edit contact",
        "post",
        "/contacts/{contact}/update/",
        lambda w, u: {
            "last_name": "Peeters-Claes",
            "language": "fr",
            "version": w["contact"].__class__.objects.get(pk=w["contact"].pk).version,
        },
        DONE,
        None,
    ),
    ("settings", "get", "/settings/crm/", None, ALL, None),
    ("change settings", "post", "/settings/crm/", settings_form, ADMINS, None),
    (
        "change action types",
        "post",
        "/settings/action-types/",
        lambda w, u: {"form-TOTAL_FORMS": 0, "form-INITIAL_FORMS": 0},
        ADMINS,
        None,
    ),
    ("users", "get", "/settings/users/", None, ADMINS_READ, None),
    ("new user form", "get", "/settings/users/new/", None, ADMINS_READ, None),
    (
        "create user",
        "post",
        "/settings/users/new/",
        lambda w, u: {
            "username": "newbie",
            "role": "user",
            "how": "password",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
        ADMINS,
        None,
    ),
    ("user form", "get", "/settings/users/{target}/", None, ADMINS_READ, None),
    (
        "change role",
        "post",
        "/settings/users/{target}/",
        lambda w, u: {"role": "admin", "version": User.objects.get(pk=w["target"].pk).version},
        ADMINS,
        "target",
    ),
    ("deactivate user", "post", "/settings/users/{target}/active/", lambda w, u: {"active": "0"}, ADMINS, "target"),
    (
        "set a user's password",
        "post",
        "/settings/users/{target}/password/",
        lambda w, u: {"password1": "another long passphrase", "password2": "another long passphrase"},
        ADMINS,
        "target",
    ),
    (
        "send a password link",
        "post",
        "/settings/users/{target}/password/",
        lambda w, u: {"send_link": "1"},
        ADMINS,
        "target",
    ),
    ("password link (expired)", "get", "/password/set/MQ/expired-token/", None, PUBLIC, None),
    ("preferences", "get", "/preferences/", None, ALL, None),
    ("password form", "get", "/password/", None, ALL, None),
]

API = [
    ("action attachments", "get", "/api/v1/actions/{secret}/attachments/", None, API_PRIVATE, None, None),
    (
        "attachment download",
        "get",
        "/api/v1/actions/{secret}/attachments/{attachment}/",
        None,
        API_PRIVATE,
        None,
        None,
    ),
    (
        "delete attachment",
        "delete",
        "/api/v1/actions/{secret}/attachments/{attachment}/",
        None,
        {"anonymous": 401, "other": 404, "owner": 204, "manager": 204, "admin": 204},
        "secret",
        None,
    ),
    ("parties", "get", "/api/v1/parties/", None, API_ALL, None, None),
    ("create party", "post", "/api/v1/parties/", lambda w, u: {"name": "Beta"}, API_CREATED, None, None),
    ("party", "get", "/api/v1/parties/{party}/", None, API_ALL, None, None),
    (
        "patch party",
        "patch",
        "/api/v1/parties/{party}/",
        lambda w, u: {"city": "Mons"},
        API_ALL,
        None,
        if_match(Party, "party"),
    ),
    (
        "archive party",
        "delete",
        "/api/v1/parties/{party}/",
        None,
        API_MANAGERS_DELETE,
        "party",
        if_match(Party, "party"),
    ),
    ("contacts", "get", "/api/v1/contacts/", None, API_ALL, None, None),
    ("contact", "get", "/api/v1/contacts/{contact}/", None, API_ALL, None, None),
    ("users", "get", "/api/v1/users/", None, API_ALL, None, None),
    ("settings", "get", "/api/v1/settings", None, API_ALL, None, None),
    (
        "patch settings",
        "patch",
        "/api/v1/settings",
        lambda w, u: {"mailing_delay_seconds": "3", "version": CompanySettings.objects.get().version},
        API_ADMINS,
        None,
        None,
    ),
    ("actions", "get", "/api/v1/actions/", None, API_ALL, None, None),
    ("private action", "get", "/api/v1/actions/{secret}/", None, API_PRIVATE, None, None),
    (
        "patch private action",
        "patch",
        "/api/v1/actions/{secret}/",
        lambda w, u: {"subject": "Leaked"},
        API_PRIVATE,
        "secret",
        if_match(Action, "secret"),
    ),
    ("folders", "get", "/api/v1/folders/", None, API_ALL, None, None),
    ("action types", "get", "/api/v1/action-types/", None, API_ALL, None, None),
    ("stages", "get", "/api/v1/stages/", None, API_ALL, None, None),
    ("stage", "get", "/api/v1/stages/{stage}/", None, API_ALL, None, None),
    ("action type", "get", "/api/v1/action-types/{type}/", None, API_ALL, None, None),
    ("user", "get", "/api/v1/users/{target}/", None, API_ALL, None, None),
    ("settings with slash", "get", "/api/v1/settings/", None, API_ALL, None, None),
    (
        "create folder",
        "post",
        "/api/v1/folders/",
        lambda w, u: {"name": "Api folder", "followed_by": u.pk},
        API_CREATED,
        None,
        None,
    ),
    (
        "patch folder party",
        "patch",
        "/api/v1/folders/{folder}/",
        lambda w, u: {"party": w["party"].pk, "name": "Renamed"},
        API_FOLDER_WRITE,
        "folder",
        if_match(Folder, "folder"),
    ),
    (
        "patch opportunity",
        "patch",
        "/api/v1/folders/{deal}/",
        lambda w, u: {"probability": 90, "budget": "5"},
        API_FOLDER_WRITE,
        "deal",
        if_match(Folder, "deal"),
    ),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name, method, url, data, expected, key", PAGES, ids=[r[0] for r in PAGES])
def test_pages(world, role, name, method, url, data, expected, key):
    _page(world, role, name, method, url, data, expected, key)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name, method, url, data, expected, key, headers", API, ids=[r[0] for r in API])
def test_api(world, role, name, method, url, data, expected, key, headers):
    _api(world, role, name, method, url, data, expected, key, headers)


def test_counts_of_folders_leave_out_private_actions_the_reader_cannot_see(world):
    owner, other = world["users"]["owner"], world["users"]["other"]
    factories.action(owner, subject="Open note", folder=world["folder"], party=world["party"])
    for user, expected in ((owner, 2), (other, 1), (world["users"]["manager"], 2)):
        client = Client()
        client.force_login(user)
        page = client.get("/crm/folders/").content.decode()
        row = page.split(f'data-folder="{world["folder"].pk}"')[1].split("</tr>")[0]
        assert f'?folder={world["folder"].pk}">{expected}</a>' in row, (user, row)
    # The delete page of the manager counts both; the owner may not delete what they cannot see
    # (nothing here: they follow the private action), another user may not delete at all.
    client = Client()
    client.force_login(world["users"]["manager"])
    assert "It holds 2 actions" in client.get(f"/crm/folders/{world['folder'].pk}/delete/").content.decode()


def test_a_folder_holding_others_private_actions_is_left_to_a_manager(world):
    other, owner = world["users"]["other"], world["users"]["owner"]
    shared = factories.folder(other, name="Shared", followed_by=other)
    factories.action(owner, subject="Owner's secret", folder=shared, private=True)
    client = Client()
    client.force_login(other)
    response = client.post(f"/crm/folders/{shared.pk}/delete/", {"actions": "detach", "version": shared.version})
    assert response.status_code == 403 and "ask a manager" in response.content.decode()
    assert Folder.objects.filter(pk=shared.pk).exists()
    assert "It holds no action" in client.get(f"/crm/folders/{shared.pk}/delete/").content.decode()


def test_the_folder_follower_must_be_one_the_followed_by_expression_offers(world):
    CompanySettings.objects.filter(pk=1).update(followed_by_expression='role = "manager"')
    owner, manager = world["users"]["owner"], world["users"]["manager"]
    client = Client()
    client.force_login(owner)
    refused = client.post("/crm/folders/new/", {"name": "Picked", "followed_by": owner.pk})
    assert refused.status_code == 400 and not Folder.objects.filter(name="Picked").exists()
    api = APIClient()
    api.force_authenticate(owner)
    refused = api.post("/api/v1/folders/", {"name": "Picked", "followed_by": owner.pk}, format="json")
    assert refused.status_code == 400 and "may follow" in refused.json()["errors"]["followed_by"]
    assert api.post("/api/v1/folders/", {"name": "Picked", "followed_by": manager.pk}, format="json").status_code == 201


def test_with_opportunities_off_the_api_neither_shows_nor_takes_opportunity_fields(world):
    CompanySettings.objects.filter(pk=1).update(opportunities_enabled=False)
    owner = world["users"]["owner"]
    api = APIClient()
    api.force_authenticate(owner)
    body = api.get(f"/api/v1/folders/{world['deal'].pk}/").json()
    assert "budget" not in body and "weighted_amount" not in body and body["name"] == "Big deal"
    refused = api.post("/api/v1/folders/", {"name": "Sneaky", "is_opportunity": True, "budget": "5"}, format="json")
    assert refused.status_code == 400 and "Opportunity management is off" in str(refused.json())
    assert not Folder.objects.filter(name="Sneaky").exists()
    assert Folder.objects.get(pk=world["deal"].pk).budget == Decimal("1000")  # kept


def test_contact_phones_are_read_in_the_company_country(world):
    CompanySettings.objects.filter(pk=1).update(country="FR")
    contact = world["contact"]
    client = Client()
    client.force_login(world["users"]["owner"])
    client.post(
        f"/contacts/{contact.pk}/update/",
        {"last_name": "Peeters", "language": "fr", "phone": "01 42 68 53 00", "version": contact.version},
    )
    contact.refresh_from_db()
    assert contact.phone == "+33142685300"


# Open to anyone by design (sign-in, health, language, the API's description), each tested in
# test_auth.py, test_health.py, test_i18n.py and test_api.py.
UNLISTED = {"login", "logout", "healthz", "set_language", "api_token", "api-root", "api_docs", "api_schema"}


def test_every_route_is_in_the_table():
    """A new page or endpoint joins the table, or this fails: a route nobody tried as another
    user is how the API once opened other users' folders."""
    import re

    from django.urls import URLPattern, URLResolver, get_resolver, resolve

    def names(patterns, namespace=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace != "admin":
                    yield from names(p.url_patterns, f"{namespace}{p.namespace}:" if p.namespace else namespace)
            elif isinstance(p, URLPattern) and p.name:
                yield f"{namespace}{p.name}"

    def name_of(url):
        url = url.replace("{import}", "00000000-0000-4000-8000-000000000000")
        match = resolve(re.sub(r"\{\w+\}", "1", url).split("?")[0])
        return f"{match.namespace}:{match.url_name}" if match.namespace else match.url_name

    from .test_authorisation_agenda import AGENDA_API, AGENDA_PAGES
    from .test_authorisation_mail import MAIL_API, MAIL_PAGES
    from .test_authorisation_mailings import MAILING_API, MAILING_PAGES
    from .test_authorisation_planning import PLANNING_API, PLANNING_PAGES
    from .test_authorisation_reminders import REMINDERS_API, REMINDERS_PAGES
    from .test_authorisation_sales import SALES_API, SALES_PAGES

    listed = {
        name_of(row[2])
        for row in PAGES
        + API
        + SALES_PAGES
        + SALES_API
        + MAIL_PAGES
        + MAIL_API
        + MAILING_PAGES
        + MAILING_API
        + AGENDA_PAGES
        + AGENDA_API
        + PLANNING_PAGES
        + PLANNING_API
        + REMINDERS_PAGES
        + REMINDERS_API
    }
    assert set(names(get_resolver().url_patterns)) - listed - UNLISTED == set()


def test_another_users_bulk_close_leaves_a_private_action_open(world):
    client = Client()
    client.force_login(world["users"]["other"])
    client.post("/crm/actions/bulk/", {"ids": [world["secret"].pk], "do": "close"})
    assert Action.objects.get(pk=world["secret"].pk).status == "todo"
