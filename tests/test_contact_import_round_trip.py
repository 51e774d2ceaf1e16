"""Contacts export → import round-trips (issue 7, point 2): the export's headers map back in fr / nl /
en, and the demo contacts imported again in update mode change nothing."""

import csv
import io
import os

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from suivi.core.models import AuditEvent
from suivi.parties.models import Affiliation, Contact

from . import factories
from .test_contact_import import _jobs_run_at_once, apply, check, upload  # noqa: F401 - the fixture is autouse


def speaking(client, language):
    session = client.session
    session["suivi_language"] = language
    session.save()


def snapshot():
    return {
        (a.party.code, a.contact_id): (
            a.contact.first_name,
            a.contact.last_name,
            a.contact.email,
            a.contact.phone,
            a.contact.mobile,
            a.contact.language,
            a.contact.version,
            a.function,
            a.is_main,
        )
        for a in Affiliation.objects.select_related("party", "contact")
    }


def export(client, fmt, language="en") -> bytes:
    speaking(client, language)
    response = client.get(f"/contacts/export.{fmt}")
    speaking(client, "en")
    assert response.status_code == 200
    return b"".join(response.streaming_content) if fmt == "csv" else response.content


@pytest.mark.parametrize("language", ["en", "fr", "nl"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_demo_contacts_exported_and_imported_in_update_mode_change_nothing(
    manager_client, manager_user, settings, tmp_path, fmt, language
):
    settings.VAR_DIR = tmp_path
    call_command("demo", stdout=open(os.devnull, "w"))
    count = Affiliation.objects.count()
    assert count >= 600
    before = snapshot()
    audits = AuditEvent.objects.filter(object_type="parties.contact").count()
    imp = upload(manager_client, export(manager_client, fmt, language), f"contacts.{fmt}")
    assert imp.holds == "contacts"
    assert set(imp.mapping) == {
        "party_code",
        "party_vat",
        "first_name",
        "last_name",
        "function",
        "email",
        "phone",
        "mobile",
        "language",
    }, imp.headers
    assert f"0 to create, 0 to update, {count} unchanged." in check(manager_client, imp, update=True)
    assert "Done: 0 contacts imported. 0 contacts updated." in apply(manager_client, imp)
    assert snapshot() == before
    assert AuditEvent.objects.filter(object_type="parties.contact").count() == audits


def test_the_contacts_export_has_a_row_for_each_party_of_a_contact_and_no_formula(user_client, plain_user):
    bakery = factories.party(plain_user, name="Boulangerie", code="C1")
    garage = factories.party(plain_user, name="=HYPERLINK(evil)", code="C2")
    marie = factories.contact(plain_user, party=bakery, function="Gérante", first_name="Marie", last_name="Lambert")
    from suivi.parties.services import link_contact

    link_contact(acting_user=plain_user, contact=marie, party=garage, function="+cmd|calc")
    factories.contact(plain_user, first_name="Sans", last_name="Tiers", phone="081 22 33 44")
    text = export(user_client, "csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == [
        "Party code",
        "Party name",
        "Party VAT number",
        "First name",
        "Last name",
        "Function",
        "E-mail",
        "Phone",
        "Mobile",
        "Language",
    ]
    assert sorted((r[0], r[1], r[4], r[5]) for r in rows[1:]) == [
        ("", "", "Tiers", ""),
        ("C1", "Boulangerie", "Lambert", "Gérante"),
        ("C2", "'=HYPERLINK(evil)", "Lambert", "'+cmd|calc"),
    ]
    sheet = load_workbook(io.BytesIO(export(user_client, "xlsx"))).active
    values = [row for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert ("C2", "=HYPERLINK(evil)") in {(r[0], r[1]) for r in values}
    assert all(cell.data_type == "s" for row in sheet.iter_rows() for cell in row if cell.value is not None)
    assert Contact.objects.count() == 2


def test_the_contacts_export_follows_the_list_filters(user_client, plain_user):
    factories.contact(plain_user, first_name="Marie", last_name="Lambert")
    factories.contact(plain_user, first_name="Jean", last_name="Maes")
    text = user_client.get("/contacts/export.csv?q=maes")
    rows = list(csv.reader(io.StringIO(b"".join(text.streaming_content).decode("utf-8-sig")), delimiter=";"))
    assert [r[4] for r in rows[1:]] == ["Maes"]
    assert user_client.get("/contacts/export.pdf").status_code == 404


def test_formula_like_values_come_back_as_they_were_typed(manager_client, manager_user):
    """The CSV export writes ``'=…`` so that no spreadsheet runs it; the import reads ``=…`` back."""
    garage = factories.party(manager_user, name="Garage", code="C2")
    factories.contact(manager_user, party=garage, function="+cmd|calc", first_name="=1+2", last_name="@Lambert")
    before = snapshot()
    content = export(manager_client, "csv")
    assert b"'+cmd|calc" in content and b"'=1+2" in content
    imp = upload(manager_client, content)
    assert "0 to create, 0 to update, 1 unchanged." in check(manager_client, imp, update=True)
    apply(manager_client, imp)
    assert snapshot() == before
