"""Reminders of actions (issue 12, point 3): rows created once per reminder, occurrence and
person, claimed atomically, e-mailed once by the worker through the company's SMTP server, late
ones marked late."""

import threading
from datetime import UTC, timedelta

import pytest
from django.db import connection

from suivi.activities import occurrences, reminders, services
from suivi.activities.models import DeliveryState, Reminder, ReminderDelivery
from suivi.agenda import reminders_mail
from suivi.core.models import CompanySettings
from suivi.mailing.models import OutgoingServer, Security

from . import factories
from .agenda_world import brussels, meeting
from .conftest import make_user
from .mailservers import smtp_server  # noqa: F401  (fixture)

FIXTURES = (meeting,)  # the shared fixtures this module's tests take


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    settings.SUIVI_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]


@pytest.fixture(autouse=True)
def _m2(db):
    CompanySettings.objects.filter(pk=1).update(crm_level="full")


@pytest.fixture
def olive(db):
    return make_user("olive", email="olive@acme.test", first_name="Olive")


@pytest.fixture
def mail_server(db, smtp_server):  # noqa: F811
    OutgoingServer.objects.update_or_create(
        pk=1,
        defaults={
            "host": "127.0.0.1",
            "port": smtp_server.port,
            "security": Security.NONE,
            "from_address": "crm@acme.test",
        },
    )
    return smtp_server


def meeting_at(user, meeting, start, minutes=(15,), **values):
    return services.create_action(
        acting_user=user,
        values={"subject": "Client visit", "action_type": meeting, "followed_by": user, "start": start, **values},
        reminders=list(minutes),
    )


def sweep(now):
    """One turn of the worker: plan, then e-mail what is due."""
    reminders.plan(now)
    return reminders_mail.send_due(now)


def test_a_reminder_reaches_the_smtp_server_once_across_two_sweeps(olive, meeting, mail_server):
    meeting_at(olive, meeting, brussels(2027, 3, 10, 10, 0))
    reminders.plan(brussels(2027, 3, 10, 9, 40))
    assert sweep(brussels(2027, 3, 10, 9, 45)) == 1
    assert sweep(brussels(2027, 3, 10, 9, 46)) == 0
    assert len(mail_server.messages) == 1
    recipients, message = mail_server.messages[0]
    assert recipients == ["olive@acme.test"]
    assert "Client visit" in message["Subject"] and "10/03/2027 10:00" in message["Subject"]
    assert "late" not in message["Subject"].lower()
    row = ReminderDelivery.objects.get()
    assert row.state == DeliveryState.SENT and not row.late


def test_nothing_is_sent_before_its_time(olive, meeting, mail_server):
    meeting_at(olive, meeting, brussels(2027, 3, 10, 10, 0))
    assert sweep(brussels(2027, 3, 10, 9, 40)) == 0
    assert sweep(brussels(2027, 3, 10, 9, 44)) == 0
    assert mail_server.messages == []


def test_each_occurrence_of_a_weekly_series_is_reminded(olive, meeting, mail_server):
    meeting_at(olive, meeting, brussels(2027, 3, 1, 9, 0), rrule="FREQ=WEEKLY;BYDAY=MO", minutes=(60,))
    for week in range(4):
        monday = brussels(2027, 3, 1, 7, 50) + timedelta(days=7 * week)
        reminders.plan(monday)
        sweep(monday + timedelta(minutes=15))
    subjects = [m["Subject"] for _, m in mail_server.messages]
    assert len(subjects) == 4
    # 09:00 wall-clock every week, across the change to summer time on 28 March.
    assert [s.split(" at ")[1] for s in subjects] == [
        "01/03/2027 09:00",
        "08/03/2027 09:00",
        "15/03/2027 09:00",
        "22/03/2027 09:00",
    ]
    reminders.plan(brussels(2027, 3, 29, 7, 50))
    sweep(brussels(2027, 3, 29, 8, 5))
    assert mail_server.messages[-1][1]["Subject"].endswith("29/03/2027 09:00")


