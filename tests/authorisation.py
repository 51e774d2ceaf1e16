"""The authorisation table's machinery (RELIABILITY S2): the roles, the world they act on, the
statuses each must get, and the two runners that make each request and check that a refused one
left its record as it was. The tables themselves are ``test_authorisation_table.py`` (CRM,
parties, settings, users) and ``test_authorisation_sales.py`` (the commercial side).

Statuses: ``L`` means a redirect to the login page; 302 a redirect elsewhere (done).
"""

from decimal import Decimal

from django.test import Client
from rest_framework.test import APIClient

from suivi.accounts.models import Role, User
from suivi.activities.models import Action, ActionType, Folder, Stage
from suivi.core.models import CompanySettings
from suivi.parties.models import Party, PartyImport

from . import factories
from .conftest import make_user

L = "login"
ROLES = ("anonymous", "other", "owner", "manager", "admin")


def make_world():
    """The users, the records they act on, and the owner's private action with an attachment."""
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
