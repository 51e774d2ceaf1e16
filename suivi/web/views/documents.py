"""The documents screen: list, document page with its lines, workflow buttons, print and e-mail."""

import uuid
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from suivi.activities.models import Folder
from suivi.core.audit import history
from suivi.core.errors import InvalidInput, SuiviError
from suivi.lib.numbers import format_decimal
from suivi.parties.models import Contact
from suivi.parties.queries import access_party
from suivi.sales import queries, services
from suivi.sales.models import DocumentEvent, DocumentKind, DocumentStatus, Journal
from suivi.sales.services import CONVERSIONS

from ..outcomes import after_command, show_on_form, status_of
from ..sales_forms import DocumentForm, LineFormSet, SendForm


def sales_page(view):
    """``view`` behind login; a refusal raised before any form (who may write) is a page with
    its status, never a server error."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except SuiviError as e:
            return render(
                request,
                "web/refused.html",
                {"message": e.message, "back_url": reverse("document_list"), "forbidden": status_of(e) == 403},
                status=status_of(e),
            )

    return login_required(wrapper)


@sales_page
def document_list_page(request):
    filters = queries.DocumentFilters.from_params(request.GET)
    rows, following, count, capped = queries.document_page(request.user, filters, request.GET.get("after", ""))
    params = request.GET.copy()
    params.pop("after", None)
    return render(
        request,
        "web/sales/documents.html",
        {
            "documents": rows,
            "following": following,
            "count": count,
            "capped": capped,
            "filters": filters,
            "query": params.urlencode(),
            "journals": queries.journals(request.user).order_by("code"),
            "kinds": DocumentKind.choices,
            "statuses": DocumentStatus.choices,
            "may_sell": queries.may_sell(request.user),
        },
    )


def _party_choices(party):
    contacts = Contact.objects.filter(affiliations__party=party) if party else Contact.objects.none()
    folders = Folder.objects.filter(party=party) | Folder.objects.filter(party=None) if party else Folder.objects.none()
    return contacts.order_by("name_key"), folders.filter(archived=False).order_by("-party", "name")


def _line_rows(formset) -> tuple[list[dict], list]:
    """The rows given to the service, and the form of each (to show its errors beside it)."""
    rows, forms = [], []
    for form in formset.forms:
        data = form.cleaned_data
        if not data or data.get("DELETE"):
            continue
        if not any(data.get(k) for k in ("article", "description", "unit_price")):
            continue  # an empty extra row
        rows.append({k: v for k, v in data.items() if k != "DELETE"})
        forms.append(form)
    return rows, forms


def _show_refusal(form, line_forms: list, error: SuiviError) -> int:
    """``error`` on the page: each line's message beside its line and field (keys
    ``lines.<index>.<field>`` of the service), the others on the header form."""
    errors = getattr(error, "errors", None) or {}
    rest = {}
    for key, message in errors.items():
        parts = key.split(".")
        if parts[0] == "lines" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(line_forms):
            line_form = line_forms[int(parts[1])]
            field = parts[2] if len(parts) > 2 and parts[2] in line_form.fields else None
            line_form.add_error(field, message)
        else:
            rest[key] = message
    if errors and not rest:
        return status_of(error)
    if errors:
        error = InvalidInput(rest)
    return show_on_form(form, error)


def _initial_lines(document):
    """The lines as the user typed them: in the user's language (``1,5`` and ``12,50`` in French
    and Dutch), without thousands separators, with as many decimals as stored (prices at least
    two): read back by the service, they are the same numbers."""
    return [
        {
            "article": line.article_id,
            "description": line.description,
            "quantity": format_decimal(line.quantity, grouping=False),
            "unit": line.unit,
            "unit_price": format_decimal(line.unit_price, min_places=2, grouping=False),
            "discount_percent": format_decimal(line.discount_percent, grouping=False),
            "vat_rate": line.vat_rate_id,
        }
        for line in document.lines.order_by("position", "id")
    ]


def _editor(request, document, party, journal=None):
    """The form of a new document (``document`` None) or of a draft, and its answer."""
    contacts, folders = _party_choices(party)
    journals = Journal.objects.filter(active=True).order_by("code")
    if document is not None:
        journals = journals.filter(kind=document.journal.kind)
    initial = {"version": document.version} if document else {"journal": journal.pk if journal else None}
    form = DocumentForm(
        request.POST or None,
        instance=document,
        initial=initial,
        journals=journals,
        contacts=contacts,
        folders=folders,
    )
    lines = LineFormSet(request.POST or None, initial=_initial_lines(document) if document else None, prefix="lines")
    status = 200
    if request.method == "POST":
        if form.is_valid() and lines.is_valid():
            values = {k: v for k, v in form.cleaned_data.items() if k != "version"}
            if values.get("date") is None:
                values.pop("date")
            values["party"] = party
            rows, line_forms = _line_rows(lines)
            try:
                if document is None:
                    document = services.create_document(acting_user=request.user, values=values, lines=rows)
                else:
                    services.update_document(
                        acting_user=request.user,
                        document=document,
                        values=values,
                        lines=rows,
                        expected_version=form.cleaned_data.get("version"),
                    )
            except SuiviError as e:
                status = _show_refusal(form, line_forms, e)
            else:
                messages.success(request, _("Document saved."))
                return redirect("document_detail", pk=document.pk)
        status = status if status != 200 else 400
    return render(
        request,
        "web/sales/document_form.html",
        {"form": form, "lines": lines, "document": document, "party": party},
        status=status,
    )


@sales_page
def document_create(request):
    queries.require_seller(request.user)
    party_id = request.POST.get("party") or request.GET.get("party")
    party = access_party(request.user, party_id) if party_id else None
    journal_id = request.GET.get("journal")
    journal = queries.access_journal(request.user, journal_id) if journal_id else None
    if party is None:
        return render(
            request, "web/sales/document_start.html", {"journal": journal}, status=400 if request.POST else 200
        )
    return _editor(request, None, party, journal)


@sales_page
def document_edit(request, pk):
    document = queries.access_document(request.user, pk, for_write=True)
    if document.status != DocumentStatus.DRAFT:
        messages.error(request, _("Only drafts can be changed."))
        return redirect("document_detail", pk=pk)
    return _editor(request, document, document.party)


@sales_page
def document_detail(request, pk):
    document = queries.access_document(request.user, pk)
    layouts = document.journal.layouts.order_by("-is_default", "name")
    return render(
        request,
        "web/sales/document.html",
        {
            "document": document,
            "lines": document.lines.select_related("vat_rate", "article").order_by("position", "id"),
            "totals": queries.document_totals(document),
            "layouts": layouts,
            "events": queries.document_events(request.user, document)[:20],
            "derived": document.derived.select_related("journal").order_by("id"),
            "conversions": [
                (k, DocumentKind(k).label) for k in CONVERSIONS.get(DocumentKind(document.journal.kind), ())
            ],
            "may_sell": queries.may_sell(request.user),
            "may_credit": document.journal.kind == DocumentKind.INVOICE
            and document.status == DocumentStatus.VALIDATED
            and queries.left_to_credit(document) > 0,
            "key": uuid.uuid4().hex,
            "send_form": SendForm(
                layouts=layouts, initial={"to": services.recipient_of(document), "layout": layouts.first()}
            ),
            "history": history(document, 20),
        },
    )


def _back(pk):
    return reverse("document_detail", args=[pk])


@sales_page
@require_POST
def document_validate(request, pk):
    document = queries.access_document(request.user, pk, for_write=True)
    try:
        document = services.validate_document(
            acting_user=request.user, document=document, expected_version=request.POST.get("version")
        )
    except InvalidInput as e:
        return after_command(request, SuiviError(" ".join(e.errors.values())), _back(pk))
    except SuiviError as e:
        return after_command(request, e, _back(pk))
    messages.success(request, _("Document validated: number %(number)s.") % {"number": document.number})
    return redirect("document_detail", pk=pk)


@sales_page
@require_POST
def document_cancel(request, pk):
    document = queries.access_document(request.user, pk, for_write=True)
    try:
        services.set_document_status(acting_user=request.user, document=document, status=DocumentStatus.CANCELLED)
    except SuiviError as e:
        return after_command(request, e, _back(pk))
    messages.success(request, _("Document cancelled."))
    return redirect("document_detail", pk=pk)


@sales_page
@require_POST
def document_convert(request, pk):
    document = queries.access_document(request.user, pk, for_write=True)
    kind = request.POST.get("kind", "")
    try:
        if kind == DocumentKind.CREDIT_NOTE:
            made = services.make_credit_note(acting_user=request.user, invoice=document)
        else:
            made = services.convert_document(acting_user=request.user, document=document, kind=kind)
    except SuiviError as e:
        return after_command(request, e, _back(pk))
    messages.success(request, _("Draft made from %(document)s: check it, then validate it.") % {"document": document})
    return redirect("document_detail", pk=made.pk)


def _pdf_response(document, pdf: bytes) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{queries.document_filename(document)}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@sales_page
def document_preview(request, pk):
    """The PDF of a draft, to check it: nothing is recorded."""
    document = queries.access_document(request.user, pk)
    layout = queries.layout_for(request.user, document, request.GET.get("layout"))
    try:
        pdf = services.document_pdf(document, layout)
    except SuiviError as e:
        return after_command(request, e, _back(pk))
    return _pdf_response(document, pdf)


@sales_page
@require_POST
def document_print(request, pk):
    document = queries.access_document(request.user, pk, for_write=True)
    layout = queries.layout_for(request.user, document, request.POST.get("layout"))
    try:
        _event, pdf = services.print_document(
            acting_user=request.user, document=document, layout=layout, idempotency_key=request.POST.get("key")
        )
    except SuiviError as e:
        return after_command(request, e, _back(pk))
    return _pdf_response(document, pdf)


@sales_page
@require_POST
def document_send(request, pk):
    document = queries.access_document(request.user, pk, for_write=True)
    form = SendForm(request.POST, layouts=document.journal.layouts.all())
    if not form.is_valid():
        messages.error(request, " ".join(" ".join(v) for v in form.errors.values()))
        return redirect("document_detail", pk=pk)
    try:
        event = services.send_document(
            acting_user=request.user,
            document=document,
            layout=form.cleaned_data["layout"],
            to=form.cleaned_data["to"],
            idempotency_key=form.cleaned_data["key"] or None,
        )
    except InvalidInput as e:
        messages.error(request, " ".join(e.errors.values()))
        return redirect("document_detail", pk=pk)
    except SuiviError as e:
        return after_command(request, e, _back(pk))
    _tell(request, event)
    return redirect("document_detail", pk=pk)


def _tell_text(event: DocumentEvent) -> str:
    """Why the e-mail of ``event`` was not sent, in one sentence of the reader's language."""
    return _("The e-mail to %(to)s was not sent: %(reason)s; it is kept in the list below, to send again.") % {
        "to": event.recipient,
        "reason": event.reason,
    }


def _tell(request, event: DocumentEvent) -> None:
    if event.status == "done":
        messages.success(request, _("E-mail sent to %(to)s.") % {"to": event.recipient})
    else:
        messages.error(request, _tell_text(event))


@sales_page
@require_POST
def event_retry(request, pk, event_pk):
    document = queries.access_document(request.user, pk, for_write=True)
    event = document.events.filter(pk=event_pk).first()
    if event is None:
        return after_command(request, SuiviError(_("This send does not exist.")), _back(pk))
    try:
        event = services.retry_send(acting_user=request.user, event=event)
    except SuiviError as e:
        return after_command(request, e, _back(pk))
    _tell(request, event)
    return redirect("document_detail", pk=pk)
