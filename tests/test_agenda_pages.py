"""The shared agenda pages (issue 12, point 1): the JSON the calendar reads (wall-clock times in
the viewer's zone, others' private actions as busy blocks), bad parameters refused with a
message, moves and resizes through the services with the version read (409 when stale), a drop
in another user's column, quick create, saved views, the M2 gate and the query count."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from suivi.accounts.models import Role
from suivi.activities.models import Action, ActionType
from suivi.agenda.models import Absence, Holiday, SavedView
from suivi.core.models import CompanySettings

from . import factories
from .agenda_world import brussels, meeting
from .conftest import logged_in, make_user

FIXTURES = (meeting,)  # the shared fixtures this module's tests take
UTC = ZoneInfo("UTC")


@pytest.fixture(autouse=True)
def m2(db):
    CompanySettings.objects.filter(pk=1).update(crm_enabled=True, crm_level="full")


def week_of(client, *users, start="2027-03-01T00:00:00", end="2027-03-08T00:00:00"):
    params = {"start": start, "end": end}
    if users:
        params["users"] = ",".join(str(u.pk) for u in users)
    response = client.get("/crm/agenda/events/", params)
    assert response.status_code == 200, response.content
    return response.json()["events"]


def french(user) -> Client:
    user.language = "fr"
    user.save()
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    client.force_login(user)
    return client


def test_the_agenda_page_opens_on_the_viewers_week_with_the_calendar_and_the_menu_link(user_client, plain_user):
    response = user_client.get("/crm/agenda/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "data-agenda" in page and 'data-mode="week"' in page
    assert 'href="/crm/agenda/"' in page  # the menu entry of the top bar
    assert "vendor/fullcalendar/index.global.min.js" in page
    assert f'<input type="checkbox" name="users" value="{plain_user.pk}" checked>' in page
    # FullCalendar's injected style sheet is allowed by this page's nonce, and nothing else inline.
    policy = response["Content-Security-Policy"]
    nonce = response.context["request"].csp_nonce
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["style-src"] == f"'self' 'nonce-{nonce}'"
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in policy
    assert f'<meta name="csp-nonce" content="{nonce}">' in page


def test_the_events_are_wall_clock_times_with_what_the_calendar_needs(user_client, plain_user, meeting):
    party = factories.party(plain_user, name="Garage Lambert")
    action = factories.action(
        plain_user,
        action_type=meeting,
        subject="Visite chantier",
        party=party,
        start=brussels(2027, 3, 2, 9, 0),
        end=brussels(2027, 3, 2, 10, 30),
    )
    factories.action(plain_user, subject="Not a calendar type", start=brussels(2027, 3, 2, 11, 0))
    [event] = week_of(user_client)
    assert event["id"] == str(action.pk)
    assert event["title"] == "Visite chantier"
    assert (event["start"], event["end"], event["allDay"]) == ("2027-03-02T09:00:00", "2027-03-02T10:30:00", False)
    assert event["editable"] is True
    props = event["extendedProps"]
    assert props["action"] == action.pk and props["version"] == action.version
    assert props["party"] == "Garage Lambert" and props["busy"] is False
    assert props["users"] == [plain_user.pk]
    assert props["url"] == f"/crm/actions/{action.pk}/"


def test_another_users_private_action_is_a_busy_block_with_no_subject_anywhere(meeting):
    owner = make_user("olive", first_name="Olive")
    viewer = make_user("otto", first_name="Otto")
    party = factories.party(owner, name="Clinique Secrète")
    factories.action(
        owner,
        action_type=meeting,
        subject="Entretien confidentiel",
        party=party,
        private=True,
        description="très privé",
        start=brussels(2027, 3, 3, 14, 0),
        end=brussels(2027, 3, 3, 15, 0),
    )
    client = logged_in(viewer)
    [event] = week_of(client, owner)
    assert event["title"] == "Busy"
    assert event["editable"] is False
    assert event["extendedProps"] == {"busy": True, "users": [owner.pk]}
    assert (event["start"], event["end"]) == ("2027-03-03T14:00:00", "2027-03-03T15:00:00")
    raw = client.get(
        "/crm/agenda/events/", {"start": "2027-03-01", "end": "2027-03-08", "users": owner.pk}
    ).content.decode()
    page = client.get("/crm/agenda/", {"users": owner.pk, "date": "2027-03-03"}).content.decode()
    for text in (raw, page):
        assert "Entretien confidentiel" not in text and "Clinique" not in text and "privé" not in text
    # Its follower sees it in full.
    [own] = week_of(logged_in(owner))
    assert own["title"] == "Entretien confidentiel" and own["extendedProps"]["private"] is True


def test_a_subject_with_a_script_is_sent_as_text_inside_json(user_client, plain_user, meeting):
    factories.action(
        plain_user, action_type=meeting, subject="<script>alert(1)</script>", start=brussels(2027, 3, 2, 9, 0)
    )
    response = user_client.get("/crm/agenda/events/", {"start": "2027-03-01", "end": "2027-03-08"})
    assert response["Content-Type"] == "application/json"
    assert response.json()["events"][0]["title"] == "<script>alert(1)</script>"
    assert "<script>" not in user_client.get("/crm/agenda/?date=2027-03-02").content.decode().split("<main>")[1]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"start": "demain", "end": "2027-03-08"}, "demain"),
        ({"start": "0001-01-01T00:00:00", "end": "0001-01-08T00:00:00"}, "1900"),
        ({"start": "2027-03-08", "end": "2027-03-01"}, ""),
        ({"start": "2027-01-01", "end": "2027-06-01"}, "62"),
        ({"start": "2027-03-01", "end": "2027-03-08", "users": "1,abc"}, "abc"),
        ({"start": "2027-03-01", "end": "2027-03-08", "users": "99999999999999999999999"}, "99999999999999999999999"),
        ({"start": "2027-03-01", "end": "2027-03-08", "users": ",".join(str(n) for n in range(1, 60))}, "59"),
        ({"end": "2027-03-08"}, ""),
    ],
)
def test_bad_parameters_of_the_events_are_a_400_with_a_message_in_the_users_language(plain_user, params, words):
    response = french(plain_user).get("/crm/agenda/events/", params)
    assert response.status_code == 400
    assert response["Content-Language"] == "fr"
    message = response.json()["error"]
    assert message and words in message


def test_at_level_m1_the_agenda_is_a_404_with_the_reason_and_the_actions_are_kept(user_client, plain_user, meeting):
    action = factories.action(plain_user, action_type=meeting, subject="Kept", start=brussels(2027, 3, 2, 9, 0))
    CompanySettings.objects.filter(pk=1).update(crm_level="basic")
    assert 'href="/crm/agenda/"' not in user_client.get("/crm/").content.decode()  # no menu entry at M1
    for url in ("/crm/agenda/", "/crm/agenda/events/?start=2027-03-01&end=2027-03-08"):
        response = user_client.get(url)
        assert response.status_code == 404
        assert "CRM level M2" in response.content.decode()
    response = user_client.post("/crm/agenda/move/", {"action": action.pk, "version": 1, "start": "2027-03-02T10:00"})
    assert response.status_code == 404
    assert Action.objects.get(pk=action.pk).start == brussels(2027, 3, 2, 9, 0)
    CompanySettings.objects.filter(pk=1).update(crm_level="full")
    assert [e["title"] for e in week_of(user_client)] == ["Kept"]


def test_a_move_changes_start_and_end_and_keeps_the_duration_when_only_the_start_is_sent(
    user_client, plain_user, meeting
):
    action = factories.action(
        plain_user, action_type=meeting, start=brussels(2027, 3, 2, 9, 0), end=brussels(2027, 3, 2, 10, 0)
    )
    response = user_client.post(
        "/crm/agenda/move/", {"action": action.pk, "version": action.version, "start": "2027-03-04T14:15:00"}
    )
    assert response.status_code == 200, response.content
    action.refresh_from_db()
    assert (action.start, action.end) == (brussels(2027, 3, 4, 14, 15), brussels(2027, 3, 4, 15, 15))
    assert response.json()["version"] == action.version
    response = user_client.post(
        "/crm/agenda/move/",
        {"action": action.pk, "version": action.version, "start": "2027-03-04T14:15", "end": "2027-03-04T16:00"},
    )
    action.refresh_from_db()
    assert response.status_code == 200 and action.end == brussels(2027, 3, 4, 16, 0)


def test_a_move_with_a_stale_version_is_a_409_and_changes_nothing(user_client, plain_user, meeting):
    action = factories.action(
        plain_user, action_type=meeting, start=brussels(2027, 3, 2, 9, 0), end=brussels(2027, 3, 2, 10, 0)
    )
    stale = action.version
    user_client.post("/crm/agenda/move/", {"action": action.pk, "version": stale, "start": "2027-03-02T11:00"})
    moved = Action.objects.get(pk=action.pk)
    response = user_client.post(
        "/crm/agenda/move/", {"action": action.pk, "version": stale, "start": "2027-03-05T08:00"}
    )
    assert response.status_code == 409
    assert "changed by someone else" in response.json()["error"]
    after = Action.objects.get(pk=action.pk)
    assert (after.start, after.end, after.version) == (moved.start, moved.end, moved.version)


def test_a_drop_in_another_users_column_gives_them_the_action(user_client, plain_user, meeting):
    colleague = make_user("claire", first_name="Claire")
    action = factories.action(
        plain_user, action_type=meeting, start=brussels(2027, 3, 2, 9, 0), end=brussels(2027, 3, 2, 10, 0)
    )
    response = user_client.post(
        "/crm/agenda/move/",
        {"action": action.pk, "version": action.version, "start": "2027-03-02T09:30", "user": colleague.pk},
    )
    assert response.status_code == 200, response.content
    action.refresh_from_db()
    assert action.followed_by == colleague and action.start == brussels(2027, 3, 2, 9, 30)
    [event] = week_of(user_client, colleague)
    assert event["extendedProps"]["users"] == [colleague.pk]
    assert week_of(user_client, plain_user) == []


def test_bad_moves_are_refused_with_a_message_and_change_nothing(plain_user, meeting):
    action = factories.action(
        plain_user, action_type=meeting, start=brussels(2027, 3, 2, 9, 0), end=brussels(2027, 3, 2, 10, 0)
    )
    client = french(plain_user)
    for data in (
        {"start": "hier"},
        {"start": "0001-01-01T09:00"},
        {"start": "2027-03-02T09:00", "end": "2027-03-02T08:00"},
        {"start": "2027-03-02T09:00", "user": "abc"},
    ):
        response = client.post("/crm/agenda/move/", {"action": action.pk, "version": action.version, **data})
        assert response.status_code == 400, data
        assert response.json()["error"]
    assert client.post("/crm/agenda/move/", {"action": "x", "start": "2027-03-02T09:00"}).status_code == 404
    after = Action.objects.get(pk=action.pk)
    assert (after.start, after.version) == (action.start, action.version)


def test_a_user_in_another_time_zone_sees_shifted_hours_and_moves_in_their_zone(meeting):
    owner = make_user("olive", first_name="Olive")
    traveller = make_user("tom", Role.MANAGER, first_name="Tom", time_zone="America/New_York")
    action = factories.action(
        owner, action_type=meeting, subject="Call", start=brussels(2027, 3, 2, 15, 0), end=brussels(2027, 3, 2, 16, 0)
    )
    client = logged_in(traveller)
    page = client.get("/crm/agenda/").content.decode()
    assert "America/New_York" in page
    [event] = week_of(client, owner)
    assert (event["start"], event["end"]) == ("2027-03-02T09:00:00", "2027-03-02T10:00:00")
    # The week asked for is New York's: an action at 01:00 Brussels on Monday is Sunday evening there.
    early = factories.action(owner, action_type=meeting, subject="Early", start=brussels(2027, 3, 1, 1, 0))
    assert "Early" not in [e["title"] for e in week_of(client, owner)]
    assert week_of(logged_in(owner))[0]["id"] == str(early.pk)
    # A drop at 11:00 on their screen is 11:00 in New York, 17:00 in Brussels.
    response = client.post(
        "/crm/agenda/move/", {"action": action.pk, "version": action.version, "start": "2027-03-02T11:00:00"}
    )
    assert response.status_code == 200, response.content
    action.refresh_from_db()
    assert action.start == brussels(2027, 3, 2, 17, 0)
    assert action.start.astimezone(UTC).hour == 16


def test_the_events_of_ten_users_take_at_most_eight_queries(plain_user, meeting, django_assert_max_num_queries):
    """Session, user, company settings; the calendar types, the candidates (followed and taken
    part in, one UNION), the rows; the holidays, the absences with their users' names."""
    users = [make_user(f"u{n}", first_name=f"U{n}") for n in range(10)]
    Holiday.objects.create(day=date(2027, 3, 5), name="Closed")
    for n, user in enumerate(users):
        Absence.objects.create(user=user, start=brussels(2027, 3, 4, 8, 0), end=brussels(2027, 3, 4, 12, 0))
        for day in range(5):
            factories.action(user, action_type=meeting, start=brussels(2027, 3, 1 + day, 8 + n % 8, 0))
        factories.action(user, action_type=meeting, private=True, start=brussels(2027, 3, 2, 18, 0))
        factories.action(user, action_type=meeting, start=brussels(2027, 3, 1, 7, 0), rrule="FREQ=DAILY;COUNT=30")
    client = logged_in(plain_user)
    with django_assert_max_num_queries(8):
        events = week_of(client, *users)
    assert len(events) == 10 * (5 + 1 + 7) + 1 + 10
    assert sum(1 for e in events if e["title"] == "Busy") == 10


