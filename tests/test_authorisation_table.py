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

from suivi.accounts.models import Role, User
from suivi.activities.models import Action, ActionType, Folder, Stage
from suivi.core.models import CompanySettings
from suivi.parties.models import Party, PartyImport

from . import factories
from .conftest import PASSWORD, make_user

L = "login"
ROLES = ("anonymous", "other", "owner", "manager", "admin")


@pytest.fixture
def world(db):
    CompanySettings.objects.filter(pk=1).update(opportunities_enabled=True)
    users = {
        "owner": make_user("olive", first_name="Olive"),
        "other": make_user("otto", first_name="Otto"),
        "manager": make_user("mia", Role.MANAGER, first_name="Mia"),
        "admin": make_user("ada", Role.ADMINISTRATOR, first_name="Ada"),
    }
    owner = users["owner"]
    party = factories.party(owner, name="Alpha")
    contact = factories.contact(owner, party=party, last_name="Peeters")
    folder = factories.folder(owner, name="Roof", party=party, followed_by=owner)
    deal = factories.folder(
        owner,
        name="Big deal",
        is_opportunity=True,
        budget=Decimal("1000"),
        probability=20,
        stage=Stage.objects.order_by("position").first(),
        followed_by=owner,
    )
    secret = factories.action(owner, subject="Secret plan", party=party, folder=folder, private=True)
    from suivi.activities.attachments import add_attachment

    attachment = add_attachment(acting_user=owner, action=secret, name="plan.txt", content=b"secret plan")
    return {
        "attachment": attachment,
        "users": users,
        "party": party,
        "contact": contact,
        "folder": folder,
        "deal": deal,
        "secret": secret,
        "stage": deal.stage,
        "type": secret.action_type,
        "import": PartyImport.objects.create(created_by=users["manager"], filename="parties.csv"),
        "target": users["owner"],  # the user the *Users* screen changes
    }


def action_form(w, user):
    return {
        "subject": "Call back",
        "action_type": ActionType.objects.first().pk,
        "priority": 2,
        "status": "todo",
        "followed_by": user.pk,
        "party": w["party"].pk,
        "version": Action.objects.get(pk=w["secret"].pk).version,
    }


def folder_form(w, user, key="folder"):
    folder = Folder.objects.get(pk=w[key].pk)
    return {"name": "Renamed", "followed_by": folder.followed_by_id, "currency": "EUR", "version": folder.version}


def party_form(w, user):
    party = Party.objects.get(pk=w["party"].pk)
    return {"name": "Alpha SA", "country": "BE", "language": "fr", "is_customer": "on", "version": party.version}


def settings_form(w, user):
    return {
        "crm_enabled": "on",
        "crm_level": "basic",
        "action_form_layout": "classic",
        "default_sending_method": "send",
        "mailing_delay_seconds": "1",
        "opportunities_enabled": "on",
        "version": CompanySettings.objects.get().version,
    }


def version_of(model, key):
    return lambda w, user: {"version": model.objects.get(pk=w[key].pk).version}


def if_match(model, key):
    return lambda w: {"HTTP_IF_MATCH": f'"{model.objects.get(pk=w[key].pk).version}"'}


ALL = {"anonymous": L, "other": 200, "owner": 200, "manager": 200, "admin": 200}
DONE = {"anonymous": L, "other": 302, "owner": 302, "manager": 302, "admin": 302}
PRIVATE_READ = {"anonymous": L, "other": 404, "owner": 200, "manager": 200, "admin": 200}
PRIVATE_WRITE = {"anonymous": L, "other": 404, "owner": 302, "manager": 302, "admin": 302}
FOLDER_WRITE = {"anonymous": L, "other": 403, "owner": 302, "manager": 302, "admin": 302}
MANAGERS = {"anonymous": L, "other": 403, "owner": 403, "manager": 302, "admin": 302}
MANAGERS_READ = {"anonymous": L, "other": 403, "owner": 403, "manager": 200, "admin": 200}
ADMINS = {"anonymous": L, "other": 403, "owner": 403, "manager": 403, "admin": 302}
ADMINS_READ = {"anonymous": L, "other": 403, "owner": 403, "manager": 403, "admin": 200}
PUBLIC = {"anonymous": 200, "other": 200, "owner": 200, "manager": 200, "admin": 200}

API_ALL = {"anonymous": 401, "other": 200, "owner": 200, "manager": 200, "admin": 200}
API_CREATED = {"anonymous": 401, "other": 201, "owner": 201, "manager": 201, "admin": 201}
API_PRIVATE = {"anonymous": 401, "other": 404, "owner": 200, "manager": 200, "admin": 200}
API_FOLDER_WRITE = {"anonymous": 401, "other": 403, "owner": 200, "manager": 200, "admin": 200}
API_MANAGERS_DELETE = {"anonymous": 401, "other": 403, "owner": 403, "manager": 204, "admin": 204}
API_ADMINS = {"anonymous": 401, "other": 403, "owner": 403, "manager": 403, "admin": 200}

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

