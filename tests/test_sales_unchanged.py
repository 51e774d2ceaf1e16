"""A draft document opened and saved unchanged, in French and in Dutch, keeps every value: its
dates, its lines, their amounts and its totals (the defect dates once had on a French save); it
records no change, and its page opens afterwards (its history once crashed on the ``lines`` key)."""

import re
from datetime import date

import pytest

from suivi.core import audit
from suivi.core.models import AuditEvent
from suivi.sales import services
from suivi.sales.models import Document

from . import factories
from .conftest import logged_in
from .sales_world import draft, line, sales  # noqa: F401


def speaking(user, language):
    client = logged_in(user)
    session = client.session
    session["suivi_language"] = language
    session.save()
    return client


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
    version = document.version
    client = speaking(sales["seller"], language)
    url = f"/sales/documents/{document.pk}/update/"
    page = client.get(url).content.decode()
    assert 'value="2025-03-14"' in page  # dates travel as ISO, whatever the language
    response = client.post(url, form_values(page))
    problems = re.findall(r'class="(?:errorlist|error)[^"]*"[^>]*>(.*?)</', response.content.decode(), re.S)
    assert response.status_code == 302, (response.status_code, problems)
    assert snapshot(document) == before
    assert document.version == version
    updates = AuditEvent.objects.filter(object_type="sales.document", object_id=str(document.pk), verb="update")
    assert not updates.exists(), list(updates.values_list("changes", flat=True))
    assert client.get(f"/sales/documents/{document.pk}/").status_code == 200


@pytest.mark.parametrize(
    "language, quantity, price", [("fr", "1,5", "12,50"), ("nl", "1,5", "12,50"), ("en", "1.5", "12.50")]
)
def test_the_edit_form_shows_decimals_in_the_users_language_and_they_come_back_the_same(
    sales,  # noqa: F811
    language,
    quantity,
    price,
):
    document = draft(sales, lines=[line(sales["rates"]["21"], price="12.5", quantity="1.5", discount="2.5")])
    before = snapshot(document)
    client = speaking(sales["seller"], language)
    url = f"/sales/documents/{document.pk}/update/"
    page = client.get(url).content.decode()
    assert f'name="lines-0-quantity" value="{quantity}"' in page
    assert f'name="lines-0-unit_price" value="{price}"' in page
    assert f'name="lines-0-discount_percent" value="{"2.5" if language == "en" else "2,5"}"' in page
    assert client.post(url, form_values(page)).status_code == 302
    assert snapshot(document) == before


@pytest.mark.parametrize("language", ["fr", "nl"])
def test_the_history_reads_every_recorded_key_even_a_reverse_relation_or_a_removed_field(sales, language):  # noqa: F811
    document = draft(sales)
    party, contact = sales["party"], sales["contact"]
    # A row recorded by the earlier code (the total incl. VAT under "lines"), a reverse relation,
    # a field that no longer exists: each page with a history still opens.
    odd = {"lines": ["229.60", "229.60"], "derived": ["", "x"], "events": [1, 2], "gone_field": ["a", "b"]}
    audit.record(sales["seller"], "update", document, odd)
    audit.record(sales["seller"], "update", party, {"documents": ["", "x"], "affiliations": [1, 2], "gone": [1, 2]})
    audit.record(sales["seller"], "update", contact, {"affiliations": ["", "x"], "gone": [1, 2]})
    action = factories.action(sales["manager"], subject="Call back")
    audit.record(
        sales["manager"], "update", action, {"document_link": ["", "x"], "attachments": [0, 1], "gone": [1, 2]}
    )
    folder = factories.folder(sales["manager"], name="Works")
    audit.record(sales["manager"], "update", folder, {"folder_actions": [0, 1], "gone": [1, 2]})
    client = speaking(sales["manager"], language)
    pages = (
        f"/sales/documents/{document.pk}/",
        f"/parties/{party.pk}/",
        f"/contacts/{contact.pk}/",
        f"/crm/actions/{action.pk}/",
        f"/crm/folders/{folder.pk}/update/",
    )
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
    history = response_history(client.get(f"/sales/documents/{document.pk}/"))
    assert "229,60 → 229,60" in history and "gone field" in history.lower()


def response_history(response) -> str:
    import html

    return html.unescape(response.content.decode().split("data-history")[1].split("</table>")[0])


def test_a_real_change_of_the_lines_is_recorded_line_by_line_and_read_in_the_readers_language(sales):  # noqa: F811
    r21 = sales["rates"]["21"]
    document = draft(sales, lines=[line(r21, price="100"), line(r21, price="12.5", quantity="1.5")])
    services.update_document(
        acting_user=sales["seller"],
        document=document,
        values={},
        lines=[line(r21, price="100"), line(r21, price="1234.5", quantity="1.5")],
        expected_version=document.version,
    )
    event = AuditEvent.objects.get(object_type="sales.document", object_id=str(document.pk), verb="update")
    assert set(event.changes) == {"lines", "total_incl"}
    assert [row["n"] for row in event.changes["lines"][0]] == [2]  # line 1 did not change
    history = response_history(speaking(sales["manager"], "fr").get(f"/sales/documents/{document.pk}/"))
    assert "2. Service · 1,5 × 12,50 · 21 % → 2. Service · 1,5 × 1\u00a0234,50 · 21 %" in history, history