def test_a_plain_user_cannot_move_someone_elses_action_and_a_manager_can(meeting):
    owner = make_user("olive", first_name="Olive")
    other = make_user("otto", first_name="Otto")
    boss = make_user("mia", Role.MANAGER, first_name="Mia")
    action = factories.action(owner, action_type=meeting, start=brussels(2027, 3, 2, 9, 0))
    data = {"action": action.pk, "version": action.version, "start": "2027-03-02T12:00"}
    response = logged_in(other).post("/crm/agenda/move/", data)
    assert response.status_code == 403 and response.json()["error"]
    assert Action.objects.get(pk=action.pk).start == brussels(2027, 3, 2, 9, 0)
    [event] = week_of(logged_in(other), owner)
    assert event["editable"] is False  # shown, not draggable
    assert logged_in(boss).post("/crm/agenda/move/", data).status_code == 200
    assert Action.objects.get(pk=action.pk).start == brussels(2027, 3, 2, 12, 0)


def test_moving_an_occurrence_of_a_series_asks_which_ones_and_this_one_changes_alone(user_client, plain_user, meeting):
    series = factories.action(
        plain_user,
        action_type=meeting,
        subject="Stand-up",
        start=brussels(2027, 3, 1, 9, 0),
        end=brussels(2027, 3, 1, 9, 30),
        rrule="FREQ=DAILY;COUNT=5",
    )
    wednesday = [e for e in week_of(user_client) if e["start"].startswith("2027-03-03")][0]
    data = {
        "action": series.pk,
        "version": series.version,
        "start": "2027-03-03T11:00",
        "end": "2027-03-03T11:30",
        "recurrence_id": wednesday["extendedProps"]["recurrenceId"],
    }
    response = user_client.post("/crm/agenda/move/", data)
    assert response.status_code == 400 and response.json()["error"]
    response = user_client.post("/crm/agenda/move/", {**data, "scope": "this"})
    assert response.status_code == 200, response.content
    starts = sorted(e["start"] for e in week_of(user_client))
    assert starts == [
        "2027-03-01T09:00:00",
        "2027-03-02T09:00:00",
        "2027-03-03T11:00:00",
        "2027-03-04T09:00:00",
        "2027-03-05T09:00:00",
    ]