MODELS = {"secret": Action, "folder": Folder, "deal": Folder, "party": Party, "target": User}


def _url(template, w):
    return template.format(**{k: getattr(v, "pk", None) for k, v in w.items() if k != "users"})


def _fingerprint(w, key):
    """What a refused request must leave as it was: version, archived flag, status, and for
    documents their print count and events."""
    if key is None:
        return None
    model = MODELS.get(key) or _sales_model(key)
    obj = model.objects.filter(pk=w[key].pk).first()
    return obj and (
        obj.version,
        getattr(obj, "archived", None),
        getattr(obj, "status", None),
        getattr(obj, "print_count", None),
        obj.events.count() if hasattr(obj, "events") else None,
    )


def _check(w, role, name, expected, response, key, before):
    status = response.status_code
    if expected == L:
        assert status == 302 and "/login/" in response["Location"], (name, role, status)
    else:
        assert status == expected, (name, role, status, response.content[:300])
    if status >= 400 or expected == L:
        assert _fingerprint(w, key) == before, (name, role, "a refused request changed the record")


def _page(w, role, name, method, url, data, expected, key):
    client = Client()
    if role != "anonymous":
        client.force_login(w["users"][role])
    user = w["users"].get(role) or w["users"]["other"]
    before = _fingerprint(w, key)
    response = getattr(client, method)(_url(url, w), data(w, user) if data else None)
    _check(w, role, name, expected[role], response, key, before)


def _api(w, role, name, method, url, data, expected, key, headers):
    client = APIClient()
    if role != "anonymous":
        client.force_authenticate(w["users"][role])
    user = w["users"].get(role) or w["users"]["other"]
    before = _fingerprint(w, key)
    response = getattr(client, method)(
        _url(url, w), data(w, user) if data else None, format="json", **(headers(w) if headers else {})
    )
    _check(w, role, name, expected[role], response, key, before)


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

    listed = {name_of(row[2]) for row in PAGES + API + SALES_PAGES + SALES_API}
    assert set(names(get_resolver().url_patterns)) - listed - UNLISTED == set()


def test_another_users_bulk_close_leaves_a_private_action_open(world):
    client = Client()
    client.force_login(world["users"]["other"])
    client.post("/crm/actions/bulk/", {"ids": [world["secret"].pk], "do": "close"})
    assert Action.objects.get(pk=world["secret"].pk).status == "todo"


# --- the commercial side (issue 9) -----------------------------------------------------------------
# Every user reads documents and the sales settings; sellers (managers and the Sales group: here
# the *owner*) write documents; managers configure. Not behind the CRM gate.

SELLERS = {"anonymous": L, "other": 403, "owner": 302, "manager": 302, "admin": 302}
SELLERS_READ = {"anonymous": L, "other": 403, "owner": 200, "manager": 200, "admin": 200}
API_SELLERS = {"anonymous": 401, "other": 403, "owner": 200, "manager": 200, "admin": 200}
API_SELLERS_CREATED = {"anonymous": 401, "other": 403, "owner": 201, "manager": 201, "admin": 201}
API_MANAGERS = {"anonymous": 401, "other": 403, "owner": 403, "manager": 200, "admin": 200}
API_MANAGERS_CREATED = {"anonymous": 401, "other": 403, "owner": 403, "manager": 201, "admin": 201}


@pytest.fixture
def sales_world(world):
    from django.contrib.auth.models import Group

    from suivi.sales import services as sales_services
    from suivi.sales.demo import load_sales
    from suivi.sales.models import Article, DocumentEvent, Journal, Layout, VatRate

    load_sales()
    owner = world["users"]["owner"]
    owner.groups.add(Group.objects.get_or_create(name="Sales")[0])
    journal = Journal.objects.get(code="VF")
    rate = VatRate.objects.get(code="21")
    lines = [{"description": "Work", "quantity": "2", "unit_price": "50", "vat_rate": rate}]
    values = {"journal": journal, "party": world["party"]}
    draft = sales_services.create_document(acting_user=owner, values=values, lines=lines)
    invoice = sales_services.create_document(acting_user=owner, values=values, lines=lines)
    invoice = sales_services.validate_document(acting_user=owner, document=invoice, expected_version=1)
    layout = Layout.objects.get(journal=journal)
    failed = DocumentEvent.objects.create(
        document=invoice,
        kind="email",
        layout=layout,
        user=owner,
        idempotency_key="x",
        status="failed",
        recipient="a@b.be",
    )
    from suivi.activities.models import ActionType
    from suivi.sales import rules

    rule = rules.save_rule(
        acting_user=world["users"]["manager"],
        layout=layout,
        kind="print",
        values={"enabled": True, "action_type": ActionType.objects.first()},
    )
    return {
        **world,
        "rule": rule,
        "article": Article.objects.get(code="CONSULT"),
        "event": failed,
        "draft": draft,
        "invoice": invoice,
        "journal": journal,
        "layout": layout,
        "rate": rate,
    }


