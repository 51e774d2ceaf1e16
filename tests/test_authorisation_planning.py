"""The authorisation table of the M2 agenda's planning routes: every page and API route x anonymous,
another user, the owner, a manager and an administrator (machinery: ``authorisation.py``).

Who does what in planning (``suivi.web.views.planning``): everyone searches free slots, books
one and reads the team load; a user's working hours and absences are changed by that user or a
manager (others read the hours, and get 403 changing them; someone else's absence is a 404 to
delete); company holidays are read by everyone and changed by administrators; a calendar feed is
its owner's alone (another user's revoke is a 404, and their feeds page lists only their own);
the ICS address itself is public — the secret is the proof — and a revoked one is a 404 for
everyone. A refused request leaves the hours, absences, holidays, feeds and actions as they were.
"""

from datetime import datetime

import pytest
from django.test import Client
from rest_framework.test import APIClient

from suivi.activities.models import Action
from suivi.agenda import services
from suivi.agenda.models import Absence, CalendarFeed, Holiday, WorkingHours
from suivi.core.models import CompanySettings

from . import factories
from .agenda_world import brussels, checked_page, m2_world
from .authorisation import ADMINS, ALL, API_ALL, DONE, PRIVATE_WRITE, PUBLIC, ROLES, L, _check, _url

TOKEN = "owner-feed-secret"
REVOKED = "revoked-feed-secret"


@pytest.fixture
def world(db):
    w, meeting = m2_world()
    owner, admin = w["users"]["owner"], w["users"]["admin"]
    visit = factories.action(
        owner,
        action_type=meeting,
        subject="Visit",
        start=brussels(2030, 3, 4, 9, 0),
        end=brussels(2030, 3, 4, 10, 0),
    )
    absence = services.save_absence(
        acting_user=owner,
        absence=None,
        user=owner,
        values={
            "start": brussels(2030, 3, 8, 8, 0),
            "end": brussels(2030, 3, 8, 18, 0),
            "reason": "Dentist",
        },
    )
    holiday = services.save_holiday(
        acting_user=admin, holiday=None, values={"day": datetime(2030, 7, 21).date(), "name": "National day"}
    )
    feed = CalendarFeed.objects.create(owner=owner, token_digest=services.feed_digest(TOKEN))
    revoked = CalendarFeed.objects.create(owner=owner, token_digest=services.feed_digest(REVOKED))
    services.revoke_feed(acting_user=owner, feed=revoked)
    return {**w, "meeting": meeting, "visit": visit, "absence": absence, "holiday": holiday, "feed": feed}


def _fingerprint():
    return (
        sorted(Action.objects.values_list("pk", "start", "end", "followed_by_id", "version")),
        sorted(WorkingHours.objects.values_list("user_id", "weekday", "start", "end")),
        sorted(Absence.objects.values_list("pk", "user_id", "start", "end", "reason")),
        sorted(Holiday.objects.values_list("pk", "day", "name")),
        sorted(CalendarFeed.objects.values_list("pk", "owner_id", "revoked_at")),
    )


def _planning_page(w, role, name, method, url, data, expected):
    checked_page(
        w, role, name, method, url, data, expected, _fingerprint, "a refused request changed a planning record"
    )


def _planning_api(w, role, name, method, url, data, expected, headers):
    client = APIClient()
    if role != "anonymous":
        client.force_authenticate(w["users"][role])
    before = _fingerprint()
    response = getattr(client, method)(_url(url, w), None, **(headers(w) if headers else {}))
    _check(w, role, name, expected[role], response, None, None)
    assert _fingerprint() == before, (name, role, "a read changed a planning record")


def _book(w, user):
    return {
        "slot": "2030-03-05T08:00:00+00:00",
        "duration": 60,
        "users": [w["users"]["owner"].pk, user.pk],
        "subject": "Kick-off",
        "action_type": w["meeting"].pk,
    }


def _hours(w, user):
    return {"d0_0_start": "08:00", "d0_0_end": "12:00"}


def _absence(w, user):
    return {"user": w["users"]["owner"].pk, "start": "2030-04-01T08:00", "end": "2030-04-01T18:00", "reason": "Leave"}


OWN_OR_MANAGER = {"anonymous": L, "other": 403, "owner": 302, "manager": 302, "admin": 302}
CREATED = {"anonymous": L, "other": 201, "owner": 201, "manager": 201, "admin": 201}
OWN_ONLY = {"anonymous": L, "other": 404, "owner": 302, "manager": 404, "admin": 404}
PUBLIC_404 = dict.fromkeys(ROLES, 404)

