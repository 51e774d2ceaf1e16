"""Demo data of the commercial side: Belgian VAT rates, a few articles, the usual journals,
each with a starter layout in French."""

from decimal import Decimal

from django.db import transaction

from .models import Article, Journal, Layout, VatRate
from .starter_layouts import starter

VAT_RATES = [
    ("21", "21 %", "21", ""),
    ("12", "12 %", "12", ""),
    ("6", "6 %", "6", ""),
    ("0", "0 %", "0", ""),
    ("AC", "Autoliquidation", "0", "Autoliquidation — article 51 §2 du Code de la TVA (cocontractant redevable)."),
]
ARTICLES = [
    ("CONSULT", "Consultance", "Consultancy", "Consultancy", "h", "95", "21"),
    ("INSTALL", "Installation", "Installation", "Installatie", "forfait", "450", "21"),
    (
        "RENOV",
        "Rénovation (logement > 10 ans)",
        "Renovation (home > 10 years)",
        "Renovatie (woning > 10 jaar)",
        "m²",
        "38.5",
        "6",
    ),
    ("BOOK", "Manuel d'utilisation", "User manual", "Handleiding", "pièce", "24.9", "6"),
    (
        "SUPPORT",
        "Contrat de support annuel",
        "Annual support contract",
        "Jaarlijks supportcontract",
        "an",
        "1200",
        "21",
    ),
]
JOURNALS = [
    ("DV", "Devis", "quote", "sales", "D{year}-{seq:04}"),
    ("BC", "Bons de commande", "order", "sales", "BC{year}-{seq:04}"),
    ("BL", "Bons de livraison", "delivery", "sales", "BL{year}-{seq:04}"),
    ("VF", "Factures de vente", "invoice", "sales", "{year}/{seq:05}"),
    ("NC", "Notes de crédit", "credit_note", "sales", "NC{year}/{seq:05}"),
    ("AF", "Factures d'achat", "invoice", "purchases", "A{year}/{seq:05}"),
]


@transaction.atomic
def load_sales() -> None:
    """Create the demo's VAT rates, articles, journals and layouts (kept when they exist)."""
    rates = {}
    for code, label, rate, mention in VAT_RATES:
        rates[code], _created = VatRate.objects.get_or_create(
            code=code, defaults={"label": label, "rate": Decimal(rate), "mention": mention}
        )
    for code, fr, en, nl, unit, price, vat in ARTICLES:
        Article.objects.get_or_create(
            code=code,
            defaults={
                "name_fr": fr,
                "name_en": en,
                "name_nl": nl,
                "unit": unit,
                "unit_price": Decimal(price),
                "vat_rate": rates[vat],
            },
        )
    for code, name, kind, side, pattern in JOURNALS:
        journal, created = Journal.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "side": side, "numbering_pattern": pattern}
        )
        if created:
            Layout.objects.create(journal=journal, name="Standard", language="fr", is_default=True, **starter("fr"))