def _sales_model(key):
    from suivi.sales.models import Document, Journal, Layout, LinkedActionRule, VatRate

    models = {
        "draft": Document,
        "invoice": Document,
        "journal": Journal,
        "layout": Layout,
        "rate": VatRate,
        "rule": LinkedActionRule,
    }
    return models[key]


def _sales_version(key):
    return lambda w, u: {"version": _sales_model(key).objects.get(pk=w[key].pk).version}


def _draft_form(w, u):
    return {
        "party": w["party"].pk,
        "journal": w["journal"].pk,
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-description": "Work",
        "lines-0-quantity": "1",
        "lines-0-unit_price": "10",
        "lines-0-vat_rate": w["rate"].pk,
        **_sales_version("draft")(w, u),
    }


def _sales_if_match(key):
    return lambda w: {"HTTP_IF_MATCH": f'"{_sales_model(key).objects.get(pk=w[key].pk).version}"'}


SALES_PAGES = [
    ("documents", "get", "/sales/documents/", None, ALL, None),
    ("document", "get", "/sales/documents/{invoice}/", None, ALL, None),
    ("draft preview", "get", "/sales/documents/{draft}/preview.pdf", None, ALL, None),
    ("new document", "get", "/sales/documents/new/?party={party}", None, SELLERS_READ, None),
    ("create document", "post", "/sales/documents/new/", _draft_form, SELLERS, None),
    ("edit draft form", "get", "/sales/documents/{draft}/update/", None, SELLERS_READ, None),
    ("edit draft", "post", "/sales/documents/{draft}/update/", _draft_form, SELLERS, "draft"),
    ("validate", "post", "/sales/documents/{draft}/validate/", _sales_version("draft"), SELLERS, "draft"),
    ("cancel draft", "post", "/sales/documents/{draft}/cancel/", None, SELLERS, "draft"),
    ("credit note", "post", "/sales/documents/{invoice}/convert/", lambda w, u: {"kind": "credit_note"}, SELLERS, None),
    (
        "print",
        "post",
        "/sales/documents/{invoice}/print/",
        lambda w, u: {"layout": w["layout"].pk},
        {**SELLERS_READ},
        "invoice",
    ),
    (
        "send",
        "post",
        "/sales/documents/{invoice}/send/",
        lambda w, u: {"layout": w["layout"].pk, "to": "x@example.com"},
        SELLERS,
        "invoice",
    ),
    (
        "send again",
        "post",
        "/sales/documents/{invoice}/sends/{event}/retry/",
        None,
        SELLERS,
        "invoice",
    ),
    ("sales settings", "get", "/sales/settings/journals/", None, ALL, None),
    ("linked-action rules screen", "get", "/sales/settings/layouts/{layout}/linked-actions/", None, ALL, None),
    (
        "save linked-action rules",
        "post",
        "/sales/settings/layouts/{layout}/linked-actions/",
        lambda w, u: {
            **{
                f"{kind}-{k}": v
                for kind in ("print", "email")
                for k, v in {
                    "subject_template": "{{ document.number }}",
                    "folder_mode": "none",
                    "follower_mode": "acting",
                    "status": "done",
                    "due_in_days": "0",
                }.items()
            },
            "print-version": _sales_model("rule").objects.get(pk=w["rule"].pk).version,
        },
        MANAGERS,
        "rule",
    ),
    ("layout form", "get", "/sales/settings/layouts/{layout}/", None, ALL, None),
    ("new article form", "get", "/sales/settings/articles/new/", None, ALL, None),
    (
        "create VAT rate",
        "post",
        "/sales/settings/vat-rates/new/",
        lambda w, u: {"code": "X", "label": "X", "rate": "5", "active": "on"},
        {**MANAGERS, "manager": 302},
        None,
    ),
    (
        "edit journal",
        "post",
        "/sales/settings/journals/{journal}/",
        lambda w, u: {
            "code": "VF",
            "name": "Ventes",
            "kind": "invoice",
            "side": "sales",
            "numbering_pattern": "{year}-{seq:04}",
            "active": "on",
            **_sales_version("journal")(w, u),
        },
        MANAGERS,
        "journal",
    ),
    (
        "close year",
        "post",
        "/sales/settings/journals/{journal}/years/",
        lambda w, u: {"year": "2020", "closed": "1"},
        MANAGERS,
        None,
    ),
]

