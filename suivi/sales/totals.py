"""Amounts of a document, in Decimal and to the cent.

Each line's amount excluding VAT is rounded to the cent (half up, as Belgian and French
invoices are read); VAT is computed per rate on the sum of that rate's lines, then rounded.
"""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
HUNDRED = Decimal("100")


def to_cent(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def line_net(quantity: Decimal, unit_price: Decimal, discount_percent: Decimal) -> Decimal:
    """Quantity × unit price less the discount, rounded to the cent."""
    return to_cent(quantity * unit_price * (HUNDRED - discount_percent) / HUNDRED)


@dataclass
class VatTotal:
    code: str
    label: str
    rate: Decimal
    mention: str
    base: Decimal = Decimal("0.00")
    vat: Decimal = Decimal("0.00")


@dataclass
class Totals:
    per_rate: list[VatTotal] = field(default_factory=list)
    excl: Decimal = Decimal("0.00")
    vat: Decimal = Decimal("0.00")
    incl: Decimal = Decimal("0.00")


def document_totals(lines: list[Any]) -> Totals:
    """Totals of ``lines`` (objects with ``net``, ``vat_percent`` and ``vat_rate``), per VAT rate
    in the order of the rates (highest first) and overall."""
    groups: dict[tuple[str, Decimal], VatTotal] = {}
    for line in lines:
        rate = line.vat_rate
        key = (rate.code, line.vat_percent)
        if key not in groups:
            groups[key] = VatTotal(code=rate.code, label=rate.label, rate=line.vat_percent, mention=rate.mention)
        groups[key].base += line.net
    totals = Totals(per_rate=sorted(groups.values(), key=lambda g: (-g.rate, g.code)))
    for group in totals.per_rate:
        group.vat = to_cent(group.base * group.rate / HUNDRED)
        totals.excl += group.base
        totals.vat += group.vat
    totals.incl = totals.excl + totals.vat
    return totals
