"""Recurring actions changed and deleted by scope: this occurrence, this and the following ones,
the whole series (issue 12, point 2)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from suivi.activities import services
from suivi.activities.models import Action, ActionType
from suivi.agenda.queries import agenda_entries
from suivi.core.errors import ConflictError, InvalidInput, PermissionDenied
from suivi.core.models import AuditEvent

from . import factories
from .conftest import make_user

BRUSSELS = ZoneInfo("Europe/Brussels")


def brussels(*args) -> datetime:
    return datetime(*args, tzinfo=BRUSSELS)


@pytest.fixture
def meeting(db):
    return ActionType.objects.create(
        name_fr="Réunion", name_en="Meeting", name_nl="Vergadering", is_calendar_item=True, default_duration=60
    )


@pytest.fixture
def weekly(plain_user, meeting):
    """Every Monday 09:00–09:30 from 1 March 2027, ten times (across the March DST change)."""
    return factories.action(
        plain_user,
        action_type=meeting,
        subject="Stand-up",
        start=brussels(2027, 3, 1, 9, 0),
        end=brussels(2027, 3, 1, 9, 30),
        rrule="FREQ=WEEKLY;BYDAY=MO;COUNT=10",
    )


def week_of(user, day):
    """The (subject, local start, local end) of the user's agenda in the week from ``day``."""
    entries = agenda_entries(user, [user.pk], day, day + timedelta(days=7))
    return [
        (e.subject, e.start.astimezone(BRUSSELS).strftime("%a %H:%M"), e.end.astimezone(BRUSSELS).strftime("%H:%M"))
        for e in entries
    ]


def all_starts(user, start=None, end=None):
    start = start or brussels(2027, 2, 1)
    end = end or brussels(2027, 8, 1)
    return sorted(
        e.start.astimezone(BRUSSELS).replace(tzinfo=None) for e in agenda_entries(user, [user.pk], start, end)
    )


def reload(action):
    return Action.objects.get(pk=action.pk)


def test_changing_this_occurrence_moves_only_that_one_and_keeps_the_others_at_nine(plain_user, weekly):
    exception = services.change_occurrence(
        acting_user=plain_user,
        action=weekly,
        original_start=brussels(2027, 3, 15, 9, 0),
        scope="this",
        values={"start": brussels(2027, 3, 15, 14, 0), "end": brussels(2027, 3, 15, 15, 0), "subject": "Moved"},
        expected_version=weekly.version,
    )
    assert exception.series_id == weekly.pk
    assert exception.recurrence_id == brussels(2027, 3, 15, 9, 0)
    assert exception.rrule == ""
    assert week_of(plain_user, brussels(2027, 3, 15)) == [("Moved", "Mon 14:00", "15:00")]
    assert week_of(plain_user, brussels(2027, 3, 8)) == [("Stand-up", "Mon 09:00", "09:30")]
    assert week_of(plain_user, brussels(2027, 3, 22)) == [("Stand-up", "Mon 09:00", "09:30")]
    assert len(all_starts(plain_user)) == 10


def test_changing_the_same_occurrence_twice_updates_its_exception(plain_user, weekly):
    first = services.change_occurrence(
        acting_user=plain_user,
        action=weekly,
        original_start=brussels(2027, 3, 15, 9, 0),
        scope="this",
        values={"subject": "Once"},
        expected_version=weekly.version,
    )
    second = services.change_occurrence(
        acting_user=plain_user,
        action=weekly,
        original_start=brussels(2027, 3, 15, 9, 0),
        scope="this",
        values={"subject": "Twice"},
        expected_version=reload(weekly).version,
    )
    assert first.pk == second.pk
    assert Action.objects.filter(series=weekly).count() == 1
    assert week_of(plain_user, brussels(2027, 3, 15)) == [("Twice", "Mon 09:00", "09:30")]


