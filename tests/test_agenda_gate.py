"""The M2 gate (S2) over the whole agenda: at level M1 every agenda, planning and reminder page,
every agenda API route and every ICS feed is closed with the reason, the action form offers no
recurrence, participants or reminders — and nothing is deleted: back at M2 all of it is there."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import URLPattern
from rest_framework.test import APIClient

from suivi.activities.models import Action
from suivi.agenda import services as agenda_services
from suivi.agenda.models import Absence
from suivi.core.models import CompanySettings
from suivi.web.urls import agenda_patterns

from . import factories
from .agenda_world import meeting
from .conftest import logged_in
from .test_sales_unchanged import form_values, speaking

FIXTURES = (meeting,)  # the shared fixtures this module's tests take
M2_REASON = "needs CRM level M2"


def _level(level: str) -> None:
    CompanySettings.objects.filter(pk=1).update(crm_level=level)


@pytest.fixture
def series(admin_user, meeting):
    _level("full")
    start = datetime(2027, 3, 1, 8, tzinfo=UTC)
    action = factories.action(
        admin_user,
        action_type=meeting,
        subject="Weekly",
        start=start,
        end=start + timedelta(hours=1),
        rrule="FREQ=WEEKLY",
    )
    action.participants.add(admin_user)
    return action


def _page_urls() -> list[str]:
    urls = []
    for pattern in agenda_patterns:
        assert isinstance(pattern, URLPattern)
        route = re.sub(r"<int:\w+>", "1", str(pattern.pattern))
        urls.append("/crm/" + route)
    return urls


def test_every_agenda_page_is_closed_at_m1_with_the_reason(admin_user, series):
    _level("basic")
    client = logged_in(admin_user)
    urls = _page_urls()
    assert "/crm/agenda/" in urls and "/crm/planning/" in urls and "/crm/reminders/" in urls
    for url in urls:
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 404, (url, response.status_code)
            assert M2_REASON in response.content.decode(), url
    home = client.get("/").content.decode()
    assert "/crm/agenda/" not in home and "/crm/planning/" not in home


def test_the_agenda_api_is_closed_at_m1(admin_user, series):
    _level("basic")
    api = APIClient()
    api.force_authenticate(admin_user)
    for url in (
        "/api/v1/agenda/?start=2027-03-01T00:00:00Z&end=2027-03-08T00:00:00Z",
        "/api/v1/availability/?duration=60&start=2027-03-01T00:00:00Z&end=2027-03-08T00:00:00Z",
    ):
        response = api.get(url)
        assert response.status_code == 404, url
        assert M2_REASON in response.json()["detail"]


def test_a_feed_is_a_plain_404_at_m1_and_serves_again_at_m2(admin_user, series):
    _feed, token = agenda_services.create_feed(acting_user=admin_user, view=None)
    client = logged_in(admin_user)
    assert client.get(f"/ics/{token}.ics").status_code == 200
    _level("basic")
    closed = client.get(f"/ics/{token}.ics")
    assert closed.status_code == 404 and b"Weekly" not in closed.content
    _level("full")
    assert b"RRULE:FREQ=WEEKLY" in client.get(f"/ics/{token}.ics").content


@pytest.mark.parametrize("language", ["fr", "nl"])
def test_at_m1_the_action_form_offers_no_repeat_and_a_save_keeps_the_series(admin_user, series, language):
    _level("basic")
    client = speaking(admin_user, language)
    url = f"/crm/actions/{series.pk}/"
    form = client.get(url).content.decode()
    assert 'name="rrule"' not in form and "FREQ=WEEKLY" not in form
    values = form_values(form)
    values["subject"] = ["Weekly, renamed at M1"]
    response = client.post(url, values)
    assert response.status_code == 302, re.findall(
        r'class="errorlist[^"]*"[^>]*>(.*?)</', response.content.decode(), re.S
    )
    series.refresh_from_db()
    assert series.subject == "Weekly, renamed at M1" and series.rrule == "FREQ=WEEKLY"
    Absence.objects.create(user=admin_user, start=series.start, end=series.end)
    _level("full")
    series.refresh_from_db()
    assert series.rrule == "FREQ=WEEKLY" and list(series.participants.all()) == [admin_user]
    assert Absence.objects.filter(user=admin_user).exists()
    assert Action.objects.filter(pk=series.pk).exists()
