"""The CRM flows that need a browser: both action form layouts, the folders context menu,
in-place party folder creation with bold ordering, and the pipeline drag."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from suivi.activities.models import Action, Folder, Stage
from suivi.core.models import CompanySettings

from .. import factories
from ..conftest import PASSWORD, make_user
from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def user(transactional_db):
    from suivi.accounts.models import Role

    CompanySettings.objects.get_or_create(pk=1)
    # A transactional test database is flushed after each test: put the defaults back.
    import importlib

    from django.apps import apps

    importlib.import_module("suivi.activities.migrations.0002_default_types_and_stages").create(apps, None)
    return make_user("paul", Role.MANAGER, first_name="Paul")


def options(**values):
    CompanySettings.objects.filter(pk=1).update(**values)


def fill_new_action(page, party_name):
    page.goto("/crm/actions/new/")
    page.fill("#id_subject", "Phone call about the roof")
    page.fill("#action-party", party_name[:5])
    page.locator("#action-party-list [role=option]").first.click()
    expect(page.locator("#party-fields input[name=contacts]")).to_have_count(1)
    page.locator("#party-fields input[name=contacts]").check()


@pytest.mark.parametrize("layout", ["classic", "tabs"])
def test_both_form_layouts_record_the_same_action(page, user, layout):
    options(action_form_layout=layout, billing_in_main_tab=False, crm_level="full")
    party = factories.party(user, name="Toiture Lambert")
    factories.contact(user, party=party, last_name="Lambert")
    log_in(page, "paul", PASSWORD)
    fill_new_action(page, party.name)
    page.select_option("#id_action_type", label="Meeting")
    if layout == "tabs":
        expect(page.locator("#panel-description")).to_be_hidden()
        page.click("#tab-description")
    page.fill("#id_description", "Leak above the office")
    if layout == "tabs":
        page.locator("#tab-description").press("ArrowRight")  # keyboard moves to Billing
        expect(page.locator("#panel-billing")).to_be_visible()
    expect(page.locator("#id_billable")).to_be_checked()  # a meeting is billable by default
    page.fill("#id_bill_quantity", "2")
    page.click("button.primary >> text=Save")
    expect(page.locator(".messages")).to_contain_text("Action recorded")
    action = Action.objects.get()
    assert (action.party, action.contacts.count(), action.billable, action.bill_quantity) == (
        party,
        1,
        True,
        Decimal("2"),
    )
    assert "Leak above the office" in action.description


def test_a_party_folder_is_created_in_place_and_shown_bold_first(page, user):
    party = factories.party(user, name="Garage Maes")
    factories.contact(user, party=party, last_name="Maes")
    factories.folder(user, name="Aaa general")
    log_in(page, "paul", PASSWORD)
    fill_new_action(page, party.name)
    page.fill("#new_folder_name", "Garage extension")
    page.click("text=Create folder")
    picker = page.locator("#id_folder")
    expect(picker.locator("option", has_text="Garage extension")).to_have_count(1)
    expect(picker).to_have_value(str(Folder.objects.get(name="Garage extension").pk))
    labels = picker.locator("option").all_inner_texts()
    assert labels.index("Garage extension") < labels.index("Aaa general")
    weight = picker.locator("option.party-folder").evaluate("o => getComputedStyle(o).fontWeight")
    assert weight == "700"
    # What was typed before is still there.
    expect(page.locator("#id_subject")).to_have_value("Phone call about the roof")
    expect(page.locator("#party-fields input[name=contacts]")).to_be_checked()
    page.click("button.primary >> text=Save")
    expect(page.locator(".messages")).to_contain_text("Action recorded")
    assert Action.objects.get().folder.name == "Garage extension"


def test_the_folders_context_menu_edits_and_deletes(page, user):
    folder = factories.folder(user, name="Old folder")
    target = factories.folder(user, name="Kept folder")
    factories.action(user, folder=folder)
    log_in(page, "paul", PASSWORD)
    page.goto("/crm/actions/")
    page.click("[data-open-folders]")
    row = page.locator(f'tr[data-folder="{folder.pk}"]')
    row.click(button="right")
    menu = page.locator("#folder-menu")
    expect(menu).to_be_visible()
    menu.locator("[data-item=edit]").click()
    expect(page.locator("#id_name")).to_have_value("Old folder")
    page.go_back()
    # The same menu from the keyboard: the row's ⋯ button, then arrow keys.
    page.locator(f'tr[data-folder="{folder.pk}"] [data-menu-button]').click()
    expect(menu).to_be_visible()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("Delete the folder")
    expect(page.locator("main form")).to_contain_text("It holds 1 action")
    page.check(f'input[name=actions][value="{target.pk}"]')
    page.click("[data-confirm-delete]")
    expect(page.locator(".messages")).to_contain_text("deleted")
    assert not Folder.objects.filter(pk=folder.pk).exists()
    assert Action.objects.get().folder == target


def test_drag_a_card_to_another_stage_on_the_pipeline_board(page, user):
    options(opportunities_enabled=True)
    first, second = Stage.objects.all()[:2]
    deal = factories.folder(
        user,
        name="Big deal",
        is_opportunity=True,
        stage=first,
        budget=Decimal("5000"),
        probability=10,
        followed_by=user,
    )
    log_in(page, "paul", PASSWORD)
    page.goto("/crm/pipeline/")
    column = page.locator(f'[data-stage="{second.pk}"]')
    expect(column.locator("[data-total]")).to_have_text("0.00")
    page.locator(f'[data-card="{deal.pk}"]').drag_to(column)
    expect(column.locator(f'[data-card="{deal.pk}"]')).to_be_visible()
    expect(column.locator("[data-total]")).to_have_text("5,000.00")
    deal.refresh_from_db()
    assert deal.stage == second and deal.probability == second.default_probability
