"""Open a filled record, save it unchanged, and nothing changes — in French, English and Dutch
(RELIABILITY S14). Every edit form is here: a localised value in a native date input reads as
empty, and the next save would write null; a decimal, a choice or a multi-select could drift the
same way. What was stored is compared through the API (through the models where there is no
endpoint)."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.forms.models import model_to_dict
from rest_framework.test import APIClient

from suivi.accounts.models import DevicePreference, Role, User
from suivi.activities.models import ActionType, Stage
from suivi.core.models import CompanySettings
from suivi.parties.models import Category

from .. import factories
from ..conftest import PASSWORD, make_user
from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BRUSSELS = ZoneInfo("Europe/Brussels")
VOLATILE = {"updated_at", "version"}


@pytest.fixture
def records(transactional_db):
    import importlib

    from django.apps import apps

    CompanySettings.objects.get_or_create(pk=1)
    importlib.import_module("suivi.activities.migrations.0002_default_types_and_stages").create(apps, None)
    CompanySettings.objects.filter(pk=1).update(
        company_name="Menuiserie Dubois SRL",
        country="BE",
        crm_level="full",
        action_form_layout="tabs",
        billing_in_main_tab=False,
        opportunities_enabled=True,
        default_sending_method="drafts",
        mailing_delay_seconds=Decimal("2.5"),
        followed_by_expression='is_active = True and role in ("administrator", "manager", "user")',
    )
    admin = make_user("ada", Role.ADMINISTRATOR, first_name="Ada")
    rep = make_user("rik", Role.USER, first_name="Rik")
    kept, _other = Category.objects.create(name="Key account"), Category.objects.create(name="Prospect fair")
    party = factories.party(
        admin,
        code="DUB01",
        name="Dubois & Fils",
        is_supplier=True,
        is_prospect=True,
        vat_number="BE0403170701",
        email="info@dubois.be",
        phone="+32 81 22 33 44",
        website="https://dubois.be",
        street="Rue de Fer 12",
        postal_code="5000",
        city="Namur",
        country="BE",
        language="nl",
        sales_rep=rep,
        notes="Pays à 30 jours.",
    )
    party.categories.set([kept])
    contact = factories.contact(
        admin,
        party=party,
        first_name="Élise",
        last_name="Dubois",
        email="elise@dubois.be",
        phone="+32 81 22 33 45",
        mobile="+32 475 12 34 56",
        language="fr",
        notes="Préfère le matin.",
    )
    folder = factories.folder(
        admin,
        name="Nouvel atelier",
        party=party,
        description="Agrandissement",
        followed_by=rep,
        is_opportunity=True,
        opportunity_type="Nouveau client",
        budget=Decimal("12500.50"),
        probability=40,
        stage=Stage.objects.order_by("position")[1],
        expected_close=date(2027, 5, 10),
        source="Salon",
    )
    action = factories.action(
        admin,
        subject="Visite de chantier",
        action_type=ActionType.objects.get(name_en="Meeting"),
        party=party,
        contacts=[contact],
        folder=folder,
        start=datetime(2027, 5, 10, 14, 30, tzinfo=BRUSSELS),
        end=datetime(2027, 5, 10, 15, 45, tzinfo=BRUSSELS),
        due_date=date(2027, 5, 12),
        duration_minutes=75,
        priority=3,
        followed_by=rep,
        private=True,
        description="<p>Mesurer la <strong>façade</strong></p>",
        billable=True,
        bill_quantity=Decimal("1.25"),
        unit_price=Decimal("80.50"),
        invoice_text="Déplacement",
    )
    return {"admin": admin, "party": party, "contact": contact, "folder": folder, "action": action}


def _api(admin, url):
    client = APIClient()
    client.force_authenticate(admin)
    response = client.get(url)
    assert response.status_code == 200, (url, response.content[:300])
    return {k: v for k, v in response.json().items() if k not in VOLATILE}


def _rows(model):
    return [model_to_dict(row) for row in model.objects.order_by("pk")]


def _preferences(user):
    user.refresh_from_db()
    devices = [(d.send_via_outlook, d.label) for d in DevicePreference.objects.filter(user=user)]
    return (user.language, user.sending_method, devices)


def snapshot(records):
    admin = records["admin"]
    return {
        "party": _api(admin, f"/api/v1/parties/{records['party'].pk}/"),
        "contact": _api(admin, f"/api/v1/contacts/{records['contact'].pk}/"),
        "folder": _api(admin, f"/api/v1/folders/{records['folder'].pk}/"),
        "action": _api(admin, f"/api/v1/actions/{records['action'].pk}/"),
        "settings": _api(admin, "/api/v1/settings"),
        "action types": _rows(ActionType),
        "stages": _rows(Stage),
        "preferences": _preferences(admin),
    }


def edit_pages(records):
    return [
        f"/parties/{records['party'].pk}/update/",
        f"/contacts/{records['contact'].pk}/update/",
        f"/crm/folders/{records['folder'].pk}/update/",
        f"/crm/actions/{records['action'].pk}/",
        "/settings/general/",
        "/settings/crm/",
        "/settings/action-types/",
        "/settings/stages/",
        "/preferences/",
    ]


@pytest.mark.parametrize("language", ["fr", "en", "nl"])
def test_every_edit_form_saved_unchanged_changes_nothing(page, records, language):
    admin = records["admin"]
    User.objects.filter(pk=admin.pk).update(language=language)
    log_in(page, "ada", PASSWORD)
    page.goto("/preferences/")  # the device row exists before the first snapshot
    before = snapshot(records)
    assert before["folder"]["expected_close"] == "2027-05-10" and before["action"]["due_date"] == "2027-05-12"
    for url in edit_pages(records):
        page.goto(url)
        assert page.locator("html").get_attribute("lang") == language, url
        with page.expect_navigation():
            page.locator("main form button.primary").last.click()
        assert "/login/" not in page.url, url
        assert not page.locator(".errorlist, .error[role=alert]").count(), (url, page.content()[:2000])
        after = snapshot(records)
        changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
        assert not changed, (language, url, changed)