def test_the_follower_and_the_participants_each_get_it(olive, meeting, mail_server):
    paul = make_user("paul", email="paul@acme.test")
    action = meeting_at(olive, meeting, brussels(2027, 3, 10, 10, 0))
    action.participants.add(paul)
    reminders.plan(brussels(2027, 3, 10, 9, 40))
    sweep(brussels(2027, 3, 10, 9, 46))
    assert sorted(r[0][0] for r in mail_server.messages) == ["olive@acme.test", "paul@acme.test"]


def test_a_reminder_due_while_the_worker_was_down_is_sent_once_and_marked_late(olive, meeting, mail_server):
    meeting_at(olive, meeting, brussels(2027, 3, 10, 10, 0))
    reminders.plan(brussels(2027, 3, 10, 9, 0))  # the worker's last turn before it stopped
    assert sweep(brussels(2027, 3, 10, 11, 30)) == 1  # back after the meeting
    assert sweep(brussels(2027, 3, 10, 11, 31)) == 0
    assert len(mail_server.messages) == 1
    message = mail_server.messages[0][1]
    assert message["Subject"].startswith("Late reminder")
    assert "late" in message.get_content()
    assert ReminderDelivery.objects.get().late


def test_a_new_action_of_a_type_with_a_default_reminder_gets_it(olive, meeting):
    meeting.reminder_minutes = 30
    meeting.save()
    action = factories.action(olive, action_type=meeting, start=brussels(2027, 3, 10, 10, 0))
    assert list(action.reminders.values_list("minutes_before", flat=True)) == [30]
    without = factories.action(olive, action_type=factories.action_type("Note"), start=brussels(2027, 3, 10, 10, 0))
    assert not without.reminders.exists()


def test_reminders_are_kept_and_changed_through_update_action(olive, meeting):
    action = meeting_at(olive, meeting, brussels(2027, 3, 10, 10, 0), minutes=(15,))
    services.update_action(
        acting_user=olive, action=action, values={}, reminders=[60, 1440], expected_version=action.version
    )
    assert sorted(Reminder.objects.filter(action=action).values_list("minutes_before", flat=True)) == [60, 1440]


def test_two_concurrent_claims_never_take_the_same_row(olive, meeting):
    for hour in range(8, 18):
        meeting_at(olive, meeting, brussels(2027, 3, 10, hour, 0))
    now = brussels(2027, 3, 10, 20, 0)
    reminders.plan_between(brussels(2027, 3, 10, 0, 0), now)
    assert ReminderDelivery.objects.count() == 10
    first_lease, first = reminders.claim(now, limit=6)
    second_lease, second = reminders.claim(now, limit=100)
    assert len(first) == 6 and len(second) == 4
    assert not {r.pk for r in first} & {r.pk for r in second}


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_in_threads_send_each_reminder_once(mail_server, meeting):
    olive = make_user("olive2", email="olive2@acme.test")
    for minute in range(0, 60, 3):
        meeting_at(olive, meeting, brussels(2027, 3, 10, 10, minute))
    now = brussels(2027, 3, 10, 11, 0)
    reminders.plan_between(brussels(2027, 3, 10, 0, 0), now)
    errors = []

    def run():
        try:
            reminders_mail.send_due(now)
        except Exception as e:  # noqa: BLE001 — reported below
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    subjects = [m["Subject"] for _, m in mail_server.messages]
    assert len(subjects) == 20 == len(set(subjects))


