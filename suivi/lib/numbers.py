"""Decimal numbers as people type and read them in their language.

``parse_decimal`` reads what a user typed: French ``1 234,56`` (a space, a no-break space or a
narrow no-break space between thousands), Dutch ``1.234,56``, English ``1,234.56``, and the plain
``1234.56`` or ``1234,56`` of any language. It refuses what it would have to guess:

- an exponent (``1e3``): people do not type one, and ``Decimal`` would read it as 1000;
- a lone separator followed by exactly three digits when it is not the language's decimal
  separator (``1.234`` in French or Dutch, ``1,234`` in English): one thousand two hundred and
  thirty-four, or one point two three four? The message gives both readings to choose from;
- thousands grouped wrongly (``12 34``), letters, two decimal separators.

``format_decimal`` writes a number back in the language (grouped or not), with as few decimals
as it needs between a minimum and a maximum.
"""

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.formats import get_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

SPACES = " \u00a0\u202f\u2009"  # space, no-break space, narrow no-break space, thin space
_DIGITS = re.compile(r"[0-9]+")
_EXPONENT = re.compile(r"[0-9.,]*[eE][+\-\u2212]?[0-9]*")
_ALLOWED = re.compile(r"[0-9.," + SPACES + r"]+")


class NumberError(ValueError):
    """A typed value that is not a number; ``message`` says why, in the active language."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def decimal_separator(language: str | None = None) -> str:
    """``,`` in French and Dutch, ``.`` in English; ``.`` for ``language`` ``""`` (plain)."""
    if language == "":
        return "."
    return str(get_format("DECIMAL_SEPARATOR", language or get_language()))


def _grouped(text: str) -> str | None:
    """The digits of an integer part written with thousands separators (any of ``. , `` and the
    spaces), or None if it is not grouped by threes; the same digits if it has no separator."""
    groups = re.split(r"[.," + SPACES + r"]", text)
    if len(groups) == 1:
        return text
    if not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:]):
        return None
    return "".join(groups)


def parse_decimal(text: str, language: str | None = None) -> Decimal:
    """The number ``text`` typed in ``language`` (default: the active one; ``""``: plain, as a
    browser's number input sends it: ``.`` or ``,`` as the decimal separator, no grouping).

    Raises NumberError with a message for a value it cannot read without guessing."""
    shown = str(text).strip()[:40]
    value = str(text).strip().strip(SPACES)
    sign = ""
    if value[:1] in ("-", "+", "\u2212"):
        sign = "" if value[0] == "+" else "-"
        value = value[1:].lstrip(SPACES)
    if _EXPONENT.fullmatch(value) and re.search(r"[0-9]", value):
        raise NumberError(_("“%(value)s” is written with an exponent: write the number in full.") % {"value": shown})
    if not value or not _ALLOWED.fullmatch(value) or not re.search(r"[0-9]", value):
        raise NumberError(_("“%(value)s” is not a number.") % {"value": shown})
    plain = language == ""
    decimal = decimal_separator(language)
    marks = [c for c in value if c in ".,"]
    if plain:
        if len(marks) > 1 or any(c in SPACES for c in value):
            raise NumberError(_("“%(value)s” is not a number.") % {"value": shown})
        whole, _sep, fraction = value.replace(",", ".").partition(".")
    elif not marks:
        whole, fraction = value, ""
    elif len(set(marks)) == 2:  # both: the last one is the decimal separator
        point = marks[-1]
        if marks.count(point) != 1:
            raise NumberError(_("“%(value)s” is not a number.") % {"value": shown})
        whole, _sep, fraction = value.rpartition(point)
    elif len(marks) > 1:  # the same mark several times: thousands
        whole, fraction = value, ""
    else:
        whole, _sep, fraction = value.partition(marks[0])
        groups = re.split(r"[" + SPACES + r"]", whole.strip(SPACES))
        digits = "".join(groups)
        thousands_before = 1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])
        if (
            marks[0] != decimal
            and len(fraction) == 3
            and fraction.isdigit()
            and thousands_before
            and digits.isdigit()
            and not digits.startswith("0")
        ):
            raise NumberError(
                _("“%(value)s” is ambiguous: write %(whole)s or %(decimal)s.")
                % {"value": shown, "whole": sign + digits + fraction, "decimal": sign + digits + decimal + fraction}
            )
    if fraction and not fraction.isdigit():
        raise NumberError(_("“%(value)s” is not a number.") % {"value": shown})
    number = _grouped(whole) if whole else ""
    if number is None or (number and not number.isdigit()) or not (number or fraction):
        raise NumberError(_("“%(value)s” is not a number.") % {"value": shown})
    try:
        return Decimal(f"{sign}{number or '0'}" + (f".{fraction}" if fraction else ""))
    except InvalidOperation as e:  # not reached: the text is digits by now
        raise NumberError(_("“%(value)s” is not a number.") % {"value": shown}) from e


def decimals_of(number: Decimal) -> int:
    """How many decimals ``number`` needs (``1.500`` needs 1, ``2`` needs 0)."""
    if not number.is_finite() or number == number.to_integral_value():
        return 0
    return max(0, -number.normalize().as_tuple().exponent)  # type: ignore[operator]


def format_decimal(
    value,
    language: str | None = None,
    *,
    min_places: int = 0,
    max_places: int | None = None,
    grouping: bool = True,
) -> str:
    """``value`` written in ``language`` (default: the active one): between ``min_places`` and
    ``max_places`` decimals (rounded half up beyond), thousands grouped unless ``grouping`` is off.
    ``""`` for a value that is not a number."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return ""
    if not number.is_finite():
        return ""
    if max_places is not None:
        number = number.quantize(Decimal(1).scaleb(-max_places), rounding=ROUND_HALF_UP)
    places = max(min_places, decimals_of(number))
    if max_places is not None:
        places = min(places, max_places)
    text = f"{abs(number):.{places}f}"
    whole, _sep, fraction = text.partition(".")
    language = language or get_language()
    if grouping and len(whole) > 3:
        thousands = str(get_format("THOUSAND_SEPARATOR", language))
        head = len(whole) % 3 or 3
        whole = thousands.join([whole[:head], *(whole[i : i + 3] for i in range(head, len(whole), 3))])
    sign = "-" if number < 0 else ""
    return sign + whole + (decimal_separator(language) + fraction if fraction else "")
