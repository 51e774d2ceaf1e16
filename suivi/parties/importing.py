"""Import of parties (with an optional contact each) from CSV or XLSX.

Three steps, each a request of its own: the file is uploaded and its columns read; the user maps
columns to fields and a dry run reports every rejected row with its line and reason; the import
applies all accepted rows in one transaction, or none.
"""

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from suivi.core import audit
from suivi.lib.text import fold

from .keywords import refresh_keywords
from .models import Affiliation, Contact, ImportStatus, Party, PartyImport
from .services import next_party_code
from .validation import clean_contact, clean_party, duplicate_errors

ENCODINGS = [("utf-8", "UTF-8"), ("windows-1252", "Windows-1252 (Excel)"), ("iso-8859-15", "ISO-8859-15")]

# Import field → label and the column headers (folded) that map to it by default.
FIELDS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "code": (gettext_lazy("code"), ("code", "ref", "reference", "referentie")),
    "name": (gettext_lazy("name"), ("name", "nom", "naam", "company", "societe", "raison sociale", "bedrijf")),
    "kind": (gettext_lazy("kind (customer, supplier, prospect)"), ("kind", "type", "soort")),
    "vat_number": (
        gettext_lazy("VAT number"),
        ("vat", "vat number", "tva", "n tva", "btw", "btw nummer", "vat_number"),
    ),
    "email": (gettext_lazy("e-mail"), ("email", "e-mail", "mail", "courriel")),
    "phone": (gettext_lazy("phone"), ("phone", "telephone", "tel", "telefoon")),
    "website": (gettext_lazy("website"), ("website", "site", "site web", "web")),
    "street": (gettext_lazy("street"), ("street", "address", "adresse", "rue", "straat", "adres")),
    "postal_code": (
        gettext_lazy("postal code"),
        ("postal code", "zip", "code postal", "cp", "postcode", "postal_code"),
    ),
    "city": (gettext_lazy("city"), ("city", "ville", "localite", "gemeente", "stad")),
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
}
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
MAX_ROWS = 100_000


class ImportFileError(ValueError):
    """The file cannot be read as a table; the message says why and what to do."""


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]  # data rows; line numbers start at 2 (the header is line 1)


@dataclass
class Report:
    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)  # {line, reason}
    created: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "rejected": self.rejected, "created": self.created}


def check_size(size: int | None) -> None:
    limit = settings.SUIVI_IMPORT_MAX_BYTES
    if size is not None and size > limit:
        raise ImportFileError(
            _("The file is too large (%(size)s MB; %(limit)s MB at most). Split it and import each part.")
            % {"size": round(size / 1048576, 1), "limit": limit // 1048576}
        )


def read_table(data: bytes, filename: str, encoding: str = "utf-8") -> Table:
    """Read ``data`` as CSV (delimiter detected) or XLSX (first sheet)."""
    check_size(len(data))
    if not data:
        raise ImportFileError(_("The file is empty. Choose a CSV or XLSX file with a header row."))
    if filename.lower().endswith(".xlsx") or data[:4] == b"PK\x03\x04":
        table = _read_xlsx(data)
    else:
        table = _read_csv(data, encoding)
    headers = [h.strip() for h in table.headers]
    if not any(headers):
        raise ImportFileError(_("The first row must hold the column names; it is empty."))
    if len(table.rows) > MAX_ROWS:
        raise ImportFileError(
            _("The file has more than %(max)s rows. Split it and import each part.") % {"max": MAX_ROWS}
        )
    return Table(headers=headers, rows=table.rows)


def _read_csv(data: bytes, encoding: str) -> Table:
    if encoding not in dict(ENCODINGS):
        encoding = "utf-8"
    try:
        text = data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError as e:
        raise ImportFileError(
            _(
                "The file is not valid %(encoding)s text (byte %(byte)s at position %(pos)s). If it "
                "comes from Excel, choose the encoding Windows-1252 and upload it again."
            )
            % {"encoding": encoding.upper(), "byte": hex(data[e.start]), "pos": e.start}
        ) from e
    if "\x00" in text:
        raise ImportFileError(_("This is not a text file. Choose a CSV or XLSX file."))
    sample = text[:20000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=";,\t|")
    except csv.Error:
        dialect = csv.excel
        dialect.delimiter = ";" if sample.count(";") > sample.count(",") else ","
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), dialect))
    except csv.Error as e:
        raise ImportFileError(_("The CSV file is malformed: %(reason)s") % {"reason": e}) from e
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise ImportFileError(_("The file is empty. Choose a CSV or XLSX file with a header row."))
    return Table(headers=rows[0], rows=rows[1:])


def _read_xlsx(data: bytes) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many kinds for a bad file
        raise ImportFileError(
            _("This file cannot be read as an XLSX workbook. Save it again from your spreadsheet as .xlsx or .csv.")
        ) from e
    sheet = workbook.worksheets[0]
    rows = []
    for row in sheet.iter_rows(values_only=True):
        cells = ["" if v is None else str(v).strip() for v in row]
        if any(cells):
            rows.append(cells)
        if len(rows) > MAX_ROWS + 1:
            break
    workbook.close()
    if not rows:
        raise ImportFileError(_("The file is empty. Choose a CSV or XLSX file with a header row."))
    return Table(headers=rows[0], rows=rows[1:])


def guess_mapping(headers: list[str]) -> dict[str, int]:
    """Field → column index, guessed from the column names."""
    folded = [fold(h).replace("_", " ").strip() for h in headers]
    mapping: dict[str, int] = {}
    for name, (_label, synonyms) in FIELDS.items():
        for index, header in enumerate(folded):
            if header in synonyms or header == name.replace("_", " "):
                if index not in mapping.values():
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


