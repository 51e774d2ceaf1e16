"""Which column holds which field: headers are compared without case, accents or punctuation
with each field's synonyms and its label in French, Dutch and English. A file holds parties
(``FIELDS``) or contacts of existing parties (``CONTACT_FIELDS``)."""

import re
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from suivi.lib.text import fold

from ..models import ImportHolds, Party

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
# A contact row names its party by code or VAT number (headers of other software: `Code client`,
# `Tiers`, `N° TVA`…); the rest are the contact's fields and its function at that party.
CONTACT_FIELDS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "party_code": (
        gettext_lazy("party code"),
        (
            "party code",
            "party",
            "code",
            "code client",
            "client code",
            "customer code",
            "client",
            "tiers",
            "code tiers",
            "klant",
            "klantcode",
            "klantnummer",
            "relatie",
            "relatiecode",
            "ref",
            "reference",
            "referentie",
        ),
    ),
    "party_vat": (gettext_lazy("party VAT number"), ("party vat", "party vat number", *FIELDS["vat_number"][1])),
    "first_name": (gettext_lazy("first name"), ("first name", "firstname", "given name", "prenom", "voornaam")),
    "last_name": (
        gettext_lazy("last name"),
        (
            "last name",
            "lastname",
            "surname",
            "family name",
            "name",
            "nom",
            "nom de famille",
            "naam",
            "achternaam",
            "familienaam",
            "contact",
        ),
    ),
    "function": (
        gettext_lazy("function"),
        ("function", "fonction", "functie", "job title", "title", "titre", "poste", "role", "position"),
    ),
    "email": (gettext_lazy("e-mail"), FIELDS["email"][1]),
    "phone": (gettext_lazy("phone"), FIELDS["phone"][1]),
    "mobile": (
        gettext_lazy("mobile"),
        (
            "mobile",
            "mobile phone",
            "mobile number",
            "cell",
            "cell phone",
            "gsm",
            "portable",
            "telephone portable",
            "tel portable",
            "mobiel",
            "mobiele telefoon",
        ),
    ),
    "language": (gettext_lazy("language"), ("language", "langue", "taal", "lang")),
}
CONTACT_REQUIRED = ("last_name",)
PARTY_KEYS = ("party_code", "party_vat")  # a contacts file maps one of them at least
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


def _header_key(text: str) -> str:
    """A column name compared without case, accents or punctuation: ``N° TVA`` → ``n tva``."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", fold(text)).split())


def fields_for(holds: str) -> dict[str, tuple[Any, tuple[str, ...]]]:
    """The fields of an import whose file holds ``holds`` (parties or contacts)."""
    return CONTACT_FIELDS if holds == ImportHolds.CONTACTS else FIELDS


def required_for(holds: str) -> tuple[str, ...]:
    return CONTACT_REQUIRED if holds == ImportHolds.CONTACTS else REQUIRED


def _names_of(name: str, holds: str = ImportHolds.PARTIES) -> set[str]:
    """The header keys that map to the field ``name``: its synonyms, and its label in each language
    (so that Suivi's own export, whatever its language, maps back without help)."""
    from django.utils import translation

    label, synonyms = fields_for(holds)[name]
    keys = {_header_key(s) for s in synonyms} | {_header_key(name)}
    labels = [label]
    if holds != ImportHolds.CONTACTS and name == "kind":
        labels.append(gettext_lazy("kind"))
    elif holds != ImportHolds.CONTACTS and name in PARTY_FIELDS:
        labels.append(Party._meta.get_field(name).verbose_name)
    for language in ("fr", "nl", "en"):
        with translation.override(language):
            keys |= {_header_key(str(text)) for text in labels}
    return keys


def guess_mapping(headers: list[str], holds: str = ImportHolds.PARTIES) -> dict[str, int]:
    """Field → column index, guessed from the column names."""
    keys = [_header_key(h) for h in headers]
    mapping: dict[str, int] = {}
    for name in fields_for(holds):
        names = _names_of(name, holds)
        for index, header in enumerate(keys):
            if header in names and index not in mapping.values():
                mapping[name] = index
                break
    return mapping


def check_mapping(mapping: dict[str, int], headers: list[str], holds: str = ImportHolds.PARTIES) -> list[str]:
    fields = fields_for(holds)
    problems = []
    for name in required_for(holds):
        if name not in mapping:
            problems.append(
                _("Choose the column that holds the %(field)s: it is required.") % {"field": fields[name][0]}
            )
    if holds == ImportHolds.CONTACTS and not any(key in mapping for key in PARTY_KEYS):
        problems.append(_("Choose the column that holds the party's code or its VAT number: each contact needs one."))
    for name, index in mapping.items():
        if name not in fields or not 0 <= index < len(headers):
            problems.append(_("Unknown column for %(field)s.") % {"field": name})
    return problems
