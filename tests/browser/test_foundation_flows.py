"""The foundation's flows as a person does them, in a real browser."""

import pytest
from playwright.sync_api import expect

from suivi.core.models import CompanySettings
from suivi.parties.models import Party

from .. import factories
from ..conftest import PASSWORD, make_user
from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def user(transactional_db):
    from suivi.accounts.models import Role

    CompanySettings.objects.get_or_create(pk=1)
    return make_user("paul", Role.MANAGER, first_name="Paul")


def test_create_a_party_with_an_invalid_then_a_valid_vat_number(page, user):
    log_in(page, "paul", PASSWORD)
    page.goto("/parties/new/")
    page.fill("#id_name", "Brasserie Wouters")
    page.fill("#id_city", "Leuven")
    page.fill("#id_vat_number", "BE0403.170.702")
    page.click("button.primary")
    expect(page.locator(".errorlist")).to_contain_text("check digits do not match")
    expect(page.locator("#id_name")).to_have_value("Brasserie Wouters")
    expect(page.locator("#id_city")).to_have_value("Leuven")
    page.fill("#id_vat_number", "BE0403.170.701")
    page.click("button.primary")
    expect(page.locator("h1")).to_contain_text("Brasserie Wouters")
    assert Party.objects.get().vat_number == "BE0403170701"


def test_find_a_party_by_type_ahead_and_link_a_contact_to_it(page, user):
    factories.party(user, name="Garage Mertens", city="Wavre")
    factories.party(user, name="Pharmacie Simon", city="Arlon")
    contact = factories.contact(user, last_name="Hermans")
    log_in(page, "paul", PASSWORD)
    page.goto(f"/contacts/{contact.pk}/")
    page.fill("#link-party", "wav")
    option = page.locator("#link-party-list [role=option]")
    expect(option).to_have_count(1)
    expect(option).to_contain_text("Garage Mertens")
    option.click()
    expect(page.locator("#link-party")).to_have_value("Garage Mertens")
    page.fill("#id_function", "Chef d'atelier")
    page.click("text=Add to this party")
    expect(page.locator("[data-works-at]")).to_contain_text("Garage Mertens")
    expect(page.locator("[data-works-at]")).to_contain_text("Chef d'atelier")


@pytest.fixture
def jobs_run_at_once():
    # The import's worker steps run in the live server's thread (huey's immediate mode); the page
    # still polls its progress as it would with a separate worker.
    from huey.contrib.djhuey import HUEY

    was = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = was


def test_import_a_small_csv_through_the_dry_run(page, user, tmp_path, jobs_run_at_once):
    csv_file = tmp_path / "parties.csv"
    csv_file.write_text("Nom;Ville;TVA\nCafé des Arts;Mons;\nBad VAT;Ath;BE0000000001\n", encoding="utf-8")
    log_in(page, "paul", PASSWORD)
    page.goto("/parties/import/")
    page.set_input_files("#id_file", str(csv_file))
    page.click("button.primary")
    expect(page.locator("#map_name")).to_have_value("0")
    page.click("button[name=check]")
    dry_run = page.locator("[data-dry-run]")
    expect(dry_run).to_contain_text("1 row will be imported; 1 row is rejected")
    expect(dry_run.locator("table.rejected")).to_contain_text("3")
    assert not Party.objects.exists()
    page.click("button[name=apply]")
    expect(page.locator("[data-import-done]")).to_contain_text("1 party imported")
    assert list(Party.objects.values_list("name", flat=True)) == ["Café des Arts"]


def test_switch_the_interface_to_french(page, user):
    log_in(page, "paul", PASSWORD)
    page.goto("/parties/")
    expect(page.locator("h1")).to_have_text("Parties")
    page.click("button[name=language][value=fr]")
    expect(page.locator("h1")).to_have_text("Tiers")
    expect(page.locator(".actions .primary")).to_have_text("Nouveau tiers")
    page.click("button[name=language][value=nl]")
    expect(page.locator("h1")).to_have_text("Relaties")


def test_with_the_crm_option_off_the_crm_menu_is_gone(page, user):
    log_in(page, "paul", PASSWORD)
    page.goto("/")
    expect(page.locator("[data-menu=crm]")).to_be_visible()
    CompanySettings.objects.filter(pk=1).update(crm_enabled=False)
    page.goto("/")
    expect(page.locator("[data-menu=crm]")).to_have_count(0)
    page.goto("/crm/")
    expect(page.locator(".notice")).to_contain_text("The CRM option is off")
