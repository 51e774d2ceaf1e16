"""Contact rows: each names its party by code or VAT number and holds the contact's fields (checked
as the contact form checks them: phones read in the company's country) and its function at that
party. In update mode a row that matches a contact of its party, by e-mail then by first and last
name, updates it; otherwise such a row is refused as a duplicate."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _

from suivi.lib.identifiers import InvalidIdentifier, parse_vat
from suivi.lib.text import fold

from ..models import LANGUAGES, Affiliation, Contact, Party
from ..validation import _max_lengths, clean_contact, vat_message
from .finding import _matching, _owners
from .mapping import CONTACT_FIELDS
from .reading import _cut
from .report import RowChecker, Staged

CONTACT_VALUES = ("first_name", "last_name", "email", "phone", "mobile")

# A language as a file may give it: its code, its own name, or its name in English, French or Dutch.
_LANGUAGE_NAMES = {
    **{code: code for code, _label in LANGUAGES},
    **{fold(label): code for code, label in LANGUAGES},
    "french": "fr",
    "frans": "fr",
    "dutch": "nl",
    "neerlandais": "nl",
    "english": "en",
    "anglais": "en",
    "engels": "en",
    "german": "de",
    "allemand": "de",
    "duits": "de",
}


def language_code(text: str) -> str | None:
    """``fr`` for ``fr``, ``FR``, ``Français``, ``French`` or ``Frans``; None for no language."""
    return _LANGUAGE_NAMES.get(fold(text.strip()))


@dataclass
class _CheckedContact(Staged):
    """A contact row checked on its own (staged as a JSON list between the dry run and the import)."""

    line: int
    cell: dict[str, str]
    values: dict[str, Any]  # the contact's values, cleaned as the contact form's
    errors: dict[str, str]
    function: str | None  # None: the file has no function column
    party_code: str
    party_vat: str  # compact, as stored; "" when the row gives none or an invalid one
    vat_problem: str  # why the VAT number the row gives is not one


@dataclass
class ContactRow:
    line: int
    party: Party
    values: dict[str, Any]
    function: str | None
    existing: Contact | None = None  # update mode: the contact this row updates
    affiliation: Affiliation | None = None  # … and its place at the party
    changes: dict[str, Any] = field(default_factory=dict)  # field → new value


def _label(name: str) -> str:
    return str(CONTACT_FIELDS[name][0]) if name in CONTACT_FIELDS else name


@dataclass
class _People:
    """The contacts of one party (their affiliations, with the contact), by e-mail (lower-cased)
    and by first and last name (folded)."""

    by_email: dict[str, list[Affiliation]] = field(default_factory=dict)
    by_name: dict[str, list[Affiliation]] = field(default_factory=dict)


def _people(party_ids: set[int]) -> dict[int, _People]:
    """The contacts of each party, 500 parties a query; locked when applying on PostgreSQL, as the
    party rows an import updates are."""
    found: dict[int, _People] = {}
    ids = sorted(party_ids)
    for i in range(0, len(ids), 500):
        links = Affiliation.objects.filter(party_id__in=ids[i : i + 500]).select_related("contact").order_by("id")
        if connection.in_atomic_block and connection.vendor == "postgresql":
            links = links.select_for_update(of=("self", "contact"))
        for link in links:
            people = found.setdefault(link.party_id, _People())
            if link.contact.email:
                people.by_email.setdefault(link.contact.email.casefold(), []).append(link)
            people.by_name.setdefault(_name_of(link), []).append(link)
    return found


class ContactChecker(RowChecker):
    """Contact rows of existing parties; see the module's docstring."""

    staged = _CheckedContact

    def prepare(self, rows: Iterable[tuple[int, dict[str, str]]]) -> list[_CheckedContact]:
        checked = []
        for line, cell in rows:
            values, errors = clean_contact(
                {k: cell[k] for k in CONTACT_VALUES if k in cell}, default_country=self.default_country
            )
            if cell.get("language"):
                code = language_code(cell["language"])
                if code:
                    values["language"] = code
                else:
                    errors["language"] = _("“%(value)s” is not a language: type fr, nl, en or de.") % {
                        "value": _cut(cell["language"])
                    }
            function = cell["function"] if "function" in cell else None
            if function:
                _max_lengths(Affiliation, {"function": function}, errors)
            vat, vat_problem = "", ""
            if cell.get("party_vat"):
                try:
                    vat = parse_vat(cell["party_vat"], self.default_country).number
                except InvalidIdentifier as e:
                    vat_problem = vat_message(str(e))
            checked.append(
                _CheckedContact(line, cell, values, errors, function, cell.get("party_code", ""), vat, vat_problem)
            )
        return checked

    def settle(self, checked: list[_CheckedContact]) -> list[ContactRow]:
        by_code = _owners("code", {c.party_code for c in checked if c.party_code})
        by_vat = _matching("vat_number", {c.party_vat for c in checked if c.party_vat}, archived=False)
        parties = {c.line: _party_of(c, by_code, by_vat) for c in checked}
        people = _people({p.pk for p in parties.values() if isinstance(p, Party)})
        accepted: list[ContactRow] = []
        for c in checked:
            party = parties[c.line]
            reasons = [party] if isinstance(party, str) else []
            reasons += [f"{_label(k)}: {v}" for k, v in c.errors.items()]
            if reasons or not isinstance(party, Party):
                self.reject(c.line, reasons)
                continue
            row = ContactRow(c.line, party, c.values, c.function)
            match = self._match(row, people.get(party.pk) or _People())
            if isinstance(match, str):
                self.reject(c.line, [match])
                continue
            if match is not None:
                row.existing, row.affiliation = match.contact, match
                row.changes = _changes(match, c.values, c.cell, c.function)
            self.accept(
                c.line,
                f"{row.existing} — {party.code} {party.name}" if row.existing is not None else None,
                bool(row.changes),
                lambda row=row: _described(row),
            )
            accepted.append(row)
        return accepted

    def _match(self, row: ContactRow, people: _People) -> Affiliation | str | None:
        """The contact of the row's party that the row is (by e-mail, then by first and last name),
        None for a new one, or why the row is refused: an ambiguous match, a duplicate of a contact
        (create mode) or of an earlier line."""
        email = (row.values.get("email") or "").casefold()
        name = fold(f"{row.values.get('first_name', '')} {row.values.get('last_name', '')}".strip())
        same_email = people.by_email.get(email, []) if email else []
        if same_email:
            found, what = same_email, _("e-mail")
        else:
            found, what = people.by_name.get(name, []), _("first and last name")
        if len(found) > 1:
            # Contacts that share an e-mail address are told apart by their name. Contacts alike in
            # both (a person entered twice) are taken in order, one a row: their export imports back.
            found = [a for a in found if _name_of(a) == name] or found
            if len({(_name_of(a), a.contact.email.casefold()) for a in found}) > 1:
                return _("ambiguous: %(count)s contacts of %(party)s have the same %(field)s") % {
                    "count": len(found),
                    "party": row.party.name,
                    "field": what,
                }
            found = [a for a in found if ("contact", a.contact_id) not in self.seen] or found
        match = found[0] if found else None
        if match is not None and not self.update:
            return _("duplicate: %(contact)s is already a contact of %(party)s (same %(field)s)") % {
                "contact": match.contact,
                "party": row.party.name,
                "field": what,
            }
        if match is not None:
            identity: tuple = ("contact", match.contact_id)
        else:
            identity = ("email", row.party.pk, email) if email else ("name", row.party.pk, name)
        first = self.first_line_of(identity, row.line)
        if first is not None:
            return _("duplicate of line %(line)s (same %(field)s)") % {
                "line": first,
                "field": _("contact") if match is not None else what,
            }
        return match


