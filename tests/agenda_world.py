"""Test data of the agenda shared by its test modules: Brussels wall-clock times, the calendar
"meeting" action type, the M2 (full CRM) level, Olive and Otto; for the authorisation tables, their
world at M2 and a page request that must leave the records as they were when refused."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from suivi.activities.models import ActionType
from suivi.core.models import CompanySettings

from .authorisation import L, _check, _url, make_world
from .conftest import make_user

BRUSSELS = ZoneInfo("Europe/Brussels")


def brussels(*args) -> datetime:
    return datetime(*args, tzinfo=BRUSSELS)


@pytest.fixture
def m2(db):
    CompanySettings.objects.filter(pk=1).update(crm_level="full")


def meeting_type() -> ActionType:
    return ActionType.objects.create(
        name_fr="Réunion", name_en="Meeting", name_nl="Vergadering", is_calendar_item=True, default_duration=60
    )


@pytest.fixture
def meeting(db):
    return meeting_type()


@pytest.fixture
def olive(db):
    return make_user("olive", first_name="Olive")


@pytest.fixture
def otto(db):
    return make_user("otto", first_name="Otto")


def m2_world() -> tuple[dict, ActionType]:
    """The authorisation tables' world (``authorisation.make_world``) at M2, and a meeting type."""
    w = make_world()
    CompanySettings.objects.filter(pk=1).update(crm_enabled=True, crm_level="full")
    return w, meeting_type()


def checked_page(w, role, name, method, url, data, expected, fingerprint, what):
    """One page request of an authorisation table as ``role``, checked against ``expected[role]``;
    a refused request must leave ``fingerprint()`` as it was (``what`` says what it changed)."""
    client = Client()
    if role != "anonymous":
        client.force_login(w["users"][role])
    user = w["users"].get(role) or w["users"]["other"]
    before = fingerprint()
    response = getattr(client, method)(_url(url, w), data(w, user) if data else None)
    _check(w, role, name, expected[role], response, None, None)
    if response.status_code >= 400 or expected[role] == L:
        assert fingerprint() == before, (name, role, what)
