"""A first day in the browser: the home page leads to the work, the action search completes
field names as one types and takes plain words, the action form's folders open beside it, and
the board's move control unfolds on demand."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from suivi.activities.models import Stage
from suivi.core.models import CompanySettings

from .. import factories
from ..conftest import PASSWORD, make_user
from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def user(transactional_db):
    import importlib

    from django.apps import apps

    CompanySettings.objects.get_or_create(pk=1)
    CompanySettings.objects.filter(pk=1).update(opportunities_enabled=True)
    importlib.import_module("suivi.activities.migrations.0002_default_types_and_stages").create(apps, None)
    return make_user("paul", first_name="Paul")


def test_the_home_page_leads_to_todays_work(page, user):
    party = factories.party(user, name="Garage Lambert", city="Namur")
    factories.action(user, subject="Call back about tyres", party=party, start=timezone.now() - timedelta(days=2))
    log_in(page, "paul", PASSWORD)
    page.goto("/")
    today = page.locator("[data-today]")
    expect(today).to_contain_text("overdue")
    today.get_by_role("link", name="Call back about tyres").click()
    expect(page.locator("#id_subject")).to_have_value("Call back about tyres")
    page.goto("/")
    page.locator("[data-touched]").get_by_role("link", name="Garage Lambert").click()
    expect(page.locator("h1")).to_contain_text("Garage Lambert")


def test_the_search_box_completes_field_names_and_takes_plain_words(page, user):
    party = factories.party(user, name="Garage Lambert", city="Namur")
    factories.action(user, subject="Call back about tyres", party=party)
    factories.action(user, subject="Unrelated note")
    log_in(page, "paul", PASSWORD)
    page.goto("/crm/actions/?sort=-when")
    box = page.locator("textarea[name=query]")
    box.click()
    box.type("sta")
    completion = page.locator(".djangoql-completion")
    expect(completion).to_be_visible()
    expect(completion.locator("li", has_text="status")).to_have_count(1)
    box.fill("")
    box.type("Namur")
    box.press("Escape")
    box.press("Enter")
    page.wait_for_url("**query=Namur**")
    expect(page.locator("[data-actions] tbody tr")).to_have_count(1)
    expect(page.locator("[data-actions]")).to_contain_text("Call back about tyres")


def test_the_folders_open_in_a_new_tab_and_the_form_keeps_what_was_typed(page, user):
    log_in(page, "paul", PASSWORD)
    page.goto("/crm/actions/new/")
    page.fill("#id_subject", "Half typed")
    with page.context.expect_page() as opened:
        page.click("[data-open-folders]")
    expect(opened.value.locator("h1")).to_contain_text("Folders")
    expect(page.locator("#id_subject")).to_have_value("Half typed")


def test_board_cards_open_the_one_move_dialog_from_the_keyboard(page, user):
    first, second = Stage.objects.order_by("position")[:2]
    deal = factories.folder(user, name="Big deal", is_opportunity=True, stage=first, followed_by=user)
    log_in(page, "paul", PASSWORD)
    page.goto("/crm/pipeline/")
    assert page.locator("select[name=stage]").count() == 1  # one control for the board, not one a card
    dialog = page.locator("[data-move-dialog]")
    expect(dialog).to_be_hidden()
    page.locator(f'[data-card="{deal.pk}"] [data-move-open]').focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(dialog.locator("[data-move-name]")).to_have_text("Big deal")
    expect(dialog.locator("select[name=stage]")).to_be_focused()
    dialog.locator("select[name=stage]").select_option(str(second.pk))
    dialog.get_by_role("button", name="Move", exact=True).click()
    expect(page.locator(f'[data-stage="{second.pk}"] [data-card="{deal.pk}"]')).to_be_visible()


def test_a_long_column_shows_its_first_cards_and_loads_more(page, user):
    from suivi.activities.queries import CARDS_PER_STAGE

    first = Stage.objects.order_by("position").first()
    for n in range(CARDS_PER_STAGE + 3):
        factories.folder(user, name=f"Deal {n:02}", is_opportunity=True, stage=first, followed_by=user)
    log_in(page, "paul", PASSWORD)
    page.goto("/crm/pipeline/")
    column = page.locator(f'[data-stage="{first.pk}"]')
    expect(column.locator("[data-card]")).to_have_count(CARDS_PER_STAGE)
    column.locator("[data-more]").click()
    expect(column.locator("[data-card]")).to_have_count(CARDS_PER_STAGE + 3)
    expect(column.locator("[data-more]")).to_have_count(0)
