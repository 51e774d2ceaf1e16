"""Every write of the commercial side: configuration rows, documents and their workflow,
conversion and credit notes, print and e-mail events. Each is atomic, checks who may write,
and leaves an audit row."""

import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Model
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from suivi.core import audit
from suivi.core.errors import LATEST, InvalidInput, SuiviError, lock_for_update
from suivi.lib.numbers import NumberError, decimals_of, format_decimal, parse_decimal

from . import line_history, merge_fields, numbering, rules, sending
from .layouts import TemplateFailed, check_template, render_body, render_subject
from .models import (
    DOCUMENT_TRANSITIONS,
    Article,
    Document,
    DocumentEvent,
    DocumentKind,
    DocumentLine,
    DocumentStatus,
    EventKind,
    EventStatus,
    Journal,
    JournalYear,
    Layout,
    VatRate,
)
from .pdf import render_pdf
from .queries import left_to_credit, require_configurator, require_seller
from .totals import document_totals, line_net

Errors = dict[str, str]
MAX_LINES = 2000
LIMIT = Decimal("1e11")

# What each kind of validated document can be turned into (the source is kept on the new one).
CONVERSIONS = {
    DocumentKind.QUOTE: (DocumentKind.ORDER, DocumentKind.INVOICE),
    DocumentKind.ORDER: (DocumentKind.DELIVERY, DocumentKind.INVOICE),
    DocumentKind.DELIVERY: (DocumentKind.INVOICE,),
}
# Kinds whose lines may have negative quantities (a deduction on an invoice; a credit note's lines).
NEGATIVE_ALLOWED = {DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE}
LEGAL_KINDS = {DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE}


def _changed_meanwhile(what) -> str:
    return _("“%(row)s” was changed by someone else meanwhile; reload the page. Nothing was saved.") % {"row": what}


def _model_errors(obj: Model) -> None:
    try:
        obj.full_clean()
    except ValidationError as e:
        raise InvalidInput({k: " ".join(v) for k, v in e.message_dict.items()}) from e


@transaction.atomic
def _save_row(acting_user, model, instance, values: dict[str, Any], expected_version, check=None):
    """Create (``instance`` None) or change one configuration row from ``expected_version``."""
    require_configurator(acting_user)
    obj = lock_for_update(model, instance.pk, expected_version, _changed_meanwhile(instance)) if instance else model()
    changes = audit.diff(obj, values) if instance else {}
    for name, value in values.items():
        setattr(obj, name, value)
    if check is not None:
        errors = check(obj)
        if errors:
            raise InvalidInput(errors)
    _model_errors(obj)
    if instance is None or changes:
        if instance is not None:
            obj.version += 1
        obj.save()
        audit.record(acting_user, "update" if instance else "create", obj, changes)
    return obj


def save_vat_rate(*, acting_user, instance: VatRate | None, values: dict[str, Any], expected_version=None) -> VatRate:
    """Create or change a VAT rate (managers). Documents keep the rate their lines were written at."""
    return _save_row(acting_user, VatRate, instance, values, expected_version)


def save_article(*, acting_user, instance: Article | None, values: dict[str, Any], expected_version=None) -> Article:
    def check(article: Article) -> Errors:
        if article.unit_price is not None and article.unit_price < 0:
            return {"unit_price": _("A unit price cannot be negative.")}
        return {}

    return _save_row(acting_user, Article, instance, values, expected_version, check)


def save_journal(*, acting_user, instance: Journal | None, values: dict[str, Any], expected_version=None) -> Journal:
    """Create or change a journal; its numbering pattern is checked here. The kind of a journal
    that holds documents cannot change."""

    def check(journal: Journal) -> Errors:
        errors: Errors = {}
        if problem := numbering.pattern_error(journal.numbering_pattern or ""):
            errors["numbering_pattern"] = problem
        if instance is not None and journal.kind != instance.kind and instance.documents.exists():
            errors["kind"] = _("This journal holds documents: its kind cannot change.")
        return errors

    return _save_row(acting_user, Journal, instance, values, expected_version, check)


@transaction.atomic
def set_journal_year_closed(*, acting_user, journal: Journal, year: int, closed: bool) -> JournalYear:
    """Close (or reopen) a journal's year: no document is validated in a closed year."""
    require_configurator(acting_user)
    if not 1900 <= year <= 9999:
        raise InvalidInput({"year": _("A year from 1900 to 9999.")})
    try:
        with transaction.atomic():
            JournalYear.objects.get_or_create(journal=journal, year=year)
    except IntegrityError:
        pass
    counter = JournalYear.objects.select_for_update().get(journal=journal, year=year)
    if counter.closed != closed:
        audit.record(acting_user, "update", journal, {f"year {year} closed": [counter.closed, closed]})
        counter.closed = closed
        counter.save(update_fields=["closed"])
    return counter