def test_quick_create_records_an_action_for_the_columns_user_and_refuses_bad_input_field_by_field(
    user_client, plain_user, meeting
):
    colleague = make_user("claire", first_name="Claire")
    response = user_client.post(
        "/crm/agenda/create/",
        {
            "subject": "Démo",
            "action_type": meeting.pk,
            "start": "2027-03-02T10:00",
            "end": "2027-03-02T11:00",
            "user": colleague.pk,
        },
    )
    assert response.status_code == 201, response.content
    action = Action.objects.get(pk=response.json()["action"])
    assert (action.subject, action.followed_by, action.created_by) == ("Démo", colleague, plain_user)
    assert (action.start, action.end) == (brussels(2027, 3, 2, 10, 0), brussels(2027, 3, 2, 11, 0))
    not_calendar = ActionType.objects.create(name_fr="Note", name_en="Note", name_nl="Notitie")
    response = user_client.post(
        "/crm/agenda/create/",
        {"subject": "", "action_type": not_calendar.pk, "start": "2027-03-02T10:00", "end": "2027-03-02T09:00"},
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"action_type"}
    response = user_client.post(
        "/crm/agenda/create/",
        {"subject": "", "action_type": meeting.pk, "start": "2027-03-02T10:00", "end": "2027-03-02T09:00"},
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"subject", "end"}
    assert Action.objects.count() == 1


