"""Browser flows of the shared agenda (issue 12, point 1) in French, in Chromium: the week view
shows an action, a drag over an empty slot creates one, a drag moves one, the keyboard moves one,
another user's private action is a busy block with no subject, the day view of two users is two
columns, and none of it breaks the Content-Security-Policy."""

import importlib
import re
from datetime import datetime

import pytest
from django.apps import apps
from playwright.sync_api import expect

from suivi.activities.models import Action, ActionType
from suivi.core.models import CompanySettings

from .. import factories
from ..agenda_world import BRUSSELS, brussels
from ..conftest import PASSWORD, make_user
from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WEEK = "/crm/agenda/?mode=week&date=2027-03-01"


@pytest.fixture
def world(transactional_db):
    CompanySettings.objects.get_or_create(pk=1)
    CompanySettings.objects.filter(pk=1).update(crm_enabled=True, crm_level="full")
    # A transactional test database is flushed after each test: put the default types back.
    importlib.import_module("suivi.activities.migrations.0002_default_types_and_stages").create(apps, None)
    meeting = ActionType.objects.create(
        name_fr="Rendez-vous",
        name_en="Meeting",
        name_nl="Afspraak",
        is_calendar_item=True,
        default_duration=60,
        colour="#aa0000",
    )
    users = {}
    for name, first in (("olive", "Olive"), ("claire", "Claire")):
        user = make_user(name, first_name=first)
        user.language = "fr"
        user.save()
        users[name] = user
    return {"meeting": meeting, **users}


@pytest.fixture
def violations(page):
    """Content-Security-Policy violations, FullCalendar's own style warning, page errors and dialogs."""
    seen = []
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("console", lambda m: seen.append(m.text) if "could not inject its styles" in m.text else None)
    page.on("pageerror", lambda e: seen.append(f"page error: {e}"))
    page.on("dialog", lambda d: (seen.append(f"dialog: {d.message}"), d.dismiss()))
    return seen


# agenda.js's palette: a user's colour is PALETTE[id % 10], whoever else is shown.
PALETTE = [
    "rgb(29, 78, 216)",
    "rgb(185, 28, 28)",
    "rgb(4, 120, 87)",
    "rgb(124, 58, 237)",
    "rgb(180, 83, 9)",
    "rgb(14, 116, 144)",
    "rgb(190, 24, 93)",
    "rgb(77, 124, 15)",
    "rgb(55, 65, 81)",
    "rgb(154, 52, 18)",
]


def user_colour(user) -> str:
    return PALETTE[user.pk % len(PALETTE)]


def slot(page, day: str, time: str, column=None):
    """The middle of the 15 first pixels of ``time``'s slot in ``day``'s column, in the viewport."""
    scope = page.locator(f"[data-agenda-column='{column}']") if column else page.locator("[data-agenda]")
    lane = scope.locator(f"td.fc-timegrid-slot-lane[data-time='{time}']")
    lane.scroll_into_view_if_needed()
    row = lane.bounding_box()
    col = scope.locator(f".fc-timegrid-col[data-date='{day}']").bounding_box()
    return col["x"] + col["width"] / 2, row["y"] + min(8, row["height"] / 2)


def drag(page, start, end):
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0], start[1] + 4, steps=3)
    page.mouse.move(*end, steps=12)
    page.mouse.up()


def open_as_olive(page, url=WEEK):
    log_in(page, "olive", PASSWORD)
    page.goto(url)


def olive_series(world, subject, rrule):
    """Olive's series of half-hour meetings from Monday 1 March 2027 at 09:00."""
    return factories.action(
        world["olive"],
        action_type=world["meeting"],
        subject=subject,
        start=brussels(2027, 3, 1, 9, 0),
        end=brussels(2027, 3, 1, 9, 30),
        rrule=rrule,
    )


