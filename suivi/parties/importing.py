"""Import of parties (with an optional contact each) from CSV or XLSX.

Steps: the file is uploaded (its size checked, stored to disk) and the worker reads its column
names and first rows; the user maps columns to fields and the worker makes a dry run that reports
every rejected row with its line and reason; on confirmation the worker applies the accepted rows.
Each step is a background job (``jobs.py``) that reports its progress on the import; nothing here
runs in a web request, so no upload is ever read whole by a web worker.

Bounds: the file is streamed (CSV line by line, XLSX through openpyxl's read-only reader after the
sizes of the zip members were checked), with at most ``MAX_ROWS`` rows, ``MAX_COLUMNS`` columns
and ``MAX_CELL`` characters a cell, checked while reading; the worker's memory stays bounded
whatever the file holds.

All or nothing without blocking the others. The dry run checks each row on its own
(``Checker.prepare``: a pure function of the row) and stores the outcome, one JSON line a row; then
it checks duplicates against the database and within the file (``Checker.settle``). Applying
reads the stored rows and runs ``Checker.settle`` again, chunk by chunk, inside the transaction that
writes the chunk — so the import accepts exactly what the dry run would accept at that moment,
and two imports or a user's save cannot slip a duplicate in between. Each chunk is its own short
transaction, so another user's save waits at most one chunk (tens of milliseconds) instead of the
whole import: SQLite has one writer at a time, and one transaction of 100,000 rows would hold it
for many seconds (beyond the 20 s busy timeout on a loaded machine). Every party created
carries the import in ``source_import``: if a chunk fails, or the worker dies (the job's lease
expires and the periodic sweep resumes it), what the import created is deleted before the import is
marked failed or started again; so at the end either every accepted row is in, or none. The price
is that others may see the first parties of an import while it runs.
"""

import codecs
import csv
import io
import json
import random
import re
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import islice
from typing import IO, Any, cast

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db import connection, transaction
from django.db.models import Max
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from suivi.core import audit
from suivi.lib.text import fold

from .keywords import party_words
from .models import Affiliation, Contact, ImportStatus, Party, PartyImport, PartyKeyword
from .services import lock_party_codes, next_party_code
from .validation import clean_contact, clean_party, duplicate_errors

ENCODINGS = [("utf-8", "UTF-8"), ("windows-1252", "Windows-1252 (Excel)"), ("iso-8859-15", "ISO-8859-15")]

# Import field → label and the column headers (folded) that map to it by default.
FIELDS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "code": (gettext_lazy("code"), ("code", "ref", "reference", "referentie", "code client", "klantcode")),
    "name": (
        gettext_lazy("name"),
        (
            "name",
            "nom",
            "naam",
            "company",
            "company name",
            "societe",
            "raison sociale",
            "denomination",
            "bedrijf",
            "bedrijfsnaam",
        ),
    ),
    "kind": (gettext_lazy("kind (customer, supplier, prospect)"), ("kind", "type", "soort")),
    "vat_number": (
        gettext_lazy("VAT number"),
        (
            "vat",
            "vat number",
            "vat no",
            "vat id",
            "tva",
            "n tva",
            "no tva",
            "numero tva",
            "numero de tva",
            "tva intracommunautaire",
            "btw",
            "btw nummer",
            "btw nr",
            "btw number",
            "ondernemingsnummer",
        ),
    ),
    "email": (
        gettext_lazy("e-mail"),
        ("email", "e mail", "mail", "courriel", "adresse e mail", "email address", "e mailadres"),
    ),
    "phone": (gettext_lazy("phone"), ("phone", "phone number", "telephone", "tel", "telefoon", "telefoonnummer")),
    "website": (gettext_lazy("website"), ("website", "site", "site web", "web")),
    "street": (gettext_lazy("street"), ("street", "address", "adresse", "rue", "straat", "adres")),
    "postal_code": (
        gettext_lazy("postal code"),
        ("postal code", "zip", "zip code", "code postal", "cp", "npa", "postcode", "post code"),
    ),
    "city": (
        gettext_lazy("city"),
        ("city", "town", "ville", "localite", "commune", "gemeente", "stad", "plaats", "woonplaats"),
    ),
    "country": (gettext_lazy("country"), ("country", "pays", "land")),
    "contact_first_name": (
        gettext_lazy("contact first name"),
        ("first name", "prenom", "voornaam", "contact_first_name"),
    ),
    "contact_last_name": (
        gettext_lazy("contact last name"),
        ("last name", "contact", "nom contact", "achternaam", "contact_last_name"),
    ),
    "contact_email": (gettext_lazy("contact e-mail"), ("contact email", "contact_email")),
    "contact_function": (gettext_lazy("contact function"), ("function", "fonction", "functie", "contact_function")),
    "categories": (gettext_lazy("categories"), ("categories", "category", "categorie", "categorieen", "categorie s")),
}
# Fields compared and written when a row updates an existing party (the kind is three flags).
UPDATED_FIELDS = ("code", "name", "vat_number", "email", "phone", "website", "street", "postal_code", "city", "country")
REQUIRED = ("name",)
PARTY_FIELDS = ("code", "name", "vat_number", "email", "phone", "website", "street", "postal_code", "city", "country")
KINDS = {
    "customer": "is_customer",
    "client": "is_customer",
    "klant": "is_customer",
    "supplier": "is_supplier",
    "fournisseur": "is_supplier",
    "leverancier": "is_supplier",
    "prospect": "is_prospect",
}
MAX_ROWS = 100_000  # data rows (the header is not counted)
MAX_COLUMNS = 200
MAX_CELL = 2_000  # characters in one cell; no field is longer
MAX_LINE = 200_000  # characters in one physical CSV line
XLSX_MAX_SHARED_STRINGS = 48 * 1024 * 1024  # bytes of xl/sharedStrings.xml, which is read whole
XLSX_MAX_SHEET = 512 * 1024 * 1024  # bytes of a worksheet's XML (streamed)
XLSX_MAX_RUN = 1024 * 1024  # bytes between two XML tags: bounds any one element read
CHUNK = 1000  # rows checked and written together
PREVIEW_ROWS = 5
PREVIEW_CELL = 60  # characters of a cell shown on the import page
REJECTED_KEPT = 1000  # rejected rows listed in the report (all are counted)
LEASE = timedelta(minutes=5)