def test_saved_views_are_saved_opened_shared_and_deleted(user_client, plain_user):
    colleague = make_user("claire", first_name="Claire")
    other = make_user("otto", first_name="Otto")
    response = user_client.post(
        "/crm/agenda/", {"name": "Équipe", "shared": "1", "users": [plain_user.pk, colleague.pk]}
    )
    view = SavedView.objects.get(name="Équipe")
    assert response.status_code == 302 and response["Location"] == f"/crm/agenda/?view={view.pk}"
    assert view.shared and set(view.users.all()) == {plain_user, colleague}
    page = logged_in(other).get(f"/crm/agenda/?view={view.pk}").content.decode()
    assert '"name": "Claire"' in page  # the columns the calendar draws
    response = user_client.post("/crm/agenda/", {"name": "", "users": [colleague.pk]})
    assert response.status_code == 400
    assert "Give the view a name." in response.content.decode()
    refused = logged_in(other).post(f"/crm/agenda/views/{view.pk}/delete/")
    assert refused.status_code == 403 and "owner of this view" in refused.content.decode()
    assert SavedView.objects.filter(pk=view.pk).exists()
    user_client.post(f"/crm/agenda/views/{view.pk}/delete/")
    assert not SavedView.objects.filter(pk=view.pk).exists()


