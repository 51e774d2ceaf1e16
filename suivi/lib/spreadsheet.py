"""Cells written for spreadsheets (CSV, XLSX) that a spreadsheet can never run as a formula.

A spreadsheet reads a CSV cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
as a formula (``=1+HYPERLINK(…)``, ``-1+cmd|…``), whatever follows. In CSV such a cell is prefixed
with an apostrophe, which spreadsheets show as text; in XLSX the value is written as it is, with an
explicit string type, so the reader sees the text without a stray quote and nothing is evaluated.
"""

from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: str) -> bool:
    """True when a spreadsheet would read ``value`` as a formula."""
    return value.startswith(FORMULA_STARTS)


def csv_cell(value: Any) -> str:
    """``value`` as CSV text; a formula-like value gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if is_formula_like(text) else text


def xlsx_row(sheet, values: Iterable[Any]) -> list:
    """Cells of a write-only ``sheet``, each typed as a string: never a formula, never a number
    guessed from text. Append the result with ``sheet.append(...)``."""
    from openpyxl.cell import WriteOnlyCell

    cells = []
    for value in values:
        cell = WriteOnlyCell(sheet, value="" if value is None else str(value))
        cell.data_type = "s"
        cells.append(cell)
    return cells
