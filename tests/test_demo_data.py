"""The demo company passes Suivi's own checks: every party and contact can be saved unchanged
(check digits of VAT numbers, national phone plans of BE / FR / NL / LU)."""

import os

import phonenumbers
from django.core.management import call_command

from suivi.parties.models import Contact, Party
from suivi.parties.validation import clean_contact, clean_party

PARTY_FIELDS = ["code", "name", "vat_number", "email", "phone", "website", "street", "postal_code", "city", "country"]
CONTACT_FIELDS = ["first_name", "last_name", "email", "phone", "mobile", "language"]


def test_every_demo_party_and_contact_passes_the_checks_of_the_forms(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("demo", stdout=open(os.devnull, "w"))
    parties = list(Party.objects.all())
    assert len(parties) >= 300
    countries = {p.country for p in parties}
    assert {"BE", "FR", "LU", "NL"} <= countries
    for party in parties:
        values = {name: getattr(party, name) for name in PARTY_FIELDS}
        cleaned, errors = clean_party(values, instance=party, default_country=party.country)
        assert not errors, (party.code, values, errors)
        assert cleaned["vat_number"] == party.vat_number and cleaned["phone"] == party.phone, party.code
        assert phonenumbers.region_code_for_number(phonenumbers.parse(party.phone)) == party.country, party.phone
    assert sum(bool(p.vat_number) for p in parties) > len(parties) / 2
    for contact in Contact.objects.all():
        values = {name: getattr(contact, name) for name in CONTACT_FIELDS}
        cleaned, errors = clean_contact(values, default_country="BE")
        assert not errors, (contact.pk, values, errors)
        assert (cleaned["phone"], cleaned["mobile"]) == (contact.phone, contact.mobile)


def test_people_at_dutch_speaking_parties_have_dutch_functions(db, settings, tmp_path):
    from suivi.parties.models import Affiliation

    settings.VAR_DIR = tmp_path
    call_command("demo", stdout=open(os.devnull, "w"))
    dutch = Affiliation.objects.filter(party__language="nl").values_list("function", flat=True)
    assert dutch and "Gérant" not in set(dutch) and "Comptable" not in set(dutch)


def test_printing_a_demo_quote_records_an_action_on_the_partys_timeline(db, settings, tmp_path):
    """The README tour: print a quote of the demo company, find the generated action (with the
    PDF) on the party's page."""
    from django.test import Client

    from suivi.accounts.models import User
    from suivi.sales import services
    from suivi.sales.models import Journal, Layout, VatRate

    settings.VAR_DIR = tmp_path
    call_command("demo", stdout=open(os.devnull, "w"))
    admin = User.objects.get(username="admin")
    party = Party.objects.order_by("id").first()
    quotes = Journal.objects.get(code="DV")
    quote = services.create_document(
        acting_user=admin,
        values={"journal": quotes, "party": party},
        lines=[
            {
                "description": "Visite technique",
                "quantity": "1",
                "unit_price": "150",
                "vat_rate": VatRate.objects.get(rate=21),
            }
        ],
    )
    quote = services.validate_document(acting_user=admin, document=quote, expected_version=quote.version)
    services.print_document(
        acting_user=admin, document=quote, layout=Layout.objects.get(journal=quotes, is_default=True)
    )
    client = Client()
    client.force_login(admin)
    page = client.get(f"/parties/{party.pk}/?sort=-when").content.decode()
    assert f"imprimé · {party.name}" in page and quote.number in page
