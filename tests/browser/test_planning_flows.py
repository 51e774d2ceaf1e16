"""Browser flows of planning (issue 12, point 4) in French, in Chromium: search the free slots of
two users (one of them busy in the morning), book the first one, see it booked (and gone from the
next search), and read both users' hours on the team load view; no Content-Security-Policy
violation on the way."""

import importlib
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from playwright.sync_api import expect

from suivi.activities.models import Action, ActionType
from suivi.core.models import CompanySettings

from .. import factories
from ..conftest import PASSWORD, make_user
from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BRUSSELS = ZoneInfo("Europe/Brussels")


def next_monday() -> date:
    today = date.today()
    return today + timedelta(days=7 - today.weekday() + 7)  # a Monday at least a week ahead


@pytest.fixture
def world(transactional_db):
    CompanySettings.objects.get_or_create(pk=1)
    CompanySettings.objects.filter(pk=1).update(crm_enabled=True, crm_level="full")
    importlib.import_module("suivi.activities.migrations.0002_default_types_and_stages").create(apps, None)
    meeting = ActionType.objects.create(
        name_fr="Rendez-vous", name_en="Meeting", name_nl="Afspraak", is_calendar_item=True, default_duration=60
    )
    users = {}
    for name, first in (("olive", "Olive"), ("claire", "Claire")):
        user = make_user(name, first_name=first)
        user.language = "fr"
        user.save()
        users[name] = user
    monday = next_monday()
    # Claire is busy on Monday morning until 11:00.
    factories.action(
        users["claire"],
        action_type=meeting,
        subject="Atelier",
        start=datetime.combine(monday, datetime.min.time().replace(hour=9), tzinfo=BRUSSELS),
        end=datetime.combine(monday, datetime.min.time().replace(hour=11), tzinfo=BRUSSELS),
    )
    return {"meeting": meeting, "monday": monday, **users}


@pytest.fixture
def violations(page):
    seen = []
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: seen.append(f"page error: {e}"))
    return seen


def test_two_users_free_slot_is_found_booked_and_shown_on_the_team_load(page, world, violations):
    olive, claire, monday = world["olive"], world["claire"], world["monday"]
    log_in(page, "olive", PASSWORD)
    page.goto("/crm/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.click("[data-menu=planning]")
    page.select_option("#id_users", [str(olive.pk), str(claire.pk)])
    page.select_option("#id_duration", "60")
    page.fill("#id_start", monday.isoformat())
    page.click("[data-slot-search] button.primary")
    first = page.locator("[data-slots] li").first
    expect(first).to_contain_text("11:00–12:00")  # Claire's morning workshop is avoided
    first.locator("[data-book]").click()
    expect(page.locator("[data-booking-slot]")).to_contain_text("Claire")
    page.fill("#id_subject", "Lancement du projet")
    page.select_option("#id_action_type", str(world["meeting"].pk))
    page.click("[data-book-form] button.primary")
    booked = page.locator("[data-booked]")
    expect(booked).to_contain_text("Lancement du projet")
    expect(booked).to_contain_text("11:00–12:00")
    expect(booked).to_contain_text("Claire")
    action = Action.objects.get(subject="Lancement du projet")
    assert action.followed_by_id == olive.pk and list(action.participants.values_list("pk", flat=True)) == [claire.pk]

    # The same search no longer offers 11:00: the booked slot is taken for both.
    page.goto(f"/crm/planning/?users={olive.pk}&users={claire.pk}&duration=60&start={monday.isoformat()}&days=7")
    expect(page.locator("[data-slots] li").first).to_contain_text("13:30–14:30")

    # The team load: Olive 1 h booked (the meeting), Claire 3 h (the workshop and the meeting).
    page.goto("/crm/planning/load/")
    page.select_option("#id_users", [str(olive.pk), str(claire.pk)])
    page.fill("#id_start", monday.isoformat())
    page.select_option("#id_by", "day")
    page.fill("#id_count", "5")
    page.click("[data-load-form] button.primary")
    day = monday.isoformat()
    expect(page.locator(f"[data-load-user='{olive.pk}'] [data-load-cell='{day}']")).to_contain_text("1 / 7,50 h")
    expect(page.locator(f"[data-load-user='{claire.pk}'] [data-load-cell='{day}']")).to_contain_text("3 / 7,50 h")
    expect(page.locator(f"[data-load-user='{claire.pk}'] [data-load-cell='{day}'] meter")).to_have_attribute(
        "value", "40"
    )
    assert violations == []