def test_an_exception_copies_contacts_and_participants(plain_user, weekly):
    colleague = make_user("colleague")
    party = factories.party(plain_user)
    someone = factories.contact(plain_user, party=party)
    services.update_action(
        acting_user=plain_user,
        action=weekly,
        values={"party": party},
        contacts=[someone],
        participants=[colleague],
        expected_version=weekly.version,
    )
    exception = services.change_occurrence(
        acting_user=plain_user,
        action=weekly,
        original_start=brussels(2027, 3, 8, 9, 0),
        scope="this",
        values={"subject": "With them"},
        expected_version=reload(weekly).version,
    )
    assert list(exception.contacts.all()) == [someone]
    assert list(exception.participants.all()) == [colleague]
    assert ("With them", "Mon 09:00", "09:30") in week_of(colleague, brussels(2027, 3, 8))


def test_this_and_the_following_splits_a_count_series_and_keeps_ten_occurrences(plain_user, weekly):
    new_series = services.change_occurrence(
        acting_user=plain_user,
        action=weekly,
        original_start=brussels(2027, 3, 22, 9, 0),
        scope="following",
        values={"start": brussels(2027, 3, 22, 10, 0), "end": brussels(2027, 3, 22, 10, 30)},
        expected_version=weekly.version,
    )
    starts = all_starts(plain_user)
    assert len(starts) == 10
    assert [s.strftime("%H:%M") for s in starts] == ["09:00"] * 3 + ["10:00"] * 7
    assert "COUNT=7" in new_series.rrule
    assert "UNTIL=" in reload(weekly).rrule and "COUNT" not in reload(weekly).rrule


def test_this_and_the_following_moves_later_exceptions_to_the_new_series(plain_user, weekly):
    early = services.change_occurrence(
        acting_user=plain_user,
        action=weekly,
        original_start=brussels(2027, 3, 8, 9, 0),
        scope="this",
        values={"subject": "Early exception"},
        expected_version=weekly.version,
    )
    late = services.change_occurrence(
        acting_user=plain_user,
        action=weekly,
        original_start=brussels(2027, 4, 19, 9, 0),
        scope="this",
        values={"subject": "Late exception", "start": brussels(2027, 4, 20, 9, 0), "end": brussels(2027, 4, 20, 9, 30)},
        expected_version=reload(weekly).version,
    )
    new_series = services.change_occurrence(
        acting_user=plain_user,
        action=weekly,
        original_start=brussels(2027, 3, 29, 9, 0),
        scope="following",
        values={"subject": "Renamed"},
        expected_version=reload(weekly).version,
    )
    assert reload(early).series_id == weekly.pk
    assert reload(late).series_id == new_series.pk
    subjects = [
        e.subject for e in agenda_entries(plain_user, [plain_user.pk], brussels(2027, 2, 1), brussels(2027, 8, 1))
    ]
    assert subjects.count("Late exception") == 1
    assert subjects.count("Early exception") == 1
    assert subjects.count("Renamed") == 5  # 29/3 … 10/5 minus the late exception
    assert len(subjects) == 10


def test_changing_the_whole_series_moves_every_occurrence_by_the_same_wall_clock_time(plain_user, weekly):
    services.change_occurrence(
        acting_user=plain_user,
        action=weekly,
        original_start=brussels(2027, 4, 5, 9, 0),
        scope="all",
        values={"start": brussels(2027, 4, 5, 11, 0), "end": brussels(2027, 4, 5, 12, 0), "subject": "Later"},
        expected_version=weekly.version,
    )
    master = reload(weekly)
    assert master.start == brussels(2027, 3, 1, 11, 0)
    starts = all_starts(plain_user)
    assert len(starts) == 10
    assert {s.strftime("%H:%M") for s in starts} == {"11:00"}
    assert week_of(plain_user, brussels(2027, 3, 29)) == [("Later", "Mon 11:00", "12:00")]


