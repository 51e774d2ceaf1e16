"""Test data of the commercial side, built through the services: the demo's VAT rates,
articles, journals and layouts, a seller, a customer with a contact."""

from datetime import date

import pytest
from django.contrib.auth.models import Group

from suivi.accounts.models import Role
from suivi.sales import services
from suivi.sales.demo import load_sales
from suivi.sales.models import Article, Journal, VatRate

from . import factories
from .conftest import make_user


@pytest.fixture
def sales(db):
    load_sales()
    seller = make_user("sam", first_name="Sam", last_name="Seller")
    seller.groups.add(Group.objects.get_or_create(name="Sales")[0])
    manager = make_user("maya", Role.MANAGER, first_name="Maya")
    reader = make_user("rita", first_name="Rita")
    party = factories.party(manager, name="Brasserie Dupont", email="compta@dupont.example", language="fr")
    contact = factories.contact(
        manager, party=party, first_name="Anne", last_name="Dupont", email="anne@dupont.example"
    )
    return {
        "seller": seller,
        "manager": manager,
        "reader": reader,
        "party": party,
        "contact": contact,
        "journals": {j.code: j for j in Journal.objects.all()},
        "rates": {r.code: r for r in VatRate.objects.all()},
        "articles": {a.code: a for a in Article.objects.all()},
    }


def line(rate, price="100", quantity="1", discount="0", description="Service", **extra):
    return {
        "description": description,
        "quantity": quantity,
        "unit_price": price,
        "discount_percent": discount,
        "vat_rate": rate,
        **extra,
    }


def draft(world, journal="VF", lines=None, when=date(2025, 3, 14), **values):
    rate = world["rates"]["21"]
    return services.create_document(
        acting_user=world["seller"],
        values={
            "journal": world["journals"][journal],
            "party": world["party"],
            "contact": world["contact"],
            "date": when,
            **values,
        },
        lines=lines if lines is not None else [line(rate)],
    )


def validated(world, journal="VF", lines=None, **values):
    document = draft(world, journal, lines, **values)
    return services.validate_document(acting_user=world["seller"], document=document, expected_version=document.version)