def test_all_day_actions_span_whole_days(user_client, plain_user, meeting):
    factories.action(
        plain_user,
        action_type=meeting,
        subject="Salon",
        all_day=True,
        start=brussels(2027, 3, 3, 0, 0),
        end=brussels(2027, 3, 4, 23, 59),
    )
    [event] = week_of(user_client)
    assert (event["start"], event["end"], event["allDay"]) == ("2027-03-03", "2027-03-05", True)


def test_a_range_of_62_days_is_accepted_for_the_month_view(user_client, plain_user, meeting):
    factories.action(plain_user, action_type=meeting, start=brussels(2027, 3, 20, 9, 0))
    events = week_of(
        user_client, start="2027-02-22T00:00:00", end=(datetime(2027, 2, 22) + timedelta(days=62)).isoformat()
    )
    assert len(events) == 1


def test_an_occurrence_already_changed_on_its_own_moves_alone(user_client, plain_user, meeting):
    series = factories.action(
        plain_user,
        action_type=meeting,
        subject="Stand-up",
        start=brussels(2027, 3, 1, 9, 0),
        end=brussels(2027, 3, 1, 9, 30),
        rrule="FREQ=DAILY;COUNT=5",
    )
    wednesday = [e for e in week_of(user_client) if e["start"].startswith("2027-03-03")][0]
    user_client.post(
        "/crm/agenda/move/",
        {
            "action": series.pk,
            "version": series.version,
            "start": "2027-03-03T11:00",
            "scope": "this",
            "recurrence_id": wednesday["extendedProps"]["recurrenceId"],
        },
    )
    exception = Action.objects.get(series=series)
    moved = [e for e in week_of(user_client) if e["start"].startswith("2027-03-03")][0]
    assert moved["extendedProps"]["action"] == exception.pk
    response = user_client.post(
        "/crm/agenda/move/", {"action": exception.pk, "version": exception.version, "start": "2027-03-03T14:00"}
    )
    assert response.status_code == 200, response.content
    exception.refresh_from_db()
    assert exception.start == brussels(2027, 3, 3, 14, 0) and exception.series == series
    assert sorted(e["start"][11:16] for e in week_of(user_client)) == ["09:00", "09:00", "09:00", "09:00", "14:00"]