def test_the_week_view_shows_an_action_whose_subject_is_only_text(page, world, violations):
    olive = world["olive"]
    factories.action(
        olive,
        action_type=world["meeting"],
        subject="Visite chantier <img src=x onerror=alert(1)>",
        party=factories.party(olive, name="Toiture Lambert"),
        start=brussels(2027, 3, 2, 9, 0),
        end=brussels(2027, 3, 2, 10, 30),
    )
    open_as_olive(page)
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    event = page.locator(".fc-timegrid-col[data-date='2027-03-02'] .fc-event")
    expect(event).to_have_count(1)
    expect(event).to_contain_text("Visite chantier <img src=x onerror=alert(1)>")
    expect(event).to_contain_text("09:00")
    expect(event).to_have_attribute("title", "Visite chantier <img src=x onerror=alert(1)> · Toiture Lambert")
    expect(page.locator("[data-agenda-title]")).to_contain_text("mars 2027")  # FullCalendar's French
    # FullCalendar's style sheet applied under the policy: the time grid is laid out as a table.
    expect(page.locator(".fc-timegrid-slots table")).to_have_css("border-collapse", "collapse")
    # Colours per user by default, per type on demand (and remembered).
    expect(event).to_have_css("background-color", user_colour(olive))
    page.select_option("[data-agenda-colours]", "type")
    expect(page.locator(".fc-event", has_text="Visite chantier")).to_have_css("background-color", "rgb(170, 0, 0)")
    page.click("[data-agenda-mode='workweek']")
    expect(page.locator(".fc-col-header-cell")).to_have_count(5)
    expect(page.locator(".fc-col-header-cell[data-date='2027-03-06']")).to_have_count(0)
    page.click("[data-agenda-mode='month']")
    expect(page.locator(".fc-daygrid-day[data-date='2027-03-02'] .fc-event")).to_contain_text("Visite chantier")
    page.click("[data-agenda-mode='list']")
    expect(page.locator(".fc-list-event")).to_contain_text("Visite chantier")
    assert violations == []


def test_dragging_over_an_empty_slot_opens_the_quick_create_and_records_the_action(page, world, violations):
    party = factories.party(world["olive"], name="Toiture Lambert")
    open_as_olive(page)
    expect(page.locator(".fc-timegrid-col[data-date='2027-03-03']")).to_be_visible()
    drag(page, slot(page, "2027-03-03", "10:00:00"), slot(page, "2027-03-03", "11:30:00"))
    dialog = page.locator("[data-create-dialog]")
    expect(dialog).to_be_visible()
    expect(dialog.locator("[name=start]")).to_have_value("2027-03-03T10:00")
    expect(dialog.locator("[name=end]")).to_have_value("2027-03-03T11:45")
    dialog.locator("[name=action_type]").select_option(label="Rendez-vous")
    dialog.locator("[data-create-save]").click()  # no subject: refused, the times kept
    expect(dialog.locator("[data-error=subject]")).to_be_visible()
    expect(dialog.locator("[name=start]")).to_have_value("2027-03-03T10:00")
    dialog.locator("[name=subject]").fill("Démo client")
    dialog.locator("#agenda-party").fill("Toiture")
    dialog.locator("[role=option]", has_text="Toiture Lambert").click()
    dialog.locator("[data-create-save]").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".fc-timegrid-col[data-date='2027-03-03'] .fc-event")).to_contain_text("Démo client")
    action = Action.objects.get(subject="Démo client")
    assert (action.start, action.end) == (brussels(2027, 3, 3, 10, 0), brussels(2027, 3, 3, 11, 45))
    assert action.followed_by == world["olive"] and action.action_type == world["meeting"]
    assert action.party == party
    assert violations == []


