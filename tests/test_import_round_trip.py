"""Export → import round-trips (issue 7, point 2): headers map without help in fr / nl / en, and an
*update existing* mode matches by code, then VAT number, then e-mail."""

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from suivi.core.models import AuditEvent
from suivi.parties import importing
from suivi.parties.models import Category, Party, PartyImport

from . import factories


@pytest.fixture(autouse=True)
def _jobs_run_at_once():
    from huey.contrib.djhuey import HUEY

    was = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = was


def vat(body: int) -> str:
    return f"BE0{body:07d}{97 - (body % 97):02d}"


def demo_parties(user, count=30):
    shops, makers = Category.objects.create(name="Commerces"), Category.objects.create(name="Artisans")
    cities = ["Namur", "Liège", "Gent", "Bruxelles", "Arlon"]
    for i in range(count):
        party = factories.party(
            user,
            name=f"Société {i} SRL",
            vat_number=vat(2_000_000 + i * 7),
            email=f"info{i}@societe{i}.be",
            phone=f"+32 2 {300 + i} 45 67",
            street=f"Rue de la Station {i}",
            postal_code=f"{5000 + i}",
            city=cities[i % 5],
            is_customer=i % 2 == 0,
            is_supplier=i % 3 == 0,
            is_prospect=i % 2 == 1,
        )
        party.categories.set([shops] if i % 2 else [shops, makers] if i % 3 else [])


def snapshot():
    return {
        p.code: (
            p.name,
            p.vat_number,
            p.email,
            p.phone,
            p.city,
            p.postal_code,
            p.country,
            p.is_customer,
            p.is_supplier,
            p.is_prospect,
            p.version,
            sorted(c.name for c in p.categories.all()),
        )
        for p in Party.objects.prefetch_related("categories")
    }


def upload_and_check(client, content: bytes, name: str):
    client.post("/parties/import/", {"file": SimpleUploadedFile(name, content), "encoding": "utf-8"})
    imp = PartyImport.objects.latest("created_at")
    fields = {f"map_{k}": v for k, v in imp.mapping.items()}
    page = client.post(f"/parties/import/{imp.pk}/", {**fields, "check": "1", "update_existing": "1"}, follow=True)
    return imp, page.content.decode()


@pytest.mark.parametrize("language", ["en", "fr", "nl"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_imported_in_update_mode_changes_nothing(manager_client, manager_user, fmt, language):
    demo_parties(manager_user)
    before, audits = snapshot(), AuditEvent.objects.filter(object_type="parties.party").count()
    response = manager_client.get(f"/parties/export.{fmt}", headers={"accept-language": language})
    content = b"".join(response.streaming_content) if fmt == "csv" else response.content
    imp, page = upload_and_check(manager_client, content, f"export.{fmt}")
    imp.refresh_from_db()
    assert set(imp.mapping) >= {
        "code",
        "name",
        "kind",
        "vat_number",
        "email",
        "phone",
        "postal_code",
        "city",
        "country",
        "categories",
    }, imp.headers
    assert "0 to create, 0 to update, 30 unchanged." in page
    manager_client.post(f"/parties/import/{imp.pk}/", {"apply": "1"}, follow=True)
    assert snapshot() == before
    assert AuditEvent.objects.filter(object_type="parties.party").count() == audits


def test_a_changed_city_updates_that_party_only_with_an_audit_row(manager_client, manager_user):
    demo_parties(manager_user, count=5)
    before = snapshot()
    text = b"".join(manager_client.get("/parties/export.csv").streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    target = rows[3]
    target[rows[0].index("City")] = "Mons"
    out = io.StringIO()
    csv.writer(out, delimiter=";").writerows(rows)
    imp, page = upload_and_check(manager_client, out.getvalue().encode(), "changed.csv")
    assert "0 to create, 1 to update, 4 unchanged." in page
    assert re.search(r"city: \w+ → Mons", page)
    page = manager_client.post(f"/parties/import/{imp.pk}/", {"apply": "1"}, follow=True).content.decode()
    assert "1 party updated." in page
    after = snapshot()
    changed = [code for code in before if before[code] != after[code]]
    assert changed == [target[0]]
    assert after[target[0]][4] == "Mons" and after[target[0]][10] == before[target[0]][10] + 1
    event = AuditEvent.objects.filter(object_type="parties.party", verb="update").get()
    assert event.changes["city"][1] == "Mons"


def test_rows_match_by_code_then_vat_then_e_mail_and_new_ones_are_created(manager_client, manager_user):
    factories.party(manager_user, name="By code", code="K1")
    factories.party(manager_user, name="By VAT", vat_number=vat(3_000_000))
    factories.party(manager_user, name="By mail", email="known@example.be")
    content = (
        f"Code;Naam;BTW-nummer;E-mail;Gemeente\nK1;By code;;;Gent\n;By VAT;{vat(3_000_000)};;Gent\n"
        ";By mail;;KNOWN@example.be;Gent\n;Brand new;;;Gent\n"
    )
    imp, page = upload_and_check(manager_client, content.encode(), "nl.csv")
    assert "1 to create, 3 to update, 0 unchanged." in page
    manager_client.post(f"/parties/import/{imp.pk}/", {"apply": "1"}, follow=True)
    assert Party.objects.filter(city="Gent").count() == 4 and Party.objects.count() == 4


@pytest.mark.parametrize(
    "header, field",
    [
        ("N° TVA", "vat_number"),
        ("Numéro de TVA", "vat_number"),
        ("BTW-nummer", "vat_number"),
        ("VAT", "vat_number"),
        ("Code postal", "postal_code"),
        ("Postcode", "postal_code"),
        ("E-mail", "email"),
        ("Localité", "city"),
        ("Raison sociale", "name"),
        ("Catégories", "categories"),
    ],
)
def test_usual_headers_map_without_help(header, field):
    assert importing.guess_mapping(["x", header]) == {field: 1}
