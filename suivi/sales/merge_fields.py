"""The fields a layout or an e-mail template may use, as plain dicts (never model objects):
``company``, ``document``, ``party``, ``contact``, ``lines`` and ``vat_totals``.

Every key here is documented to users on the layout screen; a key that is not here does not
exist for a template.
"""

from datetime import date
from decimal import Decimal
from typing import Any

from django.utils import translation

from suivi.core.company import company_settings

from .totals import document_totals


def _date(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def _document(document, totals, language: str) -> dict[str, Any]:
    from .models import DocumentKind, DocumentStatus

    with translation.override(language):
        kind_label = str(DocumentKind(document.journal.kind).label)
        status_label = str(DocumentStatus(document.status).label)
    return {
        "number": document.number,
        "kind": document.journal.kind,
        "kind_label": kind_label,
        "journal_code": document.journal.code,
        "journal_name": document.journal.name,
        "date": _date(document.date),
        "due_date": _date(document.due_date),
        "status": document.status,
        "status_label": status_label,
        "is_draft": document.status == DocumentStatus.DRAFT,
        "notes": document.notes,
        "source_number": document.source.number if document.source_id else "",
        "total_excl": totals.excl,
        "total_vat": totals.vat,
        "total_incl": totals.incl,
        "currency": "EUR",
    }


def _party(party) -> dict[str, Any]:
    return {
        "code": party.code,
        "name": party.name,
        "vat_number": party.vat_number,
        "email": party.email,
        "phone": party.phone,
        "street": party.street,
        "postal_code": party.postal_code,
        "city": party.city,
        "country": party.country,
        "language": party.language,
    }


def _contact(contact) -> dict[str, Any]:
    if contact is None:
        return {"present": False, "name": "", "first_name": "", "last_name": "", "email": "", "phone": ""}
    return {
        "present": True,
        "name": str(contact),
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email": contact.email,
        "phone": contact.phone,
    }


def _line(line, language: str) -> dict[str, Any]:
    return {
        "position": line.position,
        "code": line.article.code if line.article_id else "",
        "description": line.description,
        "quantity": line.quantity,
        "unit": line.unit,
        "unit_price": line.unit_price,
        "discount_percent": line.discount_percent,
        "vat_code": line.vat_rate.code,
        "vat_rate": line.vat_percent,
        "net": line.net,
    }


def context(document, language: str) -> dict[str, Any]:
    """The fields of ``document`` for a template in ``language``."""
    lines = list(document.lines.select_related("article", "vat_rate").order_by("position", "id"))
    totals = document_totals(lines)
    settings_obj = company_settings()
    return {
        "company": {"name": settings_obj.company_name, "country": settings_obj.country},
        "document": _document(document, totals, language),
        "party": _party(document.party),
        "contact": _contact(document.contact),
        "lines": [_line(line, language) for line in lines],
        "vat_totals": [
            {"code": t.code, "label": t.label, "rate": t.rate, "base": t.base, "vat": t.vat, "mention": t.mention}
            for t in totals.per_rate
        ],
    }


def specimen() -> dict[str, Any]:
    """A document with every field filled, to check templates against at save."""
    line = {
        "position": 1,
        "code": "ART-1",
        "description": "Specimen",
        "quantity": Decimal("2"),
        "unit": "h",
        "unit_price": Decimal("50.00"),
        "discount_percent": Decimal("10"),
        "vat_code": "21",
        "vat_rate": Decimal("21"),
        "net": Decimal("90.00"),
    }
    return {
        "company": {"name": "Specimen SRL", "country": "BE"},
        "document": {
            "number": "2025/00001",
            "kind": "invoice",
            "kind_label": "Invoice",
            "journal_code": "VF",
            "journal_name": "Sales invoices",
            "date": "01/01/2025",
            "due_date": "31/01/2025",
            "status": "validated",
            "status_label": "Validated",
            "is_draft": False,
            "notes": "Notes",
            "source_number": "2025/00001",
            "total_excl": Decimal("90.00"),
            "total_vat": Decimal("18.90"),
            "total_incl": Decimal("108.90"),
            "currency": "EUR",
        },
        "party": {
            "code": "C1",
            "name": "Specimen",
            "vat_number": "BE0403170701",
            "email": "specimen@example.com",
            "phone": "+3281000000",
            "street": "Rue 1",
            "postal_code": "5000",
            "city": "Namur",
            "country": "BE",
            "language": "fr",
        },
        "contact": {
            "present": True,
            "name": "Marie Specimen",
            "first_name": "Marie",
            "last_name": "Specimen",
            "email": "marie@example.com",
            "phone": "",
        },
        "lines": [line, {**line, "position": 2}],
        "vat_totals": [
            {
                "code": "21",
                "label": "21 %",
                "rate": Decimal("21"),
                "base": Decimal("90.00"),
                "vat": Decimal("18.90"),
                "mention": "",
            }
        ],
    }