def test_dragging_an_action_to_another_day_and_hour_moves_it(page, world, violations):
    action = factories.action(
        world["olive"],
        action_type=world["meeting"],
        subject="Réunion équipe",
        start=brussels(2027, 3, 2, 9, 0),
        end=brussels(2027, 3, 2, 10, 0),
    )
    open_as_olive(page)
    event = page.locator(".fc-event", has_text="Réunion équipe")
    expect(event).to_be_visible()
    event.scroll_into_view_if_needed()
    box = event.bounding_box()
    grab = (box["x"] + box["width"] / 2, box["y"] + 6)
    target = slot(page, "2027-03-04", "14:00:00")
    drag(page, grab, (target[0], target[1] - 8 + 6))
    expect(page.locator(".fc-timegrid-col[data-date='2027-03-04'] .fc-event")).to_contain_text("Réunion équipe")
    expect(page.locator("[data-agenda-announce]")).to_contain_text("Réunion équipe")
    action.refresh_from_db()
    assert (action.start, action.end) == (brussels(2027, 3, 4, 14, 0), brussels(2027, 3, 4, 15, 0))
    assert violations == []


def test_the_keyboard_moves_and_lengthens_the_focused_action_and_says_so(page, world, violations):
    action = factories.action(
        world["olive"],
        action_type=world["meeting"],
        subject="Appel fournisseur",
        start=brussels(2027, 3, 2, 9, 0),
        end=brussels(2027, 3, 2, 10, 0),
    )
    open_as_olive(page)
    event = page.locator(".fc-event", has_text="Appel fournisseur")
    event.focus()
    page.keyboard.press("Alt+ArrowDown")
    expect(page.locator("[data-agenda-announce]")).to_contain_text("2027-03-02 09:15")
    expect(page.locator(".fc-event", has_text="Appel fournisseur")).to_be_focused()
    page.keyboard.press("Alt+ArrowRight")
    expect(page.locator("[data-agenda-announce]")).to_contain_text("2027-03-03 09:15")
    page.keyboard.press("Alt+Shift+ArrowDown")
    expect(page.locator(".fc-timegrid-col[data-date='2027-03-03'] .fc-event")).to_contain_text("09:15 - 10:30")
    action.refresh_from_db()
    assert (action.start, action.end) == (brussels(2027, 3, 3, 9, 15), brussels(2027, 3, 3, 10, 30))
    page.locator(".fc-event", has_text="Appel fournisseur").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/crm/actions/{action.pk}/")
    assert violations == []


def test_another_users_private_action_is_a_busy_block_with_no_subject(page, world, violations):
    factories.action(
        world["claire"],
        action_type=world["meeting"],
        subject="Entretien confidentiel",
        party=factories.party(world["claire"], name="Clinique"),
        private=True,
        start=brussels(2027, 3, 2, 14, 0),
        end=brussels(2027, 3, 2, 15, 0),
    )
    open_as_olive(page, f"{WEEK}&users={world['claire'].pk}")
    busy = page.locator(".fc-timegrid-col[data-date='2027-03-02'] .fc-event")
    expect(busy).to_have_count(1)
    expect(busy).to_have_class(re.compile(r"\bbusy\b"))
    expect(busy).to_contain_text("14:00")
    html = page.content()
    assert "Entretien" not in html and "Clinique" not in html
    # Not draggable: a drag leaves it where it was.
    busy.scroll_into_view_if_needed()
    box = busy.bounding_box()
    drag(page, (box["x"] + box["width"] / 2, box["y"] + 6), slot(page, "2027-03-04", "09:00:00"))
    expect(page.locator(".fc-timegrid-col[data-date='2027-03-02'] .fc-event")).to_have_count(1)
    assert Action.objects.get(subject="Entretien confidentiel").start == brussels(2027, 3, 2, 14, 0)
    assert violations == []