@transaction.atomic
def save_layout(*, acting_user, instance: Layout | None, values: dict[str, Any], expected_version=None) -> Layout:
    """Create or change a layout. Each template is checked (syntax, fields of the allow-list,
    limits) and refused with its line; making it the default unsets the journal's other default."""

    def check(layout: Layout) -> Errors:
        errors: Errors = {}
        for name, html in (("html_template", True), ("email_subject_template", False), ("email_body_template", False)):
            problems = check_template(getattr(layout, name) or "", html=html, language=layout.language or "fr")
            if problems:
                errors[name] = " ".join(str(p) for p in problems[:3])
        if not (layout.html_template or "").strip():
            errors["html_template"] = _("A layout needs an HTML template.")
        return errors

    journal = values.get("journal") or (instance.journal if instance else None)
    if values.get("is_default") and journal is not None:
        others = Layout.objects.filter(journal=journal, is_default=True)
        if instance is not None:
            others = others.exclude(pk=instance.pk)
        others.update(is_default=False, version=F("version") + 1)
    return _save_row(acting_user, Layout, instance, values, expected_version, check)


# --- documents -----------------------------------------------------------------------------------


def _line_key(index: int, field: str = "") -> str:
    """The key of a line's error: ``lines.<index>.<field>`` (``index`` from 0, in the order of
    the rows given), ``lines.<index>`` for the whole line."""
    return f"lines.{index}.{field}" if field else f"lines.{index}"


def _decimal(value: Any, field: str, where: str, default: str = "0") -> tuple[Decimal | None, str]:
    """The number of a line's ``field`` typed by a user in their language (``1 234,56`` in
    French, ``1.234,56`` in Dutch, ``1,234.56`` in English; see suivi.lib.numbers) or given as
    a number (API), and ``""``; or None and the message naming ``where``. More decimals than
    the field stores are refused, not rounded away."""
    if value is None or value == "":
        return Decimal(default), ""
    if isinstance(value, (Decimal, int)):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(str(value))
    else:
        try:
            number = parse_decimal(str(value))
        except NumberError as e:
            return None, _("%(where)s: %(problem)s") % {"where": where, "problem": e.message}
    if not number.is_finite():
        return None, _("%(where)s: %(problem)s") % {
            "where": where,
            "problem": _("“%(value)s” is not a number.") % {"value": str(value)[:20]},
        }
    if abs(number) >= LIMIT:
        return None, _("%(where)s: this number is too large.") % {"where": where}
    places = DocumentLine._meta.get_field(field).decimal_places  # type: ignore[union-attr]
    if decimals_of(number) > places:
        return None, ngettext(
            "%(where)s: %(value)s has too many decimals; at most %(places)s.",
            "%(where)s: %(value)s has too many decimals; at most %(places)s.",
            places,
        ) % {"where": where, "value": str(value)[:20], "places": places}
    return number, ""


