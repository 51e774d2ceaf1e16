"""Documents: totals to the cent, numbering gapless per journal and year, the workflow,
conversion, credit notes and optimistic locking (issue 9, points 1–3)."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from suivi.core.errors import ConflictError, InvalidInput, PermissionDenied, SuiviError, VersionRequired
from suivi.sales import numbering, services
from suivi.sales.models import Document, DocumentKind, DocumentLine, DocumentStatus, JournalYear
from suivi.sales.totals import document_totals, line_net

from .sales_world import draft, line, sales, validated  # noqa: F401  (fixture)


def test_each_line_is_rounded_to_the_cent_half_up_and_vat_is_summed_per_rate(sales):  # noqa: F811
    assert line_net(Decimal("3"), Decimal("0.335"), Decimal("0")) == Decimal("1.01")  # 1.005 → 1.01
    assert line_net(Decimal("1"), Decimal("10.125"), Decimal("0")) == Decimal("10.13")
    assert line_net(Decimal("2"), Decimal("99.99"), Decimal("15")) == Decimal("169.98")  # 169.983
    r21, r6, ac = sales["rates"]["21"], sales["rates"]["6"], sales["rates"]["AC"]
    document = draft(
        sales,
        lines=[
            line(r21, "0.335", "3"),
            line(r21, "10.125"),
            line(r6, "99.99", "2", "15"),
            line(ac, "1000"),
        ],
    )
    totals = document_totals(list(document.lines.select_related("vat_rate")))
    by_code = {t.code: t for t in totals.per_rate}
    assert by_code["21"].base == Decimal("11.14") and by_code["21"].vat == Decimal("2.34")
    assert by_code["6"].base == Decimal("169.98") and by_code["6"].vat == Decimal("10.20")
    assert by_code["AC"].vat == Decimal("0.00") and "Autoliquidation" in by_code["AC"].mention
    assert totals.excl == Decimal("1181.12") and totals.vat == Decimal("12.54") and totals.incl == Decimal("1193.66")
    assert (document.total_excl, document.total_vat, document.total_incl) == (totals.excl, totals.vat, totals.incl)


def test_an_article_fills_the_line_in_the_partys_language(sales):  # noqa: F811
    article = sales["articles"]["RENOV"]
    document = draft(sales, lines=[{"article": article, "quantity": "10"}])
    only = document.lines.get()
    assert only.description == "Rénovation (logement > 10 ans)" and only.unit == "m²"
    assert only.unit_price == Decimal("38.5") and only.vat_rate.code == "6" and only.net == Decimal("385.00")


@pytest.mark.parametrize(
    "pattern, fragment",
    [
        ("{year}/{seq:05}", None),
        ("F{yy}-{seq:4}", None),
        ("{year}", "exactly once"),
        ("{seq}{seq}", "exactly once"),
        ("{year}/{seq.real}", "Unknown field"),
        ("{year}/{seq!r}", "Unknown field"),
        ("{__class__}{seq}", "Unknown field"),
        ("{year}/{seq:>1000000}", "not a width"),
        ("{year}/{seq:{year}}", "not a width"),
        ("{year/{seq}", "braces"),
        ("{seq:013}", "not a width"),
    ],
)
def test_numbering_patterns_are_checked_at_save(sales, pattern, fragment):  # noqa: F811
    assert (numbering.pattern_error(pattern) is None) == (fragment is None)
    if fragment:
        assert fragment in numbering.pattern_error(pattern)
        journal = sales["journals"]["VF"]
        with pytest.raises(InvalidInput) as refused:
            services.save_journal(
                acting_user=sales["manager"],
                instance=journal,
                values={"numbering_pattern": pattern},
                expected_version=journal.version,
            )
        assert "numbering_pattern" in refused.value.errors


def test_numbers_are_given_at_validation_in_sequence_per_journal_and_year(sales):  # noqa: F811
    first = draft(sales)
    assert first.number == "" and first.status == DocumentStatus.DRAFT
    a = services.validate_document(acting_user=sales["seller"], document=first, expected_version=first.version)
    b = validated(sales)
    quote = validated(sales, "DV")
    next_year = validated(sales, when=date(2026, 1, 2))
    assert (a.number, b.number, quote.number, next_year.number) == (
        "2025/00001",
        "2025/00002",
        "D2025-0001",
        "2026/00001",
    )
    assert a.status == DocumentStatus.VALIDATED and a.validated_by == sales["seller"]


def test_a_draft_without_lines_or_in_a_closed_year_is_not_validated_and_takes_no_number(sales):  # noqa: F811
    empty = draft(sales, lines=[])
    with pytest.raises(InvalidInput) as refused:
        services.validate_document(acting_user=sales["seller"], document=empty, expected_version=empty.version)
    assert "without lines" in refused.value.errors["lines"]
    services.set_journal_year_closed(
        acting_user=sales["manager"], journal=sales["journals"]["VF"], year=2025, closed=True
    )
    closed = draft(sales)
    with pytest.raises(SuiviError) as refused_year:
        services.validate_document(acting_user=sales["seller"], document=closed, expected_version=closed.version)
    assert "year 2025 of journal VF is closed" in refused_year.value.message
    services.set_journal_year_closed(
        acting_user=sales["manager"], journal=sales["journals"]["VF"], year=2025, closed=False
    )
    assert validated(sales).number == "2025/00001"  # the refusals took no number


def test_bad_lines_are_refused_with_a_precise_message(sales):  # noqa: F811
    r21 = sales["rates"]["21"]
    cases = [
        ("DV", [line(r21, quantity="-2")], "cannot be negative in a quote"),
        ("VF", [line(r21, price="-5")], "use a negative quantity"),
        ("VF", [line(r21, discount="120")], "from 0 to 100"),
        ("VF", [line(r21, quantity="abc")], "is not a number"),
        ("VF", [line(r21, quantity="1" * 13)], "too large"),
        ("VF", [line(r21, quantity="1e30")], "exponent"),
        ("VF", [line(None)], "choose a VAT rate"),
        ("VF", [line(r21, description="")], "choose an article or write a description"),
    ]
    for journal, rows, message in cases:
        with pytest.raises(InvalidInput) as refused:
            draft(sales, journal, rows)
        assert message in " ".join(refused.value.errors.values()), (rows, refused.value.errors)
    assert not Document.objects.exists()
    # A deduction on an invoice is allowed, a negative invoice is not.
    negative = draft(sales, lines=[line(r21, quantity="-1")])
    with pytest.raises(InvalidInput) as refused:
        services.validate_document(acting_user=sales["seller"], document=negative, expected_version=1)
    assert "make a credit note" in refused.value.errors["lines"]


def test_a_quote_becomes_an_order_then_an_invoice_with_its_lines_and_the_link_kept(sales):  # noqa: F811
    r21, r6 = sales["rates"]["21"], sales["rates"]["6"]
    quote = validated(sales, "DV", [line(r21, "120", "2"), line(r6, "38.5", "10", "5")])
    with pytest.raises(SuiviError):
        services.convert_document(acting_user=sales["seller"], document=quote, kind=DocumentKind.CREDIT_NOTE)
    order = services.convert_document(acting_user=sales["seller"], document=quote, kind=DocumentKind.ORDER)
    assert order.status == DocumentStatus.DRAFT and order.source == quote and order.journal.code == "BC"
    with pytest.raises(SuiviError) as unvalidated:
        services.convert_document(acting_user=sales["seller"], document=order, kind=DocumentKind.INVOICE)
    assert "Validate" in unvalidated.value.message
    order = services.validate_document(acting_user=sales["seller"], document=order, expected_version=order.version)
    invoice = services.convert_document(acting_user=sales["seller"], document=order, kind=DocumentKind.INVOICE)
    assert invoice.source == order and invoice.source.source == quote and invoice.journal.code == "VF"

    def shape(doc):
        return [
            (x.description, x.quantity, x.unit_price, x.discount_percent, x.vat_percent, x.net) for x in doc.lines.all()
        ]

    assert shape(invoice) == shape(order) == shape(quote)
    assert invoice.total_incl == quote.total_incl == Decimal("678.10")


def test_a_validated_invoice_cannot_be_changed_and_a_credit_note_corrects_it(sales):  # noqa: F811
    invoice = validated(sales, lines=[line(sales["rates"]["21"], "100", "3")])
    with pytest.raises(SuiviError) as refused:
        services.update_document(
            acting_user=sales["seller"], document=invoice, values={"notes": "x"}, expected_version=invoice.version
        )
    assert "Make a credit note" in refused.value.message
    with pytest.raises(SuiviError) as not_cancelled:
        services.set_document_status(acting_user=sales["seller"], document=invoice, status=DocumentStatus.CANCELLED)
    assert "credit note" in not_cancelled.value.message
    credit = services.make_credit_note(acting_user=sales["seller"], invoice=invoice)
    assert credit.journal.kind == DocumentKind.CREDIT_NOTE and credit.source == invoice
    assert credit.lines.get().quantity == Decimal("-3") and credit.total_incl == Decimal("-363.00")
    credit = services.validate_document(acting_user=sales["seller"], document=credit, expected_version=credit.version)
    assert credit.number == f"NC{credit.date.year}/00001"
    with pytest.raises(SuiviError) as nothing_left:
        services.make_credit_note(acting_user=sales["seller"], invoice=invoice)
    assert "fully credited" in nothing_left.value.message


def test_a_fully_credited_invoice_offers_no_credit_note_and_amounts_in_refusals_read_in_the_users_language(sales):  # noqa: F811
    from django.utils import translation

    from .conftest import logged_in

    invoice = validated(sales, lines=[line(sales["rates"]["21"], "1218.75", "1")])
    assert invoice.total_incl == Decimal("1474.69")
    client = logged_in(sales["seller"])
    assert "data-credit" in client.get(f"/sales/documents/{invoice.pk}/").content.decode()
    first = services.make_credit_note(acting_user=sales["seller"], invoice=invoice)
    second = services.make_credit_note(acting_user=sales["seller"], invoice=invoice)  # before the first is validated
    services.validate_document(acting_user=sales["seller"], document=first, expected_version=first.version)
    with translation.override("fr"), pytest.raises(InvalidInput) as too_much:
        services.validate_document(acting_user=sales["seller"], document=second, expected_version=second.version)
    assert "1\u00a0474,69" in too_much.value.errors["lines"] and "1474.69" not in too_much.value.errors["lines"]
    assert "data-credit" not in client.get(f"/sales/documents/{invoice.pk}/").content.decode()
    refused = client.post(f"/sales/documents/{invoice.pk}/convert/", {"kind": "credit_note"}, follow=True)
    assert "fully credited" in refused.content.decode()
    assert Document.objects.filter(source=invoice).count() == 2


def test_a_quote_may_be_cancelled_and_keeps_its_number(sales):  # noqa: F811
    quote = validated(sales, "DV")
    cancelled = services.set_document_status(acting_user=sales["seller"], document=quote, status="cancelled")
    assert cancelled.status == "cancelled" and cancelled.number == "D2025-0001"
    with pytest.raises(SuiviError):
        services.set_document_status(acting_user=sales["seller"], document=quote, status="draft")


def test_a_draft_is_saved_from_the_version_it_was_opened_at(sales):  # noqa: F811
    document = draft(sales)
    with pytest.raises(VersionRequired):
        services.update_document(
            acting_user=sales["seller"], document=document, values={"notes": "a"}, expected_version=None
        )
    services.update_document(
        acting_user=sales["seller"],
        document=document,
        values={"notes": "a"},
        lines=[line(sales["rates"]["6"])],
        expected_version=1,
    )
    with pytest.raises(ConflictError):
        services.update_document(
            acting_user=sales["seller"], document=document, values={"notes": "b"}, expected_version=1
        )
    with pytest.raises(ConflictError):
        services.validate_document(acting_user=sales["seller"], document=document, expected_version=1)
    document.refresh_from_db()
    assert document.notes == "a" and document.total_incl == Decimal("106.00") and document.version == 2


def test_only_sellers_write_documents_and_only_managers_configure(sales):  # noqa: F811
    with pytest.raises(PermissionDenied):
        services.create_document(
            acting_user=sales["reader"],
            values={"journal": sales["journals"]["VF"], "party": sales["party"]},
            lines=[line(sales["rates"]["21"])],
        )
    with pytest.raises(PermissionDenied):
        services.save_article(acting_user=sales["seller"], instance=None, values={"code": "X"})
    assert not Document.objects.exists()


def test_a_contact_of_another_party_is_refused(sales):  # noqa: F811
    from . import factories

    stranger = factories.contact(sales["manager"], party=factories.party(sales["manager"]), last_name="Other")
    with pytest.raises(InvalidInput) as refused:
        draft(sales, contact=stranger)
    assert "does not work at Brasserie Dupont" in refused.value.errors["contact"]


@pytest.mark.django_db(transaction=True)
def test_parallel_validations_give_gapless_unique_numbers(sales):  # noqa: F811
    """Twelve validations at once in one journal and year (threads with their own connections;
    on PostgreSQL each waits for the year's counter row, on SQLite for the write lock)."""
    drafts = [draft(sales) for _ in range(12)]
    barrier = threading.Barrier(len(drafts))
    errors: list[Exception] = []

    def validate(document):
        barrier.wait()
        try:
            services.validate_document(
                acting_user=sales["seller"], document=document, expected_version=document.version
            )
        except Exception as e:  # noqa: BLE001  (reported below)
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=validate, args=(d,)) for d in drafts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    sequences = sorted(Document.objects.values_list("sequence", flat=True))
    assert sequences == list(range(1, 13))
    assert JournalYear.objects.get(journal=sales["journals"]["VF"], year=2025).last_number == 12
    assert DocumentLine.objects.count() == 12
