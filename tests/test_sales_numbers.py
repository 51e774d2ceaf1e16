"""Numbers typed on a document's lines, in the user's language: thousands separators of the
language are read, exponents and ambiguous values are refused with a message, a value with more
decimals than stored is refused (not rounded away), and every bad line is reported once, beside
its line and field."""

import html
import re
from decimal import Decimal

import pytest

from suivi.core.errors import InvalidInput
from suivi.lib.numbers import NumberError, parse_decimal

from .conftest import logged_in
from .sales_world import draft, line, sales  # noqa: F401


def speaking(user, language):
    client = logged_in(user)
    session = client.session
    session["suivi_language"] = language
    session.save()
    return client


@pytest.mark.parametrize(
    "language, typed, number",
    [
        ("fr", "1 234,56", "1234.56"),
        ("fr", "1\u00a0234,56", "1234.56"),
        ("fr", "1\u202f234,56", "1234.56"),
        ("fr", "1.234,56", "1234.56"),
        ("fr", "12,5", "12.5"),
        ("fr", "2.5", "2.5"),
        ("fr", "1,234", "1.234"),
        ("nl", "1.234,56", "1234.56"),
        ("nl", "1.234.567", "1234567"),
        ("nl", "12,5", "12.5"),
        ("en", "1,234.56", "1234.56"),
        ("en", "1.234", "1.234"),
        ("en", "-1,234,567.5", "-1234567.5"),
    ],
)
def test_a_number_is_read_with_the_grouping_of_the_users_language(language, typed, number):
    assert parse_decimal(typed, language) == Decimal(number)


@pytest.mark.parametrize(
    "language, typed, fragment",
    [
        ("fr", "1e3", "exponent"),
        ("en", "1E-2", "exponent"),
        ("fr", "1.234", "ambiguous: write 1234 or 1,234"),
        ("nl", "1.234", "ambiguous: write 1234 or 1,234"),
        ("en", "1,234", "ambiguous: write 1234 or 1.234"),
        ("fr", "douze", "is not a number"),
        ("fr", "12 34", "is not a number"),
        ("nl", "1,2,3", "is not a number"),
        ("fr", "1,234,5", "is not a number"),
        ("en", "NaN", "is not a number"),
    ],
)
def test_exponents_and_ambiguous_numbers_are_refused_with_a_message(language, typed, fragment):
    with pytest.raises(NumberError) as refused:
        parse_decimal(typed, language)
    assert fragment in refused.value.message


def post_lines(client, document, rows):
    data = {
        "party": document.party_id,
        "journal": document.journal_id,
        "contact": document.contact_id or "",
        "date": document.date.isoformat(),
        "version": document.version,
        "lines-TOTAL_FORMS": str(len(rows)),
        "lines-INITIAL_FORMS": "0",
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"lines-{i}-{key}"] = value
    return client.post(f"/sales/documents/{document.pk}/update/", data)


@pytest.mark.parametrize(
    "language, price, total",
    [("fr", "1 234,56", "1234.56"), ("fr", "1\u202f234,56", "1234.56"), ("nl", "1.234,56", "1234.56")],
)
def test_an_amount_written_as_the_page_shows_it_can_be_typed_back(sales, language, price, total):  # noqa: F811
    document = draft(sales)
    rate = sales["rates"]["0"] if "0" in sales["rates"] else sales["rates"]["21"]
    response = post_lines(
        speaking(sales["seller"], language),
        document,
        [{"description": "Work", "quantity": "1", "unit_price": price, "vat_rate": rate.pk}],
    )
    assert response.status_code == 302, html.unescape(response.content.decode())[-3000:]
    document.refresh_from_db()
    assert document.lines.get().unit_price == Decimal(total)


def test_every_bad_line_is_reported_once_beside_its_field(sales):  # noqa: F811
    quote = draft(sales, "DV")
    rate = sales["rates"]["21"].pk
    response = post_lines(
        speaking(sales["seller"], "fr"),
        quote,
        [
            {"description": "A", "quantity": "-2", "unit_price": "10", "vat_rate": rate},
            {"description": "B", "quantity": "1", "unit_price": "douze", "vat_rate": rate},
            {"description": "C", "quantity": "1e3", "unit_price": "10", "vat_rate": rate},
        ],
    )
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    rows = dict(re.findall(r'<tr data-line="(\d)">(.*?)</tr>', page, re.S))
    assert "Ligne 1" in rows["1"] and "négative" in rows["1"] and "douze" not in rows["1"]
    assert "«\u00a0douze\u00a0»" in rows["2"] and "Ligne 1" not in rows["2"]
    assert "exposant" in rows["3"] or "exponent" in rows["3"]
    head = page.split("data-lines")[0]
    assert "Ligne 1" not in head and "douze" not in head  # nothing at the top, nothing twice
    assert page.count("«\u00a0douze\u00a0»") == 1  # once
    assert 'value="douze"' in page


def test_the_service_reports_every_bad_line_under_its_row_and_field(sales):  # noqa: F811
    r21 = sales["rates"]["21"]
    with pytest.raises(InvalidInput) as refused:
        draft(sales, "DV", [line(r21, quantity="-2"), line(r21, price="douze"), line(None, description="")])
    assert set(refused.value.errors) == {
        "lines.0.quantity",
        "lines.1.unit_price",
        "lines.2.description",
        "lines.2.vat_rate",
    }


@pytest.mark.parametrize(
    "field, given, typed, places",
    [
        ("quantity", "quantity", "1.2345678", 3),
        ("unit_price", "price", "12.345678", 4),
        ("discount_percent", "discount", "2.555", 2),
    ],
)
def test_more_decimals_than_stored_are_refused_not_rounded_away(sales, field, given, typed, places):  # noqa: F811
    with pytest.raises(InvalidInput) as refused:
        draft(sales, lines=[line(sales["rates"]["21"], **{given: typed})])
    message = refused.value.errors[f"lines.0.{field}"]
    assert f"at most {places}" in message and typed in message
    # Trailing zeros are not precision: 1.5000 is 1.5.
    document = draft(sales, lines=[line(sales["rates"]["21"], quantity="1.5000")])
    assert document.lines.get().quantity == Decimal("1.5")


@pytest.mark.parametrize("typed, ok", [("12,5", True), ("12.5", True), ("1e3", False), ("12,345678", False)])
def test_decimal_fields_of_every_suivi_form_refuse_exponents_and_extra_decimals(sales, typed, ok):  # noqa: F811
    from django.utils import translation

    from suivi.web.sales_forms import ArticleForm

    with translation.override("fr"):
        form = ArticleForm(
            data={"code": "X1", "name_fr": "X", "unit_price": typed, "vat_rate": sales["rates"]["21"].pk},
        )
        assert form.is_valid() is ok, form.errors
        if ok:
            assert form.cleaned_data["unit_price"] == Decimal("12.5")
        else:
            assert "unit_price" in form.errors