def test_a_killed_claim_is_taken_again_after_its_lease_but_a_handed_over_row_is_not_resent(olive, meeting, mail_server):
    meeting_at(olive, meeting, brussels(2027, 3, 10, 10, 0))
    meeting_at(olive, meeting, brussels(2027, 3, 10, 11, 0), subject="Second")
    now = brussels(2027, 3, 10, 12, 0)
    reminders.plan_between(brussels(2027, 3, 10, 0, 0), now)
    lease, rows = reminders.claim(now)
    assert len(rows) == 2
    reminders.hand_over(rows[0], lease)  # …and the worker dies here, after the hand-over
    assert sweep(now + timedelta(minutes=1)) == 0  # the lease still holds
    assert sweep(now + reminders.LEASE + timedelta(minutes=1)) == 1
    assert [m["Subject"] for _, m in mail_server.messages] == [
        "Late reminder: Second at 10/03/2027 11:00",
    ]
    assert ReminderDelivery.objects.get(pk=rows[0].pk).state == DeliveryState.UNKNOWN


def test_an_unreachable_mail_server_keeps_the_reminder_for_later(olive, meeting, mail_server):
    meeting_at(olive, meeting, brussels(2027, 3, 10, 10, 0))
    OutgoingServer.objects.filter(pk=1).update(port=1)
    now = brussels(2027, 3, 10, 9, 46)
    reminders.plan_between(brussels(2027, 3, 10, 0, 0), now)
    assert reminders_mail.send_due(now) == 0
    assert ReminderDelivery.objects.get().state == DeliveryState.PENDING
    OutgoingServer.objects.filter(pk=1).update(port=mail_server.port)
    assert reminders_mail.send_due(now + reminders.RETRY + timedelta(seconds=1)) == 1
    assert len(mail_server.messages) == 1


def test_a_cancelled_action_is_not_reminded(olive, meeting, mail_server):
    action = meeting_at(olive, meeting, brussels(2027, 3, 10, 10, 0))
    services.set_action_status(acting_user=olive, action=action, status="cancelled")
    reminders.plan_between(brussels(2027, 3, 10, 0, 0), brussels(2027, 3, 10, 12, 0))
    assert not ReminderDelivery.objects.exists()


def test_an_exception_of_a_series_is_reminded_at_its_own_time(olive, meeting, mail_server):
    series = meeting_at(olive, meeting, brussels(2027, 3, 1, 9, 0), rrule="FREQ=WEEKLY;BYDAY=MO", minutes=(15,))
    occurrences.change_occurrence(
        acting_user=olive,
        action=series,
        original_start=brussels(2027, 3, 8, 9, 0),
        scope="this",
        values={"start": brussels(2027, 3, 8, 14, 0), "subject": "Moved visit"},
        expected_version=series.version,
    )
    reminders.plan_between(brussels(2027, 3, 8, 0, 0), brussels(2027, 3, 8, 23, 0))
    rows = list(ReminderDelivery.objects.values_list("occurrence_start", flat=True))
    assert rows == [brussels(2027, 3, 8, 14, 0).astimezone(UTC)]


def test_the_notification_area_counts_unread_due_reminders_of_its_user_only(olive, meeting):
    paul = make_user("paul")
    meeting_at(olive, meeting, brussels(2027, 3, 10, 10, 0))
    now = brussels(2027, 3, 10, 9, 50)
    reminders.plan_between(brussels(2027, 3, 10, 0, 0), now)
    assert reminders.unread_count(olive, now) == 1
    assert reminders.unread_count(paul, now) == 0
    assert reminders.mark_read(acting_user=paul) == 0
    assert reminders.unread_count(olive, now) == 1
    assert reminders.mark_read(acting_user=olive) == 1
    assert reminders.unread_count(olive, now) == 0


def test_at_level_m1_no_reminder_is_planned_nor_sent(olive, meeting, mail_server):
    meeting_at(olive, meeting, brussels(2027, 3, 10, 10, 0))
    CompanySettings.objects.filter(pk=1).update(crm_level="basic")
    reminders.plan(brussels(2027, 3, 10, 9, 40))
    assert sweep(brussels(2027, 3, 10, 9, 46)) == 0
    assert not ReminderDelivery.objects.exists() and mail_server.messages == []
    assert Reminder.objects.count() == 1  # kept for when the company goes back to M2