def _name_of(link: Affiliation) -> str:
    return fold(f"{link.contact.first_name} {link.contact.last_name}".strip())


def _party_of(c: _CheckedContact, by_code: dict[str, Party], by_vat: dict[str, list[Party]]) -> Party | str:
    """The party a row names by its code, else its VAT number; or why none (not found, ambiguous)."""
    party = by_code.get(c.party_code) if c.party_code else None
    with_vat = by_vat.get(c.party_vat, []) if c.party_vat else []
    if party is not None:
        if with_vat and party not in with_vat:
            return _("ambiguous party: the code %(code)s is %(party)s but the VAT number %(vat)s is %(other)s") % {
                "code": c.party_code,
                "party": party.name,
                "vat": c.party_vat,
                "other": with_vat[0].name,
            }
        return party
    if len(with_vat) == 1:
        return with_vat[0]
    if len(with_vat) > 1:
        return _("ambiguous party: %(count)s parties have the VAT number %(vat)s; give the party's code") % {
            "count": len(with_vat),
            "vat": c.party_vat,
        }
    reasons = []
    if c.party_code:
        reasons.append(_("no party has the code %(code)s") % {"code": _cut(c.party_code)})
    if c.party_vat:
        reasons.append(_("no party has the VAT number %(vat)s") % {"vat": _cut(c.cell["party_vat"])})
    elif c.vat_problem:
        reasons.append(
            _("party VAT number %(vat)s: %(problem)s") % {"vat": _cut(c.cell["party_vat"]), "problem": c.vat_problem}
        )
    return "; ".join(reasons) or _("the party is missing: give its code or its VAT number")


def _changes(link: Affiliation, values: dict[str, Any], cell: dict[str, str], function: str | None) -> dict[str, Any]:
    """What a row changes in the contact of ``link``: only the columns the file maps (an empty
    language changes nothing)."""
    contact = link.contact
    changes = {
        name: values.get(name, "")
        for name in CONTACT_VALUES
        if name in cell and values.get(name, "") != getattr(contact, name)
    }
    if values.get("language") and values["language"] != contact.language:
        changes["language"] = values["language"]
    if function is not None and function != link.function:
        changes["function"] = function
    return changes


def _described(row: ContactRow) -> list[list[str]]:
    """[field, old, new] of each change, in words."""
    languages = dict(LANGUAGES)
    out = []
    for name, new in row.changes.items():
        old = row.affiliation.function if name == "function" else getattr(row.existing, name)
        if name == "language":
            old, new = languages.get(old, old), languages.get(new, new)
        out.append([_label(name), _cut(str(old)), _cut(str(new))])
    return out
