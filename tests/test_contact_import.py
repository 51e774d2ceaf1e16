"""Import of contacts of existing parties (issue 7, point 2): each row names its party by code or VAT
number; the dry run says which rows create and which update, and refuses a row whose party is not
found or is ambiguous; the import is all or nothing, for managers only."""

import re

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile

from suivi.accounts.models import Role
from suivi.core.models import AuditEvent, CompanySettings
from suivi.parties import importing
from suivi.parties.models import Affiliation, Contact, ImportedContact, Party, PartyImport

from . import factories

VAT = "BE0403170701"
OTHER_VAT = "BE0202239951"


@pytest.fixture(autouse=True)
def _jobs_run_at_once():
    # The worker's steps run in the request's thread (huey's immediate mode), as a worker would.
    from huey.contrib.djhuey import HUEY

    was = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = was


@pytest.fixture
def bakery(manager_user):
    return factories.party(manager_user, name="Boulangerie Dupont", code="C000001", vat_number=VAT)


def upload(client, content: str | bytes, name="contacts.csv"):
    content = content.encode() if isinstance(content, str) else content
    data = {"file": SimpleUploadedFile(name, content), "encoding": "utf-8", "holds": "contacts"}
    response = client.post("/parties/import/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return PartyImport.objects.latest("created_at")


def check(client, imp, update=False):
    imp.refresh_from_db()
    fields = {f"map_{k}": v for k, v in imp.mapping.items()}
    extra = {"update_existing": "1"} if update else {}
    return client.post(f"/parties/import/{imp.pk}/", {**fields, **extra, "check": "1"}, follow=True).content.decode()


def apply(client, imp):
    return client.post(f"/parties/import/{imp.pk}/", {"apply": "1"}, follow=True).content.decode()


def rejected(page: str) -> dict[str, str]:
    table = page.split('class="list rejected"', 1)[1].split("</table>", 1)[0] if "list rejected" in page else ""
    return dict(re.findall(r"<tr><td>(\d+)</td><td>(.*?)</td></tr>", table))


@pytest.mark.parametrize(
    "headers, fields",
    [
        (
            ["Code client", "Prénom", "Nom", "Fonction", "E-mail", "Téléphone", "GSM", "Langue"],
            ["party_code", "first_name", "last_name", "function", "email", "phone", "mobile", "language"],
        ),
        (
            ["Klantcode", "BTW-nummer", "Voornaam", "Achternaam", "Functie", "E-mailadres", "Telefoon", "Taal"],
            ["party_code", "party_vat", "first_name", "last_name", "function", "email", "phone", "language"],
        ),
        (
            ["Party code", "VAT", "First name", "Last name", "Job title", "Email", "Phone", "Mobile", "Language"],
            ["party_code", "party_vat", "first_name", "last_name", "function", "email", "phone", "mobile", "language"],
        ),
        (["TIERS", "N° TVA", "prenom", "NOM"], ["party_code", "party_vat", "first_name", "last_name"]),
        (["Numéro de TVA", "Nom de famille", "Mobiel"], ["party_vat", "last_name", "mobile"]),
    ],
)
def test_contact_headers_map_without_help_in_french_dutch_and_english(headers, fields):
    assert importing.guess_mapping(headers, "contacts") == {field: i for i, field in enumerate(fields)}


def test_a_file_without_a_party_column_asks_for_one_before_checking(manager_client, bakery):
    imp = upload(manager_client, "Prénom;Nom\nMarie;Lambert\n")
    page = check(manager_client, imp)
    assert "the party&#x27;s code or its VAT number" in page
    assert PartyImport.objects.get().status == "ready"


def test_contacts_are_linked_to_their_party_by_code(manager_client, bakery):
    other = factories.party(name="Garage Peeters", code="K7")
    imp = upload(
        manager_client,
        "Code client;Prénom;Nom;Fonction;E-mail;Téléphone;GSM;Langue\n"
        "C000001;Marie;Lambert;Gérante;marie@dupont.be;081 22 33 44;0475 12 34 56;Français\n"
        "K7;Jan;Peeters;Zaakvoerder;;;;nl\n",
    )
    page = check(manager_client, imp)
    assert "2 rows will be imported; 0 rows are rejected" in page
    assert not Contact.objects.exists()  # a dry run writes nothing
    page = apply(manager_client, imp)
    assert "Done: 2 contacts imported." in page
    marie = Contact.objects.get(last_name="Lambert")
    assert (marie.phone, marie.mobile, marie.email, marie.language) == (
        "+3281223344",
        "+32475123456",
        "marie@dupont.be",
        "fr",
    )
    assert marie.name_key == "lambert marie" and marie.version == 1
    assert list(marie.affiliations.values_list("party__code", "function")) == [("C000001", "Gérante")]
    assert Affiliation.objects.get(party=other).contact.first_name == "Jan"
    assert ImportedContact.objects.filter(party_import=imp).count() == 2
    apply(manager_client, imp)  # a double click imports nothing more
    assert Contact.objects.count() == 2


@pytest.mark.parametrize("typed", ["BE 0403.170.701", "be0403170701", "0403 170 701", "BE-0403-170-701"])
def test_contacts_are_linked_to_their_party_by_vat_number_however_it_is_written(manager_client, bakery, typed):
    imp = upload(manager_client, f"N° TVA;Nom\n{typed};Lambert\n")
    assert "1 row will be imported; 0 rows are rejected" in check(manager_client, imp)
    apply(manager_client, imp)
    assert Contact.objects.get().affiliations.get().party == bakery


def test_an_unknown_or_ambiguous_party_is_refused_with_its_line_and_what_was_looked_for(manager_client, bakery):
    twin = factories.party(name="Twin A", code="T1")
    factories.party(name="Twin B", code="T2")
    Party.objects.filter(code__in=["T1", "T2"]).update(vat_number=OTHER_VAT)  # as an old import left them
    imp = upload(
        manager_client,
        "Code;TVA;Nom\n"
        "C000001;;Bon\n"  # 2
        "NOPE;;Inconnu\n"  # 3
        ";BE0876543270;Inconnue\n"  # 4: a valid number nobody has
        f";{OTHER_VAT};Ambigu\n"  # 5
        f"T1;{OTHER_VAT};Par code\n"  # 6: the code settles it
        f"C000001;{OTHER_VAT};Contradictoire\n"  # 7
        ";BE0403170702;Mal tapé\n"  # 8
        ";;Sans tiers\n",  # 9
    )
    page = check(manager_client, imp)
    assert "2 rows will be imported; 6 rows are rejected" in page
    reasons = rejected(page)
    assert set(reasons) == {"3", "4", "5", "7", "8", "9"}
    assert "no party has the code NOPE" in reasons["3"]
    assert "no party has the VAT number BE0876543270" in reasons["4"]
    assert "2 parties have the VAT number BE0202239951" in reasons["5"] and "code" in reasons["5"]
    assert "the code C000001 is Boulangerie Dupont but the VAT number BE0202239951 is Twin A" in reasons["7"]
    assert "BE0403170702" in reasons["8"] and "check digits" in reasons["8"]
    assert "give its code or its VAT number" in reasons["9"]
    apply(manager_client, imp)
    assert sorted(Contact.objects.values_list("last_name", flat=True)) == ["Bon", "Par code"]
    assert Contact.objects.get(last_name="Par code").affiliations.get().party == twin


def test_rows_are_checked_as_the_contact_form_checks_them(manager_client, bakery):
    CompanySettings.objects.filter(pk=1).update(country="FR")  # numbers without prefix are French
    imp = upload(
        manager_client,
        "Code;Nom;Téléphone;E-mail;Langue;Fonction\n"
        "C000001;Martin;01 23 45 67 89;;;\n"
        "C000001;;;;;\n"
        "C000001;Bad;12;pas-un-mail;klingon;\n"
        f"C000001;Long;;;;{'x' * 101}\n",
    )
    page = check(manager_client, imp)
    reasons = rejected(page)
    assert set(reasons) == {"3", "4", "5"}
    assert "A contact needs a last name" in reasons["3"]
    assert "not a valid phone number" in reasons["4"] and "not a valid e-mail address" in reasons["4"]
    assert "“klingon” is not a language" in reasons["4"]
    assert "At most 100 characters" in reasons["5"]
    apply(manager_client, imp)
    martin = Contact.objects.get()
    assert martin.phone == "+33123456789"
    assert martin.language == "fr"  # the party's language when the file gives none


def test_without_update_mode_a_contact_already_at_the_party_is_a_duplicate(manager_client, bakery, manager_user):
    factories.contact(manager_user, party=bakery, first_name="Marie", last_name="Lambert", email="marie@dupont.be")
    imp = upload(
        manager_client,
        "Code;Prénom;Nom;E-mail\n"
        "C000001;Marie;Lambert;MARIE@dupont.be\n"
        "C000001;Paul;Neuf;paul@dupont.be\n"
        "C000001;Paul;Neuf;paul@dupont.be\n",
    )
    reasons = rejected(check(manager_client, imp))
    assert "Marie Lambert is already a contact of Boulangerie Dupont (same e-mail)" in reasons["2"]
    assert "duplicate of line 3" in reasons["4"]
    assert set(reasons) == {"2", "4"}


def test_update_mode_matches_by_e_mail_then_name_within_the_party_and_reports_the_changes(
    manager_client, bakery, manager_user
):
    elsewhere = factories.party(manager_user, name="Ailleurs", code="C000002")
    marie = factories.contact(
        manager_user, party=bakery, first_name="Marie", last_name="Lambert", email="marie@dupont.be", language="fr"
    )
    jean = factories.contact(manager_user, party=bakery, function="Comptable", first_name="Jean", last_name="Maes")
    Affiliation.objects.filter(contact=jean).update(is_main=True)
    factories.contact(manager_user, party=elsewhere, first_name="Paul", last_name="Dubois", email="paul@x.be")
    imp = upload(
        manager_client,
        "Code client;Prénom;Nom;E-mail;GSM;Fonction;Langue\n"
        "C000001;Marie;Lambert-Dupont;marie@dupont.be;;;\n"  # by e-mail: a new last name
        "C000001;Jean;Maes;;0475 12 34 56;Directeur;Nederlands\n"  # by name
        "C000001;Paul;Dubois;paul@x.be;;;\n"  # the same person at another party: a new contact here
        "C000002;Paul;Dubois;paul@x.be;;;\n",  # unchanged
    )
    page = check(manager_client, imp, update=True)
    assert "1 to create, 2 to update, 1 unchanged." in page
    assert "last name: Lambert → Lambert-Dupont" in page
    assert "mobile: — → +32475123456" in page
    assert "function: Comptable → Directeur" in page and "language: Français → Nederlands" in page
    assert "Marie Lambert — C000001 Boulangerie Dupont" in page
    assert Contact.objects.count() == 3  # a dry run writes nothing
    page = apply(manager_client, imp)
    assert "Done: 1 contact imported. 2 contacts updated." in page
    marie.refresh_from_db()
    jean.refresh_from_db()
    assert marie.last_name == "Lambert-Dupont" and marie.version == 2 and marie.email == "marie@dupont.be"
    assert (jean.mobile, jean.language, jean.version) == ("+32475123456", "nl", 2)
    link = Affiliation.objects.get(contact=jean)
    assert link.function == "Directeur" and link.is_main  # the main contact stays the main contact
    assert Contact.objects.filter(last_name="Dubois").count() == 2
    updates = AuditEvent.objects.filter(object_type="parties.contact", verb="update")
    assert {e.object_id for e in updates} == {str(marie.pk), str(jean.pk)}
    assert AuditEvent.objects.filter(object_type="parties.contact", verb="update_link").count() == 1


def test_in_update_mode_contacts_that_share_an_e_mail_address_are_told_apart_by_name(
    manager_client, bakery, manager_user
):
    marie = factories.contact(manager_user, party=bakery, first_name="Marie", last_name="Lambert", email="info@d.be")
    factories.contact(manager_user, party=bakery, first_name="Jean", last_name="Maes", email="info@d.be")
    imp = upload(
        manager_client,
        "Code;Prénom;Nom;E-mail;Téléphone\n"
        "C000001;Marie;Lambert;info@d.be;081 22 33 44\n"
        "C000001;Paul;Dubois;info@d.be;081 22 33 44\n",
    )
    page = check(manager_client, imp, update=True)
    assert "2 contacts of Boulangerie Dupont have the same e-mail" in rejected(page)["3"]
    assert "Marie Lambert — C000001" in page and "0 to create, 1 to update, 0 unchanged." in page
    apply(manager_client, imp)
    marie.refresh_from_db()
    assert marie.phone == "+3281223344"


def test_a_person_entered_twice_is_matched_once_a_row_in_order(manager_client, bakery, manager_user):
    twice = [factories.contact(manager_user, party=bakery, first_name="Marie", last_name="Lambert") for _i in "ab"]
    imp = upload(
        manager_client,
        "Code;Prénom;Nom;Téléphone\nC000001;Marie;Lambert;081 22 33 44\nC000001;Marie;Lambert;\n"
        "C000001;Marie;Lambert;\n",
    )
    page = check(manager_client, imp, update=True)
    assert "0 to create, 1 to update, 1 unchanged." in page
    assert "duplicate of line 2 (same contact)" in rejected(page)["4"]
    apply(manager_client, imp)
    assert [c.phone for c in Contact.objects.order_by("pk")] == ["+3281223344", ""]
    assert [c.pk for c in twice] == list(Contact.objects.order_by("pk").values_list("pk", flat=True))


def test_a_contacts_import_that_fails_half_way_leaves_nothing(manager_client, bakery, manager_user, monkeypatch):
    monkeypatch.setattr(importing.checking, "CHUNK", 1)  # each row in its own transaction
    imp = upload(manager_client, "Code;Prénom;Nom\nC000001;Marie;Lambert\nC000001;Jean;Maes\nC000001;Ann;Crash\n")
    check(manager_client, imp)
    real = importing.writing._create

    def crash(model, rows, *args, **kwargs):
        if model is Contact and rows and rows[0].get("last_name") == "Crash":  # two rows are written by then
            raise RuntimeError("disk full")
        return real(model, rows, *args, **kwargs)

    monkeypatch.setattr(importing.writing, "_create", crash)
    page = apply(manager_client, imp)
    assert "The import failed and nothing was imported (disk full)" in page
    assert not Contact.objects.exists() and not Affiliation.objects.exists()
    assert not ImportedContact.objects.exists()
    assert PartyImport.objects.get().status == "checked"
    monkeypatch.setattr(importing.writing, "_create", real)  # the disk has room again: import once more
    assert "Done: 3 contacts imported." in apply(manager_client, imp)


def test_a_stalled_contacts_import_is_resumed_without_doubles(manager_user, bakery):
    from datetime import timedelta

    from django.utils import timezone

    from suivi.parties import jobs

    upload_file = SimpleUploadedFile("c.csv", b"Code;Nom\nC000001;Lambert\nC000001;Maes\n")
    imp = importing.create_import(acting_user=manager_user, upload=upload_file, encoding="utf-8", holds="contacts")
    importing.read_uploaded(imp.pk)
    imp.refresh_from_db()
    importing.start_check(acting_user=manager_user, party_import=imp, mapping=imp.mapping)
    importing.check_import(imp.pk, "BE")
    importing.start_apply(acting_user=manager_user, party_import=imp)
    # A worker died half-way: one contact written, its lease expired.
    half = factories.contact(manager_user, party=bakery, last_name="Lambert")
    ImportedContact.objects.create(party_import=imp, contact=half)
    PartyImport.objects.filter(pk=imp.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    assert jobs.resume_stalled_imports() == 1
    assert sorted(Contact.objects.values_list("last_name", flat=True)) == ["Lambert", "Maes"]
    assert not Contact.objects.filter(pk=half.pk).exists()


def test_only_managers_may_import_contacts(user_client, plain_user, manager_user, bakery):
    assert user_client.get("/parties/import/?holds=contacts").status_code == 403
    response = user_client.post(
        "/parties/import/", {"file": SimpleUploadedFile("c.csv", b"Code;Nom\nC000001;A\n"), "holds": "contacts"}
    )
    assert response.status_code == 403 and not PartyImport.objects.exists()
    upload_file = SimpleUploadedFile("c.csv", b"Code;Nom\nC000001;A\n")
    with pytest.raises(PermissionDenied):
        importing.create_import(acting_user=plain_user, upload=upload_file, encoding="utf-8", holds="contacts")
    imp = importing.create_import(acting_user=manager_user, upload=upload_file, encoding="utf-8", holds="contacts")
    with pytest.raises(PermissionDenied):
        importing.start_check(acting_user=plain_user, party_import=imp, mapping={"party_code": 0, "last_name": 1})
    with pytest.raises(PermissionDenied):
        importing.start_apply(acting_user=plain_user, party_import=imp)
    # A manager who lost the role before the worker ran imports nothing.
    importing.read_uploaded(imp.pk)
    imp.refresh_from_db()
    importing.start_check(acting_user=manager_user, party_import=imp, mapping=imp.mapping)
    importing.check_import(imp.pk, "BE")
    importing.start_apply(acting_user=manager_user, party_import=imp)
    manager_user.role = Role.USER
    manager_user.save()
    with pytest.raises(PermissionDenied):
        importing.apply_import(imp.pk, "BE")
    assert not Contact.objects.exists()


def test_the_upload_page_offers_parties_or_contacts(manager_client):
    page = manager_client.get("/parties/import/?holds=contacts").content.decode()
    assert re.search(r'value="contacts"[^>]*checked', page)
    assert "Contacts of existing parties" in page
    contacts_page = manager_client.get("/contacts/").content.decode()
    assert "/parties/import/?holds=contacts" in contacts_page and "/contacts/export.csv" in contacts_page


def test_a_contacts_dry_run_takes_a_few_queries_whatever_the_row_count(manager_user, bakery):
    import io

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    factories.contact(manager_user, party=bakery, last_name="Known", email="known@dupont.be")
    rows = "".join(f"C000001;{VAT};Firm {i};person{i}@dupont.be\n" for i in range(1200))
    data = ("Code;TVA;Nom;E-mail\n" + rows + "NOPE;;X;\n").encode()
    mapping = importing.guess_mapping(importing.inspect(io.BytesIO(data), "c.csv", "utf-8")[0], "contacts")
    with CaptureQueriesContext(connection) as queries:
        report = importing.dry_run(io.BytesIO(data), "c.csv", mapping, holds="contacts", update=True)
    assert report.accepted == 1200 and report.rejected_count == 1 and report.to_create == 1200
    assert len(queries) <= 6  # two chunks: parties by code, by VAT number, their contacts
