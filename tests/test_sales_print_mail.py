"""Printing to PDF and e-mailing a document through a real SMTP server on loopback (aiosmtpd);
PDFs are read back with pypdf (issue 9, point 4)."""

import email
import html
import io
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django.utils import translation
from pypdf import PdfReader

from suivi.core.errors import InvalidInput, SuiviError
from suivi.sales import services
from suivi.sales.models import Document, DocumentEvent, Layout
from suivi.web.views import documents as views

from .conftest import logged_in
from .sales_world import draft, line, sales, validated  # noqa: F401  (fixture)


def pdf_text(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802  (aiosmtpd's hook name)
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    # Django's test runner swaps in the in-memory backend: this test sends for real.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.DEFAULT_FROM_EMAIL = "factures@suivi.example"
    yield inbox
    controller.stop()


def invoice_of(world):
    rates = world["rates"]
    return validated(world, lines=[line(rates["21"], "1234.5", "2"), line(rates["6"], "10", "3", "10")])


def test_a_printed_invoice_shows_its_number_party_and_total_and_counts_one_print_per_request(sales):  # noqa: F811
    invoice = invoice_of(sales)
    layout = Layout.objects.get(journal=invoice.journal)
    event, pdf = services.print_document(
        acting_user=sales["seller"], document=invoice, layout=layout, idempotency_key="k1"
    )
    pages, text = pdf_text(pdf)
    assert pages == 1
    assert "Facture 2025/00001" in text and "Brasserie Dupont" in text
    assert "3\u202f016,11" in text, text  # 2469.00 + 518.49 + 27.00 + 1.62
    assert event.kind == "print" and event.status == "done" and event.user == sales["seller"]
    again, _pdf = services.print_document(
        acting_user=sales["seller"], document=invoice, layout=layout, idempotency_key="k1"
    )
    assert again.pk == event.pk  # a double click or a retried request is one print
    services.print_document(acting_user=sales["seller"], document=invoice, layout=layout, idempotency_key="k2")
    invoice.refresh_from_db()
    assert invoice.print_count == 2 and DocumentEvent.objects.filter(kind="print").count() == 2


def test_a_draft_is_not_printed_and_a_long_document_runs_over_pages(sales):  # noqa: F811
    document = draft(sales, lines=[line(sales["rates"]["21"], description=f"Line {n}") for n in range(120)])
    layout = Layout.objects.get(journal=document.journal)
    with pytest.raises(SuiviError) as refused:
        services.print_document(acting_user=sales["seller"], document=document, layout=layout)
    assert "validate it before printing" in refused.value.message
    pages, text = pdf_text(services.document_pdf(document, layout))  # the preview records nothing
    assert pages >= 3 and "Line 119" in text and f"1 / {pages}" in text
    assert Document.objects.get(pk=document.pk).print_count == 0


def test_an_e_mailed_invoice_reaches_the_contact_with_the_layouts_subject_body_and_pdf(sales, smtp):  # noqa: F811
    invoice = invoice_of(sales)
    layout = Layout.objects.get(journal=invoice.journal)
    event = services.send_document(acting_user=sales["seller"], document=invoice, layout=layout, idempotency_key="s1")
    assert event.status == "done" and event.recipient == "anne@dupont.example" and event.attempts == 1
    ((recipients, message),) = smtp.messages
    assert recipients == ["anne@dupont.example"]
    assert message["Subject"] == "Facture 2025/00001 · Test SRL" and message["From"] == "factures@suivi.example"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert body.startswith("Bonjour Anne,") and "facture 2025/00001" in body
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf" and attachment.get_filename() == "VF-2025-00001.pdf"
    pages, text = pdf_text(attachment.get_content())
    assert pages == 1 and "2025/00001" in text and ("3\u202f016,11" in text)
    # The same request again sends nothing more.
    services.send_document(acting_user=sales["seller"], document=invoice, layout=layout, idempotency_key="s1")
    assert len(smtp.messages) == 1


def test_an_unreachable_mail_server_leaves_the_send_failed_with_the_reason_and_it_can_be_retried(
    sales,  # noqa: F811
    settings,
    smtp,
):
    invoice = invoice_of(sales)
    layout = Layout.objects.get(journal=invoice.journal)
    good_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # nobody listens there
    event = services.send_document(
        acting_user=sales["seller"], document=invoice, layout=layout, to="boss@dupont.example", idempotency_key="s2"
    )
    assert event.status == "failed" and event.error_code == "refused" and smtp.messages == []
    assert event.reason == "the mail server refused the connection"
    assert event.subject and event.recipient == "boss@dupont.example"  # nothing lost
    settings.EMAIL_PORT = good_port
    event = services.retry_send(acting_user=sales["seller"], event=event)
    assert event.status == "done" and event.attempts == 2 and event.error == ""
    assert [r for r, _m in smtp.messages] == [["boss@dupont.example"]]
    with pytest.raises(SuiviError):
        services.retry_send(acting_user=sales["seller"], event=event)


def test_a_party_without_address_or_a_bad_address_is_refused_before_anything_is_recorded(sales):  # noqa: F811
    from . import factories

    silent = factories.party(sales["manager"], name="Sans Mail")
    invoice = validated(sales, party=silent, contact=None)
    layout = Layout.objects.get(journal=invoice.journal)
    with pytest.raises(InvalidInput) as refused:
        services.send_document(acting_user=sales["seller"], document=invoice, layout=layout)
    assert "Sans Mail has no e-mail address" in refused.value.errors["to"]
    with pytest.raises(InvalidInput) as bad:
        services.send_document(acting_user=sales["seller"], document=invoice, layout=layout, to="not an address")
    assert "is not an e-mail address" in bad.value.errors["to"]
    assert not DocumentEvent.objects.exists()


@pytest.mark.parametrize(
    "error, code, reason",
    [
        (ConnectionRefusedError(111, "Connection refused"), "refused", "the mail server refused the connection"),
        (TimeoutError("timed out"), "timeout", "the mail server did not answer in time"),
        (socket.gaierror(-2, "Name or service not known"), "unknown_host", "the name of the mail server was not found"),
        (OSError(101, "Network is unreachable"), "unreachable", "could not be reached ([Errno 101] Network is"),
    ],
)
def test_a_failed_send_stores_a_reason_code_read_in_each_readers_language(sales, error, code, reason):  # noqa: F811
    from suivi.sales.sending import _failure

    stored_code, detail = _failure(error)
    event = DocumentEvent(error_code=stored_code, error=detail)
    assert stored_code == code and reason in event.reason
    with translation.override("fr"):
        assert "[Errno 111]" not in event.reason and "Connection refused" not in event.reason


def test_the_page_tells_a_failed_send_in_one_sentence_in_the_readers_language(sales, settings, smtp):  # noqa: F811
    invoice = invoice_of(sales)
    layout = Layout.objects.get(journal=invoice.journal)
    settings.EMAIL_PORT = free_port()  # nobody listens there
    french = logged_in(sales["seller"])
    session = french.session
    session["suivi_language"] = "fr"
    session.save()
    page = french.post(
        f"/sales/documents/{invoice.pk}/send/", {"layout": layout.pk, "to": "", "key": "k1"}, follow=True
    ).content.decode()
    event = DocumentEvent.objects.get(document=invoice)
    assert event.error_code == "refused" and event.error == "[Errno 111] Connection refused"
    assert "[Errno" not in page and "Connection refused" not in page
    # An English reader reads the reason in English, though a French user sent it.
    english = logged_in(sales["manager"]).get(f"/sales/documents/{invoice.pk}/").content.decode()
    assert "The mail server refused the connection" in html.unescape(english)
    with translation.override("en"):
        message = views._tell_text(event)
    sentence = message.replace(event.recipient, "")
    assert sentence.count(".") == 1 and sentence.endswith(".") and message.count("again") == 1, message


def test_an_e_mailed_document_leaves_by_the_company_smtp_server_of_the_mail_settings(sales, smtp, settings):  # noqa: F811
    from suivi.mailing.models import OutgoingServer, Security

    company = Inbox()
    controller = Controller(company, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        settings.SUIVI_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
        OutgoingServer.objects.update_or_create(
            pk=1,
            defaults={
                "host": "127.0.0.1",
                "port": controller.port,
                "security": Security.NONE,
                "from_address": "ventes@test-srl.example",
            },
        )
        invoice = invoice_of(sales)
        layout = Layout.objects.get(journal=invoice.journal)
        event = services.send_document(
            acting_user=sales["seller"], document=invoice, layout=layout, idempotency_key="s9"
        )
    finally:
        controller.stop()
    assert event.status == "done" and smtp.messages == []  # not Django's EMAIL_HOST
    ((recipients, message),) = company.messages
    assert recipients == ["anne@dupont.example"] and message["From"] == "ventes@test-srl.example"
