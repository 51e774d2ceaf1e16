"""The import's fast paths read and write exactly what the slow ones did (issue 6, benchmark)."""

import io
import json
from datetime import date, datetime, time

from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook, load_workbook

from suivi.parties import importing
from suivi.parties.models import Affiliation, Contact, Party, PartyImport, PartyKeyword
from tests import factories


def _workbook(write_only: bool) -> bytes:
    wb = Workbook(write_only=write_only)
    sheet = wb.create_sheet("Parties") if write_only else wb.active
    rows = [
        ["name", "number", "date", "flag", "", "amount"],
        ["Brasserie Claes", 1000, date(2024, 5, 10), True, None, 12.5],
        [None, None, None, None, None, None],
        ["Café  Liégeois ", "0032", datetime(2024, 5, 10, 8, 30), False, "x", 1e20],
        ["=1+2", 7, time(12, 0), None, None, None],
    ]
    for row in rows:
        sheet.append(row)
    if not write_only:
        sheet["H7"] = "far away"  # a row and columns the file leaves out before it
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_the_xlsx_reader_gives_what_openpyxls_reader_gives():
    for write_only in (False, True):
        data = _workbook(write_only)
        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
        sheet.reset_dimensions()
        expected = [
            (line, ["" if v is None else str(v) for v in row])
            for line, row in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
        got = list(importing.reading._xlsx_rows(io.BytesIO(data), {}))
        # openpyxl pads a row to its last cell, even an empty one; the import strips empty cells.
        assert [(n, cells) for n, cells in got] == [(n, _trim(cells)) for n, cells in expected]


def _trim(cells: list[str]) -> list[str]:
    while cells and cells[-1] == "":
        cells = cells[:-1]
    return cells


def test_the_import_writes_parties_keywords_contacts_and_links_in_a_few_queries(manager_user):
    rows = "".join(f"Firm {i};Namur;info{i}@firm{i}.be;Marie;Dupont{i};Gérante\n" for i in range(300))
    data = ("name;city;email;first name;last name;function\n" + rows).encode()
    mapping = importing.guess_mapping(importing.inspect(io.BytesIO(data), "p.csv", "utf-8")[0])
    staged = io.StringIO()
    importing.dry_run(io.BytesIO(data), "p.csv", mapping, stage=staged)
    imp = PartyImport.objects.create(created_by=manager_user, filename="p.csv")
    checked = [importing.checking._Checked(*json.loads(line)) for line in staged.getvalue().splitlines()]
    rows_ok = importing.Checker("BE").settle(checked)
    with CaptureQueriesContext(connection) as queries:
        created = importing.writing._write(imp, rows_ok, importing.writing._free_numbers(1, set()))
    assert created == 300 and len(queries) <= 12
    firm = Party.objects.get(name="Firm 7")
    assert firm.city_key == "namur" and firm.name_key == "firm 7" and firm.country == "BE"
    assert firm.created_at is not None and firm.version == 1 and firm.source_import_id == imp.pk
    assert {"firm", "7", "namur", "info7", "info7@firm7.be"} <= set(firm.keywords.values_list("word", flat=True))
    link = Affiliation.objects.get(party=firm)
    assert link.contact.last_name == "Dupont7" and link.function == "Gérante" and not link.is_main
    assert link.contact.name_key == "dupont7 marie"
    assert Contact.objects.count() == 300 and PartyKeyword.objects.filter(party=firm).count() >= 5


def test_the_duplicate_look_up_finds_what_the_three_queries_found(manager_user):
    """On PostgreSQL one query with array parameters; on SQLite three with IN lists: the same
    owners, archived parties counting for codes only, e-mail addresses compared in any case."""
    known = factories.party(manager_user, name="Known", code="K1", vat_number="BE0403170701", email="Known@Example.be")
    gone = factories.party(manager_user, name="Gone", code="K2", vat_number="BE0202239951", email="gone@example.be")
    Party.objects.filter(pk=gone.pk).update(archived=True)
    codes, vats, emails = {"K1", "K2", "K3"}, {"BE0403170701", "BE0202239951"}, {"known@example.be", "gone@example.be"}
    with CaptureQueriesContext(connection) as queries:
        found = importing.checking._duplicate_owners(codes, vats, emails)
    assert [{k: p.pk for k, p in owners.items()} for owners in found] == [
        {"K1": known.pk, "K2": gone.pk},
        {"BE0403170701": known.pk},
        {"known@example.be": known.pk},
    ]
    assert found[2]["known@example.be"].name == "Known"
    assert len(queries) == (1 if connection.vendor == "postgresql" else 3)
    assert importing.checking._duplicate_owners(set(), set(), set()) == ({}, {}, {})