@dataclass
class Row:
    line: int
    party: dict[str, Any]
    contact: dict[str, Any] | None
    function: str


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


@dataclass
class _Checked:
    line: int
    cell: dict[str, str]
    values: dict[str, Any]
    errors: dict[str, str]
    kind_problem: str | None
    code_exists: bool


def _rows(table: Table, mapping: dict[str, int], default_country: str) -> tuple[list[Row], list[dict[str, Any]]]:
    """Check every row: first each row on its own, then duplicates against the database (a few
    batched queries whatever the row count) and within the file."""
    checked: list[_Checked] = []
    for offset, raw in enumerate(table.rows):
        cell = {name: (raw[index].strip() if index < len(raw) else "") for name, index in mapping.items()}
        party = {k: cell[k] for k in PARTY_FIELDS if k in cell}
        party.setdefault("country", default_country)
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
        values, errors = clean_party(party, default_country=default_country, check_duplicates=False)
        checked.append(_Checked(offset + 2, cell, values, errors, kind_problem, False))

    def keys(field, any_case=False):
        found = {c.values[field] for c in checked if c.values.get(field) and field not in c.errors}
        return {k.casefold() for k in found} if any_case else found

    codes = _owners("code", keys("code"))
    vats = _owners("vat_number", keys("vat_number"), archived=False)
    emails = _owners("email", keys("email", any_case=True), any_case=True, archived=False)

    accepted: list[Row] = []
    rejected: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    for c in checked:
        values, errors = c.values, c.errors
        reasons = []
        if c.kind_problem:
            reasons.append(_("unknown kind “%(kind)s” (customer, supplier or prospect)") % {"kind": c.kind_problem})
        if values.get("code") and values["code"] in codes:
            reasons.append(_("duplicate: the code %(code)s already exists") % {"code": values["code"]})
            values.pop("code")
        if values.get("vat_number") and "vat_number" not in errors:
            errors.update(duplicate_errors(values, code_owner=None, vat_owner=vats.get(values["vat_number"])))
        reasons += [f"{FIELDS.get(k, (k,))[0]}: {v}" for k, v in errors.items()]
        if values.get("email") and "email" not in errors and values["email"].casefold() in emails:
            reasons.append(
                _("duplicate: the e-mail %(email)s belongs to %(party)s")
                % {"email": values["email"], "party": emails[values["email"].casefold()].name}
            )
        for key in ("code", "vat_number", "email"):
            if values.get(key) and key not in errors:
                identity = (key, values[key].casefold())
                if identity in seen:
                    reasons.append(
                        _("duplicate of line %(line)s (same %(field)s)")
                        % {"line": seen[identity], "field": FIELDS[key][0]}
                    )
                else:
                    seen[identity] = c.line
        contact = None
        cell = c.cell
        if cell.get("contact_last_name") or cell.get("contact_first_name"):
            contact, contact_errors = clean_contact(
                {
                    "first_name": cell.get("contact_first_name", ""),
                    "last_name": cell.get("contact_last_name", "") or cell.get("contact_first_name"),
                    "email": cell.get("contact_email", ""),
                },
                default_country=default_country,
            )
            reasons += [f"{_('contact')} {k}: {v}" for k, v in contact_errors.items()]
        if reasons:
            rejected.append({"line": c.line, "reason": "; ".join(str(r) for r in reasons)})
        else:
            accepted.append(Row(c.line, values, contact, cell.get("contact_function", "")))
    return accepted, rejected


def dry_run(table: Table, mapping: dict[str, int], default_country: str = "BE") -> Report:
    accepted, rejected = _rows(table, mapping, default_country)
    return Report(accepted=len(accepted), rejected=rejected)


@transaction.atomic
def apply_import(*, acting_user, party_import: PartyImport, table: Table, default_country: str = "BE") -> Report:
    """Create every accepted row, all in one transaction; a second call does nothing."""
    party_import = PartyImport.objects.select_for_update().get(pk=party_import.pk)
    if party_import.status == ImportStatus.APPLIED:
        return Report(**party_import.report)
    mapping = {k: int(v) for k, v in party_import.mapping.items()}
    accepted, rejected = _rows(table, mapping, default_country)
    first = int(next_party_code()[1:])
    parties = []
    for number, row in enumerate(accepted, start=first):
        if not row.party.get("code"):
            row.party["code"] = f"P{number:06d}"
        parties.append(Party(**row.party))
    for p in parties:
        p.name_key, p.city_key = fold(p.name)[:200], fold(p.city)[:100]
    Party.objects.bulk_create(parties, batch_size=500)
    if any(p.pk is None for p in parties):  # backends without RETURNING on bulk insert
        by_code = dict(Party.objects.filter(code__in=[p.code for p in parties]).values_list("code", "pk"))
        for p in parties:
            p.pk = by_code[p.code]
    refresh_keywords(parties)
    contacts = []
    for party, row in zip(parties, accepted, strict=True):
        if row.contact:
            c = Contact(**row.contact)
            c.name_key = fold(f"{c.last_name} {c.first_name}")[:201]
            contacts.append((party, c, row.function))
    Contact.objects.bulk_create([c for _p, c, _f in contacts], batch_size=500)
    Affiliation.objects.bulk_create(
        [Affiliation(party=p, contact=c, function=f[:100]) for p, c, f in contacts], batch_size=500
    )
    report = Report(accepted=len(accepted), rejected=rejected, created=len(parties))
    party_import.status = ImportStatus.APPLIED
    party_import.report = report.as_dict()
    party_import.save(update_fields=["status", "report"])
    audit.record(
        acting_user, "import", party_import, {"file": [None, party_import.filename], "created": [0, len(parties)]}
    )
    return report