def test_changing_the_whole_series_keeps_its_exceptions_and_removed_occurrences(plain_user, weekly):
    kept = services.change_occurrence(
        acting_user=plain_user,
        action=weekly,
        original_start=brussels(2027, 3, 8, 9, 0),
        scope="this",
        values={"subject": "Kept apart"},
        expected_version=weekly.version,
    )
    services.delete_occurrence(
        acting_user=plain_user, action=weekly, original_start=brussels(2027, 4, 12, 9, 0), scope="this"
    )
    services.change_occurrence(
        acting_user=plain_user,
        action=weekly,
        original_start=brussels(2027, 3, 1, 9, 0),
        scope="all",
        values={"start": brussels(2027, 3, 1, 10, 0), "end": brussels(2027, 3, 1, 10, 30)},
        expected_version=reload(weekly).version,
    )
    assert reload(kept).series_id == weekly.pk
    starts = all_starts(plain_user)
    assert len(starts) == 9  # 12 April stays removed
    assert datetime(2027, 4, 12, 10, 0) not in starts
    # The exception keeps its own time, and still replaces its (moved) occurrence: no duplicate.
    assert week_of(plain_user, brussels(2027, 3, 8)) == [("Kept apart", "Mon 09:00", "09:30")]


def test_a_stale_version_is_refused_as_a_conflict_and_nothing_changes(plain_user, weekly):
    stale = weekly.version
    services.update_action(acting_user=plain_user, action=weekly, values={"subject": "Theirs"}, expected_version=stale)
    for scope in ("this", "following", "all"):
        with pytest.raises(ConflictError):
            services.change_occurrence(
                acting_user=plain_user,
                action=weekly,
                original_start=brussels(2027, 3, 15, 9, 0),
                scope=scope,
                values={"subject": "Mine"},
                expected_version=stale,
            )
    assert not Action.objects.filter(subject="Mine").exists()
    assert reload(weekly).exdates == []


def test_a_start_that_is_not_an_occurrence_is_refused_with_a_clear_message(plain_user, weekly):
    with pytest.raises(InvalidInput) as refused:
        services.change_occurrence(
            acting_user=plain_user,
            action=weekly,
            original_start=brussels(2027, 3, 16, 9, 0),  # a Tuesday
            scope="this",
            values={"subject": "Nope"},
            expected_version=weekly.version,
        )
    assert "is not an occurrence" in refused.value.errors["occurrence"]


def test_an_occurrence_cannot_be_made_to_repeat_on_its_own(plain_user, weekly):
    with pytest.raises(InvalidInput) as refused:
        services.change_occurrence(
            acting_user=plain_user,
            action=weekly,
            original_start=brussels(2027, 3, 15, 9, 0),
            scope="this",
            values={"rrule": "FREQ=DAILY"},
            expected_version=weekly.version,
        )
    assert "cannot repeat" in refused.value.errors["rrule"]


def test_each_action_written_leaves_one_audit_row(plain_user, weekly):
    before = AuditEvent.objects.count()
    exception = services.change_occurrence(
        acting_user=plain_user,
        action=weekly,
        original_start=brussels(2027, 3, 15, 9, 0),
        scope="this",
        values={"subject": "Audited"},
        expected_version=weekly.version,
    )
    rows = AuditEvent.objects.order_by("id")[before:]
    assert sorted((r.verb, r.object_id) for r in rows) == sorted(
        [("create", str(exception.pk)), ("update", str(weekly.pk))]
    )


def test_a_plain_action_is_simply_updated_whatever_the_scope(plain_user, meeting):
    plain = factories.action(plain_user, action_type=meeting, subject="Once", start=brussels(2027, 3, 1, 9, 0))
    changed = services.change_occurrence(
        acting_user=plain_user,
        action=plain,
        original_start=plain.start,
        scope="following",
        values={"subject": "Still once"},
        expected_version=plain.version,
    )
    assert changed.pk == plain.pk and reload(plain).subject == "Still once"


