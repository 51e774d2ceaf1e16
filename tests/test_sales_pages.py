"""The documents screen, the sales settings screens and the API (issue 9, points 5–6): the
same rules and messages on every path."""

import io

import pytest
from django.core import mail
from pypdf import PdfReader
from rest_framework.test import APIClient

from suivi.sales.models import Document, DocumentEvent, Layout

from .conftest import logged_in
from .sales_world import draft, line, sales, validated  # noqa: F401  (fixture)


def page(response) -> str:
    return response.content.decode()


def test_a_seller_writes_validates_prints_and_credits_an_invoice_from_the_pages(sales):  # noqa: F811
    client = logged_in(sales["seller"])
    party, journal = sales["party"], sales["journals"]["VF"]
    form = client.get(f"/sales/documents/new/?party={party.pk}&journal={journal.pk}")
    assert form.status_code == 200 and "Anne Dupont" in page(form)
    data = {
        "party": party.pk,
        "journal": journal.pk,
        "contact": sales["contact"].pk,
        "date": "2025-05-02",
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        "lines-0-article": sales["articles"]["CONSULT"].pk,
        "lines-0-quantity": "7,5",
        "lines-1-description": "Déplacement",
        "lines-1-quantity": "1",
        "lines-1-unit_price": "45",
        "lines-1-vat_rate": sales["rates"]["21"].pk,
    }
    created = client.post("/sales/documents/new/", data)
    assert created.status_code == 302, page(created)[:2000]
    document = Document.objects.get()
    assert document.total_excl == 757.5 and document.lines.count() == 2  # 7.5 × 95 + 45
    shown = page(client.get(f"/sales/documents/{document.pk}/"))
    assert "Consultance" in shown and "(draft)" in shown and "Preview (PDF)" in shown
    assert client.get(f"/sales/documents/{document.pk}/preview.pdf")["Content-Type"] == "application/pdf"
    refused = client.post(f"/sales/documents/{document.pk}/validate/", {})
    assert refused.status_code == 428
    done = client.post(f"/sales/documents/{document.pk}/validate/", {"version": document.version}, follow=True)
    assert "Document validated: number 2025/00001." in page(done)
    layout = Layout.objects.get(journal=journal)
    printed = client.post(f"/sales/documents/{document.pk}/print/", {"layout": layout.pk, "key": "abc"})
    assert printed["Content-Disposition"] == 'attachment; filename="VF-2025-00001.pdf"'
    text = PdfReader(io.BytesIO(printed.content)).pages[0].extract_text()
    assert "2025/00001" in text and "916,58" in text  # 757.50 + 159.08
    client.post(f"/sales/documents/{document.pk}/print/", {"layout": layout.pk, "key": "abc"})
    assert Document.objects.get(pk=document.pk).print_count == 1
    edit = client.get(f"/sales/documents/{document.pk}/update/", follow=True)
    assert "Only drafts can be changed." in page(edit)
    credit = client.post(f"/sales/documents/{document.pk}/convert/", {"kind": "credit_note"}, follow=True)
    assert "Draft made from VF 2025/00001" in page(credit) and Document.objects.filter(source=document).count() == 1


def test_an_email_that_fails_is_shown_failed_with_its_reason_and_a_send_again_button(sales, settings):  # noqa: F811
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # the discard port: nobody answers SMTP
    invoice = validated(sales)
    layout = Layout.objects.get(journal=invoice.journal)
    client = logged_in(sales["seller"])
    answer = client.post(
        f"/sales/documents/{invoice.pk}/send/", {"layout": layout.pk, "to": "", "key": "k"}, follow=True
    )
    text = page(answer)
    assert "was not sent" in text and "Send again" in text
    assert DocumentEvent.objects.get().status == "failed"


def test_a_reader_sees_documents_but_cannot_write_them(sales):  # noqa: F811
    document = draft(sales)
    client = logged_in(sales["reader"])
    assert client.get("/sales/documents/").status_code == 200
    assert client.get(f"/sales/documents/{document.pk}/").status_code == 200
    assert client.get("/sales/documents/new/").status_code == 403
    assert client.post(f"/sales/documents/{document.pk}/validate/", {"version": 1}).status_code == 403
    assert Document.objects.get(pk=document.pk).status == "draft"


def test_a_layout_with_an_unknown_field_is_refused_on_the_settings_screen_with_its_line(sales):  # noqa: F811
    layout = Layout.objects.get(journal__code="VF")
    client = logged_in(sales["manager"])
    data = {
        "journal": layout.journal_id,
        "name": layout.name,
        "language": "fr",
        "html_template": "<h1>{{ document.number }}</h1>\n<p>\n{{ party.iban }}</p>",
        "css": "",
        "email_subject_template": "",
        "email_body_template": "",
        "version": layout.version,
    }
    response = client.post(f"/sales/settings/layouts/{layout.pk}/", data)
    assert response.status_code == 400 and "Line 3: unknown field “party.iban”" in page(response)
    assert Layout.objects.get(pk=layout.pk).version == 1


def test_the_documents_list_filters_and_pages_by_keyset(sales):  # noqa: F811
    for _ in range(55):
        draft(sales)
    quote = validated(sales, "DV")
    client = logged_in(sales["reader"])
    first = page(client.get("/sales/documents/"))
    assert "56 documents" in first and "Next page" in first and first.count("data-document=") == 50
    cursor = first.split("after=")[1].split('"')[0]
    second = page(client.get(f"/sales/documents/?after={cursor}"))
    assert second.count("data-document=") == 6
    only = page(client.get("/sales/documents/?kind=quote"))
    assert "1 document" in only and quote.number in only


