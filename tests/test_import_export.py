"""Import of parties from CSV / XLSX with a dry run; export of the list (issue point 7)."""

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from suivi.parties.models import Contact, Party, PartyImport

from . import factories

GOOD_CSV = (
    "Nom;TVA;Email;Ville;Type;Prénom;Contact;Fonction\n"
    "Boulangerie Dupont;BE0403170701;info@dupont.be;Namur;client;Marie;Dupont;Gérante\n"
    "Garage Peeters;BE0403.170.702;garage@peeters.be;Gent;fournisseur;;;\n"
    "Imprimerie Maes;;info@dupont.be;Liège;client;;;\n"
    ";;;Arlon;;;;\n"
    "Atelier Lambert;;atelier@lambert.fr;Lille;prospect;Jean;Lambert;Directeur\n"
)


@pytest.fixture(autouse=True)
def _jobs_run_at_once():
    # The worker's steps run in the request's thread (huey's immediate mode), as a worker would.
    from huey.contrib.djhuey import HUEY

    was = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = was


def upload(client, content: bytes, name="parties.csv", encoding="utf-8", follow=False):
    data = {"file": SimpleUploadedFile(name, content), "encoding": encoding}
    return client.post("/parties/import/", data, follow=follow)


def mapping_of(response):
    return {
        m[0]: m[1]
        for m in re.findall(
            r'<select id="map_(\w+)" name="map_\w+"><option value="">—</option>.*?'
            r'<option value="(\d+)" selected',
            response.content.decode(),
            flags=re.S,
        )
    }


def check(client, imp, **extra):
    fields = {f"map_{k}": v for k, v in imp.mapping.items()}
    return client.post(f"/parties/import/{imp.pk}/", {**fields, **extra}, follow=True)


def test_the_dry_run_reports_every_rejected_row_with_its_line_and_reason(manager_client):
    response = upload(manager_client, GOOD_CSV.encode())
    assert response.status_code == 302
    imp = PartyImport.objects.get()
    assert {
        "name",
        "vat_number",
        "email",
        "city",
        "kind",
        "contact_first_name",
        "contact_last_name",
        "contact_function",
    } <= set(imp.mapping)
    response = check(manager_client, imp, check="1")
    page = response.content.decode()
    assert "2 rows will be imported; 3 rows are rejected" in page
    rejected = dict(re.findall(r"<tr><td>(\d+)</td><td>(.*?)</td></tr>", page))
    assert "check digits" in rejected["3"]
    assert "duplicate of line 2" in rejected["4"]
    assert "A party needs a name" in rejected["5"]
    assert not Party.objects.exists()  # a dry run writes nothing


def test_the_import_applies_every_accepted_row_once(manager_client):
    upload(manager_client, GOOD_CSV.encode())
    imp = PartyImport.objects.get()
    check(manager_client, imp, check="1")
    response = check(manager_client, imp, apply="1")
    assert "Done: 2 parties imported." in response.content.decode()
    assert sorted(Party.objects.values_list("name", flat=True)) == ["Atelier Lambert", "Boulangerie Dupont"]
    dupont = Party.objects.get(name="Boulangerie Dupont")
    assert dupont.is_customer and dupont.vat_number == "BE0403170701"
    assert dupont.affiliations.get().function == "Gérante"
    assert Party.objects.get(name="Atelier Lambert").is_prospect
    check(manager_client, imp, apply="1")  # a double click imports nothing more
    assert Party.objects.count() == 2 and Contact.objects.count() == 2


def test_an_import_that_fails_half_way_leaves_nothing(manager_client, monkeypatch):
    from suivi.parties import importing

    monkeypatch.setattr(importing.checking, "CHUNK", 1)  # each row in its own transaction
    upload(manager_client, GOOD_CSV.encode())
    imp = PartyImport.objects.get()
    check(manager_client, imp, check="1")
    real = importing.writing.party_words

    def crash(party):
        if party.name == "Atelier Lambert":  # the last row: Boulangerie Dupont is written by then
            raise RuntimeError("disk full")
        return real(party)

    monkeypatch.setattr(importing.writing, "party_words", crash)
    page = check(manager_client, imp, apply="1").content.decode()
    assert "The import failed and nothing was imported (disk full)" in page
    assert not Party.objects.exists() and not Contact.objects.exists()


