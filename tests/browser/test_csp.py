"""In a real browser, under the Content-Security-Policy: no violation, and htmx still works."""

import pytest
from playwright.sync_api import expect

from suivi.core.models import CompanySettings
from suivi.parties.models import Category

from .. import factories
from ..conftest import PASSWORD, make_user
from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def user(transactional_db):
    import importlib

    from django.apps import apps

    from suivi.accounts.models import Role

    CompanySettings.objects.get_or_create(pk=1)
    CompanySettings.objects.filter(pk=1).update(crm_enabled=True, opportunities_enabled=True)
    # A transactional test database is flushed after each test: put the defaults back.
    importlib.import_module("suivi.activities.migrations.0002_default_types_and_stages").create(apps, None)
    return make_user("paul", Role.MANAGER, first_name="Paul")


@pytest.fixture
def violations(page):
    """Console messages and page errors that a Content-Security-Policy (or htmx's eval guard) caused."""
    seen = []
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("console", lambda m: seen.append(m.text) if "evalDisallowed" in m.text else None)
    page.on("pageerror", lambda e: seen.append(f"page error: {e}"))
    return seen


def test_pages_and_htmx_work_without_any_policy_violation(page, user, violations):
    category = Category.objects.create(name="VIP", colour="#aa0000")
    party = factories.party(user, name="Toiture Lambert")
    party.categories.add(category)
    factories.contact(user, party=party, last_name="Lambert")
    factories.party(user, name="Boulangerie Dupont")

    log_in(page, "paul", PASSWORD)

    # Party list: the live search (htmx) narrows the rows as one types.
    response = page.goto("/parties/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator("#party-rows")).to_contain_text("Boulangerie Dupont")
    page.fill("input[name=q]", "Toiture")
    expect(page.locator("#party-rows")).not_to_contain_text("Boulangerie Dupont")
    expect(page.locator("#party-rows")).to_contain_text("Toiture Lambert")
    # The category's colour is applied by our script (no inline style attribute).
    tag = page.locator("#party-rows .tag", has_text="VIP")
    expect(tag).to_have_css("color", "rgb(170, 0, 0)")

    # New action: the party type-ahead (htmx) lists matches, picking one loads its contacts (htmx).
    page.goto("/crm/actions/new/")
    page.fill("#action-party", "Toit")
    page.locator("#action-party-list [role=option]").first.click()
    expect(page.locator("#party-fields input[name=contacts]")).to_have_count(1)

    # Pipeline: the "followed by" select submits its form by itself (no onchange attribute).
    page.goto("/crm/pipeline/")
    page.select_option("select[name=followed_by]", label="Paul")
    page.wait_for_url(lambda url: "followed_by=" in url)

    # The API docs (Swagger UI) render under their own policy.
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Suivi API")

    assert violations == []