def test_the_api_creates_validates_prints_and_sends_with_the_pages_rules(sales):  # noqa: F811
    api = APIClient()
    api.force_authenticate(sales["seller"])
    body = {
        "journal": sales["journals"]["VF"].pk,
        "party": sales["party"].pk,
        "contact": sales["contact"].pk,
        "date": "2025-06-01",
        "lines": [
            {"article": sales["articles"]["BOOK"].pk, "quantity": "4"},
            {"description": "Free", "vat_rate": sales["rates"]["0"].pk, "unit_price": "10"},
        ],
    }
    created = api.post("/api/v1/documents/", body, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert created.json()["total_incl"] == "115.58"  # 99.60 + 5.98 + 10
    assert api.post(f"/api/v1/documents/{pk}/validate/", {}, format="json").status_code == 428
    done = api.post(f"/api/v1/documents/{pk}/validate/", {}, format="json", HTTP_IF_MATCH='"1"')
    assert done.status_code == 200 and done.json()["number"] == "2025/00001" and done["ETag"] == '"2"'
    again = api.post(f"/api/v1/documents/{pk}/validate/", {"version": 2}, format="json")
    assert again.status_code == 400 and "already validated" in again.json()["detail"]
    patched = api.patch(f"/api/v1/documents/{pk}/", {"notes": "x"}, format="json", HTTP_IF_MATCH='"2"')
    assert patched.status_code == 400 and "Make a credit note" in patched.json()["detail"]
    layout = Layout.objects.get(journal__code="VF")
    pdf = api.get(f"/api/v1/documents/{pk}/pdf/?layout={layout.pk}", HTTP_IDEMPOTENCY_KEY="p1")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    other = Layout.objects.get(journal__code="DV")
    assert api.get(f"/api/v1/documents/{pk}/pdf/?layout={other.pk}").status_code == 404
    sent = api.post(f"/api/v1/documents/{pk}/send/", {"idempotency_key": "m1"}, format="json")
    assert (
        sent.status_code == 200
        and sent.json()["status"] == "done"
        and sent.json()["recipient"] == "anne@dupont.example"
    )
    assert len(mail.outbox) == 1 and mail.outbox[0].attachments[0][0] == "VF-2025-00001.pdf"
    credit = api.post(f"/api/v1/documents/{pk}/convert/", {"kind": "credit_note"}, format="json")
    assert credit.status_code == 201 and credit.json()["total_incl"] == "-115.58" and credit.json()["source"] == pk


def test_the_api_refuses_a_bad_numbering_pattern_and_a_template_error_with_messages(sales):  # noqa: F811
    api = APIClient()
    api.force_authenticate(sales["manager"])
    journal = sales["journals"]["VF"]
    refused = api.patch(
        f"/api/v1/journals/{journal.pk}/", {"numbering_pattern": "{year}"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert refused.status_code == 400 and "exactly once" in refused.json()["errors"]["numbering_pattern"]
    layout = Layout.objects.get(journal=journal)
    bad = api.patch(
        f"/api/v1/layouts/{layout.pk}/",
        {"email_subject_template": "{{ document.numbr }}"},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert bad.status_code == 400 and "Line 1: unknown field" in bad.json()["errors"]["email_subject_template"]
    api.force_authenticate(sales["seller"])
    assert (
        api.post(
            "/api/v1/articles/", {"code": "X", "name_fr": "X", "vat_rate": sales["rates"]["21"].pk}, format="json"
        ).status_code
        == 403
    )
    empty = api.post(
        "/api/v1/documents/", {"journal": journal.pk, "party": sales["party"].pk, "lines": []}, format="json"
    )
    refused_validation = api.post(f"/api/v1/documents/{empty.json()['id']}/validate/", {"version": 1}, format="json")
    assert refused_validation.status_code == 400 and "without lines" in refused_validation.json()["errors"]["lines"]


@pytest.mark.parametrize("language", ["fr", "nl"])
def test_the_sales_pages_in_french_and_dutch_show_no_english_catalogue_string(sales, language):  # noqa: F811
    import html
    import re

    from .test_catalogue import entries

    invoice = validated(sales)
    quote = draft(sales, "DV")
    client = logged_in(sales["manager"])
    session = client.session
    session["suivi_language"] = language
    session.save()
    english = {
        msgid
        for msgid, values, _flags in entries(language)
        if " " in msgid and len(msgid) > 14 and "%" not in msgid and "{" not in msgid and values[0] != msgid
    }
    layout = Layout.objects.get(journal__code="VF")
    pages = [
        "/sales/documents/",
        f"/sales/documents/{invoice.pk}/",
        f"/sales/documents/{quote.pk}/",
        f"/sales/documents/{quote.pk}/update/",
        f"/sales/documents/new/?party={sales['party'].pk}",
        "/sales/settings/vat-rates/",
        "/sales/settings/articles/",
        "/sales/settings/journals/",
        f"/sales/settings/journals/{invoice.journal_id}/",
        f"/sales/settings/layouts/{layout.pk}/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        text = html.unescape(re.sub(r"<[^>]+>", "\n", response.content.decode()))
        shown = {msgid for msgid in english if msgid in text}
        assert not shown, (language, url, sorted(shown))
