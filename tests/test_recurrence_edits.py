"""Recurring actions changed and deleted by scope: this occurrence, this and the following ones,
the whole series (issue 12, point 2)."""

from datetime import UTC, datetime, timedelta

import pytest

from suivi.activities import occurrences, services
from suivi.activities.models import Action
from suivi.agenda.queries import agenda_entries
from suivi.core.errors import LATEST, ConflictError, InvalidInput, PermissionDenied
from suivi.core.models import AuditEvent

from . import factories
from .agenda_world import BRUSSELS, brussels, meeting
from .conftest import make_user

FIXTURES = (meeting,)  # the shared fixtures this module's tests take


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


def change(user, action, when, scope, expected_version=None, **values):
    """Change the occurrence of ``action`` at ``when`` in ``scope``; the stored version is expected
    unless the test says which."""
    if expected_version is None:
        expected_version = reload(action).version
    return occurrences.change_occurrence(
        acting_user=user,
        action=action,
        original_start=when,
        scope=scope,
        values=values,
        expected_version=expected_version,
    )


def test_changing_this_occurrence_moves_only_that_one_and_keeps_the_others_at_nine(plain_user, weekly):
    exception = change(
        plain_user,
        weekly,
        brussels(2027, 3, 15, 9, 0),
        "this",
        start=brussels(2027, 3, 15, 14, 0),
        end=brussels(2027, 3, 15, 15, 0),
        subject="Moved",
    )
    assert exception.series_id == weekly.pk
    assert exception.recurrence_id == brussels(2027, 3, 15, 9, 0)
    assert exception.rrule == ""
    assert week_of(plain_user, brussels(2027, 3, 15)) == [("Moved", "Mon 14:00", "15:00")]
    assert week_of(plain_user, brussels(2027, 3, 8)) == [("Stand-up", "Mon 09:00", "09:30")]
    assert week_of(plain_user, brussels(2027, 3, 22)) == [("Stand-up", "Mon 09:00", "09:30")]
    assert len(all_starts(plain_user)) == 10


def test_changing_the_same_occurrence_twice_updates_its_exception(plain_user, weekly):
    first = change(plain_user, weekly, brussels(2027, 3, 15, 9, 0), "this", subject="Once")
    second = change(plain_user, weekly, brussels(2027, 3, 15, 9, 0), "this", subject="Twice")
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
    exception = change(plain_user, weekly, brussels(2027, 3, 8, 9, 0), "this", subject="With them")
    assert list(exception.contacts.all()) == [someone]
    assert list(exception.participants.all()) == [colleague]
    assert ("With them", "Mon 09:00", "09:30") in week_of(colleague, brussels(2027, 3, 8))


def test_this_and_the_following_splits_a_count_series_and_keeps_ten_occurrences(plain_user, weekly):
    new_series = change(
        plain_user,
        weekly,
        brussels(2027, 3, 22, 9, 0),
        "following",
        start=brussels(2027, 3, 22, 10, 0),
        end=brussels(2027, 3, 22, 10, 30),
    )
    starts = all_starts(plain_user)
    assert len(starts) == 10
    assert [s.strftime("%H:%M") for s in starts] == ["09:00"] * 3 + ["10:00"] * 7
    assert "COUNT=7" in new_series.rrule
    assert "UNTIL=" in reload(weekly).rrule and "COUNT" not in reload(weekly).rrule


