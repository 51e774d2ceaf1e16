"""Browser flows of issue 12, point 2, in French: one occurrence of a weekly series opened on the
action page is moved for *this occurrence* only (the others keep their time); a repeat set with
the form's controls is saved, and the action reopened and saved unchanged keeps its rule."""

import importlib
import json
from datetime import timedelta

import pytest
from django.apps import apps
from playwright.sync_api import expect

from suivi.activities.models import Action
from suivi.agenda.queries import agenda_entries
from suivi.core.models import CompanySettings

from .. import factories
from ..agenda_world import BRUSSELS, brussels, meeting_type
from ..conftest import PASSWORD, make_user
from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(transactional_db):
    CompanySettings.objects.get_or_create(pk=1)
    CompanySettings.objects.filter(pk=1).update(crm_enabled=True, crm_level="full")
    importlib.import_module("suivi.activities.migrations.0002_default_types_and_stages").create(apps, None)
    user = make_user("olive", first_name="Olive", email="olive@acme.test")
    user.language = "fr"
    user.save()
    return {"user": user, "meeting": meeting_type()}


def local_times(user, start, days=7):
    entries = agenda_entries(user, [user.pk], start, start + timedelta(days=days))
    return [e.start.astimezone(BRUSSELS).strftime("%d/%m %H:%M") for e in entries]


def weekly_point(world):
    """The user's "Point hebdo": Mondays 09:00–09:30 from 1 March 2027, eight times."""
    return factories.action(
        world["user"],
        action_type=world["meeting"],
        subject="Point hebdo",
        start=brussels(2027, 3, 1, 9, 0),
        end=brussels(2027, 3, 1, 9, 30),
        rrule="FREQ=WEEKLY;BYDAY=MO;COUNT=8",
    )


def test_moving_one_occurrence_of_a_weekly_series_leaves_the_others_at_their_time(page, world):
    user = world["user"]
    series = weekly_point(world)
    log_in(page, "olive", PASSWORD)
    page.goto(f"/crm/actions/{series.pk}/?occurrence=2027-03-15T08:00:00Z")
    assert page.locator("html").get_attribute("lang") == "fr"
    expect(page.locator("#id_start")).to_have_value("2027-03-15T09:00")
    expect(page.locator("#occurrence-notice")).to_be_visible()
    page.fill("#id_start", "2027-03-15T14:00")
    page.fill("#id_end", "2027-03-15T14:30")
    page.check("#save-scope input[value=this]")
    page.click("form.action-form button.primary")
    page.wait_for_url(lambda url: "occurrence=" not in url)
    expect(page.locator("#id_start")).to_have_value("2027-03-15T14:00")
    assert local_times(user, brussels(2027, 3, 15)) == ["15/03 14:00"]
    assert local_times(user, brussels(2027, 3, 8)) == ["08/03 09:00"]
    assert local_times(user, brussels(2027, 3, 22)) == ["22/03 09:00"]
    assert len(local_times(user, brussels(2027, 2, 22), days=90)) == 8
    assert Action.objects.get(pk=series.pk).rrule == "FREQ=WEEKLY;BYDAY=MO;COUNT=8"


def test_a_repeat_set_in_the_form_is_kept_when_the_action_is_saved_unchanged(page, world):
    log_in(page, "olive", PASSWORD)
    page.goto("/crm/actions/new/")
    page.fill("#id_subject", "Comité")
    page.select_option("#id_action_type", str(world["meeting"].pk))
    page.fill("#id_start", "2027-03-09T10:00")
    page.fill("#id_end", "2027-03-09T11:00")
    page.select_option("#id_repeat_freq", "weekly")
    page.fill("#id_repeat_interval", "2")
    page.check("#repeat input[name=repeat_days][value=TU]")
    page.check("#repeat input[name=repeat_days][value=TH]")
    page.check("#repeat input[name=repeat_end][value=until]")
    page.fill("#id_repeat_until", "2027-06-30")
    page.fill("#id_reminder_1_amount", "1")
    page.select_option("#id_reminder_1_unit", "hours")
    page.click("form.action-form button.primary")
    page.wait_for_url(lambda url: "/new/" not in url)
    action = Action.objects.get(subject="Comité")
    assert action.rrule == "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;UNTIL=20270630T215959Z"
    assert list(action.reminders.values_list("minutes_before", flat=True)) == [60]
    # Reopened: the same controls show the rule; saved unchanged, nothing changes.
    page.goto(f"/crm/actions/{action.pk}/")
    expect(page.locator("#id_repeat_freq")).to_have_value("weekly")
    expect(page.locator("#id_repeat_interval")).to_have_value("2")
    expect(page.locator("#repeat input[name=repeat_days][value=TH]")).to_be_checked()
    expect(page.locator("#id_repeat_until")).to_have_value("2027-06-30")
    expect(page.locator("#id_reminder_1_unit")).to_have_value("hours")
    page.click("form.action-form button.primary")
    page.wait_for_load_state()
    after = Action.objects.get(pk=action.pk)
    assert after.rrule == action.rrule and after.version == action.version