def test_a_series_through_both_daylight_saving_changes_keeps_nine_after_an_edit(plain_user, meeting):
    series = factories.action(
        plain_user,
        action_type=meeting,
        subject="Weekly",
        start=brussels(2027, 3, 1, 9, 0),
        end=brussels(2027, 3, 1, 9, 30),
        rrule="FREQ=WEEKLY;BYDAY=MO",
    )
    services.change_occurrence(
        acting_user=plain_user,
        action=series,
        original_start=brussels(2027, 4, 5, 9, 0),  # after the March change
        scope="following",
        values={"subject": "Weekly (new room)"},
        expected_version=series.version,
    )
    starts = all_starts(plain_user, brussels(2027, 2, 1), brussels(2027, 12, 1))
    assert {s.strftime("%H:%M") for s in starts} == {"09:00"}
    assert datetime(2027, 11, 1, 9, 0) in starts


# --- deleting -----------------------------------------------------------------------------------


def test_deleting_this_occurrence_removes_only_it(plain_user, weekly):
    services.delete_occurrence(
        acting_user=plain_user, action=weekly, original_start=brussels(2027, 3, 15, 9, 0), scope="this"
    )
    starts = all_starts(plain_user)
    assert len(starts) == 9
    assert datetime(2027, 3, 15, 9, 0) not in starts


def test_deleting_an_exception_keeps_its_occurrence_removed(plain_user, weekly):
    exception = services.change_occurrence(
        acting_user=plain_user,
        action=weekly,
        original_start=brussels(2027, 3, 15, 9, 0),
        scope="this",
        values={"subject": "Exception"},
        expected_version=weekly.version,
    )
    services.delete_occurrence(acting_user=plain_user, action=exception, original_start=exception.start, scope="this")
    assert not Action.objects.filter(pk=exception.pk).exists()
    assert week_of(plain_user, brussels(2027, 3, 15)) == []
    assert len(all_starts(plain_user)) == 9


def test_deleting_this_and_the_following_ends_the_series_before_it(plain_user, weekly):
    later = services.change_occurrence(
        acting_user=plain_user,
        action=weekly,
        original_start=brussels(2027, 4, 19, 9, 0),
        scope="this",
        values={"subject": "Later exception"},
        expected_version=weekly.version,
    )
    services.delete_occurrence(
        acting_user=plain_user, action=weekly, original_start=brussels(2027, 3, 22, 9, 0), scope="following"
    )
    assert [s.day for s in all_starts(plain_user)] == [1, 8, 15]
    assert not Action.objects.filter(pk=later.pk).exists()
    assert reload(weekly).series_end == brussels(2027, 3, 15, 9, 30)


def test_deleting_the_whole_series_deletes_it_and_its_exceptions(plain_user, weekly):
    exception = services.change_occurrence(
        acting_user=plain_user,
        action=weekly,
        original_start=brussels(2027, 3, 15, 9, 0),
        scope="this",
        values={"subject": "Exception"},
        expected_version=weekly.version,
    )
    services.delete_occurrence(
        acting_user=plain_user, action=weekly, original_start=brussels(2027, 3, 22, 9, 0), scope="all"
    )
    assert not Action.objects.filter(pk__in=[weekly.pk, exception.pk]).exists()
    assert all_starts(plain_user) == []


def test_only_the_follower_the_creator_or_a_manager_may_delete_occurrences(plain_user, weekly):
    other = make_user("other")
    with pytest.raises(PermissionDenied):
        services.delete_occurrence(
            acting_user=other, action=weekly, original_start=brussels(2027, 3, 15, 9, 0), scope="this"
        )
    assert len(all_starts(plain_user)) == 10


def test_utc_and_local_original_starts_name_the_same_occurrence(plain_user, weekly):
    services.delete_occurrence(
        acting_user=plain_user, action=weekly, original_start=datetime(2027, 3, 15, 8, 0, tzinfo=UTC), scope="this"
    )
    assert datetime(2027, 3, 15, 9, 0) not in all_starts(plain_user)