def test_the_day_view_of_two_users_shows_a_column_each_and_a_drop_gives_the_action_to_the_other(
    page, world, violations
):
    olive, claire = world["olive"], world["claire"]
    mine = factories.action(olive, action_type=world["meeting"], subject="Chez Olive", start=brussels(2027, 3, 2, 9, 0))
    factories.action(claire, action_type=world["meeting"], subject="Chez Claire", start=brussels(2027, 3, 2, 11, 0))
    open_as_olive(page, f"/crm/agenda/?mode=day&date=2027-03-02&users={olive.pk}&users={claire.pk}")
    columns = page.locator("[data-agenda-column]")
    expect(columns).to_have_count(2)
    expect(columns.nth(0).locator("h3")).to_have_text("Olive")
    expect(columns.nth(1).locator("h3")).to_have_text("Claire")
    expect(columns.nth(0).locator(".fc-event")).to_have_text(re.compile("Chez Olive"))
    expect(columns.nth(1).locator(".fc-event")).to_have_text(re.compile("Chez Claire"))
    expect(page.locator("[data-agenda-title]")).to_contain_text("2027")
    # Drag Olive's action into Claire's column at 13:00.
    event = columns.nth(0).locator(".fc-event")
    event.scroll_into_view_if_needed()
    box = event.bounding_box()
    target = slot(page, "2027-03-02", "13:00:00", column=claire.pk)
    drag(page, (box["x"] + box["width"] / 2, box["y"] + 6), (target[0], target[1] - 2))
    expect(columns.nth(1).locator(".fc-event", has_text="Chez Olive")).to_have_count(1)
    expect(columns.nth(0).locator(".fc-event")).to_have_count(0)
    expect(page.locator("[data-agenda-announce]")).to_contain_text("Chez Olive, 2027-03-02 13:")
    mine.refresh_from_db()
    # Where exactly in the 13:00 hour depends on where the pointer held the block.
    assert mine.followed_by == claire and mine.start.astimezone(BRUSSELS).strftime("%Y-%m-%d %H") == "2027-03-02 13"
    assert violations == []


def test_dragging_an_occurrence_of_a_series_asks_which_ones_change(page, world, violations):
    series = olive_series(world, "Stand-up", "FREQ=DAILY;COUNT=5")
    open_as_olive(page)
    wednesday = page.locator(".fc-timegrid-col[data-date='2027-03-03'] .fc-event")
    expect(wednesday).to_contain_text("09:00")

    def drag_wednesday_to_eleven():
        wednesday.scroll_into_view_if_needed()
        box = wednesday.bounding_box()
        target = slot(page, "2027-03-03", "11:00:00")
        drag(page, (box["x"] + box["width"] / 2, box["y"] + 4), (target[0], target[1] - 8 + 4))

    scope = page.locator("[data-scope-dialog]")
    drag_wednesday_to_eleven()
    expect(scope).to_be_visible()
    scope.locator("button[value=cancel]").click()  # put back, nothing changed
    expect(wednesday).to_contain_text("09:00")
    assert Action.objects.get(pk=series.pk).version == series.version

    drag_wednesday_to_eleven()
    scope.locator("button[value=this]").click()
    expect(page.locator("[data-agenda-announce]")).to_contain_text("Stand-up, 2027-03-03 11:00")
    expect(wednesday).to_contain_text("11:00")
    expect(page.locator(".fc-timegrid-col[data-date='2027-03-04'] .fc-event")).to_contain_text("09:00")
    exception = Action.objects.get(series=series)
    assert exception.start == brussels(2027, 3, 3, 11, 0)
    assert exception.recurrence_id == brussels(2027, 3, 3, 9, 0)
    assert violations == []


def test_a_move_refused_because_someone_changed_the_action_puts_it_back_and_says_why(page, world, violations):
    from suivi.activities import services

    action = factories.action(
        world["olive"],
        action_type=world["meeting"],
        subject="Revue trimestrielle",
        start=brussels(2027, 3, 2, 9, 0),
        end=brussels(2027, 3, 2, 10, 0),
    )
    open_as_olive(page)
    event = page.locator(".fc-event", has_text="Revue trimestrielle")
    expect(event).to_be_visible()
    # Someone else changes it after the page read it.
    services.update_action(
        acting_user=world["claire"],
        action=action,
        values={"subject": "Revue trimestrielle (salle B)"},
        expected_version=1,
    )
    event.focus()
    page.keyboard.press("Alt+ArrowDown")
    expect(page.locator("[data-agenda-announce]")).to_contain_text("modifiée par quelqu'un d'autre")
    # Put back, and shown as they left it: the next move starts from their version.
    moved_back = page.locator(".fc-timegrid-col[data-date='2027-03-02'] .fc-event")
    expect(moved_back).to_contain_text("09:00")
    expect(moved_back).to_contain_text("(salle B)")
    action.refresh_from_db()
    assert action.start == brussels(2027, 3, 2, 9, 0) and action.version == 2
    moved_back.focus()
    page.keyboard.press("Alt+ArrowDown")
    expect(page.locator("[data-agenda-announce]")).to_contain_text("09:15")
    action.refresh_from_db()
    assert action.start == brussels(2027, 3, 2, 9, 15)
    assert violations == []