# Notifications shown are recorded in localStorage, so that those of every page opened count.
FAKE_NOTIFICATIONS = """
window.Notification = function (title, options) {
  var shown = JSON.parse(window.localStorage.getItem("test.shown") || "[]");
  shown.push([title, options.body]);
  window.localStorage.setItem("test.shown", JSON.stringify(shown));
};
window.Notification.permission = "granted";
window.Notification.requestPermission = function () { return Promise.resolve("granted"); };
"""


def test_a_due_reminder_rings_the_bell_shows_a_notification_and_is_marked_read(page, world):
    from django.utils import timezone

    from suivi.activities import reminders
    from suivi.activities.models import ReminderDelivery

    user = world["user"]
    start = timezone.now() + timedelta(minutes=10)
    factories.action(user, action_type=world["meeting"], subject="Visite Dupont", start=start)
    from suivi.activities.services import update_action

    action = Action.objects.get(subject="Visite Dupont")
    update_action(acting_user=user, action=action, values={}, reminders=[15], expected_version=action.version)
    reminders.plan_between(timezone.now() - timedelta(minutes=10), timezone.now())
    assert ReminderDelivery.objects.count() == 1
    page.add_init_script(FAKE_NOTIFICATIONS)
    log_in(page, "olive", PASSWORD)
    page.goto("/crm/actions/")
    expect(page.locator("#reminder-bell [data-unread-count]")).to_have_text("1")
    # Polled from here: wait_for_function would evaluate a string, which the page's CSP forbids.
    for _attempt in range(100):
        shown = json.loads(page.evaluate("window.localStorage.getItem('test.shown') || '[]'"))
        if shown:
            break
        page.wait_for_timeout(100)
    page.reload()  # a page opened later does not show it again
    expect(page.locator("#reminder-bell [data-unread-count]")).to_have_text("1")
    page.wait_for_timeout(500)
    shown = json.loads(page.evaluate("window.localStorage.getItem('test.shown') || '[]'"))
    assert len(shown) == 1 and shown[0][1].startswith("Visite Dupont")
    page.click("#reminder-bell a")
    expect(page.locator("tr.unread")).to_contain_text("Visite Dupont")
    page.click("tr.unread button")
    expect(page.locator("tr.read")).to_contain_text("Visite Dupont")
    expect(page.locator("#reminder-bell [data-unread-count]")).to_have_count(0)
    assert ReminderDelivery.objects.get().read_at is not None


def test_the_series_page_deletes_the_whole_series_only_after_a_confirmation(page, world):
    series = weekly_point(world)
    log_in(page, "olive", PASSWORD)
    page.goto(f"/crm/actions/{series.pk}/")
    card = page.locator("#occurrence-delete")
    expect(card.locator("input[type=radio]")).to_have_count(0)  # no "this occurrence" here
    card.locator("button.danger").click()
    expect(page.locator("#delete-confirm")).to_contain_text("Point hebdo")
    assert Action.objects.filter(pk=series.pk).exists()  # nothing deleted yet
    page.locator("#delete-confirm button.danger").click()
    expect(page.locator(".messages")).to_be_visible()
    assert not Action.objects.filter(pk=series.pk).exists()


def test_deleting_one_occurrence_from_its_page_deletes_exactly_that_one(page, world):
    user = world["user"]
    series = weekly_point(world)
    log_in(page, "olive", PASSWORD)
    page.goto(f"/crm/actions/{series.pk}/?occurrence=2027-03-15T08:00:00Z")
    expect(page.locator("#delete-scope input[value=this]")).to_be_checked()
    page.locator("#occurrence-delete button.danger").click()
    expect(page.locator("#delete-confirm")).to_contain_text("15/03/2027 09:00")
    page.locator("#delete-confirm button.danger").click()
    expect(page.locator(".messages")).to_be_visible()
    assert local_times(user, brussels(2027, 3, 1), days=28) == [
        "01/03 09:00",
        "08/03 09:00",
        "22/03 09:00",
    ]


def test_the_reminders_bell_is_drawn(page, world):
    log_in(page, "olive", PASSWORD)
    page.goto("/crm/actions/")
    icon = page.locator("#reminder-bell svg")
    expect(icon).to_be_visible()
    box = None
    for _attempt in range(20):  # the bell is swapped in by HTMX once the page has loaded
        box = icon.bounding_box()
        if box is not None:
            break
        page.wait_for_timeout(100)
    assert box is not None and box["width"] >= 12 and box["height"] >= 12
