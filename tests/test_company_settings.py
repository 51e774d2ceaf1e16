"""Company settings: every CRM option of the seed on tab Customers/suppliers (S1–S9)."""

import re
from decimal import Decimal

import pytest

from suivi.core.models import CompanySettings

CRM_FORM = {
    "crm_enabled": "on",
    "crm_level": "basic",
    "action_form_layout": "classic",
    "billing_in_main_tab": "on",
    "default_sending_method": "send",
    "mailing_delay_seconds": "1.5",
    "followed_by_expression": "",
}


def current():
    return CompanySettings.objects.get(pk=1)


def test_every_crm_option_of_the_seed_is_on_the_customers_suppliers_tab(admin_client):
    page = admin_client.get("/settings/crm/").content.decode()
    for name in (
        "crm_enabled",
        "crm_level",
        "action_form_layout",
        "billing_in_main_tab",
        "opportunities_enabled",
        "default_sending_method",
        "mailing_delay_seconds",
        "followed_by_expression",
    ):
        assert f'name="{name}"' in page, name
    # Each option is explained in the user's words, without the specification's internal codes.
    assert "Switches the CRM on" in page and "drafts folder" in page and "Followed by" in page
    assert not re.search(r"\bS\d —", page)


def test_an_administrator_changes_the_crm_options(admin_client):
    form = {
        **CRM_FORM,
        "crm_level": "full",
        "action_form_layout": "tabs",
        "opportunities_enabled": "on",
        "default_sending_method": "drafts",
        "mailing_delay_seconds": "0.25",
        "version": current().version,
    }
    form.pop("billing_in_main_tab")
    response = admin_client.post("/settings/crm/", form)
    assert response.status_code == 302
    s = current()
    assert (
        s.crm_level,
        s.action_form_layout,
        s.billing_in_main_tab,
        s.opportunities_enabled,
        s.default_sending_method,
        s.mailing_delay_seconds,
    ) == ("full", "tabs", False, True, "drafts", Decimal("0.250"))


def test_a_user_who_is_not_administrator_cannot_change_settings(user_client, manager_client):
    for client in (user_client, manager_client):
        response = client.post("/settings/crm/", {**CRM_FORM, "crm_enabled": ""})
        assert response.status_code == 403
        assert "Only administrators" in response.content.decode()
    assert current().crm_enabled is True


def test_a_negative_e_mailing_delay_is_refused_and_the_typed_values_stay(admin_client):
    response = admin_client.post(
        "/settings/crm/", {**CRM_FORM, "mailing_delay_seconds": "-1", "followed_by_expression": "is_active = True"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "greater than or equal to 0" in page
    assert "is_active = True" in page
    assert current().followed_by_expression == ""


@pytest.mark.parametrize(
    "expression, message",
    [
        ('is_active = True and colour = "red"', "Unknown field “colour” (line 1, column 22)"),
        ("is_active = = True", "Syntax error near “=” at line 1, column 13"),
        ('groups.name in ("Sales"', "incomplete"),
    ],
)
def test_an_invalid_followed_by_expression_says_where_and_why_and_nothing_is_saved(admin_client, expression, message):
    response = admin_client.post(
        "/settings/crm/", {**CRM_FORM, "mailing_delay_seconds": "9", "followed_by_expression": expression}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert expression.replace('"', "&quot;") in page
    s = current()
    assert s.followed_by_expression == "" and s.mailing_delay_seconds == Decimal("1.000")


def test_a_change_made_meanwhile_by_someone_else_is_not_overwritten(admin_client):
    version = current().version
    assert (
        admin_client.post("/settings/crm/", {**CRM_FORM, "mailing_delay_seconds": "2", "version": version}).status_code
        == 302
    )
    stale = admin_client.post("/settings/crm/", {**CRM_FORM, "mailing_delay_seconds": "3", "version": version})
    assert stale.status_code == 409
    assert current().mailing_delay_seconds == Decimal("2")


def test_each_change_leaves_an_audit_row(admin_client, admin_user):
    from suivi.core.models import AuditEvent

    admin_client.post("/settings/crm/", {**CRM_FORM, "mailing_delay_seconds": "4", "version": current().version})
    event = AuditEvent.objects.get(object_type="core.companysettings")
    assert event.actor == admin_user
    assert event.changes["mailing_delay_seconds"][1] == "4"
