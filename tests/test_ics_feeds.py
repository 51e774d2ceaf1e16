"""ICS feeds (issue 12, point 5): a secret, revocable address whose calendar is valid RFC 5545 —
parsed back with ``icalendar``, expanded with ``recurring_ical_events`` to the same occurrences
as the agenda, and accepted by a real CalDAV server (Radicale, started here)."""

import http.client
import socket
import subprocess
import sys
import time as clock
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
import recurring_ical_events
from django.test import Client
from django.utils import timezone

from suivi.activities import services as action_services
from suivi.activities.models import Action
from suivi.agenda import services
from suivi.agenda.models import CalendarFeed
from suivi.agenda.queries import agenda_entries
from suivi.core.models import CompanySettings

from . import factories
from .agenda_world import BRUSSELS, m2, meeting, otto
from .conftest import logged_in, make_user

FIXTURES = (m2, meeting, otto)  # the shared fixtures this module's tests take


@pytest.fixture
def olive(db):
    return make_user("olive", first_name="Olive", last_name="Martin")


def soon(days: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time ``days`` from today in Brussels (the feed covers a year back, two ahead)."""
    day = timezone.localdate() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BRUSSELS)


def make_exception(user, master: Action, original: datetime, **values) -> Action:
    """One occurrence of ``master`` edited on its own: listed in the master's exdates and
    recorded as an action of its own with ``series`` and ``recurrence_id``."""
    original = original.astimezone(UTC)
    master = Action.objects.get(pk=master.pk)
    action_services.update_action(
        acting_user=user,
        action=master,
        values={"exdates": [*master.exdates, original.isoformat()]},
        expected_version=master.version,
    )
    return factories.action(user, action_type=master.action_type, series=master, recurrence_id=original, **values)


def remove_occurrence(user, master: Action, original: datetime) -> None:
    master = Action.objects.get(pk=master.pk)
    action_services.update_action(
        acting_user=user,
        action=master,
        values={"exdates": [*master.exdates, original.astimezone(UTC).isoformat()]},
        expected_version=master.version,
    )


@pytest.fixture
def agenda(olive, otto, meeting):
    """Olive's agenda: a plain meeting, a weekly series with one occurrence removed and one moved,
    and Otto's private action Olive takes part in."""
    plain = factories.action(
        olive,
        action_type=meeting,
        subject="Lunch with Alpha",
        start=soon(3, 12),
        end=soon(3, 13, 30),
        description="<p>Bring the <b>contract</b></p>",
    )
    series = factories.action(
        olive,
        action_type=meeting,
        subject="Stand-up",
        start=soon(-14, 9),
        end=soon(-14, 9, 15),
        rrule="FREQ=WEEKLY;COUNT=20",
    )
    remove_occurrence(olive, series, soon(7, 9))
    moved = make_exception(
        olive, series, soon(14, 9), subject="Stand-up (late)", start=soon(14, 11), end=soon(14, 11, 30)
    )
    secret = factories.action(
        otto, action_type=meeting, subject="Job interview", start=soon(5, 15), end=soon(5, 16), private=True
    )
    secret.participants.set([olive])
    return {"plain": plain, "series": series, "moved": moved, "secret": secret}


def subscribe(user, view=None) -> str:
    _feed, token = services.create_feed(acting_user=user, view=view)
    return f"/ics/{token}.ics"


def parsed(response) -> icalendar.Calendar:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/calendar")
    return icalendar.Calendar.from_ical(response.content)


def test_the_feed_expands_to_the_same_occurrences_as_the_agenda(m2, olive, agenda):
    calendar = parsed(Client().get(subscribe(olive)))
    start, end = soon(-30, 0), soon(200, 0)
    from_feed = sorted(
        (event["DTSTART"].dt.astimezone(UTC), event["DTEND"].dt.astimezone(UTC), str(event["SUMMARY"]))
        for event in recurring_ical_events.of(calendar).between(start, end)
    )
    from_agenda = sorted(
        (e.start, e.end, "Busy" if e.busy else e.subject) for e in agenda_entries(olive, [olive.pk], start, end)
    )
    assert from_feed == from_agenda
    assert len(from_agenda) == 20 - 1 + 2  # the series less the removed one, the lunch, the busy block
    assert ("Stand-up (late)" in {s for _a, _b, s in from_feed}) and soon(14, 9).astimezone(UTC) not in {
        a for a, _b, _s in from_feed
    }


def test_the_feed_is_valid_rfc_5545_with_a_timezone_stable_uids_and_a_series_written_once(m2, olive, agenda, settings):
    settings.SUIVI_BASE_URL = "https://crm.acme.test"
    calendar = parsed(Client().get(subscribe(olive)))
    assert str(calendar["VERSION"]) == "2.0"
    assert calendar["PRODID"]
    assert str(calendar["X-WR-CALNAME"]) == "Suivi — Olive Martin"
    zones = calendar.walk("VTIMEZONE")
    assert [str(z["TZID"]) for z in zones] == ["Europe/Brussels"]
    events = calendar.walk("VEVENT")
    series = agenda["series"]
    masters = [e for e in events if "RRULE" in e]
    assert len(masters) == 1
    master = masters[0]
    assert str(master["UID"]) == f"action-{series.pk}@crm.acme.test"
    assert master["DTSTART"].params["TZID"] == "Europe/Brussels"
    assert master["DTSTART"].dt.strftime("%H:%M") == "09:00"
    assert master["RRULE"]["FREQ"] == ["WEEKLY"] and master["RRULE"]["COUNT"] == [20]
    exdates = [d.dt.astimezone(UTC) for exdate in [master["EXDATE"]] for d in exdate.dts]
    assert exdates == [soon(7, 9).astimezone(UTC)]  # the moved occurrence is NOT an EXDATE
    exceptions = [e for e in events if "RECURRENCE-ID" in e]
    assert len(exceptions) == 1
    assert str(exceptions[0]["UID"]) == str(master["UID"])
    assert exceptions[0]["RECURRENCE-ID"].dt.astimezone(UTC) == soon(14, 9).astimezone(UTC)
    assert exceptions[0]["DTSTART"].dt.astimezone(UTC) == soon(14, 11).astimezone(UTC)
    lunch = next(e for e in events if str(e["SUMMARY"]) == "Lunch with Alpha")
    assert str(lunch["DESCRIPTION"]) == "Bring the contract"
    assert str(lunch["UID"]) == f"action-{agenda['plain'].pk}@crm.acme.test"


def test_sequence_bumps_after_an_edit_and_the_uid_stays(m2, olive, agenda):
    url = subscribe(olive)
    client = Client()

    def lunch():
        return next(
            e
            for e in parsed(client.get(url)).walk("VEVENT")
            if str(e["UID"]).startswith(f"action-{agenda['plain'].pk}@")
        )

    before = lunch()
    plain = Action.objects.get(pk=agenda["plain"].pk)
    action_services.update_action(
        acting_user=olive, action=plain, values={"subject": "Lunch moved"}, expected_version=plain.version
    )
    after = lunch()
    assert str(after["UID"]) == str(before["UID"])
    assert int(after["SEQUENCE"]) == int(before["SEQUENCE"]) + 1
    assert str(after["SUMMARY"]) == "Lunch moved"


def test_someone_elses_private_action_is_a_busy_block_only(m2, olive, otto, agenda):
    calendar = parsed(Client().get(subscribe(olive)))
    busy = next(e for e in calendar.walk("VEVENT") if str(e["UID"]).startswith(f"action-{agenda['secret'].pk}@"))
    assert str(busy["SUMMARY"]) == "Busy"
    assert str(busy["CLASS"]) == "PRIVATE"
    assert "DESCRIPTION" not in busy and "LOCATION" not in busy and "CATEGORIES" not in busy
    assert b"Job interview" not in Client().get(subscribe(olive)).content
    # Otto's own feed shows his action in full.
    assert b"Job interview" in Client().get(subscribe(otto)).content


def test_a_saved_view_feed_shows_its_users_and_cannot_be_made_of_someone_elses_own_view(m2, olive, otto, agenda):
    view = services.save_view(acting_user=otto, view=None, values={"name": "Otto only", "shared": False}, users=[otto])
    with pytest.raises(services.PermissionDenied):
        services.create_feed(acting_user=olive, view=view)
    shared = services.save_view(acting_user=otto, view=None, values={"name": "Team", "shared": True}, users=[otto])
    calendar = parsed(Client().get(subscribe(olive, shared)))
    assert str(calendar["X-WR-CALNAME"]) == "Suivi — Team"
    summaries = {str(e["SUMMARY"]) for e in calendar.walk("VEVENT")}
    assert summaries == {"Busy"}  # Otto's only action is private


def test_a_revoked_or_unknown_feed_is_a_plain_404_that_reveals_nothing(m2, olive, agenda):
    url = subscribe(olive)
    feed = CalendarFeed.objects.get(owner=olive)
    client = Client()
    assert client.get(url).status_code == 200
    services.revoke_feed(acting_user=olive, feed=feed)
    revoked = client.get(url)
    unknown = client.get("/ics/not-a-token.ics")
    assert revoked.status_code == unknown.status_code == 404
    assert revoked.content == unknown.content == b""
    assert revoked["Content-Type"] == unknown["Content-Type"]


def test_a_deactivated_owner_or_the_crm_at_m1_gives_404(m2, olive, agenda):
    url = subscribe(olive)
    CompanySettings.objects.filter(pk=1).update(crm_level="basic")
    assert Client().get(url).status_code == 404
    CompanySettings.objects.filter(pk=1).update(crm_level="full")
    assert Client().get(url).status_code == 200
    type(olive).objects.filter(pk=olive.pk).update(is_active=False)
    assert Client().get(url).status_code == 404


def test_polling_clients_get_304_with_the_etag_or_the_last_modified_date(m2, olive, agenda):
    url = subscribe(olive)
    client = Client()
    first = client.get(url)
    etag, modified = first["ETag"], first["Last-Modified"]
    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=modified).status_code == 304
    plain = Action.objects.get(pk=agenda["plain"].pk)
    action_services.update_action(
        acting_user=olive, action=plain, values={"subject": "Changed"}, expected_version=plain.version
    )
    changed = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_the_feeds_page_shows_the_address_once_and_revokes_it(m2, olive, agenda):
    client = logged_in(olive)
    created = client.post("/crm/feeds/", {"view": ""})
    assert created.status_code == 201
    address = created.context["new_url"]
    assert "/ics/" in address
    page = client.get("/crm/feeds/")
    assert address not in page.content.decode()  # shown once only
    path = address.split("testserver", 1)[1]
    assert Client().get(path).status_code == 200
    feed = CalendarFeed.objects.get(owner=olive)
    assert client.post(f"/crm/feeds/{feed.pk}/revoke/").status_code == 302
    assert Client().get(path).status_code == 404


