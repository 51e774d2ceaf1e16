"""The agenda's read: occurrences of calendar actions in a range, recurrences expanded on read,
others' private actions as busy blocks only."""

from datetime import UTC, datetime, timedelta

import pytest

from suivi.activities.models import Action
from suivi.agenda.queries import agenda_entries
from suivi.core.errors import InvalidInput

from . import factories
from .agenda_world import BRUSSELS, brussels, meeting
from .conftest import make_user

FIXTURES = (meeting,)  # the shared fixtures this module's tests take


def test_a_weekly_series_keeps_its_wall_clock_time_across_both_daylight_saving_changes(plain_user, meeting):
    factories.action(
        plain_user,
        action_type=meeting,
        subject="Stand-up",
        start=brussels(2027, 3, 1, 9, 0),
        end=brussels(2027, 3, 1, 9, 30),
        rrule="FREQ=WEEKLY;BYDAY=MO",
    )
    entries = agenda_entries(plain_user, [plain_user.pk], brussels(2027, 3, 20), brussels(2027, 11, 10))
    local_times = {e.start.astimezone(BRUSSELS).strftime("%H:%M") for e in entries}
    assert local_times == {"09:00"}
    mondays = [e.start.astimezone(BRUSSELS).date() for e in entries]
    assert brussels(2027, 3, 29).date() in mondays  # the Monday after the last Sunday of March
    assert brussels(2027, 11, 1).date() in mondays  # and after the last Sunday of October
    assert all(e.end - e.start == timedelta(minutes=30) for e in entries)


def test_a_hundred_thousand_occurrence_rule_is_expanded_only_over_the_range_read(plain_user, meeting):
    factories.action(
        plain_user,
        action_type=meeting,
        subject="Daily",
        start=brussels(2027, 1, 4, 8, 0),
        rrule="FREQ=DAILY;COUNT=100000",
    )
    series = Action.objects.get(subject="Daily")
    assert series.series_end is None  # too long to compute: open-ended for queries
    week = agenda_entries(plain_user, [plain_user.pk], brussels(2030, 6, 3), brussels(2030, 6, 10))
    assert len(week) == 7


def test_a_recurrence_that_never_happens_is_refused_with_a_reason(plain_user, meeting):
    with pytest.raises(InvalidInput) as refused:
        factories.action(
            plain_user,
            action_type=meeting,
            start=brussels(2027, 1, 4, 8, 0),
            rrule="FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        )
    assert "never happens" in refused.value.errors["rrule"]


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("FREQ=HOURLY", "daily, weekly, monthly or yearly"),
        ("FREQ=DAILY;BYHOUR=1,2,3", "not supported"),
        ("FREQ=WEEKLY;COUNT=3;UNTIL=20270101T000000Z", "not both"),
        ("FREQ=WEEKLY;BYDAY=XX", "cannot be read"),
    ],
)
def test_rules_outside_the_allow_list_are_refused(plain_user, meeting, rule, words):
    with pytest.raises(InvalidInput) as refused:
        factories.action(plain_user, action_type=meeting, start=brussels(2027, 1, 4, 8, 0), rrule=rule)
    assert words in refused.value.errors["rrule"]


def test_an_end_before_its_start_is_refused(plain_user, meeting):
    with pytest.raises(InvalidInput) as refused:
        factories.action(plain_user, action_type=meeting, start=brussels(2027, 1, 4, 10), end=brussels(2027, 1, 4, 9))
    assert "before the start" in refused.value.errors["end"]


def test_others_private_actions_are_busy_blocks_without_subject_or_party(plain_user, meeting):
    other = make_user("olga")
    client_party = factories.party(name="Secret Client SA")
    factories.action(
        other,
        action_type=meeting,
        subject="Salary talk",
        party=client_party,
        private=True,
        start=brussels(2027, 5, 3, 14),
        end=brussels(2027, 5, 3, 15),
    )
    (seen,) = agenda_entries(plain_user, [other.pk], brussels(2027, 5, 3), brussels(2027, 5, 4))
    assert seen.busy and seen.subject == "" and seen.party == "" and seen.type_id is None
    assert not seen.editable
    (own,) = agenda_entries(other, [other.pk], brussels(2027, 5, 3), brussels(2027, 5, 4))
    assert own.subject == "Salary talk" and own.party == "Secret Client SA" and own.editable


def test_actions_that_are_not_calendar_items_stay_off_the_agenda(plain_user, meeting):
    factories.action(plain_user, subject="A call", start=brussels(2027, 5, 3, 10))  # type "Call"
    factories.action(plain_user, action_type=meeting, subject="A meeting", start=brussels(2027, 5, 3, 11))
    subjects = [
        e.subject for e in agenda_entries(plain_user, [plain_user.pk], brussels(2027, 5, 3), brussels(2027, 5, 4))
    ]
    assert subjects == ["A meeting"]


def test_a_participant_sees_the_action_in_their_agenda_and_long_events_overlapping_the_range(plain_user, meeting):
    other = make_user("olga")
    trip = factories.action(
        other, action_type=meeting, subject="Trade fair", start=brussels(2027, 4, 1, 8), end=brussels(2027, 5, 20, 18)
    )
    trip.participants.add(plain_user)
    assert trip.long_event
    (seen,) = agenda_entries(plain_user, [plain_user.pk], brussels(2027, 5, 10), brussels(2027, 5, 17))
    assert seen.subject == "Trade fair" and seen.users == [plain_user.pk]


def test_a_removed_occurrence_is_not_shown(plain_user, meeting):
    series = factories.action(
        plain_user, action_type=meeting, subject="Weekly", start=brussels(2027, 3, 1, 9), rrule="FREQ=WEEKLY;COUNT=4"
    )
    assert series.series_end == brussels(2027, 3, 22, 10).astimezone(UTC)
    Action.objects.filter(pk=series.pk).update(exdates=[brussels(2027, 3, 8, 9).astimezone(UTC).isoformat()])
    days = [
        e.start.astimezone(BRUSSELS).day
        for e in agenda_entries(plain_user, [plain_user.pk], brussels(2027, 3, 1), brussels(2027, 4, 1))
    ]
    assert days == [1, 15, 22]


def test_the_demo_agenda_shows_the_weekly_team_meeting_to_every_demo_user_this_week(db):
    from django.utils import timezone

    from suivi.accounts.models import User
    from suivi.agenda.demo import TEAM_MEETING, load_agenda
    from suivi.agenda.models import Holiday
    from suivi.demo import ensure_users

    users, _password = ensure_users(5)
    load_agenda(users)
    load_agenda(users)  # made once
    today = timezone.localdate()
    monday = datetime.combine(today - timedelta(days=today.weekday()), datetime.min.time(), tzinfo=BRUSSELS)
    viewer = User.objects.get(username="luc")
    entries = agenda_entries(viewer, [u.pk for u in users], monday, monday + timedelta(days=7))
    (team,) = [e for e in entries if e.subject == TEAM_MEETING]
    assert set(team.users) == {u.pk for u in users}
    assert team.start.astimezone(BRUSSELS).strftime("%a %H:%M") == "Mon 09:00"
    assert Holiday.objects.filter(name="Fête nationale").count() == 2
