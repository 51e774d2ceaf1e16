"""The levels mean something (S2): at M1 the billing of actions (an M2 feature) is hidden on
pages and absent from the API, its data kept; at M2 it appears."""

from decimal import Decimal

from rest_framework.test import APIClient

from suivi.activities.models import Action
from suivi.core.models import CompanySettings

from . import factories


def level(value):
    CompanySettings.objects.filter(pk=1).update(crm_level=value)


def billed_action(user):
    level("full")
    return factories.action(user, subject="Repair", billable=True, bill_quantity=Decimal("2"), unit_price=Decimal("45"))


def test_at_m1_the_action_form_has_no_billing_and_a_save_keeps_its_data(user_client, plain_user):
    action = billed_action(plain_user)
    level("basic")
    page = user_client.get(f"/crm/actions/{action.pk}/").content.decode()
    assert 'name="bill_quantity"' not in page and "data-billing-group" not in page
    response = user_client.post(
        f"/crm/actions/{action.pk}/",
        {
            "subject": "Repair done",
            "action_type": action.action_type_id,
            "priority": 2,
            "followed_by": plain_user.pk,
            "version": action.version,
        },
    )
    assert response.status_code == 302
    action.refresh_from_db()
    assert (action.subject, action.billable, action.bill_quantity) == ("Repair done", True, Decimal("2"))
    level("full")
    assert 'name="bill_quantity"' in user_client.get(f"/crm/actions/{action.pk}/").content.decode()


def test_at_m1_the_api_neither_shows_nor_takes_billing_fields(plain_user):
    action = billed_action(plain_user)
    level("basic")
    client = APIClient()
    client.force_authenticate(plain_user)
    body = client.get(f"/api/v1/actions/{action.pk}/").json()
    assert "bill_quantity" not in body and "unit_price" not in body and body["subject"] == "Repair"
    refused = client.patch(
        f"/api/v1/actions/{action.pk}/", {"unit_price": "1", "version": action.version}, format="json"
    )
    assert refused.status_code == 400 and "CRM level M2" in str(refused.json())
    assert Action.objects.get(pk=action.pk).unit_price == Decimal("45")
    level("full")
    assert client.get(f"/api/v1/actions/{action.pk}/").json()["unit_price"] == "45.00"
