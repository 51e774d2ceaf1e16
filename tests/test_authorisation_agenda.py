"""The authorisation table of the M2 agenda's agenda routes: every page and API route x anonymous,
another user, the owner, a manager and an administrator (machinery: ``authorisation.py``).

Who does what on the shared agenda (``suivi.web.views.agenda``): everyone reads everyone's
agenda (others' private actions as busy blocks, ``test_agenda_pages``); an action is moved by
its follower, its creator or a manager (another user gets 403, and 404 for a private action they
cannot see); everyone creates their own actions; a saved view is opened by its owner, by everyone
when shared, by managers always, and changed or deleted by its owner or a manager. At level M1
every route is a 404 saying why. A refused request leaves the actions and views as they were.
"""

import pytest
from django.test import Client

from suivi.activities.models import Action, ActionType
from suivi.agenda import services as agenda_services
from suivi.agenda.models import SavedView
from suivi.core.models import CompanySettings

from . import factories
from .agenda_world import brussels, checked_page, m2_world
from .authorisation import ALL, DONE, ROLES, L, _url


@pytest.fixture
def world(db):
    w, meeting = m2_world()
    owner = w["users"]["owner"]
    ActionType.objects.filter(pk=w["secret"].action_type_id).update(is_calendar_item=True)
    visit = factories.action(
        owner,
        action_type=meeting,
        subject="Visit",
        start=brussels(2027, 3, 2, 9, 0),
        end=brussels(2027, 3, 2, 10, 0),
    )
    Action.objects.filter(pk=w["secret"].pk).update(start=brussels(2027, 3, 3, 9, 0), end=brussels(2027, 3, 3, 10, 0))
    mine = agenda_services.save_view(acting_user=owner, view=None, values={"name": "Mine"}, users=[owner])
    shared = agenda_services.save_view(
        acting_user=owner, view=None, values={"name": "Team", "shared": True}, users=[owner, w["users"]["other"]]
    )
    return {**w, "meeting": meeting, "visit": visit, "view": mine, "shared_view": shared}


def _fingerprint():
    """What a refused request must leave: every action's times, follower and version, the saved
    views and their users."""
    return (
        sorted(Action.objects.values_list("pk", "start", "end", "followed_by_id", "version")),
        sorted(
            (v.pk, v.name, v.version, tuple(sorted(v.users.values_list("pk", flat=True))))
            for v in SavedView.objects.all()
        ),
    )


def _agenda_page(w, role, name, method, url, data, expected):
    checked_page(
        w, role, name, method, url, data, expected, _fingerprint, "a refused request changed an action or a view"
    )


def _move(key, **extra):
    def data(w, user):
        action = Action.objects.get(pk=w[key].pk)
        return {"action": action.pk, "version": action.version, "start": "2027-03-04T11:00", **extra}

    return data


def _create(w, user):
    return {"subject": "Lunch", "action_type": w["meeting"].pk, "start": "2027-03-05T12:00", "end": "2027-03-05T13:00"}


OK = ALL
CREATED = {"anonymous": L, "other": 201, "owner": 201, "manager": 201, "admin": 201}
MOVE = {"anonymous": L, "other": 403, "owner": 200, "manager": 200, "admin": 200}
MOVE_PRIVATE = {"anonymous": L, "other": 404, "owner": 200, "manager": 200, "admin": 200}
OWN_VIEW_READ = {"anonymous": L, "other": 404, "owner": 200, "manager": 200, "admin": 200}
OWN_VIEW_DELETE = {"anonymous": L, "other": 404, "owner": 302, "manager": 302, "admin": 302}
SHARED_VIEW_DELETE = {"anonymous": L, "other": 403, "owner": 302, "manager": 302, "admin": 302}

WEEK = "start=2027-03-01T00:00:00&end=2027-03-08T00:00:00"

AGENDA_PAGES = [
    ("agenda", "get", "/crm/agenda/", None, OK),
    ("agenda of users side by side", "get", "/crm/agenda/?users={target}&mode=day&date=2027-03-02", None, OK),
    ("agenda of an own saved view", "get", "/crm/agenda/?view={view}", None, OWN_VIEW_READ),
    ("agenda of a shared saved view", "get", "/crm/agenda/?view={shared_view}", None, OK),
    ("events of the owner", "get", "/crm/agenda/events/?" + WEEK + "&users={target}", None, OK),
    ("events of an own saved view", "get", "/crm/agenda/events/?" + WEEK + "&view={view}", None, OWN_VIEW_READ),
    ("events of a shared saved view", "get", "/crm/agenda/events/?" + WEEK + "&view={shared_view}", None, OK),
    ("move the owner's action", "post", "/crm/agenda/move/", _move("visit"), MOVE),
    (
        "move the owner's action into the other user's column",
        "post",
        "/crm/agenda/move/",
        lambda w, u: {**_move("visit")(w, u), "user": w["users"]["other"].pk},
        MOVE,
    ),
    ("move the owner's private action", "post", "/crm/agenda/move/", _move("secret"), MOVE_PRIVATE),
    ("quick create", "post", "/crm/agenda/create/", _create, CREATED),
    ("save a view", "post", "/crm/agenda/", lambda w, u: {"name": "Mine too", "users": [u.pk]}, DONE),
    ("delete an own saved view", "post", "/crm/agenda/views/{view}/delete/", None, OWN_VIEW_DELETE),
    ("delete a shared saved view", "post", "/crm/agenda/views/{shared_view}/delete/", None, SHARED_VIEW_DELETE),
]
# The agenda's API (/api/v1/agenda) belongs to point 6 of issue 12; the pages have no API route.
AGENDA_API: list = []


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name, method, url, data, expected", AGENDA_PAGES, ids=[r[0] for r in AGENDA_PAGES])
def test_agenda_pages(world, role, name, method, url, data, expected):
    _agenda_page(world, role, name, method, url, data, expected)


@pytest.mark.parametrize("name, method, url, data, expected", AGENDA_PAGES, ids=[r[0] for r in AGENDA_PAGES])
def test_at_level_m1_every_agenda_page_is_a_404_saying_why(world, name, method, url, data, expected):
    CompanySettings.objects.filter(pk=1).update(crm_level="basic")
    for role in ("owner", "admin"):
        client = Client()
        client.force_login(world["users"][role])
        before = _fingerprint()
        user = world["users"][role]
        response = getattr(client, method)(_url(url, world), data(world, user) if data else None)
        assert response.status_code == 404 and "M2" in response.content.decode(), (name, role)
        assert _fingerprint() == before
    assert Client().get(_url(url, world)).status_code == 302


def test_a_moved_action_given_to_another_user_is_theirs_only_when_a_manager_or_its_follower_moves_it(world):
    other = world["users"]["other"]
    data = {**_move("visit")(world, other), "user": other.pk}
    client = Client()
    client.force_login(other)
    assert client.post("/crm/agenda/move/", data).status_code == 403
    assert Action.objects.get(pk=world["visit"].pk).followed_by == world["users"]["owner"]
    client.force_login(world["users"]["manager"])
    assert client.post("/crm/agenda/move/", data).status_code == 200
    assert Action.objects.get(pk=world["visit"].pk).followed_by == other