def test_a_meeting_written_after_its_reminder_time_is_reminded_at_once_not_late(olive, meeting, mail_server):
    from django.utils import timezone

    now = timezone.now()
    reminders.plan(now)  # the last sweep
    services.create_action(
        acting_user=olive,
        values={"subject": "Soon", "action_type": meeting, "followed_by": olive, "start": now + timedelta(minutes=10)},
        reminders=[15],
    )
    assert sweep(now + timedelta(minutes=1)) == 1
    assert sweep(now + timedelta(minutes=2)) == 0
    subject = mail_server.messages[0][1]["Subject"]
    assert subject.startswith("Reminder: Soon") and not ReminderDelivery.objects.get().late


def test_splitting_a_series_just_after_its_reminder_does_not_remind_again(olive, meeting, mail_server):
    from django.utils import timezone

    now = timezone.now().replace(second=0, microsecond=0)
    series = meeting_at(
        olive, meeting, now + timedelta(minutes=10) - timedelta(days=7), rrule="FREQ=DAILY", minutes=(15,)
    )
    reminders.plan(now - timedelta(minutes=6))
    assert sweep(now - timedelta(minutes=5)) == 1  # the reminder of today's occurrence, 15 minutes before
    occurrences.change_occurrence(
        acting_user=olive,
        action=series,
        original_start=now + timedelta(minutes=10),
        scope="following",
        values={"subject": "New room"},
        expected_version=series.version,
    )
    assert sweep(now) == 0
    assert sweep(now + timedelta(minutes=1)) == 0
    assert len(mail_server.messages) == 1


def _page_client(user, language="fr"):
    from django.test import Client

    client = Client()
    client.force_login(user)
    session = client.session
    session["suivi_language"] = language
    session.save()
    return client


@pytest.mark.parametrize(
    ("row", "amount", "unit"),
    [(1, "-5", "minutes"), (2, "-5", "minutes"), (3, "999999999", "minutes"), (2, "40", "days")],
)
def test_a_refused_reminder_is_shown_beside_its_row_and_keeps_what_was_typed(olive, meeting, row, amount, unit):
    from .test_recurrence_edits import _FormReader

    client = _page_client(olive)
    page = client.get("/crm/actions/new/").content.decode()
    data = _FormReader(page).data(
        subject="Reminded",
        action_type=meeting.pk,
        start="2027-03-09T10:00",
        **{f"reminder_{row}_amount": amount, f"reminder_{row}_unit": unit},
    )
    answer = client.post("/crm/actions/new/", data)
    assert answer.status_code == 400
    html = answer.content.decode()
    assert f'id="id_reminder_{row}_amount_error"' in html
    assert "Un rappel se situe entre 0 minute et 4 semaines avant le début." in html
    assert f'name="reminder_{row}_amount" value="{amount}"' in html
    assert not Reminder.objects.exists()


@pytest.mark.parametrize("minutes", [-5, 999999999, 366 * 1440, "x", None])
def test_the_service_refuses_an_absurd_reminder_with_a_message(olive, meeting, minutes):
    from suivi.core.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        services.create_action(
            acting_user=olive,
            values={"subject": "R", "action_type": meeting, "followed_by": olive, "start": brussels(2027, 3, 9, 10)},
            reminders=[minutes],
        )
    assert "4" in refused.value.errors["reminders"]
    assert not Reminder.objects.exists()


def test_the_bell_is_an_icon_every_browser_can_draw_with_a_name(olive):
    """An emoji bell showed as an empty box with Debian's default fonts: an inline SVG instead,
    without a style attribute (CSP), the link named for screen readers."""
    html = _page_client(olive, "fr").get("/crm/reminders/bell/").content.decode()
    assert "🔔" not in html
    assert "<svg" in html and 'aria-hidden="true"' in html and "style=" not in html
    assert 'aria-label="Rappels' in html