def test_clicking_an_occurrence_of_a_series_opens_that_occurrence_not_the_series(page, world, violations):
    series = olive_series(world, "Point hebdo", "FREQ=WEEKLY;BYDAY=MO;COUNT=8")
    open_as_olive(page)
    page.click("[data-agenda-go='next']")
    second = page.locator(".fc-timegrid-col[data-date='2027-03-08'] .fc-event")
    expect(second).to_contain_text("Point hebdo")
    second.click()
    page.wait_for_url(f"**/crm/actions/{series.pk}/?occurrence=2027-03-08T08:00:00Z")
    expect(page.locator("#id_start")).to_have_value("2027-03-08T09:00")
    expect(page.locator("#occurrence-notice")).to_be_visible()
    # The keyboard opens the same occurrence.
    page.go_back()
    page.locator(".fc-timegrid-col[data-date='2027-03-08'] .fc-event").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/crm/actions/{series.pk}/?occurrence=2027-03-08T08:00:00Z")
    assert violations == []


def test_switching_views_keeps_the_date_being_looked_at(page, world, violations):
    open_as_olive(page, "/crm/agenda/?mode=week&date=2026-12-03")
    expect(page.locator(".fc-col-header-cell[data-date='2026-11-30']")).to_have_count(1)
    title = page.locator("[data-agenda-title]")
    page.click("[data-agenda-mode='month']")
    expect(title).to_contain_text("décembre 2026")
    page.click("[data-agenda-mode='week']")
    expect(page.locator(".fc-col-header-cell[data-date='2026-12-03']")).to_have_count(1)
    page.click("[data-agenda-mode='list']")
    expect(title).to_contain_text("décembre 2026")
    page.click("[data-agenda-mode='day']")
    expect(page.locator(".fc-col-header-cell[data-date='2026-12-03']")).to_have_count(1)
    expect(page.locator(".fc-col-header-cell")).to_have_count(1)
    assert "date=2026-12-03" in page.url
    # Moving on (to the first day of the next week or month) and switching: no drift either.
    page.click("[data-agenda-mode='week']")
    page.click("[data-agenda-go='next']")
    expect(page.locator(".fc-col-header-cell[data-date='2026-12-07']")).to_have_count(1)
    page.click("[data-agenda-mode='month']")
    expect(title).to_contain_text("décembre 2026")
    page.click("[data-agenda-go='next']")
    expect(title).to_contain_text("janvier 2027")
    page.click("[data-agenda-mode='workweek']")
    expect(page.locator(".fc-col-header-cell[data-date='2027-01-01']")).to_have_count(1)
    page.click("[data-agenda-mode='month']")
    expect(title).to_contain_text("janvier 2027")
    assert violations == []