def test_this_and_the_following_moves_later_exceptions_to_the_new_series(plain_user, weekly):
    early = change(plain_user, weekly, brussels(2027, 3, 8, 9, 0), "this", subject="Early exception")
    late = change(
        plain_user,
        weekly,
        brussels(2027, 4, 19, 9, 0),
        "this",
        subject="Late exception",
        start=brussels(2027, 4, 20, 9, 0),
        end=brussels(2027, 4, 20, 9, 30),
    )
    new_series = change(plain_user, weekly, brussels(2027, 3, 29, 9, 0), "following", subject="Renamed")
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
    change(
        plain_user,
        weekly,
        brussels(2027, 4, 5, 9, 0),
        "all",
        start=brussels(2027, 4, 5, 11, 0),
        end=brussels(2027, 4, 5, 12, 0),
        subject="Later",
    )
    master = reload(weekly)
    assert master.start == brussels(2027, 3, 1, 11, 0)
    starts = all_starts(plain_user)
    assert len(starts) == 10
    assert {s.strftime("%H:%M") for s in starts} == {"11:00"}
    assert week_of(plain_user, brussels(2027, 3, 29)) == [("Later", "Mon 11:00", "12:00")]


def test_changing_the_whole_series_keeps_its_exceptions_and_removed_occurrences(plain_user, weekly):
    kept = change(plain_user, weekly, brussels(2027, 3, 8, 9, 0), "this", subject="Kept apart")
    occurrences.delete_occurrence(
        acting_user=plain_user, action=weekly, original_start=brussels(2027, 4, 12, 9, 0), scope="this"
    )
    change(
        plain_user,
        weekly,
        brussels(2027, 3, 1, 9, 0),
        "all",
        start=brussels(2027, 3, 1, 10, 0),
        end=brussels(2027, 3, 1, 10, 30),
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
            change(plain_user, weekly, brussels(2027, 3, 15, 9, 0), scope, expected_version=stale, subject="Mine")
    assert not Action.objects.filter(subject="Mine").exists()
    assert reload(weekly).exdates == []


def test_a_start_that_is_not_an_occurrence_is_refused_with_a_clear_message(plain_user, weekly):
    with pytest.raises(InvalidInput) as refused:
        change(plain_user, weekly, brussels(2027, 3, 16, 9, 0), "this", subject="Nope")  # a Tuesday
    assert "is not an occurrence" in refused.value.errors["occurrence"]


def test_an_occurrence_cannot_be_made_to_repeat_on_its_own(plain_user, weekly):
    with pytest.raises(InvalidInput) as refused:
        change(plain_user, weekly, brussels(2027, 3, 15, 9, 0), "this", rrule="FREQ=DAILY")
    assert "cannot repeat" in refused.value.errors["rrule"]


def test_each_action_written_leaves_one_audit_row(plain_user, weekly):
    before = AuditEvent.objects.count()
    exception = change(plain_user, weekly, brussels(2027, 3, 15, 9, 0), "this", subject="Audited")
    rows = AuditEvent.objects.order_by("id")[before:]
    assert sorted((r.verb, r.object_id) for r in rows) == sorted(
        [("create", str(exception.pk)), ("update", str(weekly.pk))]
    )


def test_a_plain_action_is_simply_updated_whatever_the_scope(plain_user, meeting):
    plain = factories.action(plain_user, action_type=meeting, subject="Once", start=brussels(2027, 3, 1, 9, 0))
    changed = change(plain_user, plain, plain.start, "following", subject="Still once")
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
    change(
        plain_user, series, brussels(2027, 4, 5, 9, 0), "following", subject="Weekly (new room)"
    )  # after the March change
    starts = all_starts(plain_user, brussels(2027, 2, 1), brussels(2027, 12, 1))
    assert {s.strftime("%H:%M") for s in starts} == {"09:00"}
    assert datetime(2027, 11, 1, 9, 0) in starts


# --- deleting -----------------------------------------------------------------------------------


def test_deleting_this_occurrence_removes_only_it(plain_user, weekly):
    occurrences.delete_occurrence(
        acting_user=plain_user, action=weekly, original_start=brussels(2027, 3, 15, 9, 0), scope="this"
    )
    starts = all_starts(plain_user)
    assert len(starts) == 9
    assert datetime(2027, 3, 15, 9, 0) not in starts


def test_deleting_an_exception_keeps_its_occurrence_removed(plain_user, weekly):
    exception = change(plain_user, weekly, brussels(2027, 3, 15, 9, 0), "this", subject="Exception")
    occurrences.delete_occurrence(
        acting_user=plain_user, action=exception, original_start=exception.start, scope="this"
    )
    assert not Action.objects.filter(pk=exception.pk).exists()
    assert week_of(plain_user, brussels(2027, 3, 15)) == []
    assert len(all_starts(plain_user)) == 9


def test_deleting_this_and_the_following_ends_the_series_before_it(plain_user, weekly):
    later = change(plain_user, weekly, brussels(2027, 4, 19, 9, 0), "this", subject="Later exception")
    occurrences.delete_occurrence(
        acting_user=plain_user, action=weekly, original_start=brussels(2027, 3, 22, 9, 0), scope="following"
    )
    assert [s.day for s in all_starts(plain_user)] == [1, 8, 15]
    assert not Action.objects.filter(pk=later.pk).exists()
    assert reload(weekly).series_end == brussels(2027, 3, 15, 9, 30)


def test_deleting_the_whole_series_deletes_it_and_its_exceptions(plain_user, weekly):
    exception = change(plain_user, weekly, brussels(2027, 3, 15, 9, 0), "this", subject="Exception")
    occurrences.delete_occurrence(
        acting_user=plain_user, action=weekly, original_start=brussels(2027, 3, 22, 9, 0), scope="all"
    )
    assert not Action.objects.filter(pk__in=[weekly.pk, exception.pk]).exists()
    assert all_starts(plain_user) == []


def test_only_the_follower_the_creator_or_a_manager_may_delete_occurrences(plain_user, weekly):
    other = make_user("other")
    with pytest.raises(PermissionDenied):
        occurrences.delete_occurrence(
            acting_user=other, action=weekly, original_start=brussels(2027, 3, 15, 9, 0), scope="this"
        )
    assert len(all_starts(plain_user)) == 10


def test_utc_and_local_original_starts_name_the_same_occurrence(plain_user, weekly):
    occurrences.delete_occurrence(
        acting_user=plain_user, action=weekly, original_start=datetime(2027, 3, 15, 8, 0, tzinfo=UTC), scope="this"
    )
    assert datetime(2027, 3, 15, 9, 0) not in all_starts(plain_user)


def test_a_stale_occurrence_edit_is_a_409_in_the_api(plain_user, weekly):
    from rest_framework.test import APIClient

    from suivi.core.models import CompanySettings

    CompanySettings.objects.filter(pk=1).update(crm_level="full")
    client = APIClient()
    client.force_authenticate(plain_user)
    stale = weekly.version
    services.update_action(acting_user=plain_user, action=weekly, values={"subject": "Theirs"}, expected_version=stale)
    answer = client.post(
        f"/api/v1/actions/{weekly.pk}/occurrence/",
        {
            "original_start": "2027-03-15T08:00:00Z",
            "scope": "this",
            "version": stale,
            "values": {"subject": "Mine"},
        },
        format="json",
    )
    assert answer.status_code == 409, answer.content


def test_the_api_changes_one_occurrence_and_deletes_another(plain_user, weekly):
    from rest_framework.test import APIClient

    from suivi.core.models import CompanySettings

    CompanySettings.objects.filter(pk=1).update(crm_level="full")
    client = APIClient()
    client.force_authenticate(plain_user)
    answer = client.post(
        f"/api/v1/actions/{weekly.pk}/occurrence/",
        {
            "original_start": "2027-03-15T09:00:00+01:00",
            "scope": "this",
            "version": weekly.version,
            "values": {"start": "2027-03-15T15:00:00+01:00", "end": "2027-03-15T15:30:00+01:00"},
        },
        format="json",
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["series"] == weekly.pk
    gone = client.post(
        f"/api/v1/actions/{weekly.pk}/occurrence/delete/",
        {"original_start": "2027-03-22T08:00:00Z", "scope": "this"},
        format="json",
    )
    assert gone.status_code == 204
    assert week_of(plain_user, brussels(2027, 3, 15)) == [("Stand-up", "Mon 15:00", "15:30")]
    assert week_of(plain_user, brussels(2027, 3, 22)) == []
    series = client.get(f"/api/v1/actions/{weekly.pk}/").json()
    assert series["rrule"] == "FREQ=WEEKLY;BYDAY=MO;COUNT=10"
    assert len(series["exdates"]) == 2


def test_the_api_sets_a_repeat_participants_and_reminders_at_m2_only(plain_user, meeting):
    from rest_framework.test import APIClient

    from suivi.core.models import CompanySettings

    colleague = make_user("colleague")
    client = APIClient()
    client.force_authenticate(plain_user)
    body = {
        "subject": "Weekly",
        "action_type": meeting.pk,
        "start": "2027-03-01T09:00:00+01:00",
        "rrule": "FREQ=WEEKLY;BYDAY=MO",
        "participants": [colleague.pk],
        "reminders": [15, 60],
    }
    CompanySettings.objects.filter(pk=1).update(crm_level="basic")
    refused = client.post("/api/v1/actions/", body, format="json")
    assert refused.status_code == 400 and "rrule" in refused.json()["errors"]
    CompanySettings.objects.filter(pk=1).update(crm_level="full")
    created = client.post("/api/v1/actions/", body, format="json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["rrule"] == "FREQ=WEEKLY;BYDAY=MO"
    assert data["participants"] == [colleague.pk]
    assert data["reminders"] == [15, 60]
    assert len(week_of(colleague, brussels(2027, 3, 8))) == 1


# --- the action form: repeat, reminders, one occurrence ------------------------------------------


class _FormReader:
    """The values a browser would post for the action form of a page (inputs, checked boxes,
    selected options, textareas), read from its HTML."""

    def __init__(self, html: str):
        from html.parser import HTMLParser

        self.values: list[tuple[str, str]] = []
        reader = self
        state = {"in_form": False, "select": None, "option": None, "textarea": None, "text": ""}

        class Parser(HTMLParser):
            def handle_starttag(self, tag, attrs):
                a = dict(attrs)
                if tag == "form" and "action-form" in (a.get("class") or ""):
                    state["in_form"] = True
                if not state["in_form"]:
                    return
                if tag == "input" and a.get("name"):
                    kind = a.get("type", "text")
                    if kind in ("checkbox", "radio"):
                        if "checked" in a:
                            reader.values.append((a["name"], a.get("value", "on")))
                    elif kind not in ("submit", "button", "file"):
                        reader.values.append((a["name"], a.get("value") or ""))
                elif tag == "select":
                    state["select"] = a.get("name")
                elif tag == "option" and state["select"] and "selected" in a:
                    reader.values.append((state["select"], a.get("value", "")))
                elif tag == "textarea":
                    state["textarea"], state["text"] = a.get("name"), ""

            def handle_endtag(self, tag):
                if tag == "form":
                    state["in_form"] = False
                elif tag == "select":
                    state["select"] = None
                elif tag == "textarea" and state["textarea"]:
                    reader.values.append((state["textarea"], state["text"].lstrip("\n")))
                    state["textarea"] = None

            def handle_data(self, data):
                if state["textarea"]:
                    state["text"] += data

        Parser().feed(html)

    def data(self, **changes) -> dict:
        out: dict[str, list[str]] = {}
        for name, value in self.values:
            out.setdefault(name, []).append(value)
        out.update({k: v if isinstance(v, list) else [str(v)] for k, v in changes.items()})
        return out


def _full():
    from suivi.core.models import CompanySettings

    CompanySettings.objects.filter(pk=1).update(crm_level="full")


def _client(user, language="en"):
    from django.test import Client

    client = Client()
    client.force_login(user)
    session = client.session
    session["suivi_language"] = language
    session.save()
    return client


@pytest.mark.parametrize("language", ["fr", "nl"])
@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=WEEKLY;BYDAY=MO;COUNT=10",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR",
        "FREQ=DAILY;UNTIL=20270630T215959Z",
        "FREQ=MONTHLY;BYDAY=1MO",
        "FREQ=MONTHLY;BYMONTHDAY=1",
        "FREQ=YEARLY;INTERVAL=3",
        "FREQ=MONTHLY;BYMONTH=1,7;BYMONTHDAY=1",
    ],
)
def test_a_recurring_action_saved_unchanged_keeps_its_rule(plain_user, meeting, language, rule):
    _full()
    series = factories.action(
        plain_user,
        action_type=meeting,
        subject="Repeat",
        start=brussels(2027, 3, 1, 9, 0),
        end=brussels(2027, 3, 1, 9, 30),
        rrule=rule,
    )
    client = _client(plain_user, language)
    page = client.get(f"/crm/actions/{series.pk}/").content.decode()
    answer = client.post(f"/crm/actions/{series.pk}/", _FormReader(page).data())
    assert answer.status_code == 302, answer.content.decode()[:3000]
    after = reload(series)
    assert after.rrule == series.rrule
    assert after.version == series.version  # nothing changed at all


def test_the_repeat_controls_build_the_rule_and_the_reminders(plain_user, meeting):
    _full()
    client = _client(plain_user)
    page = client.get("/crm/actions/new/").content.decode()
    data = _FormReader(page).data(
        subject="Team meeting",
        action_type=meeting.pk,
        start="2027-03-09T10:00",
        end="2027-03-09T11:00",
        repeat_freq="weekly",
        repeat_interval="1",
        repeat_days=["TU", "TH"],
        repeat_end="count",
        repeat_count="6",
        reminder_1_amount="15",
        reminder_1_unit="minutes",
        reminder_2_amount="1",
        reminder_2_unit="days",
    )
    answer = client.post("/crm/actions/new/", data)
    assert answer.status_code == 302, answer.content.decode()[:3000]
    created = Action.objects.get(subject="Team meeting")
    assert created.rrule == "FREQ=WEEKLY;BYDAY=TU,TH;COUNT=6"
    assert sorted(created.reminders.values_list("minutes_before", flat=True)) == [15, 1440]
    assert len(all_starts(plain_user)) == 6


def test_a_monthly_rule_by_weekday_is_the_starts_nth_weekday(plain_user, meeting):
    _full()
    client = _client(plain_user)
    data = _FormReader(client.get("/crm/actions/new/").content.decode()).data(
        subject="Board",
        action_type=meeting.pk,
        start="2027-03-09T10:00",  # the 2nd Tuesday of March
        repeat_freq="monthly_weekday",
        repeat_interval="1",
        repeat_end="never",
    )
    assert client.post("/crm/actions/new/", data).status_code == 302
    assert Action.objects.get(subject="Board").rrule == "FREQ=MONTHLY;BYDAY=2TU"


def test_a_refused_rule_is_shown_beside_the_repeat_controls_and_keeps_what_was_typed(plain_user, meeting):
    _full()
    client = _client(plain_user)
    data = _FormReader(client.get("/crm/actions/new/").content.decode()).data(
        subject="Never",
        action_type=meeting.pk,
        start="2027-03-09T10:00",
        repeat_freq="custom",
        repeat_rule="FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
    )
    answer = client.post("/crm/actions/new/", data)
    assert answer.status_code == 400
    page = answer.content.decode()
    assert "never happens" in page and "BYMONTHDAY=30" in page
    assert not Action.objects.filter(subject="Never").exists()


def test_the_repeat_group_is_not_shown_at_m1(plain_user, meeting, user_client):
    assert 'name="repeat_freq"' not in user_client.get("/crm/actions/new/").content.decode()
    _full()
    assert 'name="repeat_freq"' in user_client.get("/crm/actions/new/").content.decode()


def test_one_occurrence_opened_from_the_agenda_is_changed_alone_from_the_action_page(plain_user, weekly):
    _full()
    client = _client(plain_user)
    url = f"/crm/actions/{weekly.pk}/?occurrence=2027-03-15T08:00:00%2B00:00"
    page = client.get(url).content.decode()
    assert 'value="2027-03-15T09:00"' in page  # the occurrence's own time
    assert 'name="scope"' in page
    data = _FormReader(page).data(start="2027-03-15T16:00", end="2027-03-15T16:30", scope="this")
    answer = client.post(f"/crm/actions/{weekly.pk}/", data)
    assert answer.status_code == 302, answer.content.decode()[:3000]
    assert week_of(plain_user, brussels(2027, 3, 15)) == [("Stand-up", "Mon 16:00", "16:30")]
    assert week_of(plain_user, brussels(2027, 3, 22)) == [("Stand-up", "Mon 09:00", "09:30")]
    assert reload(weekly).rrule == "FREQ=WEEKLY;BYDAY=MO;COUNT=10"


def test_this_and_the_following_from_the_action_page_keeps_ten_occurrences(plain_user, weekly):
    _full()
    client = _client(plain_user)
    page = client.get(f"/crm/actions/{weekly.pk}/?occurrence=2027-04-05T07:00:00Z").content.decode()
    data = _FormReader(page).data(start="2027-04-05T10:00", end="2027-04-05T10:30", scope="following")
    assert client.post(f"/crm/actions/{weekly.pk}/", data).status_code == 302
    starts = all_starts(plain_user)
    assert [s.strftime("%H:%M") for s in starts] == ["09:00"] * 5 + ["10:00"] * 5


def test_an_occurrence_that_does_not_exist_is_a_404(plain_user, weekly):
    _full()
    client = _client(plain_user)
    assert client.get(f"/crm/actions/{weekly.pk}/?occurrence=2027-03-16T08:00:00Z").status_code == 404
    assert client.get(f"/crm/actions/{weekly.pk}/?occurrence=garbage").status_code == 404


def test_deleting_an_occurrence_from_the_action_page_asks_which_ones(plain_user, weekly):
    _full()
    client = _client(plain_user)
    page = client.get(f"/crm/actions/{weekly.pk}/?occurrence=2027-03-15T08:00:00Z").content.decode()
    assert 'id="occurrence-delete"' in page and 'name="scope" value="following"' in page
    asked = client.post(
        f"/crm/actions/{weekly.pk}/occurrence/delete/",
        {"occurrence": "2027-03-15T08:00:00+00:00", "scope": "following"},
    )
    assert asked.status_code == 200 and 'name="confirm"' in asked.content.decode()
    assert len(all_starts(plain_user)) == 10  # nothing deleted before the user confirmed
    answer = client.post(
        f"/crm/actions/{weekly.pk}/occurrence/delete/",
        {"occurrence": "2027-03-15T08:00:00+00:00", "scope": "following", "confirm": "1"},
    )
    assert answer.status_code == 302
    assert [s.day for s in all_starts(plain_user)] == [1, 8]


def test_the_series_page_offers_to_delete_the_whole_series_only_and_asks_first(plain_user, weekly):
    _full()
    client = _client(plain_user, "fr")
    page = client.get(f"/crm/actions/{weekly.pk}/").content.decode()
    delete_card = page[page.rindex("<form", 0, page.index('id="occurrence-delete"')) :]
    assert 'name="scope" value="all"' in delete_card
    assert 'value="this"' not in delete_card and 'value="following"' not in delete_card
    data = _FormReader(delete_card.replace("occurrence-delete", "action-form", 1)).data()
    asked = client.post(f"/crm/actions/{weekly.pk}/occurrence/delete/", data)
    assert asked.status_code == 200 and "Stand-up" in asked.content.decode()
    assert len(all_starts(plain_user)) == 10
    confirmed = _FormReader(asked.content.decode().replace('class="card narrow"', 'class="action-form"', 1)).data()
    assert client.post(f"/crm/actions/{weekly.pk}/occurrence/delete/", confirmed).status_code == 302
    assert not Action.objects.exists()


def test_the_series_page_never_deletes_its_first_occurrence_alone(plain_user, weekly):
    _full()
    client = _client(plain_user)
    # What the old page posted: "this occurrence", without saying which one.
    answer = client.post(f"/crm/actions/{weekly.pk}/occurrence/delete/", {"scope": "this", "confirm": "1"})
    assert answer.status_code == 400 and "Choose the occurrence to delete." in answer.content.decode()
    assert reload(weekly).exdates == [] and len(all_starts(plain_user)) == 10


def test_deleting_one_occurrence_from_its_page_deletes_exactly_that_one_once_confirmed(plain_user, weekly):
    _full()
    client = _client(plain_user)
    url = f"/crm/actions/{weekly.pk}/occurrence/delete/"
    data = {"occurrence": "2027-03-15T08:00:00+00:00", "scope": "this"}
    assert client.post(url, data).status_code == 200
    assert client.post(url, {**data, "confirm": "1"}).status_code == 302
    days = [s.day for s in all_starts(plain_user)]
    assert 15 not in days and len(days) == 9


def test_the_whole_series_is_deleted_even_after_its_first_occurrence_was(plain_user, weekly):
    _full()
    client = _client(plain_user)
    url = f"/crm/actions/{weekly.pk}/occurrence/delete/"
    first = {"occurrence": "2027-03-01T08:00:00+00:00", "scope": "this", "confirm": "1"}
    assert client.post(url, first).status_code == 302
    assert client.post(url, {"scope": "all", "confirm": "1"}).status_code == 302
    assert not Action.objects.exists()


@pytest.mark.parametrize("moment", ["2027-03-15T08:00:00+00:00", "x", ""])
def test_the_occurrence_delete_route_refuses_a_plain_action(plain_user, meeting, moment):
    _full()
    plain = factories.action(
        plain_user,
        action_type=meeting,
        subject="Once",
        start=brussels(2027, 3, 15, 9, 0),
        end=brussels(2027, 3, 15, 10),
    )
    answer = _client(plain_user, "fr").post(
        f"/crm/actions/{plain.pk}/occurrence/delete/", {"occurrence": moment, "scope": "this", "confirm": "1"}
    )
    assert answer.status_code == 400 and 'role="alert"' in answer.content.decode()
    assert Action.objects.filter(pk=plain.pk).exists()


@pytest.mark.parametrize(
    ("moment", "message"), [("x", "does not exist"), ("2027-03-16T08:00:00Z", "not an occurrence")]
)
def test_an_unknown_occurrence_to_delete_is_a_message_not_a_silent_redirect(plain_user, weekly, moment, message):
    _full()
    answer = _client(plain_user).post(
        f"/crm/actions/{weekly.pk}/occurrence/delete/", {"occurrence": moment, "scope": "this", "confirm": "1"}
    )
    assert answer.status_code == 400 and message in answer.content.decode()
    assert reload(weekly).version == weekly.version


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:00+14:00", "2027-03-16T08:00:00Z"])
def test_an_occurrence_out_of_range_or_not_in_the_series_is_refused_never_a_server_error(plain_user, weekly, moment):
    from rest_framework.test import APIClient

    _full()
    api = APIClient()
    api.force_authenticate(plain_user)
    body = {"original_start": moment, "scope": "this", "version": weekly.version, "values": {"subject": "X"}}
    changed = api.post(f"/api/v1/actions/{weekly.pk}/occurrence/", body, format="json")
    assert changed.status_code == 400 and "occurrence" in changed.json()["errors"]
    deleted = api.post(
        f"/api/v1/actions/{weekly.pk}/occurrence/delete/", {"original_start": moment, "scope": "all"}, format="json"
    )
    assert deleted.status_code == 400
    page = _client(plain_user)
    assert page.get(f"/crm/actions/{weekly.pk}/?occurrence={moment.replace('+', '%2B')}").status_code == 404
    assert reload(weekly).version == weekly.version and Action.objects.count() == 1


def test_a_new_action_form_offers_the_types_default_reminder(plain_user, meeting):
    _full()
    meeting.reminder_minutes = 120
    meeting.position = 0
    meeting.save()
    from suivi.activities.models import ActionType as Types

    Types.objects.exclude(pk=meeting.pk).update(position=5)
    page = _client(plain_user).get("/crm/actions/new/").content.decode()
    assert 'name="reminder_1_amount" value="2"' in page
    assert f"&quot;{meeting.pk}&quot;: [2, &quot;hours&quot;]" in page


def test_an_occurrence_moved_by_its_start_alone_keeps_its_length(plain_user, weekly):
    change(plain_user, weekly, brussels(2027, 3, 15, 9, 0), "this", start=brussels(2027, 3, 15, 15, 0))
    assert week_of(plain_user, brussels(2027, 3, 15)) == [("Stand-up", "Mon 15:00", "15:30")]


def test_the_history_shows_exdates_rules_reminders_and_times_readably(plain_user, weekly):
    _full()
    services.update_action(
        acting_user=plain_user,
        action=weekly,
        values={"rrule": "FREQ=WEEKLY;BYDAY=MO;UNTIL=20270601T215959Z"},
        reminders=[15, 60],
        expected_version=weekly.version,
    )
    occurrences.delete_occurrence(
        acting_user=plain_user, action=weekly, original_start=brussels(2027, 3, 15, 9, 0), scope="this"
    )
    change(
        plain_user,
        reload(weekly),
        brussels(2027, 3, 1, 9, 0),
        "all",
        expected_version=LATEST,
        start=brussels(2027, 3, 1, 10, 0),
        end=brussels(2027, 3, 1, 10, 30),
    )
    page = _client(plain_user, "fr").get(f"/crm/actions/{weekly.pk}/").content.decode()
    history = page[page.index("data-history") :]
    assert "— → 15 min, 1 h" in history
    assert "Toutes les semaines, 10 fois → Toutes les semaines, jusqu’au 01/06/2027" in history
    assert "— → 15/03/2027 09:00" in history  # the excluded occurrence, in the company's zone
    assert "15/03/2027 09:00 → 15/03/2027 10:00" in history  # moved with the series
    assert "01/03/2027 09:00 → 01/03/2027 10:00" in history
    for raw in ("FREQ=", "UNTIL=", "+00:00", "+01:00", "T08:00", "['", "[]"):
        assert raw not in history, raw


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("exdates", "[]", ""),
        ("exdates", "['2026-11-30T08:00:00+00:00']", "30/11/2026 09:00"),
        ("exdates", ["2026-11-30T08:00:00+00:00", "2026-12-07T08:00:00+00:00"], "30/11/2026 09:00; 07/12/2026 09:00"),
        ("start", "2026-11-30 08:00:00+00:00", "30/11/2026 09:00"),
        ("end", "2026-07-01T09:00:00+01:00", "01/07/2026 10:00"),
        ("reminders", [15, 60, 1440], "15 min, 1 h, 1 day before"),
        ("rrule", "FREQ=MONTHLY;BYDAY=1TU", "Monthly"),
        ("due_date", "2026-11-30", "30/11/2026"),
        ("exdates", "not a list", "not a list"),  # a value of another shape: shown as it was
    ],
)
def test_recorded_values_of_actions_read_in_the_history(db, key, value, shown):
    from suivi.core import audit

    assert audit._shown(Action, key, value) == shown
