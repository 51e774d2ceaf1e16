"""Bad input on the commercial routes is a 4xx with a message, never a 500 (RELIABILITY S17)."""

import base64

import pytest

from suivi.sales.models import Document, Layout

from .conftest import logged_in
from .sales_world import draft, sales, validated  # noqa: F401  (fixture)

HUGE = ["99999999999999999999", "-9223372036854775809", str(2**63)]


@pytest.fixture
def client(sales):  # noqa: F811
    c = logged_in(sales["manager"])
    c.raise_request_exception = False
    return c


def ok(response, *expected):
    assert response.status_code < 500, response.content[:500]
    if expected:
        assert response.status_code in expected, (response.status_code, response.content[:500])
    return response


@pytest.mark.parametrize("value", HUGE + ["abc", "\x00", "1e400"])
@pytest.mark.parametrize(
    "url",
    [
        "/sales/documents/?journal={}",
        "/sales/documents/?party={}",
        "/sales/documents/?from={}&to={}",
        "/sales/documents/?after={}",
        "/sales/documents/?q={}",
        "/sales/documents/new/?party={}",
        "/sales/documents/new/?journal={}",
        "/api/v1/documents/?journal={}&party={}&from={}",
        "/api/v1/articles/?vat_rate={}",
        "/api/v1/layouts/?journal={}",
    ],
)
def test_an_odd_filter_value_is_answered_not_a_server_error(client, url, value):
    ok(client.get(url.format(value, value, value)), 200, 400, 404)


@pytest.mark.parametrize("value", HUGE + ["x"])
def test_an_odd_layout_or_document_id_is_a_404(client, sales, value):  # noqa: F811
    invoice = validated(sales)
    ok(client.get(f"/sales/documents/{invoice.pk}/preview.pdf?layout={value}"), 404)
    ok(client.get(f"/api/v1/documents/{invoice.pk}/pdf/?layout={value}"), 404)
    ok(client.post(f"/sales/documents/{invoice.pk}/print/", {"layout": value}), 404)


@pytest.mark.parametrize(
    "cursor",
    [
        base64.urlsafe_b64encode(b'["0001-01-01", 5]').decode(),
        base64.urlsafe_b64encode(b'["9999-12-31", 99999999999999999999]').decode(),
        base64.urlsafe_b64encode(b"[" * 5000).decode(),
        "%%%",
    ],
)
def test_a_list_cursor_at_the_ends_of_the_calendar_shows_a_page(client, cursor):
    ok(client.get(f"/sales/documents/?after={cursor}"), 200)


@pytest.mark.parametrize("value", [int(v) for v in HUGE])
@pytest.mark.parametrize("field", ["journal", "party", "contact", "folder"])
def test_the_api_refuses_a_relation_id_beyond_the_range_with_a_message(client, sales, field, value):  # noqa: F811
    body = {"journal": sales["journals"]["VF"].pk, "party": sales["party"].pk, field: value}
    response = ok(client.post("/api/v1/documents/", body, content_type="application/json"), 400)
    assert field in response.json()["errors"]


@pytest.mark.parametrize("field", ["article", "vat_rate"])
def test_the_api_refuses_a_line_relation_beyond_the_range(client, sales, field):  # noqa: F811
    body = {"journal": sales["journals"]["VF"].pk, "party": sales["party"].pk, "lines": [{field: 2**63}]}
    response = ok(client.post("/api/v1/documents/", body, content_type="application/json"), 400)
    assert "lines" in response.json()["errors"]


@pytest.mark.parametrize("quantity", ["1e400", "-1e400", "NaN", "Infinity", "1" * 40, "\x00"])
def test_a_quantity_that_is_not_a_storable_number_is_refused_with_a_message(client, sales, quantity):  # noqa: F811
    document = draft(sales)
    data = {
        "party": sales["party"].pk,
        "journal": sales["journals"]["VF"].pk,
        "version": document.version,
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-description": "x",
        "lines-0-quantity": quantity,
        "lines-0-vat_rate": sales["rates"]["21"].pk,
    }
    response = ok(client.post(f"/sales/documents/{document.pk}/update/", data), 400)
    assert "Line 1: " in response.content.decode() or "Null characters" in response.content.decode()
    api = ok(
        client.patch(
            f"/api/v1/documents/{document.pk}/",
            {"lines": [{"description": "x", "quantity": quantity, "vat_rate": sales["rates"]["21"].pk}]},
            content_type="application/json",
            HTTP_IF_MATCH=f'"{document.version}"',
        ),
        400,
    )
    assert "quantity" in str(api.json()) or "lines" in str(api.json()) or "cannot be stored" in str(api.json())


@pytest.mark.parametrize("date", ["0001-01-01", "9999-12-31", "2025-02-30", "x"])
def test_a_document_date_out_of_range_is_refused_with_a_message(client, sales, date):  # noqa: F811
    body = {"journal": sales["journals"]["VF"].pk, "party": sales["party"].pk, "date": date}
    response = ok(client.post("/api/v1/documents/", body, content_type="application/json"), 201, 400)
    if response.status_code == 201:
        assert date == "9999-12-31"


@pytest.mark.parametrize("year", ["", "abc", "0", "1899", "-1"])
def test_closing_an_odd_year_is_refused_with_a_message(client, sales, year):  # noqa: F811
    url = f"/sales/settings/journals/{sales['journals']['VF'].pk}/years/"
    response = ok(client.post(url, {"year": year}, follow=True), 200)
    assert "1900 to 9999" in response.content.decode()


def test_unknown_settings_screens_and_convert_kinds_are_answered(client, sales):  # noqa: F811
    ok(client.get("/sales/settings/nothing/"), 404)
    invoice = validated(sales)
    ok(client.post(f"/sales/documents/{invoice.pk}/convert/", {"kind": "nothing"}), 302)
    ok(
        client.post(f"/api/v1/documents/{invoice.pk}/convert/", {"kind": "nothing"}, content_type="application/json"),
        400,
    )
    ok(
        client.post(f"/api/v1/documents/{invoice.pk}/validate/", {"version": 2**70}, content_type="application/json"),
        400,
    )
    ok(client.post(f"/sales/documents/{invoice.pk}/validate/", {"version": "9" * 30}), 409)
    assert Document.objects.count() == 1


def test_a_layout_template_of_100_megabytes_is_refused_before_it_is_read(client, sales):  # noqa: F811
    layout = Layout.objects.get(journal__code="VF")
    response = ok(
        client.patch(
            f"/api/v1/layouts/{layout.pk}/",
            {"html_template": "x" * 200_001},
            content_type="application/json",
            HTTP_IF_MATCH='"1"',
        ),
        400,
    )
    assert "at most 100000 characters" in str(response.json())