def test_existing_parties_are_reported_as_duplicates_by_code_vat_and_e_mail(manager_client, manager_user):
    factories.party(manager_user, name="Known", code="K1", vat_number="BE0403170701", email="known@example.be")
    content = "code;name;vat;email\nK1;A;;\n;B;BE0403170701;\n;C;;known@example.be\n;D;;\n"
    upload(manager_client, content.encode())
    page = check(manager_client, PartyImport.objects.get(), check="1").content.decode()
    assert "the code K1 already exists" in page
    assert "already used by Known" in page
    assert "the e-mail known@example.be belongs to Known" in page
    assert "1 row will be imported; 3 rows are rejected" in page


def test_an_excel_csv_in_windows_1252_asks_for_the_right_encoding(manager_client):
    content = "name;city\nCafé Liégeois;Liège\n".encode("windows-1252")
    response = upload(manager_client, content, follow=True)
    assert "choose the encoding Windows-1252" in response.content.decode()
    response = upload(manager_client, content, encoding="windows-1252", follow=True)
    assert "Café Liégeois" in response.content.decode()


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "The file is empty"),
        (b"\x00\x01\x02\x03binary", "not a text file"),
        (b"PK\x03\x04garbage", "cannot be read as an XLSX workbook"),
    ],
)
def test_unreadable_files_get_a_clear_message(manager_client, content, message):
    response = upload(manager_client, content, follow=True)
    assert message in response.content.decode()
    assert PartyImport.objects.get().status == "failed"


def test_a_missing_name_column_is_required_before_checking(manager_client):
    upload(manager_client, b"city;email\nNamur;a@b.be\n")
    imp = PartyImport.objects.get()
    response = check(manager_client, imp, check="1")
    assert response.status_code == 400
    assert "Choose the column that holds the name" in response.content.decode()


def test_a_50_mb_file_is_refused_before_being_read(manager_client, settings):
    response = upload(manager_client, b"name\n" + b"x" * (50 * 1024 * 1024))
    assert response.status_code == 413
    assert "The file is too large" in response.content.decode()
    assert not PartyImport.objects.exists()


def test_xlsx_files_import_too(manager_client):
    wb = Workbook()
    wb.active.append(["Name", "City", "VAT"])
    wb.active.append(["Brasserie Claes", "Leuven", "BE0403170701"])
    buffer = io.BytesIO()
    wb.save(buffer)
    upload(manager_client, buffer.getvalue(), name="list.xlsx")
    imp = PartyImport.objects.get()
    check(manager_client, imp, check="1")
    check(manager_client, imp, apply="1")
    assert Party.objects.get().city == "Leuven"


def test_users_cannot_import(user_client):
    assert user_client.get("/parties/import/").status_code == 403


def test_the_export_follows_the_list_filters_in_csv_and_xlsx(user_client, plain_user):
    factories.party(plain_user, name="Supplier One", is_supplier=True, is_customer=False)
    factories.party(plain_user, name="Customer Two")
    factories.party(plain_user, name="=HYPERLINK(evil)", is_supplier=True)
    response = user_client.get("/parties/export.csv?kind=supplier")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][:2] == ["Code", "Name"]
    assert {r[1] for r in rows[1:]} == {"Supplier One", "'=HYPERLINK(evil)"}
    response = user_client.get("/parties/export.xlsx?kind=supplier")
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sorted(r[1] for r in sheet.iter_rows(min_row=2, values_only=True)) == ["=HYPERLINK(evil)", "Supplier One"]


def test_a_dry_run_checks_duplicates_with_a_few_queries_whatever_the_row_count(db):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from suivi.parties import importing

    rows = "".join(f"C{i};Firm {i};info{i}@firm.be;BE0403170701\n" for i in range(1200))
    data = ("code;name;email;vat\n" + rows).encode()
    mapping = importing.guess_mapping(importing.inspect(io.BytesIO(data), "big.csv", "utf-8")[0])
    with CaptureQueriesContext(connection) as queries:
        report = importing.dry_run(io.BytesIO(data), "big.csv", mapping)
    assert report.accepted == 1 and report.rejected_count == 1199  # the same VAT number everywhere
    assert len(queries) <= 9  # codes, VAT numbers and e-mails, by 500