# --- a real CalDAV server ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def radicale(tmp_path):
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "radicale",
            "--server-hosts",
            f"127.0.0.1:{port}",
            "--storage-filesystem-folder",
            str(tmp_path / "collections"),
            "--auth-type",
            "none",
            "--rights-type",
            "authenticated",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = clock.monotonic() + 20
    while clock.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None:
                pytest.fail(process.stderr.read().decode())
            clock.sleep(0.1)
    yield port
    process.terminate()
    process.wait(timeout=10)


def _request(port, method, path, body=b"", headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(method, path, body=body, headers={"Authorization": "Basic b2xpdmU6eA==", **(headers or {})})
    response = connection.getresponse()
    return response.status, response.read()


def test_a_real_caldav_server_accepts_every_event_of_the_feed(m2, olive, agenda, radicale):
    calendar = parsed(Client().get(subscribe(olive)))
    status, _body = _request(radicale, "MKCALENDAR", "/olive/suivi/")
    assert status == 201
    zones = calendar.walk("VTIMEZONE")
    by_uid: dict[str, list] = {}
    for event in calendar.walk("VEVENT"):
        by_uid.setdefault(str(event["UID"]), []).append(event)
    for uid, events in by_uid.items():
        resource = icalendar.Calendar()
        resource.add("prodid", str(calendar["PRODID"]))
        resource.add("version", "2.0")
        for component in [*zones, *events]:
            resource.add_component(component)
        status, body = _request(
            radicale,
            "PUT",
            f"/olive/suivi/{uid.split('@')[0]}.ics",
            resource.to_ical(),
            {"Content-Type": "text/calendar; charset=utf-8"},
        )
        assert status in (201, 204), body
    query = (
        b'<?xml version="1.0" encoding="utf-8"?><C:calendar-query xmlns:D="DAV:" '
        b'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop>'
        b'<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/></C:comp-filter></C:filter>'
        b"</C:calendar-query>"
    )
    status, body = _request(
        radicale, "REPORT", "/olive/suivi/", query, {"Depth": "1", "Content-Type": "application/xml"}
    )
    assert status == 207
    for uid in by_uid:
        assert uid.encode() in body
    assert body.count(b"BEGIN:VEVENT") == len(calendar.walk("VEVENT"))
    status, body = _request(radicale, "GET", f"/olive/suivi/action-{agenda['series'].pk}.ics")
    assert status == 200
    back = icalendar.Calendar.from_ical(body)
    assert {str(e.get("RECURRENCE-ID") is not None) for e in back.walk("VEVENT")} == {"True", "False"}


def test_a_deleted_action_moves_the_last_modified_date_so_polling_clients_do_not_keep_it(m2, olive, agenda):
    url = subscribe(olive)
    client = Client()
    first = client.get(url)
    modified = first["Last-Modified"]
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=modified).status_code == 304
    CalendarFeed.objects.filter(owner=olive).update(
        content_changed_at=timezone.now().replace(microsecond=0) - timedelta(hours=1)
    )  # as if the first poll was an hour ago
    client.get(url)  # the same content: its date stays
    stale = CalendarFeed.objects.get(owner=olive).content_changed_at
    Action.objects.filter(pk=agenda["plain"].pk).delete()  # leaves no newer updated_at behind
    from django.utils.http import http_date

    again = client.get(url, HTTP_IF_MODIFIED_SINCE=http_date(stale.timestamp()))
    assert again.status_code == 200
    assert b"Lunch with Alpha" not in again.content


