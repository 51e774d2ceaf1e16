"""The authorisation table of the M2 agenda's reminders routes: every page and API route x anonymous,
another user, the owner, a manager and an administrator (machinery: ``authorisation.py``).

Reminders are personal: everyone reads and marks as read only their own (another user's page,
bell and feed show none of the owner's, and marking the owner's as read changes nothing).
Occurrences of a recurring action are changed and deleted as the action is: its follower, its
creator or a manager; another user's private series is a 404. At M1 every route is a 404."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from suivi.activities import reminders
from suivi.activities.models import Action, ReminderDelivery
from suivi.activities.services import create_action
from suivi.core.models import CompanySettings

from .agenda_world import brussels, checked_page, m2_world
from .authorisation import ALL, DONE, PRIVATE_WRITE, ROLES, _check, _url


@pytest.fixture
def world(db):
    w, meeting = m2_world()
    owner = w["users"]["owner"]
    series = create_action(
        acting_user=owner,
        values={
            "subject": "Private stand-up",
            "action_type": meeting,
            "followed_by": owner,
            "private": True,
            "start": brussels(2027, 3, 1, 9, 0),
            "end": brussels(2027, 3, 1, 9, 30),
            "rrule": "FREQ=WEEKLY;BYDAY=MO",
        },
        reminders=[15],
    )
    reminders.plan_between(brussels(2027, 3, 1, 0, 0), brussels(2027, 3, 1, 9, 0))
    # Due a minute ago (the series is in 2027): the notification area lists due reminders only.
    ReminderDelivery.objects.update(due_at=timezone.now() - timedelta(minutes=1))
    delivery = ReminderDelivery.objects.get()
    return {**w, "series": series, "delivery": delivery}


def _fingerprint():
    return (
        sorted(Action.objects.values_list("pk", "version", "rrule", "start")),
        sorted(ReminderDelivery.objects.values_list("pk", "read_at", "state")),
    )


def _delete(scope):
    return lambda w, u: {"occurrence": "2027-03-08T08:00:00+00:00", "scope": scope, "confirm": "1"}


def _change(w, user):
    series = Action.objects.get(pk=w["series"].pk)
    return {
        "original_start": "2027-03-08T08:00:00Z",
        "scope": "this",
        "version": series.version,
        "values": {"subject": "Moved"},
    }


DELETED = {"anonymous": 401, "other": 404, "owner": 204, "manager": 204, "admin": 204}
API_PRIVATE = {"anonymous": 401, "other": 404, "owner": 200, "manager": 200, "admin": 200}

REMINDERS_PAGES = [
    ("my reminders", "get", "/crm/reminders/", None, ALL),
    ("the bell", "get", "/crm/reminders/bell/", None, ALL),
    ("the notifications feed", "get", "/crm/reminders/feed/?after=0", None, ALL),
    ("mark reminders as read", "post", "/crm/reminders/read/", lambda w, u: {"ids": [w["delivery"].pk]}, DONE),
    (
        "delete an occurrence of a private series",
        "post",
        "/crm/actions/{series}/occurrence/delete/",
        _delete("this"),
        PRIVATE_WRITE,
    ),
]
REMINDERS_API = [
    ("change an occurrence of a private series", "post", "/api/v1/actions/{series}/occurrence/", _change, API_PRIVATE),
    (
        "delete an occurrence of a private series",
        "post",
        "/api/v1/actions/{series}/occurrence/delete/",
        lambda w, u: {"original_start": "2027-03-08T08:00:00Z", "scope": "this"},
        DELETED,
    ),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name, method, url, data, expected", REMINDERS_PAGES, ids=[r[0] for r in REMINDERS_PAGES])
def test_reminder_pages(world, role, name, method, url, data, expected):
    checked_page(world, role, name, method, url, data, expected, _fingerprint, "a refused request changed something")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name, method, url, data, expected", REMINDERS_API, ids=[r[0] for r in REMINDERS_API])
def test_reminder_api(world, role, name, method, url, data, expected):
    client = APIClient()
    if role != "anonymous":
        client.force_authenticate(world["users"][role])
    user = world["users"].get(role) or world["users"]["other"]
    before = _fingerprint()
    response = getattr(client, method)(_url(url, world), data(world, user) if data else None, format="json")
    _check(world, role, name, expected[role], response, None, None)
    if response.status_code >= 400:
        assert _fingerprint() == before, (name, role, "a refused request changed something")


@pytest.mark.parametrize(
    "name, method, url, data, expected",
    REMINDERS_PAGES + REMINDERS_API,
    ids=[r[0] for r in REMINDERS_PAGES + REMINDERS_API],
)
def test_at_level_m1_every_reminder_route_is_a_404(world, name, method, url, data, expected):
    CompanySettings.objects.filter(pk=1).update(crm_level="basic")
    client = APIClient() if url.startswith("/api/") else Client()
    client.force_login(world["users"]["owner"])
    before = _fingerprint()
    kwargs = {"format": "json"} if url.startswith("/api/") else {}
    response = getattr(client, method)(
        _url(url, world), data(world, world["users"]["owner"]) if data else None, **kwargs
    )
    assert response.status_code == 404, (name, response.status_code)
    assert _fingerprint() == before


def test_another_user_sees_none_of_the_owners_reminders_and_cannot_mark_them_read(world):
    client = Client()
    client.force_login(world["users"]["other"])
    assert "Private stand-up" not in client.get("/crm/reminders/").content.decode()
    assert client.get("/crm/reminders/feed/?after=0").json() == {"reminders": []}
    assert "badge" not in client.get("/crm/reminders/bell/").content.decode()
    client.post("/crm/reminders/read/", {"ids": [world["delivery"].pk]})
    client.post("/crm/reminders/read/")
    assert ReminderDelivery.objects.get().read_at is None
    owner = Client()
    owner.force_login(world["users"]["owner"])
    assert "Private stand-up" in owner.get("/crm/reminders/").content.decode()
    assert '<span class="badge" data-unread-count>1</span>' in owner.get("/crm/reminders/bell/").content.decode()
    owner.post("/crm/reminders/read/", {"ids": [world["delivery"].pk]})
    assert ReminderDelivery.objects.get().read_at is not None