def _build_lines(document: Document, rows: list[dict[str, Any]]) -> tuple[list[DocumentLine], Errors]:
    """Lines from ``rows`` (dicts of article, description, quantity, unit, unit_price,
    discount_percent, vat_rate); an article fills what the row leaves empty. Every problem of
    every row is reported, each under its row and field (see ``_line_key``)."""
    errors: Errors = {}
    if len(rows) > MAX_LINES:
        return [], {"lines": _("A document holds at most %(limit)s lines.") % {"limit": MAX_LINES}}
    kind = document.journal.kind
    language = document.party.language if document.party.language in ("fr", "en", "nl") else "fr"
    lines = []
    for index, row in enumerate(rows):
        n = index + 1
        line_errors: Errors = {}
        article = row.get("article")
        where = _("Line %(n)s") % {"n": n}
        numbers: dict[str, Decimal | None] = {}
        for field, default in (("quantity", "1"), ("unit_price", "0"), ("discount_percent", "0")):
            numbers[field], problem = _decimal(row.get(field), field, where, default)
            if problem:
                line_errors[_line_key(index, field)] = problem
        quantity, unit_price, discount = numbers["quantity"], numbers["unit_price"], numbers["discount_percent"]
        price_given = row.get("unit_price") not in (None, "")
        vat_rate = row.get("vat_rate") or (article.vat_rate if article else None)
        description = (row.get("description") or "").strip() or (article.name(language) if article else "")
        if not description:
            line_errors.setdefault(
                _line_key(index, "description"),
                _("%(where)s: choose an article or write a description.") % {"where": where},
            )
        if vat_rate is None:
            line_errors.setdefault(_line_key(index, "vat_rate"), _("%(where)s: choose a VAT rate.") % {"where": where})
        if quantity is not None and quantity < 0 and kind not in NEGATIVE_ALLOWED:
            line_errors.setdefault(
                _line_key(index, "quantity"),
                _("%(where)s: a quantity cannot be negative in a %(kind)s.")
                % {"where": where, "kind": DocumentKind(kind).label.lower()},
            )
        if article is not None and not price_given:
            unit_price = article.unit_price
        if unit_price is not None and unit_price < 0:
            line_errors.setdefault(
                _line_key(index, "unit_price"),
                _("%(where)s: a unit price cannot be negative; use a negative quantity.") % {"where": where},
            )
        if discount is not None and not Decimal(0) <= discount <= Decimal(100):
            line_errors.setdefault(
                _line_key(index, "discount_percent"), _("%(where)s: a discount is from 0 to 100 %%.") % {"where": where}
            )
        if line_errors or quantity is None or unit_price is None or discount is None:
            errors.update(line_errors)
            continue
        net = line_net(quantity, unit_price, discount)
        if abs(net) >= LIMIT:
            errors[_line_key(index)] = _("%(where)s: the amount is too large.") % {"where": where}
            continue
        lines.append(
            DocumentLine(
                document=document,
                position=n,
                article=article,
                description=description[:2000],
                quantity=quantity.quantize(Decimal("0.001")),
                unit=((row.get("unit") or "") or (article.unit if article else ""))[:20],
                unit_price=unit_price.quantize(Decimal("0.0001")),
                discount_percent=discount.quantize(Decimal("0.01")),
                vat_rate=vat_rate,
                vat_percent=vat_rate.rate if vat_rate else Decimal(0),
                net=net,
            )
        )
    return lines, errors


def _check_header(document: Document) -> Errors:
    errors: Errors = {}
    if not document.journal.active:
        errors["journal"] = _("Journal %(journal)s is no longer in use.") % {"journal": document.journal.code}
    contact = document.contact if document.contact_id else None
    if contact is not None and not contact.affiliations.filter(party_id=document.party_id).exists():
        errors["contact"] = _("%(contact)s does not work at %(party)s.") % {
            "contact": document.contact,
            "party": document.party.name,
        }
    folder = document.folder if document.folder_id else None
    if folder is not None and folder.party_id and folder.party_id != document.party_id:
        errors["folder"] = _("The folder “%(folder)s” belongs to another party.") % {"folder": folder.name}
    if document.date and not 1900 <= document.date.year <= 9999:
        errors["date"] = _("A date from 1900 to 9999.")
    if document.due_date and document.date and document.due_date < document.date:
        errors["due_date"] = _("The due date is before the document's date.")
    return errors


def _store_lines(document: Document, lines: list[DocumentLine]) -> None:
    document.lines.all().delete()
    DocumentLine.objects.bulk_create(lines)
    totals = document_totals(lines)
    document.total_excl, document.total_vat, document.total_incl = totals.excl, totals.vat, totals.incl


@transaction.atomic
def create_document(*, acting_user, values: dict[str, Any], lines: Iterable[dict[str, Any]] = ()) -> Document:
    """A draft document (no number until it is validated). ``values`` are fields of Document:
    journal, party, contact, folder, date, due_date, notes."""
    require_seller(acting_user)
    values = {"date": timezone.localdate(), **values}
    document = Document(created_by=acting_user, status=DocumentStatus.DRAFT, **values)
    errors = _check_header(document)
    built, line_errors = _build_lines(document, list(lines))
    errors.update(line_errors)
    if errors:
        raise InvalidInput(errors)
    document.save()
    _store_lines(document, built)
    document.save(update_fields=["total_excl", "total_vat", "total_incl"])
    audit.record(acting_user, "create", document)
    return document


