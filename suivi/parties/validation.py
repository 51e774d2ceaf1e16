"""Rules every party and contact must follow, whichever way it comes in (form, API, import).

Each function returns cleaned values and a dict of field → message in the user's language;
nothing is saved here.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.utils.translation import gettext as _

from suivi.lib.countries import country_code
from suivi.lib.identifiers import InvalidIdentifier, normalise_phone, parse_vat

from .models import Contact, Party

Errors = dict[str, str]

_VAT_REASONS = {
    "empty": lambda: _("Type a VAT number or leave the field empty."),
    "country": lambda: _("Start the VAT number with its country code, e.g. BE0403170701."),
    "length": lambda: _("This VAT number has the wrong number of digits for its country."),
    "checksum": lambda: _("This VAT number is not valid: its check digits do not match. Check for a typing error."),
    "format": lambda: _("This VAT number is not in the format of its country."),
}


def vat_message(reason: str) -> str:
    return _VAT_REASONS.get(reason, _VAT_REASONS["format"])()


def _max_lengths(model, values: dict[str, Any], errors: Errors) -> None:
    for name, value in values.items():
        try:
            field = model._meta.get_field(name)
        except Exception:
            continue
        limit = getattr(field, "max_length", None)
        if limit and isinstance(value, str) and len(value) > limit:
            errors[name] = _("At most %(limit)s characters (you typed %(count)s).") % {
                "limit": limit,
                "count": len(value),
            }


def _phone(values: dict[str, Any], name: str, country: str, errors: Errors) -> None:
    if values.get(name):
        try:
            values[name] = normalise_phone(values[name], country)
        except InvalidIdentifier:
            errors[name] = _("This is not a valid phone number. Type it with its country code, e.g. +32 2 345 67 89.")


def _email(values: dict[str, Any], name: str, errors: Errors) -> None:
    if values.get(name):
        values[name] = values[name].strip()
        try:
            EmailValidator()(values[name])
        except ValidationError:
            errors[name] = _("This is not a valid e-mail address.")


def clean_party(
    values: dict[str, Any],
    *,
    instance: Party | None = None,
    default_country: str = "BE",
    check_duplicates: bool = True,
) -> tuple[dict[str, Any], Errors]:
    """Check and normalise party values; duplicates of code and VAT number are errors.

    ``check_duplicates=False`` leaves the duplicate look-ups to a caller that batches them
    (the import checks thousands of rows with a few queries).
    """
    values = {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}
    errors: Errors = {}
    if "name" in values and not values["name"]:
        errors["name"] = _("A party needs a name.")
    if "country" in values:
        typed = values["country"] or default_country
        values["country"] = country_code(typed) or typed
        if not country_code(typed):
            errors["country"] = _("“%(value)s” is not a country. Type its name or its code, e.g. Belgique or BE.") % {
                "value": typed
            }
    country = values.get("country") or (instance.country if instance else default_country)
    if values.get("vat_number"):
        try:
            values["vat_number"] = parse_vat(values["vat_number"], country).number
        except InvalidIdentifier as e:
            errors["vat_number"] = vat_message(str(e))
    _email(values, "email", errors)
    _phone(values, "phone", country, errors)
    if values.get("website"):
        if "://" not in values["website"]:
            values["website"] = "https://" + values["website"]
        try:
            URLValidator(schemes=["http", "https"])(values["website"])
        except ValidationError:
            errors["website"] = _("This is not a valid web address.")
    _max_lengths(Party, values, errors)
    if check_duplicates:
        others = Party.objects.exclude(pk=instance.pk) if instance else Party.objects.all()
        code_owner = others.filter(code=values["code"]).first() if values.get("code") and "code" not in errors else None
        vat_owner = (
            others.filter(vat_number=values["vat_number"], archived=False).first()
            if values.get("vat_number") and "vat_number" not in errors
            else None
        )
        errors = {**duplicate_errors(values, code_owner=code_owner, vat_owner=vat_owner), **errors}
    return values, errors


def duplicate_errors(values: dict[str, Any], *, code_owner: Party | None, vat_owner: Party | None) -> Errors:
    """The messages for a code or VAT number another party already has."""
    errors: Errors = {}
    if code_owner is not None:
        errors["code"] = _("The code %(code)s is already used by %(party)s.") % {
            "code": values["code"],
            "party": code_owner.name,
        }
    if vat_owner is not None:
        errors["vat_number"] = _("This VAT number is already used by %(party)s (%(code)s).") % {
            "party": vat_owner.name,
            "code": vat_owner.code,
        }
    return errors


def clean_contact(values: dict[str, Any], *, default_country: str = "BE") -> tuple[dict[str, Any], Errors]:
    values = {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}
    errors: Errors = {}
    if "last_name" in values and not values["last_name"]:
        errors["last_name"] = _("A contact needs a last name.")
    _email(values, "email", errors)
    _phone(values, "phone", default_country, errors)
    _phone(values, "mobile", default_country, errors)
    _max_lengths(Contact, values, errors)
    return values, errors
