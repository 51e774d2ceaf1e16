"""The documents screens in Chromium at a desktop width: number cells right-aligned, the lines
of the new and edit forms inside their card, a long word wrapped instead of widening the page."""

import pytest

from suivi.sales import services
from suivi.sales.demo import load_sales
from suivi.sales.models import Journal, VatRate

from .. import factories
from ..conftest import PASSWORD, make_user
from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(transactional_db):
    from suivi.accounts.models import Role
    from suivi.core.models import CompanySettings

    CompanySettings.objects.get_or_create(pk=1)
    load_sales()
    manager = make_user("maya", Role.MANAGER, first_name="Maya")
    party = factories.party(manager, name="Brasserie Dupont")
    rate = VatRate.objects.get(code="21")
    document = services.create_document(
        acting_user=manager,
        values={"journal": Journal.objects.get(code="VF"), "party": party},
        lines=[
            {"description": "Réf-" + "X" * 3000, "quantity": "2", "unit_price": "1234.5", "vat_rate": rate},
            {"description": "Work", "quantity": "1.5", "unit_price": "95", "vat_rate": rate},
        ],
    )
    return {"manager": manager, "party": party, "document": document}


def fits(page, selector: str) -> dict:
    return page.eval_on_selector(
        selector,
        """el => {
            const card = el.closest('.card');
            return {page: document.documentElement.scrollWidth, window: window.innerWidth,
                    right: el.getBoundingClientRect().right, cardRight: card.getBoundingClientRect().right,
                    scrolls: getComputedStyle(el.parentElement).overflowX};
        }""",
    )


def test_number_cells_are_right_aligned_with_digits_of_equal_width(page, world):
    log_in(page, "maya", PASSWORD)
    page.goto(f"/sales/documents/{world['document'].pk}/")
    style = page.eval_on_selector(
        "[data-lines] tbody td.n", "td => [getComputedStyle(td).textAlign, getComputedStyle(td).fontVariantNumeric]"
    )
    assert style == ["right", "tabular-nums"]
    assert page.eval_on_selector("[data-total]", "th => getComputedStyle(th).textAlign") == "right"


def test_a_long_description_without_spaces_wraps_instead_of_widening_the_page(page, world):
    page.set_viewport_size({"width": 1300, "height": 900})
    log_in(page, "maya", PASSWORD)
    page.goto(f"/sales/documents/{world['document'].pk}/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1300, width


@pytest.mark.parametrize("which", ["new", "edit"])
def test_the_lines_of_the_document_form_stay_inside_their_card_at_1300_pixels(page, world, which):
    page.set_viewport_size({"width": 1300, "height": 900})
    log_in(page, "maya", PASSWORD)
    if which == "new":
        page.goto(f"/sales/documents/new/?party={world['party'].pk}")
    else:
        page.goto(f"/sales/documents/{world['document'].pk}/update/")
    box = fits(page, "table.lines")
    assert box["page"] <= 1300, box
    assert box["right"] <= box["cardRight"] and box["scrolls"] == "auto", box  # fits; would scroll in its card
