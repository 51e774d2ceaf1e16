"""Database ids read from user input (query parameters, posted values).

Every table's id is a 64-bit signed integer. A number beyond that range is not an id: handed to the
database it overflows (SQLite raises OverflowError, PostgreSQL a DataError), so it must be refused
or ignored before any query is built.
"""

import re

MAX_ID = 2**63 - 1
MIN_ID = -(2**63)

_DIGITS = re.compile(r"[+-]?[0-9]{1,20}")


def in_id_range(value: int) -> bool:
    """True if ``value`` fits the database's 64-bit signed integer."""
    return MIN_ID <= value <= MAX_ID


def parse_id(value: object) -> int | None:
    """The positive id ``value`` stands for, or None (empty, not a number, zero, negative, too big).

    Only ASCII digits are read (``int()`` would also take ``"٣"``, ``"1_000"`` or a 4,000-digit
    number, which costs time to convert).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    else:
        text = str(value if value is not None else "").strip()
        if not _DIGITS.fullmatch(text):
            return None
        number = int(text)
    return number if 0 < number <= MAX_ID else None


def parse_ids(values) -> list[int]:
    """The valid ids among ``values``, in order, without repeats; the others are dropped."""
    seen: dict[int, None] = {}
    for value in values:
        number = parse_id(value)
        if number is not None:
            seen.setdefault(number, None)
    return list(seen)
