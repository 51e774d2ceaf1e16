"""The agenda API (issue 12, point 6): occurrences with recurrences expanded and busy masking,
free slots, the M2 gate, and 400s that say which parameter is wrong."""

from datetime import UTC, datetime

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from suivi.core.models import CompanySettings

from . import factories
from .agenda_world import BRUSSELS, brussels, m2, meeting, olive, otto

FIXTURES = (m2, meeting, olive, otto)  # the shared fixtures this module's tests take


def client_of(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def test_the_agenda_lists_occurrences_with_recurrences_expanded_and_others_private_actions_as_busy(
    m2, olive, otto, meeting
):
    factories.action(
        olive,
        action_type=meeting,
        subject="Stand-up",
        start=brussels(2027, 3, 22, 9),
        end=brussels(2027, 3, 22, 9, 15),
        rrule="FREQ=DAILY;COUNT=10",
    )
    factories.action(
        otto,
        action_type=meeting,
        subject="Job interview",
        start=brussels(2027, 3, 24, 14),
        end=brussels(2027, 3, 24, 15),
        private=True,
    )
    response = client_of(olive).get(
        "/api/v1/agenda/", {"users": f"{olive.pk},{otto.pk}", "start": "2027-03-22", "end": "2027-03-29"}
    )
    assert response.status_code == 200
    rows = response.json()
    stand_ups = [r for r in rows if r.get("subject") == "Stand-up"]
    assert len(stand_ups) == 7
    # The wall-clock time holds across the daylight-saving change of Sunday 28 March.
    assert {datetime.fromisoformat(r["start"]).astimezone(BRUSSELS).strftime("%H:%M") for r in stand_ups} == {"09:00"}
    assert all(r["recurring"] and r["recurrence_id"] for r in stand_ups)
    busy = [r for r in rows if r["busy"]]
    assert len(busy) == 1
    assert busy[0]["users"] == [otto.pk]
    assert not {"subject", "party", "type_id", "status", "party_id"} & set(busy[0]), sorted(busy[0])
    assert b"Job interview" not in response.content
    own = client_of(otto).get("/api/v1/agenda/", {"users": otto.pk, "start": "2027-03-22", "end": "2027-03-29"})
    assert own.json()[0]["subject"] == "Job interview"


def test_the_agenda_defaults_to_the_caller(m2, olive, otto, meeting):
    factories.action(olive, action_type=meeting, subject="Mine", start=brussels(2027, 6, 7, 9))
    factories.action(otto, action_type=meeting, subject="His", start=brussels(2027, 6, 7, 9))
    rows = client_of(olive).get("/api/v1/agenda/", {"start": "2027-06-07", "end": "2027-06-08"}).json()
    assert [r["subject"] for r in rows] == ["Mine"]


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"start": "2027-06-07"}, "end", "Give the end"),
        ({"start": "tomorrow", "end": "2027-06-08"}, "start", "not an ISO 8601"),
        ({"start": "2027-06-08", "end": "2027-06-07"}, "end", "after the start"),
        ({"start": "2027-01-01", "end": "2028-01-01"}, "end", "At most 62 days"),
        ({"users": "1,abc", "start": "2027-06-07", "end": "2027-06-08"}, "users", "not a user number"),
        ({"users": "999999", "start": "2027-06-07", "end": "2027-06-08"}, "users", "No user 999999"),
    ],
)
def test_bad_agenda_parameters_are_a_400_that_says_why(m2, olive, params, field, words):
    response = client_of(olive).get("/api/v1/agenda/", params)
    assert response.status_code == 400
    assert words in str(response.json())
    assert field in str(response.json())


def test_availability_gives_the_slots_when_every_user_is_free(m2, olive, otto, meeting):
    factories.action(
        otto, action_type=meeting, start=brussels(2027, 6, 7, 9), end=brussels(2027, 6, 7, 11), private=True
    )
    response = client_of(olive).get(
        "/api/v1/availability/",
        {"users": f"{olive.pk},{otto.pk}", "duration": 90, "start": "2027-06-07", "end": "2027-06-08", "limit": 3},
    )
    assert response.status_code == 200
    starts = [datetime.fromisoformat(s["start"]).astimezone(BRUSSELS).strftime("%H:%M") for s in response.json()]
    assert starts == ["11:00", "13:30", "15:00"]
    first = response.json()[0]
    assert datetime.fromisoformat(first["end"]) - datetime.fromisoformat(first["start"]) == (
        datetime(2027, 1, 1, 1, 30, tzinfo=UTC) - datetime(2027, 1, 1, tzinfo=UTC)
    )


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"start": "2027-06-07", "end": "2027-06-08"}, "Give the duration"),
        ({"duration": "0", "start": "2027-06-07", "end": "2027-06-08"}, "Between 5 and 1440"),
        ({"duration": "an hour", "start": "2027-06-07", "end": "2027-06-08"}, "whole number"),
        ({"duration": "60", "start": "2027-06-07", "end": "2028-06-08"}, "At most 92 days"),
    ],
)
def test_bad_availability_parameters_are_a_400_that_says_why(m2, olive, params, words):
    response = client_of(olive).get("/api/v1/availability/", params)
    assert response.status_code == 400
    assert words in str(response.json())


def test_the_agenda_api_is_closed_at_m1_and_to_anonymous_callers(olive):
    params = {"start": "2027-06-07", "end": "2027-06-08"}
    assert client_of(olive).get("/api/v1/agenda/", params).status_code == 404
    assert client_of(olive).get("/api/v1/availability/", {**params, "duration": 60}).status_code == 404
    CompanySettings.objects.filter(pk=1).update(crm_level="full")
    assert APIClient().get("/api/v1/agenda/", params).status_code == 401


def test_the_openapi_schema_documents_both_routes(client):
    schema = client.get("/api/schema/").content
    assert b"/api/v1/agenda/" in schema and b"/api/v1/availability/" in schema


def test_a_date_at_the_edge_of_the_calendar_is_refused_not_a_server_error(m2, olive):
    response = client_of(olive).get(
        "/api/v1/availability/", {"duration": 60, "start": "0001-01-01", "end": "0001-01-02"}
    )
    assert response.status_code == 400
    assert "1900" in str(response.json())
