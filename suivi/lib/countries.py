"""Countries: ISO 3166 codes, named in the user's language (django-countries' list)."""

from functools import cache

from django.utils import translation
from django_countries import countries

from suivi.lib.text import fold


def country_choices() -> list[tuple[str, str]]:
    """(code, name) of every country, sorted and named in the current language (model choices)."""
    return [(c.code, c.name) for c in countries]


@cache
def _names(language: str) -> dict[str, str]:
    with translation.override(language):
        names = {fold(str(c.name)): c.code for c in countries}
    names.update({fold(countries.alpha3(c.code)): c.code for c in countries if countries.alpha3(c.code)})
    return names


@cache
def _codes() -> frozenset[str]:
    return frozenset(c.code for c in countries)


def country_code(value: str) -> str | None:
    """The ISO code of ``value``: a code (``be``), or a name in French, Dutch or English
    (``Belgique``, ``België``, ``Belgium``); None when it names no country."""
    text = (value or "").strip()
    if len(text) == 2 and text.upper() in _codes():
        return text.upper()
    key = fold(text)
    for language in ("fr", "nl", "en"):
        if code := _names(language).get(key):
            return code
    return None
