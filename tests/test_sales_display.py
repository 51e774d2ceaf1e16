"""How a document reads on its page, in the user's language: amounts with two decimals and the
language's grouping, quantities without useless zeros, number cells right-aligned, long texts
wrapped inside their card."""

import html
import re
from pathlib import Path

import pytest

from .conftest import logged_in
from .sales_world import draft, line, sales  # noqa: F401

CSS = Path(__file__).resolve().parents[1] / "suivi" / "web" / "static" / "suivi" / "suivi.css"


def speaking(user, language):
    client = logged_in(user)
    session = client.session
    session["suivi_language"] = language
    session.save()
    return client


def cells(page: str) -> list[list[str]]:
    body = page.split("data-lines")[1].split("<tbody>")[1].split("</tbody>")[0]
    return [
        [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


@pytest.mark.parametrize(
    "language, expected",
    [
        ("fr", [["1,5", "12,50", "2,5"], ["2", "95,00", "0"], ["1\u00a0200 h", "1\u00a0200,00", "0"]]),
        ("nl", [["1,5", "12,50", "2,5"], ["2", "95,00", "0"], ["1.200 h", "1.200,00", "0"]]),
        ("en", [["1.5", "12.50", "2.5"], ["2", "95.00", "0"], ["1,200 h", "1,200.00", "0"]]),
    ],
)
def test_unit_prices_read_with_two_decimals_and_quantities_without_useless_zeros(sales, language, expected):  # noqa: F811
    r21 = sales["rates"]["21"]
    document = draft(
        sales,
        lines=[
            line(r21, price="12.5", quantity="1.5", discount="2.5"),
            line(r21, price="95", quantity="2"),
            line(r21, price="1200", quantity="1200", unit="h"),
        ],
    )
    page = speaking(sales["seller"], language).get(f"/sales/documents/{document.pk}/").content.decode()
    rows = cells(page)
    assert [row[1:4] for row in rows] == expected
    total = html.unescape(page.split("data-total>")[1].split("<")[0])
    assert total == {"fr": "1\u00a0742\u00a0652,02", "nl": "1.742.652,02", "en": "1,742,652.02"}[language]


@pytest.fixture
def french_catalogue():
    """The French catalogue with the two meanings of “To” as a translator will write them."""
    from django.utils.translation import trans_real

    catalogue = trans_real.translation("fr")._catalog
    added = {"e-mail recipient\x04To": "À", "date range\x04To": "Au", "date range\x04From": "Du"}
    kept = {key: catalogue.get(key) for key in added}
    for key, text in added.items():
        catalogue[key] = text
    yield
    for key, text in kept.items():
        if text is None:
            for part in catalogue._catalogs:
                part.pop(key, None)
        else:
            catalogue[key] = text


def test_the_e_mail_recipient_and_the_date_range_end_are_two_words(sales, french_catalogue):  # noqa: F811
    from suivi.sales import services

    document = draft(sales)
    services.validate_document(acting_user=sales["seller"], document=document, expected_version=document.version)
    client = speaking(sales["seller"], "fr")
    page = html.unescape(client.get(f"/sales/documents/{document.pk}/").content.decode())
    assert re.search(r"<label>À <input[^>]*name=\"to\"", page), page.split("data-print")[1][:1500]
    listing = html.unescape(client.get("/sales/documents/").content.decode())
    assert "<label>Du <input" in listing and "<label>Au <input" in listing


def test_journals_are_listed_by_code_in_the_new_document_form_and_the_settings(sales):  # noqa: F811
    from suivi.sales.models import Journal

    codes = sorted(Journal.objects.filter(active=True).values_list("code", flat=True))
    assert codes != list(Journal.objects.filter(active=True).values_list("code", flat=True))  # kinds differ
    client = speaking(sales["manager"], "en")
    form = client.get(f"/sales/documents/new/?party={sales['party'].pk}").content.decode()
    select = form.split('name="journal"')[1].split("</select>")[0]
    shown = [
        html.unescape(label).split(" · ")[0] for label in re.findall(r"<option value=\"\d+\"[^>]*>([^<]+)", select)
    ]
    assert shown == codes
    listing = client.get("/sales/settings/journals/").content.decode()
    rows = re.findall(r'<td><a href="/sales/settings/journals/\d+/">([^<]+)</a></td>', listing)
    assert rows == sorted(rows) and set(codes) <= set(rows), rows