SALES_API = [
    ("documents", "get", "/api/v1/documents/", None, API_ALL, None, None),
    ("document", "get", "/api/v1/documents/{invoice}/", None, API_ALL, None, None),
    (
        "create document",
        "post",
        "/api/v1/documents/",
        lambda w, u: {
            "journal": w["journal"].pk,
            "party": w["party"].pk,
            "lines": [{"description": "A", "vat_rate": w["rate"].pk}],
        },
        API_SELLERS_CREATED,
        None,
        None,
    ),
    (
        "patch draft",
        "patch",
        "/api/v1/documents/{draft}/",
        lambda w, u: {"notes": "n"},
        API_SELLERS,
        "draft",
        _sales_if_match("draft"),
    ),
    ("validate", "post", "/api/v1/documents/{draft}/validate/", _sales_version("draft"), API_SELLERS, "draft", None),
    ("pdf", "get", "/api/v1/documents/{invoice}/pdf/", None, API_SELLERS, "invoice", None),
    (
        "send",
        "post",
        "/api/v1/documents/{invoice}/send/",
        lambda w, u: {"to": "x@example.com"},
        API_SELLERS,
        "invoice",
        None,
    ),
    ("cancel draft", "post", "/api/v1/documents/{draft}/cancel/", None, API_SELLERS, "draft", None),
    (
        "credit note",
        "post",
        "/api/v1/documents/{invoice}/convert/",
        lambda w, u: {"kind": "credit_note"},
        API_SELLERS_CREATED,
        None,
        None,
    ),
    ("linked-action rules", "get", "/api/v1/linked-action-rules/", None, API_ALL, None, None),
    ("linked-action rule", "get", "/api/v1/linked-action-rules/{rule}/", None, API_ALL, None, None),
    (
        "create linked-action rule",
        "post",
        "/api/v1/linked-action-rules/",
        lambda w, u: {"layout": w["layout"].pk, "event_kind": "email", "enabled": False},
        API_MANAGERS_CREATED,
        None,
        None,
    ),
    (
        "patch linked-action rule",
        "patch",
        "/api/v1/linked-action-rules/{rule}/",
        lambda w, u: {"attach_pdf": False},
        API_MANAGERS,
        "rule",
        _sales_if_match("rule"),
    ),
    ("document linked actions", "get", "/api/v1/documents/{invoice}/linked-actions/", None, API_ALL, None, None),
    (
        "link an action to a document",
        "post",
        "/api/v1/documents/{invoice}/linked-actions/",
        lambda w, u: {"action": w["secret"].pk},
        {"anonymous": 401, "other": 404, "owner": 201, "manager": 201, "admin": 201},
        None,
        None,
    ),
    ("articles", "get", "/api/v1/articles/", None, API_ALL, None, None),
    ("article", "get", "/api/v1/articles/{article}/", None, API_ALL, None, None),
    ("journal", "get", "/api/v1/journals/{journal}/", None, API_ALL, None, None),
    ("VAT rate", "get", "/api/v1/vat-rates/{rate}/", None, API_ALL, None, None),
    ("journals", "get", "/api/v1/journals/", None, API_ALL, None, None),
    ("layouts", "get", "/api/v1/layouts/", None, API_ALL, None, None),
    ("VAT rates", "get", "/api/v1/vat-rates/", None, API_ALL, None, None),
    (
        "create article",
        "post",
        "/api/v1/articles/",
        lambda w, u: {"code": f"A{u.pk}", "name_fr": "A", "vat_rate": w["rate"].pk},
        API_MANAGERS_CREATED,
        None,
        None,
    ),
    (
        "patch layout",
        "patch",
        "/api/v1/layouts/{layout}/",
        lambda w, u: {"name": "N"},
        API_MANAGERS,
        "layout",
        _sales_if_match("layout"),
    ),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name, method, url, data, expected, key", SALES_PAGES, ids=[r[0] for r in SALES_PAGES])
def test_sales_pages(sales_world, role, name, method, url, data, expected, key):
    _page(sales_world, role, name, method, url, data, expected, key)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name, method, url, data, expected, key, headers", SALES_API, ids=[r[0] for r in SALES_API])
def test_sales_api(sales_world, role, name, method, url, data, expected, key, headers):
    _api(sales_world, role, name, method, url, data, expected, key, headers)
