"""Browser flows of issue 9, points 5 and 7: the *Print* and *E-mail* tabs of a layout's
linked-action rules (mouse and keyboard), and the linked-doc search of the action form."""

import importlib
from datetime import date

import pytest
from django.apps import apps
from playwright.sync_api import expect

from suivi.activities.models import Action
from suivi.core.models import CompanySettings
from suivi.sales import services
from suivi.sales.demo import load_sales
from suivi.sales.models import DocumentAction, Journal, Layout, LinkedActionRule, VatRate

from .. import factories
from ..conftest import PASSWORD, make_user
from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def manager(transactional_db):
    from suivi.accounts.models import Role

    CompanySettings.objects.get_or_create(pk=1)
    # A transactional test database is flushed after each test: put the defaults back.
    importlib.import_module("suivi.activities.migrations.0002_default_types_and_stages").create(apps, None)
    load_sales()
    return make_user("maya", Role.MANAGER, first_name="Maya")


def test_the_rule_screen_has_print_and_email_tabs_reached_by_mouse_and_keyboard(page, manager):
    layout = Layout.objects.get(journal__code="VF")
    log_in(page, "maya", PASSWORD)
    page.goto(f"/sales/settings/journals/{layout.journal_id}/")
    page.click("[data-linked-rules-link]")
    expect(page.locator("#tab-print")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#panel-print")).to_be_visible()
    expect(page.locator("#panel-email")).to_be_hidden()
    page.click("#tab-email")
    expect(page.locator("#panel-email")).to_be_visible()
    expect(page.locator("#panel-print")).to_be_hidden()
    page.check("#id_email-enabled")
    page.select_option("#id_email-action_type", label="Call")
    page.fill("#id_email-subject_template", "Call back about {{ document.number }}")
    page.check("#panel-email input[name=email-status][value=todo]")
    page.fill("#id_email-due_in_days", "8")
    page.locator("#tab-email").press("ArrowLeft")  # the keyboard moves back to Print
    expect(page.locator("#panel-print")).to_be_visible()
    expect(page.locator("#tab-print")).to_be_focused()
    page.check("#id_print-enabled")
    page.select_option("#id_print-action_type", label="Call")
    page.click("button.primary")
    expect(page.locator("ul.messages")).to_contain_text("Linked-action rules saved")
    email = LinkedActionRule.objects.get(layout=layout, event_kind="email")
    assert email.enabled and email.status == "todo" and email.due_in_days == 8
    assert email.subject_template == "Call back about {{ document.number }}"
    assert LinkedActionRule.objects.get(layout=layout, event_kind="print").enabled
    # An error on the E-mail tab opens that tab, so that nothing the server said is hidden.
    page.click("#tab-email")
    page.fill("#id_email-subject_template", "{{ document.secret }}")
    page.click("#tab-print")
    page.click("button.primary")
    expect(page.locator("#panel-email")).to_be_visible()
    expect(page.locator("#panel-email")).to_contain_text("unknown field")


def test_the_rule_screen_shows_the_open_tab_gives_templates_room_and_reopens_on_the_saved_tab(page, manager):
    layout = Layout.objects.get(journal__code="VF")
    page.set_viewport_size({"width": 1300, "height": 900})
    log_in(page, "maya", PASSWORD)
    page.goto(f"/sales/settings/layouts/{layout.pk}/linked-actions/")
    style = "t => [getComputedStyle(t).backgroundColor, getComputedStyle(t).fontWeight, getComputedStyle(t).boxShadow]"
    selected, other = page.eval_on_selector("#tab-print", style), page.eval_on_selector("#tab-email", style)
    assert selected != other  # the open tab looks open
    page.click("#tab-email")
    assert page.eval_on_selector("#tab-email", style) == selected
    assert page.eval_on_selector("#tab-print", style) == other
    width = page.eval_on_selector("#id_email-subject_template", "i => i.getBoundingClientRect().width")
    assert width >= 600, width  # a template of a line or two is read whole
    page.fill("#id_email-subject_template", "Sent: {{ document.number }}")
    page.click("button.primary")
    expect(page.locator("ul.messages")).to_contain_text("Linked-action rules saved")
    assert "tab=email" in page.url
    expect(page.locator("#tab-email")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#panel-email")).to_be_visible()
    expect(page.locator("#panel-print")).to_be_hidden()


@pytest.mark.parametrize("form_layout", ["classic", "tabs"])
def test_the_action_form_searches_a_document_and_links_it(page, manager, form_layout):
    CompanySettings.objects.filter(pk=1).update(action_form_layout=form_layout)
    party = factories.party(manager, name="Brasserie Dupont")
    factories.contact(manager, party=party, last_name="Dupont")
    rate = VatRate.objects.get(code="21")
    document = services.create_document(
        acting_user=manager,
        values={"journal": Journal.objects.get(code="VF"), "party": party, "date": date(2025, 3, 14)},
        lines=[{"description": "Work", "quantity": "1", "unit_price": "100", "vat_rate": rate}],
    )
    invoice = services.validate_document(acting_user=manager, document=document, expected_version=document.version)
    log_in(page, "maya", PASSWORD)
    page.goto("/crm/actions/new/")
    page.fill("#id_subject", "Call about the invoice")
    page.fill("#action-party", "Brass")
    page.locator("#action-party-list [role=option]").first.click()
    expect(page.locator("#party-fields input[name=contacts]")).to_have_count(1)
    page.locator("#party-fields input[name=contacts]").check()
    page.click("[data-linked-doc-search] summary")
    page.fill("[data-doc-number]", "2025/")
    option = page.locator(f"#linked-doc-list [role=option][data-id='{invoice.pk}']")
    expect(option).to_contain_text("2025/00001")
    expect(option).to_contain_text("Brasserie Dupont")
    page.locator("[data-doc-number]").press("ArrowDown")  # the keyboard reaches the results
    expect(option).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#linked-doc-text")).to_have_value(f"{invoice} · Brasserie Dupont")
    expect(page.locator("#party-fields input[name=contacts]")).to_be_checked()  # picking a document kept them
    page.click("button.primary:has-text('Save')")
    page.wait_for_url(lambda url: "/crm/actions/new/" not in url)
    action = Action.objects.get()
    assert DocumentAction.objects.get(action=action).document == invoice
    page.goto(f"/sales/documents/{invoice.pk}/")
    expect(page.locator(f"[data-linked-action='{action.pk}']")).to_contain_text("Call about the invoice")


def test_the_attachments_tab_uploads_a_file_and_offers_it_as_a_download(page, manager, tmp_path):
    CompanySettings.objects.filter(pk=1).update(action_form_layout="tabs")
    party = factories.party(manager, name="Toiture Lambert")
    action = factories.action(manager, subject="Roof visit", party=party)
    note = tmp_path / "notes.txt"
    note.write_text("Leak above the office")
    log_in(page, "maya", PASSWORD)
    page.goto(f"/crm/actions/{action.pk}/")
    page.click("#tab-attachments")
    expect(page.locator("#panel-attachments")).to_be_visible()
    page.set_input_files("#panel-attachments input[type=file]", str(note))
    page.click("#panel-attachments button:has-text('Attach')")
    expect(page.locator("ul.messages")).to_contain_text("File attached")
    expect(page.locator("#panel-attachments")).to_be_visible()  # back on the tab of the upload
    link = page.locator("[data-attachments] a", has_text="notes.txt")
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "notes.txt"
    assert open(download.value.path()).read() == "Leak above the office"