def _refuse_unless_draft(document: Document) -> None:
    if document.status == DocumentStatus.DRAFT:
        return
    if document.journal.kind in LEGAL_KINDS and document.status == DocumentStatus.VALIDATED:
        raise SuiviError(
            _("%(document)s is validated: it cannot be changed. Make a credit note to correct it.")
            % {"document": document}
        )
    raise SuiviError(
        _("%(document)s is %(status)s: only drafts can be changed.")
        % {"document": document, "status": DocumentStatus(document.status).label.lower()}
    )


@transaction.atomic
def update_document(
    *, acting_user, document: Document, values: dict[str, Any], lines=None, expected_version: int | str | None
) -> Document:
    """Change a draft (its header, and its lines when ``lines`` is given, replacing them all)."""
    require_seller(acting_user)
    document = lock_for_update(
        Document,
        document.pk,
        expected_version,
        _("This document was changed by someone else while you were editing it. Nothing was saved: reload to see it."),
    )
    _refuse_unless_draft(document)
    values = {k: v for k, v in values.items() if k != "journal" or v != document.journal}
    if "journal" in values and values["journal"].kind != document.journal.kind:
        raise InvalidInput({"journal": _("Choose a journal of the same kind; convert the document for another kind.")})
    changes = audit.diff(document, values)
    for name, value in values.items():
        setattr(document, name, value)
    errors = _check_header(document)
    built: list[DocumentLine] = []
    if lines is not None:
        built, line_errors = _build_lines(document, list(lines))
        errors.update(line_errors)
    if errors:
        raise InvalidInput(errors)
    if lines is not None:
        lines_changed = line_history.lines_change(list(document.lines.order_by("position", "id")), built)
        if lines_changed is not None:
            before = document.total_incl
            _store_lines(document, built)
            changes["lines"] = lines_changed
            if document.total_incl != before:
                changes["total_incl"] = [str(before), str(document.total_incl)]
    if not changes:
        return document  # saved unchanged: nothing to write, nothing to record
    document.version += 1
    document.save()
    audit.record(acting_user, "update", document, changes)
    return document


@transaction.atomic
def validate_document(*, acting_user, document: Document, expected_version: int | str | None) -> Document:
    """Give the draft its number and freeze it. The number is the next of its journal in the
    document's year (gapless: see numbering.next_sequence); the user states the version they
    validated, so what they saw is what is numbered."""
    require_seller(acting_user)
    document = lock_for_update(
        Document,
        document.pk,
        expected_version,
        _("This document was changed by someone else since you opened it. It was not validated: reload and check it."),
    )
    if document.status != DocumentStatus.DRAFT:
        raise SuiviError(_("%(document)s is already validated or cancelled.") % {"document": document})
    lines = list(document.lines.select_related("vat_rate"))
    errors = _check_header(document)
    if not lines:
        errors["lines"] = _("A document without lines cannot be validated: add at least one line.")
    kind = document.journal.kind
    if kind == DocumentKind.INVOICE and document.total_incl < 0:
        errors["lines"] = _("An invoice's total cannot be negative: make a credit note instead.")
    if kind == DocumentKind.CREDIT_NOTE:
        errors.update(_check_credit(document))
    if errors:
        raise InvalidInput(errors)
    year = document.date.year
    sequence = numbering.next_sequence(document.journal, year)
    document.year, document.sequence = year, sequence
    document.number = numbering.format_number(document.journal.numbering_pattern, year, sequence)
    document.status = DocumentStatus.VALIDATED
    document.validated_by, document.validated_at = acting_user, timezone.now()
    document.version += 1
    document.save()
    audit.record(acting_user, "status", document, {"status": ["draft", "validated"], "number": ["", document.number]})
    return document


def _check_credit(credit: Document) -> Errors:
    if credit.total_incl > 0:
        return {"lines": _("A credit note's total is negative or zero (its lines are the invoice's, negated).")}
    invoice = credit.source
    if invoice is None:
        return {}
    if -credit.total_incl > left_to_credit(invoice):
        return {
            "lines": _("Credit notes of %(invoice)s would exceed its total of %(total)s.")
            % {"invoice": invoice, "total": format_decimal(invoice.total_incl, min_places=2, max_places=2)}
        }
    return {}


