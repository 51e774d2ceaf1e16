"""Export of the party list, or of the contact list, as the user sees it (same filters and sort) to
CSV or XLSX, with column names the import maps back (so that an export imported in update mode
changes nothing)."""

import csv
import io
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from suivi.lib.spreadsheet import csv_cell, xlsx_row

from .importing.mapping import CONTACT_FIELDS
from .models import Affiliation, Contact, Party

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

# One row a contact at each of its parties (a contact of no party: one row without a party).
CONTACT_COLUMNS = [
    ("party_code", lambda c, a: a.party.code if a else ""),
    ("party_name", lambda c, a: a.party.name if a else ""),
    ("party_vat", lambda c, a: a.party.vat_number if a else ""),
    ("first_name", lambda c, a: c.first_name),
    ("last_name", lambda c, a: c.last_name),
    ("function", lambda c, a: a.function if a else ""),
    ("email", lambda c, a: c.email),
    ("phone", lambda c, a: c.phone),
    ("mobile", lambda c, a: c.mobile),
    ("language", lambda c, a: c.language),
]


def _headers() -> list[str]:
    labels = {"kind": _("kind"), "categories": _("categories")}
    return [capfirst(str(labels.get(name) or Party._meta.get_field(name).verbose_name)) for name, _f in COLUMNS]


def _contact_headers() -> list[str]:
    # The party's name is there to be read; the import finds the party by its code or VAT number.
    labels = {name: label for name, (label, _s) in CONTACT_FIELDS.items()} | {"party_name": _("party name")}
    return [capfirst(str(labels[name])) for name, _f in CONTACT_COLUMNS]


def _in_chunks(query, *prefetch: str) -> Iterator:
    for chunk_start in range(0, 10**9, 2000):
        chunk = list(query[chunk_start : chunk_start + 2000].prefetch_related(*prefetch))
        if not chunk:
            return
        yield from chunk


def _rows(parties) -> Iterator[list[str]]:
    for p in _in_chunks(parties, "categories"):
        yield [str(get(p) or "") for _n, get in COLUMNS]


def _contact_rows(contacts) -> Iterator[list[str]]:
    for contact in _in_chunks(contacts):  # ``contact_list`` prefetches their parties
        links: list[Affiliation | None] = list(contact.affiliations.all()) or [None]
        for link in links:
            yield [str(get(contact, link) or "") for _n, get in CONTACT_COLUMNS]


def _csv_lines(headers: list[str], rows: Iterable[list[str]]) -> Iterator[str]:
    """The CSV file line by line (streamed: an export of 200,000 rows never sits in memory)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    yield "\ufeff"  # BOM so that Excel reads UTF-8
    writer.writerow([csv_cell(h) for h in headers])
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])  # a formula-like value gets a leading '

        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _xlsx_bytes(title: str, headers: list[str], rows: Iterable[list[str]]) -> bytes:
    """The XLSX file; every cell is typed as a string, so no value is ever run as a formula and
    text is shown exactly as stored (no apostrophe)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.append(xlsx_row(sheet, headers))
    for row in rows:
        sheet.append(xlsx_row(sheet, row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_lines(parties) -> Iterator[str]:
    return _csv_lines(_headers(), _rows(parties))


def xlsx_bytes(parties) -> bytes:
    return _xlsx_bytes(_("Parties"), _headers(), _rows(parties))


def contact_csv_lines(contacts: QuerySet[Contact]) -> Iterator[str]:
    """``contacts``: a query of ``queries.contact_list`` (their affiliations prefetched)."""
    return _csv_lines(_contact_headers(), _contact_rows(contacts))


def contact_xlsx_bytes(contacts: QuerySet[Contact]) -> bytes:
    return _xlsx_bytes(_("Contacts"), _contact_headers(), _contact_rows(contacts))