PLANNING_PAGES = [
    ("free-slot search form", "get", "/crm/planning/", None, ALL),
    ("free-slot search", "get", "/crm/planning/?users={target}&duration=60&start=2030-03-04&days=7", None, ALL),
    (
        "booking form",
        "get",
        "/crm/planning/book/?slot=2030-03-05T08:00:00%2B00:00&duration=60&users={target}",
        None,
        ALL,
    ),
    ("book a slot", "post", "/crm/planning/book/", _book, DONE),
    ("a booked slot", "get", "/crm/planning/booked/{visit}/", None, ALL),
    ("a booked private action", "get", "/crm/planning/booked/{secret}/", None, {**ALL, "other": 404}),
    ("team load form", "get", "/crm/planning/load/", None, ALL),
    ("team load", "get", "/crm/planning/load/?users={target}&start=2030-03-04&by=week&count=4", None, ALL),
    ("own working hours", "get", "/crm/planning/hours/", None, ALL),
    ("the owner's working hours, read", "get", "/crm/planning/hours/?user={target}", None, ALL),
    ("change the owner's working hours", "post", "/crm/planning/hours/?user={target}", _hours, OWN_OR_MANAGER),
    ("absences", "get", "/crm/planning/absences/", None, ALL),
    ("record an absence of the owner", "post", "/crm/planning/absences/", _absence, OWN_OR_MANAGER),
    ("delete the owner's absence", "post", "/crm/planning/absences/{absence}/delete/", None, PRIVATE_WRITE),
    ("company holidays", "get", "/crm/planning/holidays/", None, ALL),
    (
        "add a holiday",
        "post",
        "/crm/planning/holidays/",
        lambda w, u: {"day": "2030-11-11", "name": "Armistice"},
        ADMINS,
    ),
    ("delete a holiday", "post", "/crm/planning/holidays/{holiday}/delete/", None, ADMINS),
    ("calendar feeds", "get", "/crm/feeds/", None, ALL),
    ("create a feed of one's agenda", "post", "/crm/feeds/", lambda w, u: {"view": ""}, CREATED),
    ("revoke the owner's feed", "post", "/crm/feeds/{feed}/revoke/", None, OWN_ONLY),
    ("the ICS feed (public: the secret is the proof)", "get", f"/ics/{TOKEN}.ics", None, PUBLIC),
    ("a revoked ICS feed", "get", f"/ics/{REVOKED}.ics", None, PUBLIC_404),
]

# (name, method, url, data or None, expected by role, headers or None)
PLANNING_API = [
    (
        "agenda occurrences",
        "get",
        "/api/v1/agenda/?users={target}&start=2030-03-04&end=2030-03-11",
        None,
        API_ALL,
        None,
    ),
    (
        "free slots",
        "get",
        "/api/v1/availability/?users={target}&duration=60&start=2030-03-04&end=2030-03-11",
        None,
        API_ALL,
        None,
    ),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name, method, url, data, expected", PLANNING_PAGES, ids=[r[0] for r in PLANNING_PAGES])
def test_planning_pages(world, role, name, method, url, data, expected):
    _planning_page(world, role, name, method, url, data, expected)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name, method, url, data, expected, headers", PLANNING_API, ids=[r[0] for r in PLANNING_API])
def test_planning_api(world, role, name, method, url, data, expected, headers):
    _planning_api(world, role, name, method, url, data, expected, headers)


# --- the M2 gate: at M1 every planning page and endpoint is a 404 (the ICS feed too) --------------


@pytest.mark.parametrize("name, method, url, data, expected", PLANNING_PAGES, ids=[r[0] for r in PLANNING_PAGES])
def test_at_m1_planning_pages_are_gated(world, name, method, url, data, expected):
    CompanySettings.objects.filter(pk=1).update(crm_level="basic")
    public = url.startswith("/ics/")
    for role, status in (("anonymous", 404 if public else L), ("owner", 404), ("admin", 404)):
        _planning_page(world, role, name, method, url, data, {role: status})


@pytest.mark.parametrize("name, method, url, data, expected, headers", PLANNING_API, ids=[r[0] for r in PLANNING_API])
def test_at_m1_planning_endpoints_are_gated(world, name, method, url, data, expected, headers):
    CompanySettings.objects.filter(pk=1).update(crm_level="basic")
    for role, status in (("anonymous", 401), ("owner", 404), ("admin", 404)):
        _planning_api(world, role, name, method, url, data, {role: status}, headers)


def test_another_users_feeds_page_lists_only_their_own_feeds(world):
    client = Client()
    client.force_login(world["users"]["other"])
    page = client.get("/crm/feeds/").content.decode()
    assert f"/crm/feeds/{world['feed'].pk}/revoke/" not in page
    assert TOKEN not in page and world["feed"].token_digest not in page
    owner = Client()
    owner.force_login(world["users"]["owner"])
    assert f"/crm/feeds/{world['feed'].pk}/revoke/" in owner.get("/crm/feeds/").content.decode()


def test_another_user_does_not_see_the_owners_absences(world):
    client = Client()
    client.force_login(world["users"]["other"])
    assert "Dentist" not in client.get("/crm/planning/absences/").content.decode()
    manager = Client()
    manager.force_login(world["users"]["manager"])
    assert "Dentist" in manager.get("/crm/planning/absences/").content.decode()
