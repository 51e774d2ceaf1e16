"""Planning (S2c): free slots where every chosen user is in working hours, not absent, not on a
company holiday and not in a meeting (recurrences included, across a daylight-saving change);
booking a slot (one action, the others as participants, refused when taken meanwhile); the team
load figures."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from suivi.activities.models import Action, ActionStatus
from suivi.agenda import planning, services
from suivi.agenda.models import WorkingHours
from suivi.core.errors import InvalidInput, PermissionDenied

from . import factories
from .agenda_world import BRUSSELS, brussels, m2, meeting, olive, otto
from .conftest import logged_in

FIXTURES = (m2, meeting, olive, otto)  # the shared fixtures this module's tests take
HOUR = timedelta(hours=1)


def local(slot) -> str:
    return f"{slot.start.astimezone(BRUSSELS):%a %d %H:%M}–{slot.end.astimezone(BRUSSELS):%H:%M}"


# Monday 7 June 2027 is an ordinary working Monday.
MONDAY = brussels(2027, 6, 7)


def test_without_working_hours_the_company_week_is_used_and_lunch_is_not_offered(olive):
    slots = planning.free_slots([olive.pk], 2 * HOUR, MONDAY, MONDAY + timedelta(days=1), limit=10)
    assert [local(s) for s in slots] == [
        "Mon 07 09:00–11:00",
        "Mon 07 13:30–15:30",
        "Mon 07 15:30–17:30",
    ]


def test_slots_respect_each_users_own_working_hours(olive, otto):
    services.save_working_hours(acting_user=olive, user=olive, spans=[(0, time(14, 0), time(18, 0))])
    slots = planning.free_slots([olive.pk, otto.pk], HOUR, MONDAY, MONDAY + timedelta(days=1))
    assert [local(s) for s in slots] == ["Mon 07 14:00–15:00", "Mon 07 15:00–16:00", "Mon 07 16:00–17:00"]


def test_a_company_holiday_gives_no_slot_that_day(olive, admin_user):
    services.save_holiday(acting_user=admin_user, holiday=None, values={"day": date(2027, 6, 7), "name": "Closed"})
    slots = planning.free_slots([olive.pk], HOUR, MONDAY, MONDAY + timedelta(days=2), limit=1)
    assert local(slots[0]) == "Tue 08 09:00–10:00"


def test_an_absence_removes_its_hours_for_that_user_only(olive, otto):
    services.save_absence(
        acting_user=otto,
        absence=None,
        user=otto,
        values={"start": brussels(2027, 6, 7, 8, 0), "end": brussels(2027, 6, 7, 15, 0), "reason": "Dentist"},
    )
    alone = planning.free_slots([olive.pk], HOUR, MONDAY, MONDAY + timedelta(days=1), limit=1)
    together = planning.free_slots([olive.pk, otto.pk], HOUR, MONDAY, MONDAY + timedelta(days=1), limit=1)
    assert local(alone[0]) == "Mon 07 09:00–10:00"
    assert local(together[0]) == "Mon 07 15:00–16:00"


def test_an_existing_action_of_either_user_is_avoided_but_a_cancelled_one_is_not(olive, otto, meeting):
    factories.action(
        otto, action_type=meeting, start=brussels(2027, 6, 7, 9, 0), end=brussels(2027, 6, 7, 10, 30), private=True
    )
    cancelled = factories.action(
        olive, action_type=meeting, start=brussels(2027, 6, 7, 10, 30), end=brussels(2027, 6, 7, 12, 30)
    )
    Action.objects.filter(pk=cancelled.pk).update(status=ActionStatus.CANCELLED)
    slots = planning.free_slots([olive.pk, otto.pk], HOUR, MONDAY, MONDAY + timedelta(days=1), limit=2)
    assert [local(s) for s in slots] == ["Mon 07 10:30–11:30", "Mon 07 11:30–12:30"]


def test_a_weekly_recurring_action_blocks_every_week(olive, meeting):
    factories.action(
        olive,
        action_type=meeting,
        subject="Team",
        start=brussels(2027, 1, 4, 9, 0),
        end=brussels(2027, 1, 4, 12, 30),
        rrule="FREQ=WEEKLY;BYDAY=MO",
    )
    slots = planning.free_slots([olive.pk], HOUR, MONDAY + timedelta(days=7), MONDAY + timedelta(days=8), limit=1)
    assert local(slots[0]) == "Mon 14 13:30–14:30"


def test_a_participant_is_busy_in_an_action_someone_else_follows(olive, otto, meeting):
    action = factories.action(olive, action_type=meeting, start=brussels(2027, 6, 7, 9), end=brussels(2027, 6, 7, 11))
    action.participants.set([otto])
    slots = planning.free_slots([otto.pk], HOUR, MONDAY, MONDAY + timedelta(days=1), limit=1)
    assert local(slots[0]) == "Mon 07 11:00–12:00"


def test_slots_keep_their_wall_clock_time_on_the_daylight_saving_sunday(olive):
    # Sunday 28 March 2027 the clocks go from 02:00 to 03:00; Olive works that Sunday 09–12.
    services.save_working_hours(acting_user=olive, user=olive, spans=[(6, time(9, 0), time(12, 0))])
    sunday = brussels(2027, 3, 28)
    slots = planning.free_slots([olive.pk], HOUR, sunday, sunday + timedelta(days=1))
    assert [local(s) for s in slots] == ["Sun 28 09:00–10:00", "Sun 28 10:00–11:00", "Sun 28 11:00–12:00"]
    assert slots[0].start == datetime(2027, 3, 28, 7, 0, tzinfo=UTC)  # CEST: UTC+2
    before = planning.free_slots([olive.pk], HOUR, sunday - timedelta(days=7), sunday - timedelta(days=6))
    assert before[0].start == datetime(2027, 3, 21, 8, 0, tzinfo=UTC)  # CET: UTC+1


def test_the_search_reads_the_agenda_once_whatever_the_number_of_slots(
    olive, otto, meeting, django_assert_max_num_queries
):
    for day in range(20):
        factories.action(
            olive,
            action_type=meeting,
            start=MONDAY + timedelta(days=day, hours=10),
            end=MONDAY + timedelta(days=day, hours=11),
        )
    with django_assert_max_num_queries(10):
        slots = planning.free_slots(
            [olive.pk, otto.pk], timedelta(minutes=30), MONDAY, MONDAY + timedelta(weeks=4), limit=200
        )
    assert len(slots) > 100


def test_working_hours_that_end_before_they_start_or_overlap_are_refused(olive):
    with pytest.raises(InvalidInput) as refused:
        services.save_working_hours(acting_user=olive, user=olive, spans=[(0, time(12, 0), time(9, 0))])
    assert "must be after the start" in refused.value.errors["day-0"]
    with pytest.raises(InvalidInput) as refused:
        services.save_working_hours(
            acting_user=olive, user=olive, spans=[(1, time(9, 0), time(12, 0)), (1, time(11, 0), time(14, 0))]
        )
    assert "overlap" in refused.value.errors["day-1"]
    assert not WorkingHours.objects.filter(user=olive).exists()


def test_overlapping_absences_are_refused_and_someone_else_cannot_record_one(olive, otto):
    values = {"start": brussels(2027, 6, 7, 8), "end": brussels(2027, 6, 8, 18), "reason": "Leave"}
    services.save_absence(acting_user=olive, absence=None, user=olive, values=values)
    with pytest.raises(InvalidInput) as refused:
        services.save_absence(
            acting_user=olive, absence=None, user=olive, values={**values, "start": brussels(2027, 6, 8, 9)}
        )
    assert "overlaps another one" in refused.value.errors["start"]
    with pytest.raises(PermissionDenied):
        services.save_absence(
            acting_user=otto, absence=None, user=olive, values={**values, "start": brussels(2027, 7, 1)}
        )


def test_team_load_counts_booked_hours_within_working_time_per_day_and_week(olive, otto, meeting):
    factories.action(olive, action_type=meeting, start=brussels(2027, 6, 7, 9), end=brussels(2027, 6, 7, 11))
    factories.action(
        olive, action_type=meeting, start=brussels(2027, 6, 8, 12), end=brussels(2027, 6, 8, 14)
    )  # 1h lunch
    factories.action(olive, action_type=meeting, start=brussels(2027, 6, 12, 10), end=brussels(2027, 6, 12, 12))  # Sat
    services.save_absence(
        acting_user=otto,
        absence=None,
        user=otto,
        values={"start": brussels(2027, 6, 9, 0), "end": brussels(2027, 6, 10, 0), "reason": ""},
    )
    rows = planning.team_load([olive.pk, otto.pk], date(2027, 6, 7), date(2027, 6, 13), by="day")
    olive_row, otto_row = rows
    assert [c.booked_hours for c in olive_row.cells] == [2, 1, 0, 0, 0, 0, 0]
    assert [c.available_hours for c in olive_row.cells] == [7.5, 7.5, 7.5, 7.5, 7.5, 0, 0]
    assert olive_row.cells[0].percent == 27
    assert [c.available_hours for c in otto_row.cells] == [7.5, 7.5, 0, 7.5, 7.5, 0, 0]
    weeks = planning.team_load([olive.pk, otto.pk], date(2027, 6, 7), date(2027, 6, 20), by="week")
    assert [(c.first_day, c.booked_hours, c.available_hours) for c in weeks[0].cells] == [
        (date(2027, 6, 7), 3, 37.5),
        (date(2027, 6, 14), 0, 37.5),
    ]
    assert weeks[1].cells[0].available_hours == 30


# --- pages --------------------------------------------------------------------------------------


def _book_url(client, users, duration=60, start=MONDAY):
    response = client.get(
        "/crm/planning/",
        {"users": [u.pk for u in users], "duration": duration, "start": start.date().isoformat(), "days": 7},
    )
    assert response.status_code == 200
    return response.context["slots"]


def test_the_search_page_lists_slots_and_booking_one_makes_one_action_with_the_others_as_participants(
    m2, olive, otto, meeting, settings
):
    client = logged_in(olive)
    monday = brussels(2030, 6, 3)
    slots = _book_url(client, [otto, olive], start=monday)
    slot, url = slots[0]
    assert local(slot) == "Mon 03 09:00–10:00"
    form = client.get(url)
    assert form.status_code == 200
    assert "Otto" in form.content.decode()
    response = client.post(
        "/crm/planning/book/",
        {
            "slot": slot.start.isoformat(),
            "duration": 60,
            "users": [otto.pk, olive.pk],
            "subject": "Kick-off",
            "action_type": meeting.pk,
        },
    )
    assert response.status_code == 302
    action = Action.objects.get(subject="Kick-off")
    assert Action.objects.filter(subject="Kick-off").count() == 1
    assert action.followed_by == olive  # the viewer, being among the chosen users
    assert list(action.participants.all()) == [otto]
    assert (action.start, action.end) == (slot.start, slot.end)
    booked = client.get(response["Location"])
    assert "Otto" in booked.content.decode()
    again = _book_url(client, [otto, olive], start=monday)
    assert local(again[0][0]) == "Mon 03 10:00–11:00"


def test_booking_a_slot_someone_took_meanwhile_is_refused_with_a_message(m2, olive, otto, meeting):
    client = logged_in(olive)
    monday = brussels(2030, 6, 3)
    slot, _url = _book_url(client, [olive, otto], start=monday)[0]
    factories.action(otto, action_type=meeting, subject="Faster", start=slot.start, end=slot.end)
    response = client.post(
        "/crm/planning/book/",
        {
            "slot": slot.start.isoformat(),
            "duration": 60,
            "users": [olive.pk, otto.pk],
            "subject": "Late",
            "action_type": meeting.pk,
        },
    )
    assert response.status_code == 409
    assert "no longer free" in response.content.decode()
    assert not Action.objects.filter(subject="Late").exists()
    assert 'value="Late"' in response.content.decode()  # what was typed is kept


def test_the_team_load_page_shows_hours_booked_of_hours_available(m2, olive, otto, meeting):
    factories.action(olive, action_type=meeting, start=brussels(2027, 6, 7, 9), end=brussels(2027, 6, 7, 11))
    response = logged_in(olive).get(
        "/crm/planning/load/", {"users": [olive.pk, otto.pk], "start": "2027-06-07", "by": "day", "count": 5}
    )
    text = response.content.decode()
    assert response.status_code == 200
    assert "2 / 7.50 h" in text
    assert "0 / 7.50 h" in text


def test_a_bad_search_keeps_what_was_typed_and_says_why(m2, olive):
    response = logged_in(olive).get(
        "/crm/planning/", {"users": [olive.pk], "duration": 60, "start": "31/02", "days": 7}
    )
    assert response.status_code == 400
    assert 'value="31/02"' in response.content.decode()


def test_working_hours_page_saves_a_week_and_refuses_an_end_before_its_start(m2, olive):
    client = logged_in(olive)
    page = client.get("/crm/planning/hours/")
    assert "company's usual week" in page.content.decode()
    bad = client.post("/crm/planning/hours/", {"d0_0_start": "12:00", "d0_0_end": "09:00"})
    assert bad.status_code == 400
    assert "must be after the start" in bad.content.decode()
    assert 'value="12:00"' in bad.content.decode()
    ok = client.post(
        "/crm/planning/hours/", {"d0_0_start": "08:00", "d0_0_end": "12:00", "d2_0_start": "08:00", "d2_0_end": "16:00"}
    )
    assert ok.status_code == 302
    assert [str(h) for h in WorkingHours.objects.filter(user=olive)] == ["Monday 08:00–12:00", "Wednesday 08:00–16:00"]


def test_absences_and_holidays_pages(m2, olive, admin_user):
    client = logged_in(olive)
    response = client.post(
        "/crm/planning/absences/",
        {"user": olive.pk, "start": "2027-06-07T08:00", "end": "2027-06-07T07:00", "reason": "x"},
    )
    assert response.status_code == 400
    assert "must be after the start" in response.content.decode()
    response = client.post(
        "/crm/planning/absences/",
        {"user": olive.pk, "start": "2027-06-07T08:00", "end": "2027-06-07T18:00", "reason": "Dentist"},
    )
    assert response.status_code == 302
    assert "Dentist" in client.get("/crm/planning/absences/").content.decode()
    assert client.post("/crm/planning/holidays/", {"day": "2027-07-21", "name": "National day"}).status_code == 403
    admin = logged_in(admin_user)
    assert admin.post("/crm/planning/holidays/", {"day": "2027-07-21", "name": "National day"}).status_code == 302
    assert "National day" in client.get("/crm/planning/holidays/").content.decode()


def test_a_search_with_no_user_chosen_says_so(m2, olive):
    response = logged_in(olive).get("/crm/planning/", {"duration": 60, "start": "2030-06-03", "days": 7})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()


# --- saved views (the agenda's, written by agenda.services) -------------------------------------


def test_a_saved_view_is_changed_by_its_owner_or_a_manager_and_read_by_all_once_shared(olive, otto, manager_user):
    from django.http import Http404

    from suivi.agenda.queries import access_view, visible_views
    from suivi.core.errors import ConflictError

    view = services.save_view(
        acting_user=olive, view=None, values={"name": "Sales", "shared": False}, users=[olive, otto]
    )
    assert list(visible_views(otto)) == []
    with pytest.raises(Http404):
        access_view(otto, view.pk)
    with pytest.raises(PermissionDenied):
        services.save_view(acting_user=otto, view=view, values={"name": "Mine now"}, users=[otto], expected_version=1)
    shared = services.save_view(
        acting_user=manager_user,
        view=view,
        values={"name": "Sales", "shared": True},
        users=[olive, otto],
        expected_version=1,
    )
    assert shared.version == 2
    assert access_view(otto, view.pk).name == "Sales"
    with pytest.raises(ConflictError):
        services.save_view(acting_user=olive, view=view, values={"name": "Old"}, users=[olive], expected_version=1)
    with pytest.raises(InvalidInput) as refused:
        services.save_view(acting_user=olive, view=None, values={"name": " "}, users=[])
    assert set(refused.value.errors) == {"name", "users"}
    with pytest.raises(PermissionDenied):
        services.delete_view(acting_user=otto, view=view)
    services.delete_view(acting_user=olive, view=view)
    assert list(visible_views(olive)) == []


# --- years outside 1900–2999: refused with a message, never a 500 ---------------------------------


@pytest.mark.parametrize(("start", "days"), [("0001-01-01", 7), ("9999-12-31", 92), ("1899-12-31", 7)])
def test_a_search_from_a_year_the_agenda_does_not_accept_is_a_400_that_keeps_what_was_typed(m2, olive, start, days):
    response = logged_in(olive).get(
        "/crm/planning/", {"users": [olive.pk], "duration": 60, "start": start, "days": days}
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "between the years 1900 and 2999" in text
    assert f'value="{start}"' in text


@pytest.mark.parametrize("start", ["0001-01-01", "9999-12-31"])
def test_a_load_table_from_a_year_the_agenda_does_not_accept_is_a_400(m2, olive, start):
    response = logged_in(olive).get(
        "/crm/planning/load/", {"users": [olive.pk], "start": start, "by": "week", "count": 31}
    )
    assert response.status_code == 400
    assert "between the years 1900 and 2999" in response.content.decode()


@pytest.mark.parametrize(
    ("slot", "duration"),
    [("9999-12-31T23:00:00+00:00", 90), ("0001-01-01T09:00:00+00:00", 60), ("0001-01-01T00:30:00+01:00", 60)],
)
def test_booking_a_slot_in_a_year_the_agenda_does_not_accept_says_why_and_keeps_what_was_typed(
    m2, olive, meeting, slot, duration
):
    client = logged_in(olive)
    shown = client.get("/crm/planning/book/", {"slot": slot, "duration": duration, "users": olive.pk})
    assert shown.status_code == 400
    assert "between the years 1900 and 2999" in shown.content.decode()
    response = client.post(
        "/crm/planning/book/",
        {"slot": slot, "duration": duration, "users": olive.pk, "subject": "Rendez-vous", "action_type": meeting.pk},
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "between the years 1900 and 2999" in text
    assert 'value="Rendez-vous"' in text
    assert not Action.objects.filter(subject="Rendez-vous").exists()
    with pytest.raises(InvalidInput):
        services.book_slot(
            acting_user=olive,
            users=[olive],
            start=datetime(1, 1, 1, 9, tzinfo=UTC),
            end=datetime(1, 1, 1, 10, tzinfo=UTC),
            values={"subject": "x", "action_type": meeting},
        )


def test_booking_with_a_party_that_is_gone_keeps_what_was_typed(m2, olive, meeting):
    client = logged_in(olive)
    response = client.post(
        "/crm/planning/book/",
        {
            "slot": brussels(2030, 6, 3, 9).isoformat(),
            "duration": 60,
            "users": olive.pk,
            "subject": "Kick-off",
            "action_type": meeting.pk,
            "party": 987654,
        },
    )
    assert response.status_code == 400
    assert "search it again" in response.content.decode()
    assert 'value="Kick-off"' in response.content.decode()
    assert not Action.objects.filter(subject="Kick-off").exists()


@pytest.mark.parametrize("year", [1, 1899, 3000, 9999])
def test_absences_and_holidays_outside_the_years_1900_to_2999_are_refused_with_a_message(m2, olive, admin_user, year):
    with pytest.raises(InvalidInput) as refused:
        services.save_absence(
            acting_user=olive,
            absence=None,
            user=olive,
            values={"start": datetime(year, 1, 1, 8, tzinfo=UTC), "end": datetime(year, 1, 1, 18, tzinfo=UTC)},
        )
    assert "between the years 1900 and 2999" in refused.value.errors["start"]
    with pytest.raises(InvalidInput) as refused:
        services.save_holiday(acting_user=admin_user, holiday=None, values={"day": date(year, 1, 1), "name": "Old"})
    assert "between the years 1900 and 2999" in refused.value.errors["day"]
    client = logged_in(olive)
    typed = f"{year:04d}-01-01T08:00"
    response = client.post(
        "/crm/planning/absences/",
        {"user": olive.pk, "start": typed, "end": f"{year:04d}-01-01T18:00", "reason": "Congé"},
    )
    assert response.status_code == 400
    assert "between the years 1900 and 2999" in response.content.decode()
    assert f'value="{typed}"' in response.content.decode()
    response = logged_in(admin_user).post("/crm/planning/holidays/", {"day": f"{year:04d}-01-01", "name": "Nouvel an"})
    assert response.status_code == 400
    assert "between the years 1900 and 2999" in response.content.decode()
    assert 'value="Nouvel an"' in response.content.decode()