def test_a_head_request_is_answered_like_a_get_without_a_body(m2, olive, agenda):
    url = subscribe(olive)
    response = Client().head(url)
    assert response.status_code == 200
    assert response["ETag"]


def test_subjects_and_descriptions_come_back_exactly_whatever_their_characters_and_length(m2, olive, meeting):
    """The events are written as content lines by Suivi: TEXT escaping (backslash, semicolon,
    comma, newline) and folding at 75 octets — never inside an accented letter — read back by a
    calendar library give the very text typed."""
    subject = "Réunion; budget, «\u00a0phase 2\u00a0» \\ Zoë — " + "é" * 60 + " 🗓 fin"
    party = factories.party(name="Société, Dupont; & Fils")
    factories.action(
        olive,
        action_type=meeting,
        subject=subject[:200],
        party=party,
        description="<p>Ligne 1, avec virgule</p><p>Ligne 2; point-virgule</p>",
        start=soon(3, 10),
        end=soon(3, 11),
    )
    response = Client().get(subscribe(olive))
    assert response.status_code == 200
    body = response.content
    assert all(len(line) <= 75 for line in body.split(b"\r\n")), "a content line longer than 75 octets"
    (event,) = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert str(event["SUMMARY"]) == subject[:200]
    assert str(event["DESCRIPTION"]) == "Société, Dupont; & Fils\nLigne 1, avec virgule\nLigne 2; point-virgule"
    assert event.decoded("DTSTART") == soon(3, 10)
