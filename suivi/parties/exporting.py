"""Export of the party list as the user sees it (same filters and sort) to CSV or XLSX."""

import csv
import io
from collections.abc import Iterator

from django.utils.text import capfirst
from django.utils.translation import gettext as _

from suivi.lib.spreadsheet import csv_cell, xlsx_row

from .models import Party

COLUMNS = [
    ("code", lambda p: p.code),
    ("name", lambda p: p.name),
    ("kind", lambda p: ", ".join(p.kinds)),
    ("vat_number", lambda p: p.vat_number),
    ("email", lambda p: p.email),
    ("phone", lambda p: p.phone),
    ("street", lambda p: p.street),
    ("postal_code", lambda p: p.postal_code),
    ("city", lambda p: p.city),
    ("country", lambda p: p.country),
    ("categories", lambda p: ", ".join(c.name for c in p.categories.all())),
]


def _headers() -> list[str]:
    labels = {"kind": _("kind"), "categories": _("categories")}
    return [capfirst(str(labels.get(name) or Party._meta.get_field(name).verbose_name)) for name, _f in COLUMNS]


def _rows(parties) -> Iterator[list[str]]:
    for chunk_start in range(0, 10**9, 2000):
        chunk = list(parties[chunk_start : chunk_start + 2000].prefetch_related("categories"))
        if not chunk:
            return
        for p in chunk:
            yield [str(get(p) or "") for _n, get in COLUMNS]


def csv_lines(parties) -> Iterator[str]:
    """The CSV file line by line (streamed: an export of 200,000 parties never sits in memory)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    yield "\ufeff"  # BOM so that Excel reads UTF-8
    writer.writerow([csv_cell(h) for h in _headers()])
    for row in _rows(parties):
        writer.writerow([csv_cell(v) for v in row])  # a formula-like value gets a leading '

        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def xlsx_bytes(parties) -> bytes:
    """The XLSX file; every cell is typed as a string, so no value is ever run as a formula and
    text is shown exactly as stored (no apostrophe)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Parties"))
    sheet.append(xlsx_row(sheet, _headers()))
    for row in _rows(parties):
        sheet.append(xlsx_row(sheet, row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
