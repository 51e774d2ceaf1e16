"""Checking rows, the same for the dry run and the import: each row on its own (``prepare``),
then duplicates against the database and within the file (``settle``)."""

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import IO, Any

from django.db import connection
from django.utils.translation import gettext as _

from suivi.lib.text import fold

from ..models import ImportHolds, Party
from ..validation import clean_contact, clean_party, duplicate_errors
from .contacts import ContactChecker
from .finding import _duplicate_owners
from .mapping import FIELDS, KINDS, PARTY_FIELDS, UPDATED_FIELDS
from .reading import _cut, iter_rows
from .report import Report, RowChecker, Staged

CHUNK = 1000  # rows checked and written together

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
    from ..models import Category

    return {name.casefold(): pk for pk, name in Category.objects.values_list("pk", "name")}


@dataclass
class _Checked(Staged):
    line: int
    cell: dict[str, str]
    values: dict[str, Any]
    errors: dict[str, str]
    kind_problem: str | None
    contact: dict[str, Any] | None
    contact_errors: dict[str, str]


class Checker(RowChecker):
    """Party rows (each with an optional contact): ``prepare`` checks each row on its own;
    ``settle`` checks duplicates of code, VAT number and e-mail against the database and within
    the file and, in update mode, matches rows to parties by code, then VAT number, then e-mail."""

    staged = _Checked

    def __init__(self, default_country: str, update: bool = False):
        super().__init__(default_country, update)
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
                    first = self.first_line_of((key, values[key].casefold()), c.line)
                    if first is not None:
                        reasons.append(
                            _("duplicate of line %(line)s (same %(field)s)") % {"line": first, "field": FIELDS[key][0]}
                        )
            reasons += [f"{_('contact')} {k}: {v}" for k, v in c.contact_errors.items()]
            if reasons:
                self.reject(c.line, reasons)
                continue
            row = Row(c.line, values, c.contact, c.cell.get("contact_function", ""), category_ids, existing)
            if existing is not None:
                row.changes = _changes(existing, values, c.cell, category_ids)
            self.accept(
                c.line,
                f"{existing.code} {existing.name}" if existing is not None else None,
                bool(row.changes),
                lambda existing=existing, row=row: _described(existing, row.changes),
            )
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
    from ..models import Category

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


def checker_for(holds: str, default_country: str, update: bool = False) -> RowChecker:
    """The checker of the rows of a file that holds ``holds`` (parties or contacts)."""
    kind = ContactChecker if holds == ImportHolds.CONTACTS else Checker
    return kind(default_country, update)


def dry_run_rows(
    rows: Iterable[tuple[int, dict[str, str]]],
    default_country: str = "BE",
    stage: IO[str] | None = None,
    progress: Callable[[int], None] | None = None,
    update: bool = False,
    holds: str = ImportHolds.PARTIES,
) -> Report:
    """Check mapped rows; write each row's own check (``prepare``: pure, no database) to
    ``stage``, one JSON line each, for the import, which checks them against the database again.
    ``update``: rows that match an existing record (a party by code, then VAT number, then e-mail;
    a contact of the row's party by e-mail, then name) update it."""
    checker = checker_for(holds, default_country, update)
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
