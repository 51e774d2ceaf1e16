"""How a change of a document's lines is recorded in its history, and how it reads there.

A save that leaves the lines as they were records nothing. A real change records, under the key
``lines``, the lines that changed as they were and as they became (a removed line only before,
an added one only after), in plain values: the history shows them in its reader's language.
"""

from decimal import Decimal
from typing import Any

from suivi.lib.numbers import format_decimal, parse_decimal

from .models import DocumentLine

LineState = tuple


def line_state(line: DocumentLine) -> LineState:
    """What a line says, for comparison (its position and its computed amount left out)."""
    return (
        line.article_id,
        line.description,
        line.quantity,
        line.unit,
        line.unit_price,
        line.discount_percent,
        line.vat_rate_id,
        line.vat_percent,
    )


def _plain(value: Decimal) -> str:
    return f"{Decimal(value).normalize():f}"


def _recorded(n: int, line: DocumentLine) -> dict[str, Any]:
    return {
        "n": n,
        "description": line.description[:80],
        "quantity": _plain(line.quantity),
        "unit": line.unit,
        "unit_price": _plain(line.unit_price),
        "discount": _plain(line.discount_percent),
        "vat": _plain(line.vat_percent),
    }


def lines_change(before: list[DocumentLine], after: list[DocumentLine]) -> list[list[dict[str, Any]]] | None:
    """``[lines as they were, lines as they became]`` for the lines that differ, position by
    position; None when nothing differs."""
    old: list[dict[str, Any]] = []
    new: list[dict[str, Any]] = []
    for n in range(1, max(len(before), len(after)) + 1):
        was = before[n - 1] if n <= len(before) else None
        now = after[n - 1] if n <= len(after) else None
        if was is not None and now is not None and line_state(was) == line_state(now):
            continue
        if was is not None:
            old.append(_recorded(n, was))
        if now is not None:
            new.append(_recorded(n, now))
    return [old, new] if old or new else None


def _line_text(row: dict[str, Any]) -> str:
    quantity = format_decimal(row["quantity"], max_places=3)
    text = f"{row['n']}. {row['description']} · {quantity}"
    if row.get("unit"):
        text += f" {row['unit']}"
    text += f" × {format_decimal(row['unit_price'], min_places=2, max_places=4)}"
    if Decimal(row.get("discount") or 0):
        text += f" · −{format_decimal(row['discount'], max_places=2)} %"
    return text + f" · {format_decimal(row.get('vat') or 0, max_places=2)} %"


def lines_shown(value: Any) -> str:
    """A recorded ``lines`` value as its reader reads it: the lines, or an amount (rows recorded
    before lines were recorded one by one hold the total incl. VAT, ``"229.60"``)."""
    if isinstance(value, list):
        return "; ".join(_line_text(row) for row in value)
    return format_decimal(parse_decimal(str(value), ""), min_places=2, max_places=2)
