"""Numbering patterns of journals and the gapless counter of each journal's year.

A pattern names ``{year}`` (four digits), ``{yy}`` (two digits) and ``{seq}`` (the number in the
year) with an optional width, e.g. ``{year}/{seq:05}`` → ``2025/00042``. Patterns are checked at
save: they are formatted with plain integers only, never attributes or indexes.
"""

import re
import string

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from suivi.core.errors import SuiviError

from .models import Journal, JournalYear

FIELDS = {"year", "yy", "seq"}
# A width, with an optional alignment or zero fill: "05", ">6", "4".
_SPEC = re.compile(r"[<>^]?0?(\d{1,2})")
MAX_WIDTH = 12
MAX_LENGTH = 60


def pattern_error(pattern: str) -> str | None:
    """Why ``pattern`` is not a numbering pattern, or None when it is."""
    try:
        parts = list(string.Formatter().parse(pattern))
    except ValueError:
        return _("The braces of the pattern do not match: write fields as {year} and {seq:05}.")
    names = []
    for _text, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in FIELDS or conversion:
            return _("Unknown field {%(name)s} in the pattern: use {year}, {yy} and {seq}.") % {"name": name}
        width = _SPEC.fullmatch(spec) if spec else None
        if spec and (width is None or int(width.group(1)) > MAX_WIDTH):
            return _("{%(name)s:%(spec)s} is not a width: write e.g. {seq:05} (at most 12 digits).") % {
                "name": name,
                "spec": spec,
            }
        names.append(name)
    if names.count("seq") != 1:
        return _("The pattern must hold {seq}, the number in the year, exactly once.")
    if len(format_number(pattern, 2025, 1)) > MAX_LENGTH:
        return _("The numbers of this pattern would be longer than %(limit)s characters.") % {"limit": MAX_LENGTH}
    return None


def format_number(pattern: str, year: int, sequence: int) -> str:
    return pattern.format(year=year, yy=year % 100, seq=sequence)


def next_sequence(journal: Journal, year: int) -> int:
    """Take the next number of ``journal`` in ``year``, inside the caller's transaction.

    The year's counter row is locked until the transaction ends: a concurrent validation in the
    same journal and year waits, and a rolled-back validation gives its number back, so numbers
    stay gapless. A closed year refuses.
    """
    try:
        with transaction.atomic():
            JournalYear.objects.get_or_create(journal=journal, year=year)
    except IntegrityError:
        pass  # created at the same moment by another validation: it is there now
    counter = JournalYear.objects.select_for_update().get(journal=journal, year=year)
    if counter.closed:
        raise SuiviError(
            _("The year %(year)s of journal %(journal)s is closed: no document can be validated in it.")
            % {"year": year, "journal": journal.code}
        )
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number