def test_after_the_scope_dialog_of_a_keyboard_move_the_moved_occurrence_keeps_the_focus(page, world, violations):
    series = olive_series(world, "Stand-up", "FREQ=DAILY;COUNT=5")
    open_as_olive(page)
    wednesday = page.locator(".fc-timegrid-col[data-date='2027-03-03'] .fc-event")
    wednesday.focus()
    page.keyboard.press("Alt+ArrowDown")
    scope = page.locator("[data-scope-dialog]")
    expect(scope).to_be_visible()
    scope.locator("button[value=this]").click()
    expect(page.locator("[data-agenda-announce]")).to_contain_text("Stand-up, 2027-03-03 09:15")
    exception = Action.objects.get(series=series)
    expect(wednesday).to_contain_text("09:15")
    expect(wednesday).to_be_focused()
    assert wednesday.get_attribute("data-event-key") == str(exception.pk)
    # The focus stays on it: the next key moves it again, alone (an exception moves alone).
    page.keyboard.press("Alt+ArrowDown")
    expect(page.locator("[data-agenda-announce]")).to_contain_text("Stand-up, 2027-03-03 09:30")
    expect(wednesday).to_be_focused()
    expect(wednesday).to_contain_text("09:30")  # the calendar has read its events again
    # The whole series: the occurrence is the series' again, still focused.
    thursday = page.locator(".fc-timegrid-col[data-date='2027-03-04'] .fc-event")
    thursday.focus()
    expect(thursday).to_be_focused()
    page.keyboard.press("Alt+ArrowDown")
    expect(scope).to_be_visible()
    scope.locator("button[value=all]").click()
    expect(page.locator("[data-agenda-announce]")).to_contain_text("Stand-up, 2027-03-04 09:15")
    expect(thursday).to_contain_text("09:15")
    expect(thursday).to_be_focused()
    assert violations == []


def test_a_users_colour_does_not_depend_on_who_else_is_shown_and_the_type_legend_shows_the_types(
    page, world, violations
):
    olive, claire = world["olive"], world["claire"]
    factories.action(olive, action_type=world["meeting"], subject="Chez Olive", start=brussels(2027, 3, 2, 9, 0))
    open_as_olive(page)
    mine = page.locator(".fc-event", has_text="Chez Olive")
    expect(mine).to_have_css("background-color", user_colour(olive))
    page.goto(f"{WEEK}&users={claire.pk}&users={olive.pk}")
    expect(mine).to_have_css("background-color", user_colour(olive))
    legend = page.locator("[data-agenda-legend]")
    expect(legend.locator(f"[data-legend-user='{olive.pk}'] .swatch")).to_have_css(
        "background-color", user_colour(olive)
    )
    types = page.locator("[data-agenda-legend-types]")
    expect(types).to_be_hidden()
    page.select_option("[data-agenda-colours]", "type")
    expect(legend).to_be_hidden()
    expect(types).to_be_visible()
    swatch = types.locator("li", has_text="Rendez-vous")
    expect(swatch.locator(".swatch")).to_have_css("background-color", "rgb(170, 0, 0)")
    assert violations == []


def test_company_holidays_and_absences_are_shown_behind_the_actions(page, world, violations):
    from suivi.agenda.models import Absence, Holiday

    Holiday.objects.create(day=datetime(2027, 3, 5).date(), name="Fête locale")
    Absence.objects.create(
        user=world["claire"], start=brussels(2027, 3, 2, 8, 0), end=brussels(2027, 3, 2, 12, 0), reason="Dentiste"
    )
    open_as_olive(page, f"{WEEK}&users={world['olive'].pk}&users={world['claire'].pk}")
    holiday = page.locator(".fc-daygrid-day[data-date='2027-03-05'] .fc-bg-event.holiday")
    expect(holiday).to_contain_text("Fête locale")
    absence = page.locator(".fc-timegrid-col[data-date='2027-03-02'] .fc-bg-event.absence")
    expect(absence).to_contain_text("Claire · Absent")
    assert "Dentiste" not in page.content()
    # The day view of two users: the absence in Claire's column only.
    page.click("[data-agenda-mode='day']")
    page.click("[data-agenda-go='next']")
    columns = page.locator("[data-agenda-column]")
    expect(columns).to_have_count(2)
    expect(columns.nth(0).locator(".fc-bg-event.absence")).to_have_count(0)
    expect(columns.nth(1).locator(".fc-bg-event.absence")).to_contain_text("Absent")
    assert violations == []
