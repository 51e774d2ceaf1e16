"""Parties and contacts: create, edit, archive, validation, list, type-ahead (issue point 6)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from suivi.core.models import AuditEvent
from suivi.parties.models import Category, Party
from suivi.parties.queries import party_typeahead

from . import factories

VALID = {
    "name": "Brasserie Dupont",
    "is_customer": "on",
    "country": "BE",
    "language": "fr",
    "vat_number": "",
    "email": "",
    "phone": "",
    "code": "",
}


def test_a_party_with_an_invalid_vat_number_is_refused_and_what_was_typed_stays(user_client):
    response = user_client.post(
        "/parties/new/", {**VALID, "vat_number": "BE0403.170.702", "city": "Liège", "phone": "04 222 33 44"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "check digits do not match" in page
    assert 'value="BE0403.170.702"' in page and 'value="Liège"' in page
    assert not Party.objects.exists()


def test_a_valid_vat_number_is_stored_compact_and_the_phone_normalised(user_client):
    response = user_client.post("/parties/new/", {**VALID, "vat_number": "0403.170.701", "phone": "04 222 33 44"})
    assert response.status_code == 302
    party = Party.objects.get()
    assert (party.vat_number, party.phone) == ("BE0403170701", "+3242223344")
    assert party.code == "P000001"


@pytest.mark.parametrize("vat", ["FR40303265045", "NL004495445B01", "LU26375245", "DE136695976", "BE0403170701"])
def test_vat_numbers_of_neighbouring_countries_are_accepted(user_client, vat):
    assert user_client.post("/parties/new/", {**VALID, "vat_number": vat}).status_code == 302


@pytest.mark.parametrize(
    "vat, message",
    [("FR40303265046", "check digits"), ("DE12345", "wrong number of digits"), ("US123456789", "country code")],
)
def test_wrong_vat_numbers_get_a_precise_message(user_client, vat, message):
    response = user_client.post("/parties/new/", {**VALID, "vat_number": vat})
    assert response.status_code == 400 and message in response.content.decode()


def test_a_duplicate_code_or_vat_number_names_the_party_that_has_it(user_client, plain_user):
    factories.party(plain_user, name="First", code="ACME", vat_number="BE0403170701")
    response = user_client.post("/parties/new/", {**VALID, "code": "ACME", "vat_number": "BE 0403 170 701"})
    page = response.content.decode()
    assert response.status_code == 400
    assert "The code ACME is already used by First" in page
    assert "This VAT number is already used by First" in page


def test_a_too_long_name_says_the_limit_and_keeps_the_text(user_client):
    name = "N" * 250
    response = user_client.post("/parties/new/", {**VALID, "name": name})
    assert response.status_code == 400
    page = response.content.decode()
    assert "At most 200 characters (you typed 250)" in page and name in page


def test_editing_records_who_changed_what(user_client, plain_user):
    party = factories.party(plain_user, name="Old name")
    response = user_client.post(
        f"/parties/{party.pk}/update/", {**VALID, "name": "New name", "code": party.code, "version": party.version}
    )
    assert response.status_code == 302
    event = AuditEvent.objects.filter(object_type="parties.party", verb="update").get()
    assert event.actor == plain_user and event.changes["name"] == ["Old name", "New name"]
    assert "Old name" in user_client.get(f"/parties/{party.pk}/").content.decode()


def test_two_people_saving_the_same_version_one_gets_a_conflict(user_client, manager_client, plain_user):
    party = factories.party(plain_user, name="Shared")
    form = {**VALID, "code": party.code, "version": party.version}
    assert user_client.post(f"/parties/{party.pk}/update/", {**form, "name": "Mine"}).status_code == 302
    late = manager_client.post(f"/parties/{party.pk}/update/", {**form, "name": "Theirs"})
    assert late.status_code == 409
    assert "changed by someone else" in late.content.decode()
    assert 'value="Theirs"' in late.content.decode()
    party.refresh_from_db()
    assert party.name == "Mine"


def test_archiving_keeps_the_party_and_needs_a_manager(user_client, manager_client, plain_user):
    party = factories.party(plain_user, name="To archive")
    refused = user_client.post(f"/parties/{party.pk}/archive/", {"version": party.version})
    assert refused.status_code == 403 and "Only managers" in refused.content.decode()
    party.refresh_from_db()
    assert not party.archived
    manager_client.post(f"/parties/{party.pk}/archive/", {"version": party.version})
    party.refresh_from_db()
    assert party.archived
    page = manager_client.get("/parties/").content.decode()
    assert "To archive" not in page
    assert "To archive" in manager_client.get("/parties/?archived=1").content.decode()


def test_a_contact_works_at_several_parties_with_a_function_at_each(user_client, plain_user):
    a = factories.party(plain_user, name="Alpha")
    b = factories.party(plain_user, name="Beta")
    contact = factories.contact(plain_user, party=a, function="Accountant", last_name="Claes")
    response = user_client.post(f"/contacts/{contact.pk}/link/", {"party": b.pk, "function": "Director"})
    assert response.status_code == 302
    page = user_client.get(f"/contacts/{contact.pk}/").content.decode()
    assert "Accountant" in page and "Director" in page
    assert "Claes" in user_client.get(f"/parties/{b.pk}/").content.decode()


def test_a_contact_with_a_bad_e_mail_keeps_what_was_typed(user_client):
    response = user_client.post(
        "/contacts/new/", {"first_name": "Jan", "last_name": "Peeters", "email": "jan@", "language": "nl"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "not a valid e-mail address" in page and 'value="Peeters"' in page


def test_an_address_can_be_added_to_a_party(user_client, plain_user):
    party = factories.party(plain_user)
    user_client.post(
        f"/parties/{party.pk}/addresses/",
        {"kind": "delivery", "street": "Rue du Dépôt 3", "postal_code": "5000", "city": "Namur", "country": "BE"},
    )
    assert "Rue du Dépôt 3" in user_client.get(f"/parties/{party.pk}/").content.decode()


@pytest.fixture
def many(plain_user):
    horeca = Category.objects.create(name="Horeca")
    parties = []
    for i in range(60):
        p = factories.party(
            plain_user, name=f"Company {i:02d}", city="Gent" if i % 2 else "Namur", is_supplier=i % 3 == 0
        )
        p.categories.add(horeca)
        parties.append(p)
    return parties


@pytest.mark.parametrize("sort", ["name", "-name", "code", "-code", "city", "-city", "created", "-created"])
def test_the_party_list_page_runs_a_fixed_number_of_queries_whatever_the_sort(user_client, many, sort):
    with CaptureQueriesContext(connection) as queries:
        response = user_client.get(f"/parties/?sort={sort}&page=2")
    assert response.status_code == 200
    assert response.content.decode().count('href="/parties/') >= 10
    # session, user, count, settings, category filter, page ids, page rows, their categories
    assert len(queries) == 8, [q["sql"] for q in queries]


def test_the_list_filters_by_kind_city_category_and_words(user_client, many):
    page = user_client.get("/parties/?kind=supplier&city=gen").content.decode()
    assert "Company 03" in page and "Company 00" not in page and "Company 02" not in page
    page = user_client.get("/parties/?q=company+07").content.decode()
    assert "Company 07" in page and "Company 08" not in page
    assert "60 results" in user_client.get(f"/parties/?category={many[0].categories.get().pk}").content.decode()


def test_type_ahead_finds_by_name_code_e_mail_vat_and_city_without_accents(plain_user):
    p = factories.party(
        plain_user,
        name="Électricité Renard",
        code="ELR01",
        email="contact@renard.be",
        vat_number="BE0403170701",
        city="Liège",
    )
    factories.party(plain_user, name="Other")
    for typed in ("elec", "renard", "ELR0", "contact@renard", "0403170", "BE04031", "liege", "élec ren"):
        assert party_typeahead(plain_user, typed) == [p], typed
    assert party_typeahead(plain_user, "renard zzz") == []


def test_type_ahead_endpoint_renders_options(user_client, plain_user):
    factories.party(plain_user, name="Garage Janssens", city="Antwerpen")
    with CaptureQueriesContext(connection) as queries:
        response = user_client.get("/parties/typeahead/?q=jans")
    assert 'role="option"' in response.content.decode() and "Garage Janssens" in response.content.decode()
    assert len(queries) == 4  # session, user, keyword candidates, parties


def test_type_ahead_skips_archived_parties(plain_user, manager_user):
    from suivi.parties.services import archive_party

    p = factories.party(plain_user, name="Dormant")
    archive_party(acting_user=manager_user, party=p, expected_version=p.version)
    assert party_typeahead(plain_user, "dormant") == []


def test_deep_pages_show_the_right_rows_in_the_right_order(user_client, many):
    page = user_client.get("/parties/?sort=-name&page=2").content.decode()
    names = re.findall(r">(Company \d\d)</a>", page)
    assert names == [f"Company {i:02d}" for i in range(9, -1, -1)]


def test_a_one_letter_word_matches_whole_words_only(user_client, plain_user):
    factories.party(plain_user, name="Garage B Motors")
    factories.party(plain_user, name="Boulangerie Bernard")
    page = user_client.get("/parties/?q=b").content.decode()
    assert "Garage B Motors" in page and "Boulangerie" not in page
    assert "Boulangerie" in user_client.get("/parties/?q=bo").content.decode()