@transaction.atomic
def set_document_status(*, acting_user, document: Document, status: str) -> Document:
    """Move a document along its workflow (see DOCUMENT_TRANSITIONS); validation goes through
    validate_document. A validated invoice or credit note is never cancelled: it is corrected
    by a credit note."""
    require_seller(acting_user)
    document = lock_for_update(Document, document.pk, LATEST, "")
    if status == document.status:
        return document
    if status == DocumentStatus.VALIDATED:
        raise SuiviError(_("Use Validate to number a document."))
    if status not in DOCUMENT_TRANSITIONS.get(DocumentStatus(document.status), set()):
        raise SuiviError(
            _("A document that is %(from)s cannot become %(to)s.")
            % {"from": DocumentStatus(document.status).label.lower(), "to": DocumentStatus(status).label.lower()}
        )
    if document.journal.kind in LEGAL_KINDS and document.status == DocumentStatus.VALIDATED:
        raise SuiviError(
            _("%(document)s is validated: it cannot be cancelled. Make a credit note to correct it.")
            % {"document": document}
        )
    audit.record(acting_user, "status", document, {"status": [document.status, status]})
    document.status = status
    document.version += 1
    document.save(update_fields=["status", "version", "updated_at"])
    return document


def _target_journal(source: Document, kind: str, journal: Journal | None) -> Journal:
    if journal is not None:
        if journal.kind != kind or journal.side != source.journal.side or not journal.active:
            raise InvalidInput(
                {"journal": _("Choose an active %(kind)s journal.") % {"kind": DocumentKind(kind).label.lower()}}
            )
        return journal
    found = Journal.objects.filter(kind=kind, side=source.journal.side, active=True).order_by("code").first()
    if found is None:
        raise SuiviError(
            _("There is no active %(kind)s journal: a manager can create one in the sales settings.")
            % {"kind": DocumentKind(kind).label.lower()}
        )
    return found


def _copy(acting_user, source: Document, journal: Journal, sign: int) -> Document:
    copy = Document.objects.create(
        journal=journal,
        party=source.party,
        contact=source.contact,
        folder=source.folder,
        date=timezone.localdate(),
        due_date=None,
        notes=source.notes,
        source=source,
        created_by=acting_user,
    )
    lines = [
        DocumentLine(
            document=copy,
            position=line.position,
            article=line.article,
            description=line.description,
            quantity=line.quantity * sign,
            unit=line.unit,
            unit_price=line.unit_price,
            discount_percent=line.discount_percent,
            vat_rate=line.vat_rate,
            vat_percent=line.vat_percent,
            net=line.net * sign,
        )
        for line in source.lines.select_related("vat_rate").order_by("position", "id")
    ]
    _store_lines(copy, lines)
    copy.save(update_fields=["total_excl", "total_vat", "total_incl"])
    audit.record(acting_user, "create", copy, {"source": ["", str(source)]})
    return copy


@transaction.atomic
def convert_document(*, acting_user, document: Document, kind: str, journal: Journal | None = None) -> Document:
    """A draft of ``kind`` (order, delivery note, invoice) with the lines of the validated
    ``document``, which it keeps as its source."""
    require_seller(acting_user)
    source = lock_for_update(Document, document.pk, LATEST, "")
    allowed = CONVERSIONS.get(DocumentKind(source.journal.kind), ())
    if kind not in allowed:
        raise SuiviError(
            _("A %(from)s cannot be turned into a %(to)s.")
            % {
                "from": DocumentKind(source.journal.kind).label.lower(),
                "to": DocumentKind(kind).label.lower() if kind in DocumentKind.values else kind,
            }
        )
    if source.status != DocumentStatus.VALIDATED:
        raise SuiviError(_("Validate %(document)s before turning it into another document.") % {"document": source})
    return _copy(acting_user, source, _target_journal(source, kind, journal), 1)


@transaction.atomic
def make_credit_note(*, acting_user, invoice: Document, journal: Journal | None = None) -> Document:
    """A draft credit note correcting the validated ``invoice``: its lines negated, linked to it."""
    require_seller(acting_user)
    source = lock_for_update(Document, invoice.pk, LATEST, "")
    if source.journal.kind != DocumentKind.INVOICE or source.status != DocumentStatus.VALIDATED:
        raise SuiviError(_("A credit note corrects a validated invoice."))
    if left_to_credit(source) <= 0:
        raise SuiviError(_("%(invoice)s is fully credited: there is nothing left to credit.") % {"invoice": source})
    return _copy(acting_user, source, _target_journal(source, DocumentKind.CREDIT_NOTE, journal), -1)


# --- print and e-mail ----------------------------------------------------------------------------


