"""A draft document opened and saved unchanged, in French and in Dutch, keeps every value: its
dates, its lines, their amounts and its totals (the defect dates once had on a French save)."""

import re
from datetime import date

import pytest

from suivi.sales.models import Document

from .conftest import logged_in
from .sales_world import draft, line, sales  # noqa: F401


def form_values(page: str) -> dict[str, list[str]]:
    """What the browser would send back: inputs, checked boxes, selected options, textareas."""
    values: dict[str, list[str]] = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or ' type="submit"' in tag:
            continue
        if ' type="checkbox"' in tag and " checked" not in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        default = "on" if ' type="checkbox"' in tag else ""
        values.setdefault(name.group(1), []).append(value.group(1) if value else default)
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.findall(r'<option value="([^"]*)"[^>]*selected', body)
        values[name] = chosen or [""]
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        values[name] = [text.strip("\n")]
    return values


def snapshot(document: Document):
    document.refresh_from_db()
    lines = [
        (r.description, r.quantity, r.unit, r.unit_price, r.discount_percent, r.vat_rate_id, r.vat_percent, r.net)
        for r in document.lines.order_by("position", "id")
    ]
    return (document.date, document.due_date, document.party_id, document.contact_id, document.total_incl, lines)


@pytest.mark.parametrize("language", ["fr", "nl"])
def test_a_draft_saved_unchanged_keeps_its_dates_lines_and_totals(sales, language):  # noqa: F811
    document = draft(
        sales,
        lines=[line(sales["rates"]["21"], price="1234.56", quantity="2.5", discount="10"), line(sales["rates"]["6"])],
        due_date=date(2025, 4, 13),
    )
    before = snapshot(document)
    client = logged_in(sales["seller"])
    session = client.session
    session["suivi_language"] = language
    session.save()
    url = f"/sales/documents/{document.pk}/update/"
    page = client.get(url).content.decode()
    assert 'value="2025-03-14"' in page  # dates travel as ISO, whatever the language
    response = client.post(url, form_values(page))
    problems = re.findall(r'class="(?:errorlist|error)[^"]*"[^>]*>(.*?)</', response.content.decode(), re.S)
    assert response.status_code == 302, (response.status_code, problems)
    assert snapshot(document) == before
