"""Contact pages: list, export, detail, create, edit, link to parties."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from suivi.core.audit import history
from suivi.core.company import company_settings
from suivi.core.errors import InvalidInput, SuiviError
from suivi.parties import exporting
from suivi.parties import services as party_services
from suivi.parties.queries import ContactFilters, access_contact, access_party, contact_list

from ..downloads import spreadsheet
from ..forms import AffiliationForm, ContactForm
from ..outcomes import show_on_form
from ..pagination import page_of

CONTACT_FIELDS = ContactForm.Meta.fields


@login_required
def contact_list_page(request):
    filters = ContactFilters.from_params(request.GET)
    page = page_of(contact_list(request.user, filters), request.GET.get("page"), 50)
    return render(request, "web/contacts/list.html", {"page": page, "filters": filters})


@login_required
def contact_export(request, fmt):
    """The contact list as filtered, one row a contact at each of its parties, in CSV or XLSX."""
    contacts = contact_list(request.user, ContactFilters.from_params(request.GET))
    return spreadsheet(
        fmt, "contacts", lambda: exporting.contact_csv_lines(contacts), lambda: exporting.contact_xlsx_bytes(contacts)
    )


@login_required
def contact_detail(request, pk):
    contact = access_contact(request.user, pk)
    return render(
        request,
        "web/contacts/detail.html",
        {
            "contact": contact,
            "affiliations": contact.affiliations.select_related("party"),
            "history": history(contact, 20),
            "link_form": AffiliationForm(),
        },
    )


def _values(form):
    return {name: form.cleaned_data[name] or "" for name in CONTACT_FIELDS}


@login_required
def contact_create(request):
    party = access_party(request.user, request.GET["party"]) if request.GET.get("party") else None
    form = ContactForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                contact = party_services.create_contact(
                    acting_user=request.user,
                    values=_values(form),
                    party=party,
                    function=request.POST.get("function", ""),
                    default_country=company_settings(request).country,
                )
            except InvalidInput as e:
                for field, message in e.errors.items():
                    form.add_error(field, message)
            else:
                messages.success(request, _("Contact %(name)s created.") % {"name": contact})
                return redirect("party_detail", pk=party.pk) if party else redirect("contact_detail", pk=contact.pk)
        status = 400
    return render(request, "web/contacts/form.html", {"form": form, "contact": None, "party": party}, status=status)


@login_required
def contact_edit(request, pk):
    contact = access_contact(request.user, pk)
    form = ContactForm(request.POST or None, instance=contact, initial={"version": contact.version})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                party_services.update_contact(
                    acting_user=request.user,
                    contact=contact,
                    values=_values(form),
                    expected_version=form.cleaned_data.get("version"),
                )
            except SuiviError as e:
                status = show_on_form(form, e)
            else:
                messages.success(request, _("Changes saved."))
                return redirect("contact_detail", pk=contact.pk)
        status = status if status != 200 else 400
    return render(request, "web/contacts/form.html", {"form": form, "contact": contact, "party": None}, status=status)


@login_required
@require_POST
def contact_link(request, pk):
    contact = access_contact(request.user, pk)
    form = AffiliationForm(request.POST)
    if form.is_valid():
        party = access_party(request.user, form.cleaned_data["party"])
        party_services.link_contact(
            acting_user=request.user, contact=contact, party=party, function=form.cleaned_data["function"]
        )
        messages.success(request, _("%(contact)s now works at %(party)s.") % {"contact": contact, "party": party})
    else:
        messages.error(request, _("Choose a party in the list first."))
    return redirect("contact_detail", pk=pk)


@login_required
@require_POST
def contact_unlink(request, pk, party_pk):
    contact = access_contact(request.user, pk)
    party = access_party(request.user, party_pk)
    party_services.unlink_contact(acting_user=request.user, contact=contact, party=party)
    return redirect("contact_detail", pk=pk)