class ImportFileError(ValueError):
    """The file cannot be read as a table; the message says why and what to do."""


@dataclass
class Report:
    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)  # {line, reason}, the first ones
    created: int = 0
    rejected_count: int = 0
    # Update mode: rows that create a party, change one (the first ones listed with their
    # changes: {line, party, changes: [[field, old, new]]}), or find it as it is.
    to_create: int = 0
    to_update: int = 0
    unchanged: int = 0
    updates: list[dict[str, Any]] = field(default_factory=list)
    updated: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "rejected": self.rejected,
            "created": self.created,
            "rejected_count": self.rejected_count,
            "to_create": self.to_create,
            "to_update": self.to_update,
            "unchanged": self.unchanged,
            "updates": self.updates,
            "updated": self.updated,
        }


def check_size(size: int | None) -> None:
    limit = settings.SUIVI_IMPORT_MAX_BYTES
    if size is not None and size > limit:
        raise ImportFileError(
            _("The file is too large (%(size)s MB; %(limit)s MB at most). Split it and import each part.")
            % {"size": round(size / 1048576, 1), "limit": limit // 1048576}
        )


def _may_import(user) -> None:
    if not getattr(user, "is_manager", False):
        raise PermissionDenied(_("Only managers and administrators may import parties."))


# --- reading, streamed and bounded ---------------------------------------------------------------


def _too_many_rows() -> ImportFileError:
    return ImportFileError(
        _("The file has more than %(max)s rows. Split it and import each part.") % {"max": f"{MAX_ROWS:,}"}
    )


def _check_cells(line: int, cells: list[str]) -> None:
    if len(cells) > MAX_COLUMNS:
        raise ImportFileError(
            _("Line %(line)s has %(count)s columns; %(max)s at most. Remove the columns you do not import.")
            % {"line": line, "count": len(cells), "max": MAX_COLUMNS}
        )
    for index, cell in enumerate(cells):
        if len(cell) > MAX_CELL:
            raise ImportFileError(
                _(
                    "Line %(line)s, column %(column)s holds %(count)s characters; a cell holds %(max)s at "
                    "most. Shorten it and upload the file again."
                )
                % {"line": line, "column": index + 1, "count": f"{len(cell):,}", "max": f"{MAX_CELL:,}"}
            )


def iter_rows(
    file: IO[bytes], filename: str, encoding: str = "utf-8", info: dict[str, int] | None = None
) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of every non-empty row of ``file``, the header first (line 1 for a file that
    starts with it), checking the limits while reading. ``file`` is a seekable binary file; an XLSX
    reader puts the row count its sheet declares in ``info["declared_rows"]`` (for progress)."""
    head = file.read(4)
    file.seek(0)
    if not head:
        raise ImportFileError(_("The file is empty. Choose a CSV or XLSX file with a header row."))
    if filename.lower().endswith(".xlsx") or head == b"PK\x03\x04":
        rows = _xlsx_rows(file, info if info is not None else {})
    else:
        rows = _csv_rows(file, encoding)
    count = 0
    for line, cells in rows:
        _check_cells(line, cells)
        if not any(c.strip() for c in cells):
            continue
        count += 1
        if count > MAX_ROWS + 1:
            raise _too_many_rows()
        yield line, [c.strip() for c in cells]
    if not count:
        raise ImportFileError(_("The file is empty. Choose a CSV or XLSX file with a header row."))


def _csv_lines(file: IO[bytes], encoding: str) -> Iterator[str]:
    """Physical lines of the file, decoded, each at most MAX_LINE characters."""
    decoder = codecs.getincrementaldecoder("utf-8-sig" if encoding == "utf-8" else encoding)()
    position = 0
    pending = ""
    line_number = 1
    while True:
        block = file.read(65536)
        try:
            pending += decoder.decode(block, final=not block)
        except UnicodeDecodeError as e:
            raise ImportFileError(
                _(
                    "The file is not valid %(encoding)s text (byte %(byte)s at position %(pos)s). If it "
                    "comes from Excel, choose the encoding Windows-1252 and upload it again."
                )
                % {"encoding": encoding.upper(), "byte": hex(e.object[e.start]), "pos": position + e.start}
            ) from e
        position += len(block)
        if "\x00" in pending:
            raise ImportFileError(_("This is not a text file. Choose a CSV or XLSX file."))
        lines = pending.splitlines(keepends=True)
        pending = lines.pop() if block and lines and not lines[-1].endswith(("\n", "\r")) else ""
        if pending.endswith("\r"):  # a CR LF cut between two blocks
            lines.append(pending)
            pending = ""
        for line in lines:
            yield line
            line_number += 1
        if len(pending) > MAX_LINE:
            raise ImportFileError(
                _("Line %(line)s is longer than %(max)s characters. Is this really a CSV file?")
                % {"line": line_number, "max": f"{MAX_LINE:,}"}
            )
        if not block:
            if pending:
                yield pending
            return


def _csv_rows(file: IO[bytes], encoding: str) -> Iterator[tuple[int, list[str]]]:
    if encoding not in dict(ENCODINGS):
        encoding = "utf-8"
    lines = _csv_lines(file, encoding)
    sample_lines = list(islice(lines, 50))
    sample = "".join(sample_lines)[:20000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=";,\t|")
    except csv.Error:

        class dialect(csv.excel):  # type: ignore[no-redef]
            delimiter = ";" if sample.count(";") > sample.count(",") else ","

    counted = _Counting(iter(sample_lines), lines)
    reader = csv.reader(counted, dialect)
    try:
        for cells in reader:
            yield counted.first_line, cells
            counted.first_line = counted.line + 1
    except csv.Error as e:
        raise ImportFileError(_("The CSV file is malformed: %(reason)s") % {"reason": e}) from e


class _Counting:
    """Lines for csv.reader, counting them so that each record knows the line it starts on."""

    def __init__(self, first: Iterator[str], rest: Iterator[str]):
        self.parts = [first, rest]
        self.line = 0
        self.first_line = 1

    def __iter__(self):
        return self

    def __next__(self) -> str:
        while self.parts:
            try:
                value = next(self.parts[0])
            except StopIteration:
                self.parts.pop(0)
                continue
            self.line += 1
            return value
        raise StopIteration


def _check_zip(file: IO[bytes]) -> None:
    """Refuse a workbook whose parts would not fit the limits, from the sizes its zip directory
    declares (zipfile never inflates a member beyond its declared size), and any XML element
    longer than XLSX_MAX_RUN, before openpyxl reads anything."""
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise _not_xlsx() from e
    with archive:
        parts = [i for i in archive.infolist() if re.fullmatch(r"xl/worksheets/[^/]+\.xml", i.filename)]
        strings = [i for i in archive.infolist() if i.filename.lower() == "xl/sharedstrings.xml"]
        too_big = _(
            "This workbook is too large once unpacked (%(size)s MB of %(part)s; %(limit)s MB at most). "
            "Save it as CSV, or split it, and import each part."
        )
        for info in strings:
            if info.file_size > XLSX_MAX_SHARED_STRINGS:
                raise ImportFileError(
                    too_big
                    % {
                        "size": info.file_size // 1048576,
                        "part": _("texts"),
                        "limit": XLSX_MAX_SHARED_STRINGS // 1048576,
                    }
                )
        for info in parts:
            if info.file_size > XLSX_MAX_SHEET:
                raise ImportFileError(
                    too_big
                    % {"size": info.file_size // 1048576, "part": _("sheet"), "limit": XLSX_MAX_SHEET // 1048576}
                )
        long_run = re.compile(rb"[^<]{%d}" % XLSX_MAX_RUN)
        for info in strings + parts:
            try:
                with archive.open(info) as member:
                    tail = b""
                    while block := member.read(1 << 20):
                        block = tail + block
                        if long_run.search(block):
                            raise ImportFileError(
                                _("A cell of this workbook holds more than %(max)s MB of text. Remove it.")
                                % {"max": XLSX_MAX_RUN // 1048576}
                            )
                        cut = block.rfind(b"<")
                        tail = block[cut:] if cut >= 0 else block
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as e:
                raise _not_xlsx() from e
    file.seek(0)


def _not_xlsx() -> ImportFileError:
    return ImportFileError(
        _("This file cannot be read as an XLSX workbook. Save it again from your spreadsheet as .xlsx or .csv.")
    )


def _xlsx_rows(file: IO[bytes], info: dict[str, int]) -> Iterator[tuple[int, list[str]]]:
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet

    _check_zip(file)
    try:
        # openpyxl's load_workbook without its worksheets: in read-only mode it would parse a whole
        # sheet that declares no dimension just to size it. The workbook part, shared strings and
        # styles (which cells are dates) are read as load_workbook reads them.
        reader = ExcelReader(file, read_only=True, data_only=True)
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        path = next(
            rel.target
            for _sheet, rel in reader.parser.find_sheets()
            if rel.target in reader.valid_files and "chartsheet" not in rel.Type
        )
        with reader.archive.open(path) as source:
            head = source.read(65536)  # the <dimension> comes before the rows: for progress only
        declared = re.search(rb"<(?:\w+:)?dimension\s+ref=\"[A-Z]*[0-9]*(?::[A-Z]*([0-9]+))?\"", head)
    except ImportFileError:
        raise
    except Exception as e:  # openpyxl raises many kinds for a bad file
        raise _not_xlsx() from e
    info["declared_rows"] = int(declared.group(1)) if declared and declared.group(1) else 0
    try:
        with reader.archive.open(path) as source:
            yield from _sheet_rows(source, reader.shared_strings, reader.wb)
    except ImportFileError:
        raise
    except Exception as e:
        raise _not_xlsx() from e
    finally:
        reader.archive.close()


_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_COLUMN = re.compile(r"[A-Z]+")


def _sheet_rows(source: IO[bytes], shared: list, workbook) -> Iterator[tuple[int, list[str]]]:
    """(row number, cell texts) of a worksheet's XML, as openpyxl's read-only reader gives them
    (``iter_rows(values_only=True)`` with ``data_only``, missing rows as empty ones), without its
    per-cell objects: four times faster. Shared strings, inline strings, numbers, booleans,
    formula results, errors and dates (by the cell's style) read as openpyxl reads them."""
    from xml.etree.ElementTree import iterparse

    from openpyxl.utils.datetime import from_excel, from_ISO8601
    from openpyxl.worksheet._reader import _cast_number

    row_tag, cell_tag, value_tag = _NS + "row", _NS + "c", _NS + "v"
    inline_tag, text_tag, run_tag = _NS + "is", _NS + "t", _NS + "r"
    date_styles, timedelta_styles, epoch = workbook._date_formats, workbook._timedelta_formats, workbook.epoch
    number = 0
    cells: dict[int, Any] = {}
    column = 0
    for _event, element in iterparse(source):
        tag = element.tag
        if tag == cell_tag:
            kind = element.get("t", "n")
            reference = element.get("r")
            if reference:
                letters = _COLUMN.match(reference)
                column = 0
                for letter in letters.group() if letters else "":
                    column = column * 26 + ord(letter) - 64
            else:
                column += 1
            value: Any = None
            if kind == "inlineStr":
                child = element.find(inline_tag)
                if child is not None:
                    parts = []
                    for part in child:
                        if part.tag == text_tag:
                            parts.append(part.text or "")
                        elif part.tag == run_tag:
                            parts.append(part.findtext(text_tag) or "")
                    value = "".join(parts)
            else:
                value = element.findtext(value_tag) or None
                if value is not None:
                    if kind == "n":
                        value = _cast_number(value)
                        style = int(element.get("s") or 0)
                        if style in date_styles:
                            try:
                                value = from_excel(value, epoch, timedelta=style in timedelta_styles)
                            except (OverflowError, ValueError):
                                value = "#VALUE!"
                    elif kind == "s":
                        value = shared[int(value)]
                    elif kind == "b":
                        value = bool(int(value))
                    elif kind == "d":
                        value = from_ISO8601(value)
            if value is not None:
                cells[column] = value
            element.clear()
        elif tag == row_tag:
            reference = element.get("r")
            row_number = int(float(reference)) if reference else number + 1
            if row_number <= number:  # out of order: openpyxl skips it too
                cells, column = {}, 0
                element.clear()
                continue
            while number + 1 < row_number:  # rows the file leaves out
                number += 1
                yield number, []
            number = row_number
            if cells:
                texts = [""] * max(cells)
                for index, value in cells.items():
                    if index >= 1:
                        texts[index - 1] = str(value)
                cells = {}
            else:
                texts = []
            yield number, texts
            column = 0
            element.clear()


def _cut(value: str, limit: int = PREVIEW_CELL) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def inspect(file: IO[bytes], filename: str, encoding: str) -> tuple[list[str], list[list[str]]]:
    """Column names and the first rows, cut short for display."""
    rows = iter_rows(file, filename, encoding)
    _line, headers = next(rows)
    if not any(headers):
        raise ImportFileError(_("The first row must hold the column names; it is empty."))
    preview = [[_cut(c) for c in cells] for _line, cells in islice(rows, PREVIEW_ROWS)]
    return [_cut(h, 100) for h in headers], preview


def _header_key(text: str) -> str:
    """A column name compared without case, accents or punctuation: ``N° TVA`` → ``n tva``."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", fold(text)).split())


def _names_of(name: str) -> set[str]:
    """The header keys that map to the field ``name``: its synonyms, and its label in each language
    (so that Suivi's own export, whatever its language, maps back without help)."""
    from django.utils import translation

    label, synonyms = FIELDS[name]
    keys = {_header_key(s) for s in synonyms} | {_header_key(name)}
    labels = [label]
    if name == "kind":
        labels.append(gettext_lazy("kind"))
    elif name in PARTY_FIELDS:
        labels.append(Party._meta.get_field(name).verbose_name)
    for language in ("fr", "nl", "en"):
        with translation.override(language):
            keys |= {_header_key(str(text)) for text in labels}
    return keys


def guess_mapping(headers: list[str]) -> dict[str, int]:
    """Field → column index, guessed from the column names."""
    keys = [_header_key(h) for h in headers]
    mapping: dict[str, int] = {}
    for name in FIELDS:
        names = _names_of(name)
        for index, header in enumerate(keys):
            if header in names and index not in mapping.values():
                mapping[name] = index
                break
    return mapping


def check_mapping(mapping: dict[str, int], headers: list[str]) -> list[str]:
    problems = []
    for name in REQUIRED:
        if name not in mapping:
            problems.append(
                _("Choose the column that holds the %(field)s: it is required.") % {"field": FIELDS[name][0]}
            )
    for name, index in mapping.items():
        if name not in FIELDS or not 0 <= index < len(headers):
            problems.append(_("Unknown column for %(field)s.") % {"field": name})
    return problems


# --- checking: the same for the dry run and the import -------------------------------------------


@dataclass
class Row:
    line: int
    party: dict[str, Any]
    contact: dict[str, Any] | None
    function: str
    categories: list[int] = field(default_factory=list)
    existing: Party | None = None  # update mode: the party this row updates
    changes: dict[str, Any] = field(default_factory=dict)  # field → new value


def _categories() -> dict[str, int]:
    from .models import Category

    return {name.casefold(): pk for pk, name in Category.objects.values_list("pk", "name")}


def _owners(field: str, keys: set[str], *, any_case: bool = False, **extra) -> dict[str, Party]:
    """Existing parties by ``field`` for ``keys``, 500 at a time (exact match, which uses the
    index; ``any_case`` compares lower-cased, for e-mail addresses)."""
    found: dict[str, Party] = {}
    keys_list = sorted(keys)
    for i in range(0, len(keys_list), 500):
        chunk = keys_list[i : i + 500]
        if any_case:
            rows = Party.objects.annotate(key=Lower(field)).filter(key__in=chunk, **extra)
        else:
            rows = Party.objects.filter(**{f"{field}__in": chunk}, **extra)
        for party in rows.only("name", "code", field):
            key = getattr(party, field)
            found.setdefault(key.casefold() if any_case else key, party)
    return found


def _duplicate_owners(
    codes: set[str], vats: set[str], emails: set[str]
) -> tuple[dict[str, Party], dict[str, Party], dict[str, Party]]:
    """The existing parties that hold one of ``codes`` (any party), ``vats`` or ``emails``
    (lower-cased; parties not archived), each by its key: what the duplicate checks compare with.

    PostgreSQL: one query, three index look-ups with an array parameter each (``= ANY(%s)``), instead
    of three queries whose IN lists of 500 parameters Django and psycopg spent more time building
    and parsing than the database spent answering (20 ms a chunk). SQLite has no arrays: three
    queries, 500 keys each."""
    if connection.vendor != "postgresql":
        return (
            _owners("code", codes),
            _owners("vat_number", vats, archived=False),
            _owners("email", emails, any_case=True, archived=False),
        )
    by_code: dict[str, Party] = {}
    by_vat: dict[str, Party] = {}
    by_email: dict[str, Party] = {}
    if not (codes or vats or emails):
        return by_code, by_vat, by_email
    table = connection.ops.quote_name(Party._meta.db_table)
    columns = f"id, name, code, vat_number, email FROM {table} WHERE"
    query = Party.objects.raw(
        f"SELECT 'c' AS hit, {columns} code = ANY(%s)"
        f" UNION ALL SELECT 'v', {columns} NOT archived AND vat_number = ANY(%s)"
        f" UNION ALL SELECT 'e', {columns} NOT archived AND lower(email) = ANY(%s) ORDER BY id",
        [sorted(codes), sorted(vats), sorted(emails)],
    )
    for party in query:
        hit = getattr(party, "hit")  # noqa: B009 - an extra column of the raw query
        if hit == "c":
            by_code.setdefault(party.code, party)
        elif hit == "v":
            by_vat.setdefault(party.vat_number, party)
        else:
            by_email.setdefault(party.email.casefold(), party)
    return by_code, by_vat, by_email


@dataclass
class _Checked:
    line: int
    cell: dict[str, str]
    values: dict[str, Any]
    errors: dict[str, str]
    kind_problem: str | None
    contact: dict[str, Any] | None
    contact_errors: dict[str, str]

    def as_list(self) -> list:
        """The fields in order (``dataclasses.astuple`` deep-copies every value: ten times slower)."""
        return [
            self.line,
            self.cell,
            self.values,
            self.errors,
            self.kind_problem,
            self.contact,
            self.contact_errors,
        ]


class Checker:
    """Checks rows chunk by chunk and remembers what it saw, so that duplicates within the file
    are found across chunks. ``prepare`` checks each row on its own (no database); ``settle``
    checks duplicates against the database (a few batched queries a chunk) and within the file."""

    def __init__(self, default_country: str, update: bool = False):
        self.default_country = default_country
        self.update = update
        self.seen: dict[tuple[str, str], int] = {}
        self.report = Report()
        self.category_ids = _categories()

    def prepare(self, rows: Iterable[tuple[int, dict[str, str]]]) -> list[_Checked]:
        country = self.default_country
        checked = []
        for line, cell in rows:
            party: dict[str, Any] = {k: cell[k] for k in PARTY_FIELDS if k in cell}
            party.setdefault("country", country)
            flags = {flag: False for flag in ("is_customer", "is_supplier", "is_prospect")}
            kind_problem = None
            for word in fold(cell.get("kind", "")).replace(",", " ").split():
                if word in KINDS:
                    flags[KINDS[word]] = True
                else:
                    kind_problem = word
            if not any(flags.values()):
                flags["is_customer"] = True
            party.update(flags)
            values, errors = clean_party(party, default_country=country, check_duplicates=False)
            contact, contact_errors = None, {}
            if cell.get("contact_last_name") or cell.get("contact_first_name"):
                contact, contact_errors = clean_contact(
                    {
                        "first_name": cell.get("contact_first_name", ""),
                        "last_name": cell.get("contact_last_name", "") or cell.get("contact_first_name"),
                        "email": cell.get("contact_email", ""),
                    },
                    default_country=country,
                )
            checked.append(_Checked(line, cell, values, errors, kind_problem, contact, contact_errors))
        return checked

    def settle(self, checked: list[_Checked]) -> list[Row]:
        def keys(field, any_case=False):
            found = {c.values[field] for c in checked if c.values.get(field) and field not in c.errors}
            return {k.casefold() for k in found} if any_case else found

        codes, vats, emails = _duplicate_owners(keys("code"), keys("vat_number"), keys("email", any_case=True))
        matches: dict[int, Party] = {}
        if self.update:
            # Matched by code, then VAT number, then e-mail; read whole (and locked, when applying).
            for c in checked:
                found = (
                    codes.get(c.values.get("code") or "")
                    or vats.get(c.values.get("vat_number") or "")
                    or emails.get((c.values.get("email") or "").casefold())
                )
                if found is not None:
                    matches[c.line] = found
            ids = {p.pk for p in matches.values()}
            query = Party.objects.filter(pk__in=ids).prefetch_related("categories")
            if connection.in_atomic_block:
                query = query.select_for_update(of=("self",)) if connection.vendor == "postgresql" else query
            full = {p.pk: p for p in query}
            matches = {line: full[p.pk] for line, p in matches.items() if p.pk in full}
        accepted: list[Row] = []
        for c in checked:
            values, errors = c.values, dict(c.errors)
            reasons = []
            if c.kind_problem:
                reasons.append(_("unknown kind “%(kind)s” (customer, supplier or prospect)") % {"kind": c.kind_problem})
            category_ids = []
            for name in [n.strip() for n in c.cell.get("categories", "").split(",") if n.strip()]:
                if name.casefold() in self.category_ids:
                    category_ids.append(self.category_ids[name.casefold()])
                else:
                    reasons.append(_("unknown category “%(category)s”") % {"category": name})
            existing = matches.get(c.line)
            own = existing.pk if existing is not None else None  # its own values are no duplicates

            def owner(found: dict[str, Party], key: str, own: int | None = own) -> Party | None:
                party = found.get(key)
                return party if party is not None and party.pk != own else None

            if values.get("code") and owner(codes, values["code"]):
                reasons.append(_("duplicate: the code %(code)s already exists") % {"code": values["code"]})
                values = {k: v for k, v in values.items() if k != "code"}
            if values.get("vat_number") and "vat_number" not in errors:
                errors.update(duplicate_errors(values, code_owner=None, vat_owner=owner(vats, values["vat_number"])))
            reasons += [f"{FIELDS.get(k, (k,))[0]}: {v}" for k, v in errors.items()]
            email_owner = owner(emails, (values.get("email") or "").casefold())
            if values.get("email") and "email" not in errors and email_owner is not None:
                reasons.append(
                    _("duplicate: the e-mail %(email)s belongs to %(party)s")
                    % {"email": values["email"], "party": email_owner.name}
                )
            for key in ("code", "vat_number", "email"):
                if values.get(key) and key not in errors:
                    identity = (key, values[key].casefold())
                    if identity in self.seen:
                        reasons.append(
                            _("duplicate of line %(line)s (same %(field)s)")
                            % {"line": self.seen[identity], "field": FIELDS[key][0]}
                        )
                    else:
                        self.seen[identity] = c.line
            reasons += [f"{_('contact')} {k}: {v}" for k, v in c.contact_errors.items()]
            if reasons:
                self.report.rejected_count += 1
                if len(self.report.rejected) < REJECTED_KEPT:
                    self.report.rejected.append({"line": c.line, "reason": _cut("; ".join(map(str, reasons)), 500)})
            else:
                self.report.accepted += 1
                row = Row(c.line, values, c.contact, c.cell.get("contact_function", ""), category_ids, existing)
                if existing is not None:
                    row.changes = _changes(existing, values, c.cell, category_ids)
                    if row.changes:
                        self.report.to_update += 1
                        if len(self.report.updates) < REJECTED_KEPT:
                            self.report.updates.append(
                                {
                                    "line": c.line,
                                    "party": _cut(f"{existing.code} {existing.name}", 100),
                                    "changes": _described(existing, row.changes),
                                }
                            )
                    else:
                        self.report.unchanged += 1
                else:
                    self.report.to_create += 1
                accepted.append(row)
        return accepted


def _changes(existing: Party, values: dict[str, Any], cell: dict[str, str], category_ids: list[int]) -> dict[str, Any]:
    """What a row changes in ``existing``: only the columns the file maps (an absent column, or
    the kind and country that default when empty, change nothing)."""
    changes: dict[str, Any] = {}
    for name in UPDATED_FIELDS:
        if name in cell and (name != "code" or values.get("code")) and values.get(name, "") != getattr(existing, name):
            changes[name] = values.get(name, "")
    if "kind" in cell and cell["kind"].strip():
        for flag in ("is_customer", "is_supplier", "is_prospect"):
            if values[flag] != getattr(existing, flag):
                changes[flag] = values[flag]
    if "categories" in cell and sorted(category_ids) != sorted(c.pk for c in existing.categories.all()):
        changes["categories"] = sorted(category_ids)
    return changes


def _described(existing: Party, changes: dict[str, Any]) -> list[list[str]]:
    """[field, old, new] of each change, in words."""
    from .models import Category

    out = []
    names = dict(Category.objects.filter(pk__in=changes.get("categories", [])).values_list("pk", "name"))
    for name, new in changes.items():
        if name == "categories":
            old = ", ".join(c.name for c in existing.categories.all())
            out.append([str(_("categories")), old, ", ".join(names.get(pk, "") for pk in new)])
            continue
        label = str(getattr(Party._meta.get_field(name), "verbose_name", name))
        old_value = getattr(existing, name)
        if isinstance(new, bool):
            out.append([label, _("yes") if old_value else _("no"), _("yes") if new else _("no")])
        else:
            out.append([label, _cut(str(old_value)), _cut(str(new))])
    return out


def _chunks(items: Iterable) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(islice(iterator, CHUNK)):
        yield chunk


def _mapped(rows: Iterator[tuple[int, list[str]]], mapping: dict[str, int]) -> Iterator[tuple[int, dict[str, str]]]:
    for line, raw in rows:
        yield line, {name: (raw[index] if index < len(raw) else "") for name, index in mapping.items()}


def dry_run_rows(
    rows: Iterable[tuple[int, dict[str, str]]],
    default_country: str = "BE",
    stage: IO[str] | None = None,
    progress: Callable[[int], None] | None = None,
    update: bool = False,
) -> Report:
    """Check mapped rows; write each row's own check (``Checker.prepare``: pure, no database) to
    ``stage``, one JSON line each, for the import, which checks them against the database again.
    ``update``: rows that match an existing party (by code, then VAT number, then e-mail) update it."""
    checker = Checker(default_country, update)
    done = 0
    for chunk in _chunks(rows):
        prepared = checker.prepare(chunk)
        if stage is not None:
            dumps = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode
            stage.writelines(dumps(c.as_list()) + "\n" for c in prepared)
        checker.settle(prepared)
        done += len(chunk)
        if progress:
            progress(done)
    return checker.report


def dry_run(file: IO[bytes], filename: str, mapping: dict[str, int], default_country: str = "BE", **kwargs) -> Report:
    rows = iter_rows(file, filename, kwargs.pop("encoding", "utf-8"))
    next(rows)  # the header
    return dry_run_rows(_mapped(rows, mapping), default_country, **kwargs)


# --- the jobs' steps ------------------------------------------------------------------------------


def create_import(*, acting_user, upload, encoding: str) -> PartyImport:
    """Store an uploaded file (already on disk or in memory below 5 MB) for the worker to read."""
    _may_import(acting_user)
    check_size(upload.size)
    party_import = PartyImport(created_by=acting_user, filename=upload.name[:255], encoding=encoding)
    party_import.file.save(f"{party_import.id}.bin", upload, save=False)
    party_import.save()
    audit.record(acting_user, "upload", party_import, {"file": [None, party_import.filename]})
    return party_import


def _claim(pk, status: str) -> PartyImport | None:
    """Take the job of ``pk`` in ``status`` unless another worker holds it (lease)."""
    now = timezone.now()
    with transaction.atomic():
        party_import = PartyImport.objects.select_for_update().filter(pk=pk, status=status).first()
        if party_import is None or (party_import.lease_until and party_import.lease_until > now):
            return None
        party_import.lease_until = now + LEASE
        party_import.progress = 0
        party_import.save(update_fields=["lease_until", "progress"])
    return party_import


def _progress(party_import: PartyImport, percent: int) -> None:
    percent = max(0, min(99, percent))
    PartyImport.objects.filter(pk=party_import.pk).update(progress=percent, lease_until=timezone.now() + LEASE)


def _fail(party_import: PartyImport, message: str, status: str = ImportStatus.FAILED) -> None:
    PartyImport.objects.filter(pk=party_import.pk).update(status=status, error=message, lease_until=None, progress=0)


def read_uploaded(pk) -> None:
    """Worker: read column names and first rows of an uploaded file, guess the mapping."""
    party_import = _claim(pk, ImportStatus.UPLOADED)
    if party_import is None:
        return
    try:
        with party_import.file.open("rb") as f:
            headers, preview = inspect(f, party_import.filename, party_import.encoding)
    except ImportFileError as e:
        _fail(party_import, str(e))
        return
    party_import.headers, party_import.preview = headers, preview
    party_import.mapping = guess_mapping(headers)
    party_import.status, party_import.lease_until, party_import.error = ImportStatus.READY, None, ""
    party_import.save(update_fields=["headers", "preview", "mapping", "status", "lease_until", "error"])


def start_check(
    *, acting_user, party_import: PartyImport, mapping: dict[str, int], update_existing: bool = False
) -> list[str]:
    """Set the mapping and queue the dry run; returns the problems of the mapping, if any."""
    _may_import(acting_user)
    if party_import.status in (ImportStatus.APPLYING, ImportStatus.APPLIED, ImportStatus.UPLOADED):
        return []
    problems = check_mapping(mapping, party_import.headers)
    if problems:
        return problems
    PartyImport.objects.filter(pk=party_import.pk).update(
        mapping=mapping,
        update_existing=update_existing,
        status=ImportStatus.CHECKING,
        report={},
        lease_until=None,
        progress=0,
        error="",
    )
    return []


def check_import(pk, default_country: str) -> None:
    """Worker: the dry run. Streams the file, checks every row, stages the mapped rows."""
    party_import = _claim(pk, ImportStatus.CHECKING)
    if party_import is None:
        return
    mapping = {k: int(v) for k, v in party_import.mapping.items()}
    try:
        with party_import.file.open("rb") as f, tempfile.TemporaryFile("w+b") as staged:
            size = f.size if hasattr(f, "size") else 0
            text = io.TextIOWrapper(staged, encoding="utf-8", newline="\n")
            info: dict[str, int] = {}
            rows = iter_rows(f, party_import.filename, party_import.encoding, info)
            next(rows)

            def progress(done: int) -> None:
                if declared := info.get("declared_rows"):
                    _progress(party_import, done * 100 // declared)
                elif size:
                    _progress(party_import, f.tell() * 100 // size)

            report = dry_run_rows(
                _mapped(rows, mapping),
                default_country,
                stage=text,
                progress=progress,
                update=party_import.update_existing,
            )
            text.flush()
            text.detach()
            staged.seek(0)
            if party_import.staged:
                party_import.staged.delete(save=False)
            party_import.staged.save(f"{party_import.id}.rows.jsonl", File(staged), save=False)
    except ImportFileError as e:
        _fail(party_import, str(e), ImportStatus.READY)
        return
    party_import.report = report.as_dict()
    party_import.row_count = report.accepted + report.rejected_count
    party_import.status, party_import.lease_until, party_import.progress = ImportStatus.CHECKED, None, 100
    party_import.save(update_fields=["report", "row_count", "status", "lease_until", "progress", "staged"])


def start_apply(*, acting_user, party_import: PartyImport) -> bool:
    """Queue the import of a checked file; False when there is nothing to start (already
    started, done, or not checked)."""
    _may_import(acting_user)
    return bool(
        PartyImport.objects.filter(pk=party_import.pk, status=ImportStatus.CHECKED).update(
            status=ImportStatus.APPLYING, lease_until=None, progress=0, error=""
        )
    )


def _staged_rows(party_import: PartyImport) -> Iterator[_Checked]:
    with party_import.staged.open("rb") as f:
        for line in f:
            yield _Checked(*json.loads(line))


def _explicit_codes(party_import: PartyImport) -> set[str]:
    """The codes the file gives explicitly (automatic codes skip them). A row without the text
    ``"code"`` has no code column: it is not parsed."""
    codes = set()
    with party_import.staged.open("rb") as f:
        for line in f:
            if b'"code"' in line:
                codes.add(_Checked(*json.loads(line)).values.get("code") or "")
    return codes - {""}


def _undo(party_import: PartyImport) -> int:
    """Delete what ``party_import`` created (contacts first, through their affiliations)."""
    removed = 0
    while ids := list(Party.objects.filter(source_import=party_import).values_list("pk", flat=True)[:CHUNK]):
        with transaction.atomic():
            contacts = list(Affiliation.objects.filter(party_id__in=ids).values_list("contact_id", flat=True))
            Contact.objects.filter(pk__in=contacts).delete()
            removed += Party.objects.filter(pk__in=ids).delete()[1].get("parties.Party", 0)
    return removed


def _free_numbers(after: int, taken: set[str]) -> Iterator[str]:
    """Automatic codes from P{after}, skipping those the file gives explicitly."""
    number = after
    while True:
        code = f"P{number:06d}"
        if code not in taken:
            yield code
        number += 1


def _last_auto_number(at_least: int) -> int:
    """The highest automatic code number in use from ``at_least`` on (an index range scan)."""
    last = Party.objects.filter(
        code__gte=f"P{at_least:06d}", code__lte="P999999", code__regex=r"^P[0-9]{6}$"
    ).aggregate(m=Max("code"))["m"]
    return int(last[1:]) if last else at_least - 1


def _commit_without_waiting() -> None:
    """PostgreSQL: the chunk's transaction commits without waiting for its WAL to reach the disk
    (``synchronous_commit`` off for this transaction only): waiting for the disk was a fifth of
    the import's time, a flush each chunk. Nothing is weakened: the WAL is written in order, so the
    import's last step, marking it applied (a normal commit), makes every chunk before it durable
    too; a crash before then loses at most the last chunks of an import still marked applying,
    which is undone and resumed as after any crash. Visibility and locks are as before."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


class _Gaps:
    """Gaps between the import's chunks in which another user's save takes the lock (SQLite).

    SQLite has one writer at a time, and a writer that finds the database locked does not queue:
    its busy handler sleeps and retries, 1, 2, 5, 10… ms apart, then every 100 ms. After each chunk
    the import pauses a few milliseconds (a writer that started waiting recently retries that
    often), and at least every ``EVERY`` seconds of writing for ``LONG`` seconds, longer than the
    busy handler's longest sleep: so a save waits at most about ``EVERY`` + one chunk + ``LONG``
    (under a second), while the import spends about a fifth of its time paused instead of as long
    as it writes. PostgreSQL locks rows, not the database: no pause there."""

    EVERY = 0.5
    LONG = 0.11

    def __init__(self) -> None:
        self.since = time.monotonic()

    def after_chunk(self) -> None:
        if connection.vendor != "sqlite":
            return
        if time.monotonic() - self.since >= self.EVERY:
            time.sleep(self.LONG)
            self.since = time.monotonic()
        else:
            time.sleep(random.uniform(0.002, 0.01))  # random: never in phase with the retries


def apply_import(pk, default_country: str) -> Report | None:
    """Worker: import the checked rows of ``pk``; see the module's docstring for all or nothing."""
    party_import = _claim(pk, ImportStatus.APPLYING)
    if party_import is None:
        return None
    try:
        _may_import(party_import.created_by)
    except PermissionDenied as e:
        _fail(party_import, str(e), ImportStatus.CHECKED)
        raise
    _undo(party_import)  # a previous attempt that died half-way
    explicit = _explicit_codes(party_import)
    total = max(party_import.row_count, 1)
    checker = Checker(default_country, party_import.update_existing)
    next_number = int(next_party_code()[1:])
    created = 0
    try:
        reported = time.monotonic()
        gaps = _Gaps()
        for chunk in _chunks(_staged_rows(party_import)):
            with transaction.atomic():
                _commit_without_waiting()
                lock_party_codes()
                rows = checker.settle(chunk)
                next_number = _last_auto_number(next_number) + 1
                codes = _free_numbers(next_number, explicit)
                created += _write(party_import, [r for r in rows if r.existing is None], codes)
                _update(party_import, [r for r in rows if r.existing is not None and r.changes])
            gaps.after_chunk()
            if time.monotonic() - reported > 1:
                reported = time.monotonic()
                _progress(party_import, (checker.report.accepted + checker.report.rejected_count) * 100 // total)
    except Exception as e:
        _undo(party_import)
        _fail(
            party_import,
            _("The import failed and nothing was imported (%(reason)s). Check the file again, then import.")
            % {"reason": _cut(str(e), 200)},
            ImportStatus.CHECKED,
        )
        raise
    report = checker.report
    report.created = created
    report.updated = report.to_update
    with transaction.atomic():
        party_import.report = report.as_dict()
        party_import.status, party_import.lease_until, party_import.progress = ImportStatus.APPLIED, None, 100
        party_import.save(update_fields=["report", "status", "lease_until", "progress"])
        audit.record(
            party_import.created_by,
            "import",
            party_import,
            {"file": [None, party_import.filename], "created": [0, created], "updated": [0, report.updated]},
        )
    party_import.staged.delete(save=False)
    party_import.file.delete(save=False)
    PartyImport.objects.filter(pk=party_import.pk).update(staged="", file="")
    return report


def _write(party_import: PartyImport, rows: list[Row], codes: Iterator[str]) -> int:
    """Insert the parties of ``rows``, their keywords, contacts and affiliations: plain multi-row
    INSERTs from the checked values (no model instance a row: the ORM's per-object work was most
    of the import's time)."""
    if not rows:
        return 0
    source = Party._meta.get_field("source_import").get_db_prep_save(party_import.pk, connection)
    parties = []
    for row in rows:
        values = dict(row.party)
        if not values.get("code"):
            values["code"] = next(codes)
        values["name_key"], values["city_key"] = fold(values["name"])[:200], fold(values.get("city", ""))[:100]
        values["source_import_id"] = source
        parties.append(values)
    party_ids = _create(Party, parties)
    keywords = []
    for pk, values in zip(party_ids, parties, strict=True):
        keywords += [(pk, w) for w in party_words(cast(Party, _Values(values)))]
    _insert(PartyKeyword, ["party_id", "word"], keywords)
    _insert(
        Party.categories.through,
        ["party_id", "category_id"],
        [(pk, category) for pk, row in zip(party_ids, rows, strict=True) for category in dict.fromkeys(row.categories)],
    )
    contacts, links = [], []
    for pk, row in zip(party_ids, rows, strict=True):
        if row.contact:
            contact = dict(row.contact)
            contact["name_key"] = fold(f"{contact.get('last_name', '')} {contact.get('first_name', '')}")[:201]
            contacts.append(contact)
            links.append((pk, row.function[:100]))
    contact_ids = _create(Contact, contacts)
    _insert(
        Affiliation,
        ["party_id", "contact_id", "function", "is_main"],
        [
            (party_id, contact_id, function, False)
            for (party_id, function), contact_id in zip(links, contact_ids, strict=True)
        ],
    )
    return len(parties)


def _update(party_import: PartyImport, rows: list[Row]) -> None:
    """Update mode: apply each row's changes through the party service (its checks, its version
    and its audit row), inside the chunk's transaction. Contacts of rows that update are not
    imported."""
    from .models import Category
    from .services import update_party

    for row in rows:
        assert row.existing is not None
        values = {k: v for k, v in row.changes.items() if k != "categories"}
        categories = None
        if "categories" in row.changes:
            categories = list(Category.objects.filter(pk__in=row.changes["categories"]))
        update_party(
            acting_user=party_import.created_by,
            party=row.existing,
            values=values,
            categories=categories,
            expected_version=row.existing.version,
        )


class _Values:
    """Attribute access to a dict of field values, for helpers written for model instances."""

    def __init__(self, values: dict[str, Any]):
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> str:
        return ""  # a field the row does not set: blank, as the model's default


def _columns(model) -> list[tuple[str, str, Any]]:
    """(attname, quoted column, default) of the model's concrete fields but its primary key; the
    default of auto_now fields is the time of the call."""
    now = timezone.now()
    out = []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            default = now
        else:
            default = f.get_default()
        out.append((f.attname, connection.ops.quote_name(f.column), f.get_db_prep_save(default, connection)))
    return out


def _create(model, rows: list[dict[str, Any]], batch: int = 400) -> list[int]:
    """Insert ``rows`` (field values by attname; the fields they leave out take their defaults),
    one INSERT … RETURNING id a batch; the new ids in order. Values are text, numbers, booleans or
    None, as the checks leave them."""
    if not rows:
        return []
    columns = _columns(model)
    if not connection.features.can_return_rows_from_bulk_insert:  # pragma: no cover - both return
        objs = model.objects.bulk_create(
            [model(**{name: row.get(name, default) for name, _c, default in columns}) for row in rows], batch_size=500
        )
        return [obj.pk for obj in objs]
    quote = connection.ops.quote_name
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    if connection.vendor == "postgresql":
        # Take the ids from the table's sequence, then COPY: a long INSERT's parameters are parsed
        # by psycopg in Python, which costs more than the database's work.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [model._meta.db_table, model._meta.pk.column, len(rows)],
            )
            new_ids = sorted(r[0] for r in cursor.fetchall())
        _copy(
            model,
            [model._meta.pk.column] + [name for name, _c, _d in columns],
            [
                (pk_value, *(row.get(name, default) for name, _c, default in columns))
                for pk_value, row in zip(new_ids, rows, strict=True)
            ],
            attnames=True,
        )
        return new_ids
    names = ", ".join(column for _n, column, _d in columns)
    one = "({})".format(", ".join(["%s"] * len(columns)))
    ids: list[int] = []
    for start in range(0, len(rows), batch):
        part = rows[start : start + batch]
        params = [row.get(name, default) for row in part for name, _c, default in columns]
        sql = f"INSERT INTO {table} ({names}) VALUES {', '.join([one] * len(part))} RETURNING {pk}"
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            returned = [r[0] for r in cursor.fetchall()]
        if connection.vendor == "sqlite":
            returned.sort()  # SQLite does not promise RETURNING's order; rowids grow in VALUES order
        ids += returned
    return ids


def _insert(model, columns: list[str], rows: list[tuple], batch: int = 500) -> None:
    """Multi-row INSERTs of many small rows (keywords, affiliations)."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        _copy(model, columns, rows)
        return
    quote = connection.ops.quote_name
    head = "INSERT INTO {} ({}) VALUES ".format(quote(model._meta.db_table), ", ".join(map(quote, columns)))
    one = "({})".format(", ".join(["%s"] * len(columns)))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            part = rows[start : start + batch]
            cursor.execute(head + ", ".join([one] * len(part)), [v for row in part for v in row])


def _copy(model, columns: list[str], rows: list[tuple], attnames: bool = False) -> None:
    """PostgreSQL's COPY of ``rows`` into the model's table (``columns`` are column names, or
    attnames when ``attnames``)."""
    quote = connection.ops.quote_name
    if attnames:
        by_attname = {f.attname: f.column for f in model._meta.concrete_fields}
        columns = [by_attname[name] for name in columns]
    sql = "COPY {} ({}) FROM STDIN".format(quote(model._meta.db_table), ", ".join(map(quote, columns)))
    with connection.cursor() as cursor:
        with cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