def test_a_drop_into_the_all_day_row_and_back_out_keeps_sensible_ends(user_client, plain_user, meeting):
    action = factories.action(
        plain_user, action_type=meeting, start=brussels(2027, 3, 2, 9, 0), end=brussels(2027, 3, 2, 10, 0)
    )
    response = user_client.post(
        "/crm/agenda/move/",
        {
            "action": action.pk,
            "version": action.version,
            "start": "2027-03-04T00:00:00",
            "end": "2027-03-05T00:00:00",
            "all_day": "1",
        },
    )
    assert response.status_code == 200, response.content
    action.refresh_from_db()
    assert action.all_day and (action.start, action.end) == (brussels(2027, 3, 4, 0, 0), brussels(2027, 3, 4, 23, 59))
    [event] = week_of(user_client)
    assert (event["start"], event["end"], event["allDay"]) == ("2027-03-04", "2027-03-05", True)
    response = user_client.post(
        "/crm/agenda/move/",
        {"action": action.pk, "version": action.version, "start": "2027-03-04T15:00:00", "all_day": "0"},
    )
    action.refresh_from_db()
    assert not action.all_day and (action.start, action.end) == (
        brussels(2027, 3, 4, 15, 0),
        brussels(2027, 3, 4, 16, 0),
    )


def test_an_occurrence_of_a_series_opens_the_action_page_on_that_occurrence_and_an_exception_on_itself(
    user_client, plain_user, meeting
):
    series = factories.action(
        plain_user,
        action_type=meeting,
        subject="Point hebdo",
        start=brussels(2027, 3, 1, 9, 0),
        end=brussels(2027, 3, 1, 9, 30),
        rrule="FREQ=WEEKLY;BYDAY=MO;COUNT=8",
    )
    [second] = week_of(user_client, start="2027-03-08T00:00:00", end="2027-03-15T00:00:00")
    url = second["extendedProps"]["url"]
    assert url == f"/crm/actions/{series.pk}/?occurrence=2027-03-08T08:00:00Z"
    # The action page reads it: the form shows that occurrence, not the series' first one.
    page = user_client.get(url)
    assert page.status_code == 200
    assert 'value="2027-03-08T09:00"' in page.content.decode()
    # Changed on its own, the occurrence is an action of its own: its own page, no parameter.
    user_client.post(
        "/crm/agenda/move/",
        {
            "action": series.pk,
            "version": series.version,
            "start": "2027-03-08T11:00",
            "scope": "this",
            "recurrence_id": second["extendedProps"]["recurrenceId"],
        },
    )
    exception = Action.objects.get(series=series)
    [moved] = week_of(user_client, start="2027-03-08T00:00:00", end="2027-03-15T00:00:00")
    assert moved["extendedProps"]["url"] == f"/crm/actions/{exception.pk}/"


def test_the_events_of_a_saved_view_are_read_under_the_rule_of_the_page_that_opens_it(meeting):
    owner = make_user("olive", first_name="Olive")
    colleague = make_user("claire", first_name="Claire")
    other = make_user("otto", first_name="Otto")
    factories.action(colleague, action_type=meeting, subject="Chez Claire", start=brussels(2027, 3, 2, 9, 0))
    view = SavedView.objects.create(owner=owner, name="Mine")
    view.users.set([colleague])
    params = {"start": "2027-03-01", "end": "2027-03-08", "view": view.pk}
    refused = logged_in(other).get("/crm/agenda/events/", params)
    assert refused.status_code == 404
    assert "Chez Claire" not in refused.content.decode() and refused.json()["error"]
    assert logged_in(other).get("/crm/agenda/", {"view": view.pk}).status_code == 404
    # Its owner reads its users' events, whatever the users parameter says.
    response = logged_in(owner).get("/crm/agenda/events/", {**params, "users": owner.pk})
    assert [e["title"] for e in response.json()["events"]] == ["Chez Claire"]
    assert logged_in(owner).get("/crm/agenda/events/", {**params, "view": "abc"}).status_code == 404


