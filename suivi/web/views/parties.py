"""Party pages: list, detail, create, edit, archive, type-ahead, export."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from suivi.activities.queries import party_timeline
from suivi.core.audit import history
from suivi.core.company import company_settings
from suivi.core.errors import SuiviError
from suivi.parties import exporting
from suivi.parties import services as party_services
from suivi.parties.models import Category
from suivi.parties.queries import (
    PARTY_SORTS,
    PartyFilters,
    access_party,
    party_list,
    party_typeahead,
    with_list_relations,
)

from ..downloads import spreadsheet
from ..forms import AddressForm, PartyForm
from ..outcomes import after_command, show_on_form
from ..pagination import page_of

PAGE_SIZE = 50
SORT_LABELS = {
    "name": gettext_lazy("Name A→Z"),
    "-name": gettext_lazy("Name Z→A"),
    "code": gettext_lazy("Code ↑"),
    "-code": gettext_lazy("Code ↓"),
    "city": gettext_lazy("City A→Z"),
    "-city": gettext_lazy("City Z→A"),
    "-created": gettext_lazy("Newest first"),
    "created": gettext_lazy("Oldest first"),
}
assert set(SORT_LABELS) == set(PARTY_SORTS)


@login_required
def party_list_page(request):
    filters = PartyFilters.from_params(request.GET)
    page = page_of(
        with_list_relations(party_list(request.user, filters)), request.GET.get("page"), PAGE_SIZE, deferred_join=True
    )
    context = {
        "page": page,
        "filters": filters,
        "categories": Category.objects.all(),
        "sort_labels": SORT_LABELS.items(),
        "query": _query_without(request, "page"),
    }
    template = "web/parties/_rows.html" if request.htmx else "web/parties/list.html"
    return render(request, template, context)


def _query_without(request, *names):
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


@login_required
def party_detail(request, pk):
    party = access_party(request.user, pk)
    affiliations = party.affiliations.select_related("contact").all()
    crm = company_settings(request).crm_enabled
    timeline = party_timeline(request.user, party, request.GET.get("after", "")) if crm else None
    return render(
        request,
        "web/parties/detail.html",
        {
            "timeline": timeline,
            "party": party,
            "affiliations": affiliations,
            "addresses": party.addresses.all(),
            "history": history(party, 20),
            "address_form": AddressForm(initial={"country": party.country}),
        },
    )


def _party_values(form):
    data = form.cleaned_data
    values = {name: data[name] for name in PartyForm.Meta.fields if name not in ("categories",)}
    for name, value in values.items():
        if value is None and name != "sales_rep":
            values[name] = ""
    return values, list(data.get("categories") or [])


@login_required
def party_create(request):
    form = PartyForm(request.POST or None, initial={"country": company_settings(request).country, "is_customer": True})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            values, categories = _party_values(form)
            try:
                party = party_services.create_party(
                    acting_user=request.user,
                    values=values,
                    categories=categories,
                    default_country=company_settings(request).country,
                )
            except SuiviError as e:
                status = show_on_form(form, e)
            else:
                messages.success(request, _("Party %(name)s created.") % {"name": party.name})
                return redirect("party_detail", pk=party.pk)
        status = status if status != 200 else 400
    return render(request, "web/parties/form.html", {"form": form, "party": None}, status=status)


@login_required
def party_edit(request, pk):
    party = access_party(request.user, pk)
    form = PartyForm(request.POST or None, instance=party, initial={"version": party.version})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            values, categories = _party_values(form)
            try:
                party_services.update_party(
                    acting_user=request.user,
                    party=party,
                    values=values,
                    categories=categories,
                    expected_version=form.cleaned_data.get("version"),
                )
            except SuiviError as e:
                status = show_on_form(form, e)
            else:
                messages.success(request, _("Changes saved."))
                return redirect("party_detail", pk=party.pk)
        status = status if status != 200 else 400
    return render(request, "web/parties/form.html", {"form": form, "party": party}, status=status)


@login_required
@require_POST
def party_archive(request, pk):
    party = access_party(request.user, pk)
    restore = request.POST.get("restore") == "1"
    try:
        party_services.archive_party(
            acting_user=request.user, party=party, archived=not restore, expected_version=request.POST.get("version")
        )
    except SuiviError as e:
        return after_command(request, e, reverse("party_detail", args=[pk]))
    messages.success(
        request, _("Party restored.") if restore else _("Party archived. It stays in history and can be restored.")
    )
    return redirect("party_detail", pk=pk)


@login_required
@require_POST
def party_add_address(request, pk):
    from suivi.parties.services import add_address

    party = access_party(request.user, pk)
    form = AddressForm(request.POST)
    if form.is_valid():
        add_address(acting_user=request.user, party=party, values=form.cleaned_data)
        messages.success(request, _("Address added."))
    else:
        messages.error(
            request,
            _("The address was not added: %(errors)s")
            % {"errors": "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())},
        )
    return redirect("party_detail", pk=pk)


@login_required
def party_typeahead_page(request):
    """HTML options for party pickers (HTMX)."""
    parties = party_typeahead(request.user, request.GET.get("q", ""))
    return render(request, "web/parties/_typeahead.html", {"parties": parties, "q": request.GET.get("q", "")})


@login_required
def party_export(request, fmt):
    parties = party_list(request.user, PartyFilters.from_params(request.GET))
    return spreadsheet(fmt, "parties", lambda: exporting.csv_lines(parties), lambda: exporting.xlsx_bytes(parties))
