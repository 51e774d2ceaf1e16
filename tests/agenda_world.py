"""Test data of the agenda shared by its test modules: Brussels wall-clock times, the calendar
"meeting" action type, the M2 (full CRM) level, Olive and Otto."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from suivi.activities.models import ActionType
from suivi.core.models import CompanySettings

from .conftest import make_user

BRUSSELS = ZoneInfo("Europe/Brussels")


def brussels(*args) -> datetime:
    return datetime(*args, tzinfo=BRUSSELS)


@pytest.fixture
def m2(db):
    CompanySettings.objects.filter(pk=1).update(crm_level="full")


@pytest.fixture
def meeting(db):
    return ActionType.objects.create(
        name_fr="Réunion", name_en="Meeting", name_nl="Vergadering", is_calendar_item=True, default_duration=60
    )


@pytest.fixture
def olive(db):
    return make_user("olive", first_name="Olive")


@pytest.fixture
def otto(db):
    return make_user("otto", first_name="Otto")