def test_the_saved_views_list_shows_ones_own_and_the_shared_views_only_even_to_an_administrator(admin_user):
    owner = make_user("olive", first_name="Olive")
    mine = SavedView.objects.create(owner=admin_user, name="Admin's own")
    theirs = SavedView.objects.create(owner=owner, name="Olive's own")
    shared = SavedView.objects.create(owner=owner, name="Team", shared=True)
    for view in (mine, theirs, shared):
        view.users.set([owner])
    client = logged_in(admin_user)
    page = client.get("/crm/agenda/").content.decode()
    assert "Admin&#x27;s own" in page and "Team" in page
    assert "Olive&#x27;s own" not in page
    # Opened by its address (a manager may), it is the one shown selected, and may be deleted.
    opened = client.get(f"/crm/agenda/?view={theirs.pk}").content.decode()
    assert f'<option value="{theirs.pk}" selected>' in opened
    assert f"/crm/agenda/views/{theirs.pk}/delete/" in opened


def test_the_button_that_opens_a_saved_view_is_a_verb_in_french(plain_user):
    SavedView.objects.create(owner=plain_user, name="Équipe").users.set([plain_user])
    page = french(plain_user).get("/crm/agenda/").content.decode()
    assert "Ouverte</button>" not in page


def test_company_holidays_and_the_shown_users_absences_are_background_events_of_the_range(meeting):
    olive = make_user("olive", first_name="Olive")
    claire = make_user("claire", first_name="Claire")
    otto = make_user("otto", first_name="Otto")
    boss = make_user("mia", Role.MANAGER, first_name="Mia")
    Holiday.objects.create(day=date(2027, 3, 5), name="Fête locale")
    Holiday.objects.create(day=date(2027, 3, 12), name="Next week")
    Absence.objects.create(
        user=olive, start=brussels(2027, 3, 2, 8, 0), end=brussels(2027, 3, 2, 12, 0), reason="Dentiste"
    )
    Absence.objects.create(user=olive, start=brussels(2027, 3, 20, 8, 0), end=brussels(2027, 3, 20, 12, 0))
    Absence.objects.create(user=otto, start=brussels(2027, 3, 3, 8, 0), end=brussels(2027, 3, 3, 18, 0), reason="x")

    def days_off(client, *users):
        return [e for e in week_of(client, *users) if e.get("display") == "background"]

    holiday, absence = days_off(logged_in(olive))
    assert (holiday["title"], holiday["start"], holiday["end"], holiday["allDay"]) == (
        "Fête locale",
        "2027-03-05",
        "2027-03-06",
        True,
    )
    assert holiday["extendedProps"] == {"background": "holiday", "users": [olive.pk]}
    assert (absence["start"], absence["end"], absence["allDay"]) == (
        "2027-03-02T08:00:00",
        "2027-03-02T12:00:00",
        False,
    )
    assert absence["title"] == "Absent · Dentiste"  # her own: with the reason
    assert absence["extendedProps"] == {"background": "absence", "users": [olive.pk]}
    assert "absence" in absence["classNames"] and absence["editable"] is False
    # Someone else sees that she is absent, not why; a manager sees why.
    client = logged_in(claire)
    [_holiday, seen] = days_off(client, olive)
    assert seen["title"] == "Absent"
    raw = client.get("/crm/agenda/events/", {"start": "2027-03-01", "end": "2027-03-08", "users": olive.pk})
    assert "Dentiste" not in raw.content.decode()
    [_holiday, managed] = days_off(logged_in(boss), olive)
    assert managed["title"] == "Absent · Dentiste"
    # Several users: each absence is named, only the shown users' absences come.
    assert [e["title"] for e in days_off(client, olive, claire)] == ["Fête locale", "Olive · Absent"]
    assert [e["title"] for e in days_off(client, claire)] == ["Fête locale"]
    assert [e["extendedProps"]["users"] for e in days_off(client, olive, otto)] == [
        [olive.pk, otto.pk],
        [olive.pk],
        [otto.pk],
    ]


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_the_agenda_opened_on_a_year_it_does_not_accept_opens_today_and_says_why(plain_user, day):
    response = french(plain_user).get("/crm/agenda/", {"date": day, "mode": "month"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-date=""' in page
    assert "1900" in page and "2999" in page
