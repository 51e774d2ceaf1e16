"""Permission-checked reads of the commercial side, and who may do what.

Every signed-in user reads every document, article, journal and layout (parties are shared by
the whole company, and so are their documents). Sellers — managers and members of the *Sales*
group — write drafts, validate, cancel, convert, print and e-mail. Managers configure VAT rates,
articles, journals and layouts.
"""

import base64
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.http import Http404
from django.utils.translation import gettext as _

from suivi.core.counts import capped_count
from suivi.core.errors import PermissionDenied
from suivi.lib.ids import parse_id
from suivi.lib.unicode import strip_unstorable

from .models import Article, Document, DocumentEvent, DocumentKind, DocumentStatus, Journal, Layout, VatRate
from .pdf import pdf_filename
from .totals import Totals
from .totals import document_totals as totals_of

SALES_GROUP = "Sales"
PAGE_SIZE = 50
COUNT_CAP = 1000


def _signed_in(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def may_sell(user) -> bool:
    """Managers, and users of the Sales group, write documents."""
    return _signed_in(user) and (user.is_manager or user.groups.filter(name=SALES_GROUP).exists())


def may_configure(user) -> bool:
    return _signed_in(user) and user.is_manager


def require_seller(user) -> None:
    if not may_sell(user):
        raise PermissionDenied(_("Only managers and members of the Sales group may change commercial documents."))


def require_configurator(user) -> None:
    if not may_configure(user):
        raise PermissionDenied(_("Only managers may change VAT rates, articles, journals and layouts."))


def _get(model, user, pk, **related):
    if not _signed_in(user) or (number := parse_id(pk)) is None:
        raise Http404
    qs = model.objects.all()
    if related.get("select"):
        qs = qs.select_related(*related["select"])
    try:
        return qs.get(pk=number)
    except model.DoesNotExist as e:
        raise Http404 from e


def access_document(user, document_id, *, for_write: bool = False) -> Document:
    """The document ``document_id`` if ``user`` may see it (404 otherwise); with ``for_write``,
    403 unless the user may change documents."""
    document = _get(Document, user, document_id, select=("journal", "party", "contact", "folder", "source"))
    if for_write:
        require_seller(user)
    return document


def access_article(user, article_id) -> Article:
    return _get(Article, user, article_id, select=("vat_rate",))


def access_journal(user, journal_id) -> Journal:
    return _get(Journal, user, journal_id)


def access_layout(user, layout_id) -> Layout:
    return _get(Layout, user, layout_id, select=("journal",))


def access_vat_rate(user, rate_id) -> VatRate:
    return _get(VatRate, user, rate_id)


def layout_for(user, document: Document, layout_id) -> Layout:
    """The layout ``layout_id`` of the document's journal, or its default layout when none is
    given; 404 for a layout of another journal."""
    if layout_id in (None, ""):
        layout = document.journal.layouts.order_by("-is_default", "name", "id").first()
        if layout is None:
            raise Http404(_("Journal %(journal)s has no layout to print with.") % {"journal": document.journal.code})
        return layout
    layout = access_layout(user, layout_id)
    if layout.journal_id != document.journal_id:
        raise Http404
    return layout


def articles(user, *, active_only: bool = False) -> QuerySet[Article]:
    if not _signed_in(user):
        return Article.objects.none()
    qs = Article.objects.select_related("vat_rate")
    return qs.filter(active=True) if active_only else qs


def journals(user) -> QuerySet[Journal]:
    """Journals by code, as people look for them (VF before VFA, whatever their kind)."""
    return Journal.objects.order_by("code") if _signed_in(user) else Journal.objects.none()


def layouts(user) -> QuerySet[Layout]:
    return Layout.objects.select_related("journal") if _signed_in(user) else Layout.objects.none()


def vat_rates(user) -> QuerySet[VatRate]:
    return VatRate.objects.all() if _signed_in(user) else VatRate.objects.none()


def document_totals(document: Document) -> Totals:
    """Totals of ``document`` per VAT rate and overall, from its lines."""
    return totals_of(list(document.lines.select_related("vat_rate")))


def left_to_credit(invoice: Document) -> Decimal:
    """What credit notes may still correct on ``invoice``: its total incl. VAT less the totals
    of its validated credit notes (which are negative). Zero or less: fully credited."""
    credited = Document.objects.filter(
        source=invoice, journal__kind=DocumentKind.CREDIT_NOTE, status=DocumentStatus.VALIDATED
    ).aggregate(total=Sum("total_incl"))["total"] or Decimal(0)
    return invoice.total_incl + credited


def document_filename(document: Document) -> str:
    return pdf_filename(document)


def document_events(user, document: Document) -> QuerySet[DocumentEvent]:
    return document.events.select_related("layout", "user")


@dataclass
class DocumentFilters:
    q: str = ""
    journal: int | None = None
    kind: str = ""
    status: str = ""
    party: int | None = None
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def from_params(cls, params) -> "DocumentFilters":
        def day(name: str) -> date | None:
            try:
                value = date.fromisoformat((params.get(name) or "")[:10])
            except ValueError:
                return None
            return value if value.year >= 1900 else None

        kind = params.get("kind", "")
        status = params.get("status", "")
        return cls(
            q=strip_unstorable(params.get("q") or "")[:60].strip(),
            journal=parse_id(params.get("journal")),
            kind=kind if kind in DocumentKind.values else "",
            status=status if status in DocumentStatus.values else "",
            party=parse_id(params.get("party")),
            date_from=day("from"),
            date_to=day("to"),
        )


def document_list(user, filters: DocumentFilters) -> QuerySet[Document]:
    """Documents ``user`` sees, newest first (date, then id: the order of the keyset pages)."""
    if not _signed_in(user):
        return Document.objects.none()
    qs = Document.objects.select_related("journal", "party")
    if filters.journal:
        qs = qs.filter(journal_id=filters.journal)
    if filters.kind:
        qs = qs.filter(journal__kind=filters.kind)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.party:
        qs = qs.filter(party_id=filters.party)
    if filters.date_from:
        qs = qs.filter(date__gte=filters.date_from)
    if filters.date_to:
        qs = qs.filter(date__lte=filters.date_to)
    if filters.q:
        qs = qs.filter(Q(number__startswith=filters.q) | Q(party__name__icontains=filters.q))
    return qs.order_by("-date", "-id")


def encode_cursor(document: Document) -> str:
    raw = json.dumps([document.date.isoformat(), document.pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[date, int] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor[:100] + "=" * (-len(cursor[:100]) % 4))
        day, pk = json.loads(raw)
        when = date.fromisoformat(day)
    except (ValueError, TypeError, RecursionError):
        return None
    if (number := parse_id(pk)) is None:
        return None
    return when, number


def document_page(user, filters: DocumentFilters, after: str = "") -> tuple[list[Document], str | None, int, bool]:
    """One keyset page of the list: (rows, cursor of the next page or None, count, capped).
    The count stops at COUNT_CAP so that a large journal costs no full count."""
    qs = document_list(user, filters)
    position = _decode_cursor(after) if after else None
    page_qs = qs
    if position:
        when, pk = position
        page_qs = qs.filter(Q(date__lt=when) | Q(date=when, id__lt=pk))
    rows = list(page_qs[: PAGE_SIZE + 1])
    following = encode_cursor(rows[PAGE_SIZE - 1]) if len(rows) > PAGE_SIZE else None
    count, capped = capped_count(qs, COUNT_CAP)
    return rows[:PAGE_SIZE], following, count, capped
