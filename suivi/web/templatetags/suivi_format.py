"""Formatting filters of Suivi's pages."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

import phonenumbers
from django import template
from django.utils import dateformat
from django.utils.formats import get_format, number_format
from django.utils.translation import get_language

from suivi.lib.numbers import format_decimal

register = template.Library()
CENT = Decimal("0.01")


@register.filter
def phone(value: str) -> str:
    """A stored number (E.164, ``+3281223344``) as people write it: ``+32 81 22 33 44``."""
    if not value:
        return ""
    try:
        return phonenumbers.format_number(phonenumbers.parse(value), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return value


@lru_cache(maxsize=16)
def _number_style(language: str) -> tuple[str, str, int]:
    return (
        str(get_format("DECIMAL_SEPARATOR")),
        str(get_format("THOUSAND_SEPARATOR")),
        int(get_format("NUMBER_GROUPING") or 0),
    )


@register.filter
def amount(value) -> str:
    """An amount with two decimals and the locale's grouping (``37 700,00`` in French), as
    ``floatformat:"2g"`` writes it, with the locale's separators read once per language: the
    board writes hundreds of amounts."""
    if value is None or value == "":
        return ""
    try:
        value = Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, TypeError, ValueError):
        return ""
    decimal_separator, thousands, grouping = _number_style(get_language() or "")
    if grouping != 3:
        return number_format(value, 2, force_grouping=True)
    return f"{value:,.2f}".translate({ord(","): thousands, ord("."): decimal_separator})


@register.filter
def number(value, places: str = "0-4") -> str:
    """A decimal in the user's language, grouped, with ``min-max`` decimals: as few as it needs
    (``"0-3"``: a quantity ``1,5`` or ``1 200``), at least ``min`` (``"2-4"``: a unit price
    ``12,50`` or ``12,3456``)."""
    if value is None or value == "":
        return ""
    low, _sep, high = str(places).partition("-")
    try:
        least, most = int(low or 0), int(high or low or 0)
    except ValueError:
        least, most = 0, 4
    return format_decimal(value, min_places=least, max_places=most)


@lru_cache(maxsize=16)
def _short_date_format(language: str) -> str:
    return str(get_format("SHORT_DATE_FORMAT"))


@lru_cache(maxsize=16)
def _short_datetime_format(language: str) -> str:
    return str(get_format("SHORT_DATETIME_FORMAT"))


@register.filter(expects_localtime=True)
def short_datetime(value) -> str:
    """A date and time in the locale's short format, in the current time zone, its format read
    once per language (the action list writes fifty)."""
    if not value:
        return ""
    return dateformat.format(value, _short_datetime_format(get_language() or ""))


@register.filter(expects_localtime=True)
def short_date(value) -> str:
    """A date in the locale's short format (``15/01/2027`` in French), its format read once per
    language."""
    if not value:
        return ""
    return dateformat.format(value, _short_date_format(get_language() or ""))


@register.filter
def with_pk(url: str, pk) -> str:
    """``url`` reversed once with the id 0 (``/crm/folders/0/update/``) for the row ``pk``: a
    list of hundreds of rows reverses one URL, not hundreds."""
    return url.replace("/0/", f"/{int(pk)}/", 1)