def document_pdf(document: Document, layout: Layout) -> bytes:
    """The PDF of ``document`` printed with ``layout`` (a read: nothing is recorded)."""
    try:
        return render_pdf(layout, merge_fields.context(document, layout.language))
    except TemplateFailed as e:
        raise SuiviError(
            _("The layout “%(layout)s” fails: %(problem)s") % {"layout": layout, "problem": e.problem}
        ) from e


def _printable(document: Document, layout: Layout) -> None:
    if layout.journal_id != document.journal_id:
        raise SuiviError(_("This layout belongs to another journal."))
    if document.status == DocumentStatus.DRAFT:
        raise SuiviError(_("A draft has no number yet: validate it before printing or sending it."))


def _key(idempotency_key: str | None) -> str:
    return (idempotency_key or uuid.uuid4().hex)[:64]


def print_document(*, acting_user, document: Document, layout: Layout, idempotency_key: str | None = None):
    """Print ``document`` with ``layout``: returns (event, PDF bytes). One request is one print
    event (``idempotency_key`` names it: a double click or a retried request counts once);
    the layout's linked-action rule hooks on the event."""
    require_seller(acting_user)
    _printable(document, layout)
    pdf = document_pdf(document, layout)
    event = _record_print(acting_user, document, layout, _key(idempotency_key))
    rules.apply_rule(event, pdf=pdf)  # once per event: a repeated request finds its run
    return event, pdf


@transaction.atomic
def _record_print(acting_user, document: Document, layout: Layout, key: str) -> DocumentEvent:
    event, created = DocumentEvent.objects.get_or_create(
        document=document,
        kind=EventKind.PRINT,
        idempotency_key=key,
        defaults={"layout": layout, "user": acting_user, "status": EventStatus.DONE, "done_at": timezone.now()},
    )
    if created:
        Document.objects.filter(pk=document.pk).update(print_count=F("print_count") + 1)
        audit.record(acting_user, "print", document, {"layout": ["", layout.name]})
    return event


def recipient_of(document: Document) -> str:
    """The address a document is sent to by default: its contact's, else its party's."""
    contact = document.contact if document.contact_id else None
    if contact is not None and contact.email:
        return contact.email
    return document.party.email


def send_document(
    *, acting_user, document: Document, layout: Layout, to: str = "", idempotency_key: str | None = None
) -> DocumentEvent:
    """E-mail ``document`` printed with ``layout`` to ``to`` (default: its contact, else its
    party), with the layout's subject and body. The send is recorded first, then delivered: an
    unreachable server leaves it *failed* with the reason, to retry (``retry_send``, or the same
    request again); a repeated request (same ``idempotency_key``) never sends twice."""
    require_seller(acting_user)
    _printable(document, layout)
    to = (to or "").strip() or recipient_of(document)
    if not to:
        raise InvalidInput(
            {"to": _("%(party)s has no e-mail address, nor has the contact: type one.") % {"party": document.party}}
        )
    try:
        validate_email(to)
    except ValidationError as e:
        raise InvalidInput({"to": _("“%(to)s” is not an e-mail address.") % {"to": to[:100]}}) from e
    context = merge_fields.context(document, layout.language)
    try:
        subject = render_subject(layout, context) or str(document)
        body = render_body(layout, context)
    except TemplateFailed as e:
        raise SuiviError(
            _("The layout “%(layout)s” fails: %(problem)s") % {"layout": layout, "problem": e.problem}
        ) from e
    event = _record_send(acting_user, document, layout, _key(idempotency_key), to, subject, body)
    if event.status in (EventStatus.PENDING, EventStatus.FAILED):  # new, or the same request retried
        sending.deliver(event.pk)
        event.refresh_from_db()
    rules.apply_rule(event)  # only once delivered, once per event
    return event


@transaction.atomic
def _record_send(acting_user, document, layout, key, to, subject, body) -> DocumentEvent:
    event, created = DocumentEvent.objects.get_or_create(
        document=document,
        kind=EventKind.EMAIL,
        idempotency_key=key,
        defaults={"layout": layout, "user": acting_user, "recipient": to, "subject": subject, "body": body},
    )
    if created:
        audit.record(acting_user, "email", document, {"recipient": ["", to]})
    return event


def retry_send(*, acting_user, event: DocumentEvent) -> DocumentEvent:
    """Send again an e-mail whose delivery failed."""
    require_seller(acting_user)
    if event.kind != EventKind.EMAIL or event.status != EventStatus.FAILED:
        raise SuiviError(_("Only a failed e-mail can be sent again."))
    sending.deliver(event.pk)
    event.refresh_from_db()
    rules.apply_rule(event)
    return event
