"""Sales settings screens: VAT rates, articles, journals (with their years) and layouts.
Every user reads them; managers change them (the services check it)."""

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from suivi.core.errors import SuiviError
from suivi.sales import queries, services
from suivi.sales.models import JournalYear
from suivi.sales.starter_layouts import starter

from ..outcomes import after_command, show_on_form
from ..sales_forms import ArticleForm, JournalForm, LayoutForm, VatRateForm
from .documents import sales_page


@dataclass
class Screen:
    title: Any
    form: type
    rows: Any  # (user) -> queryset
    access: Any  # (user, pk) -> row
    save: Any  # the service
    columns: tuple[str, ...]


SCREENS = {
    "vat-rates": Screen(
        gettext_lazy("VAT rates"),
        VatRateForm,
        queries.vat_rates,
        queries.access_vat_rate,
        services.save_vat_rate,
        ("code", "label", "rate", "active"),
    ),
    "articles": Screen(
        gettext_lazy("Articles"),
        ArticleForm,
        queries.articles,
        queries.access_article,
        services.save_article,
        ("code", "name_fr", "unit", "unit_price", "vat_rate", "active"),
    ),
    "journals": Screen(
        gettext_lazy("Journals"),
        JournalForm,
        queries.journals,
        queries.access_journal,
        services.save_journal,
        ("code", "name", "kind", "side", "numbering_pattern", "active"),
    ),
    "layouts": Screen(
        gettext_lazy("Layouts"),
        LayoutForm,
        queries.layouts,
        queries.access_layout,
        services.save_layout,
        ("journal", "name", "language", "is_default"),
    ),
}


def _screen(kind: str) -> Screen:
    if kind not in SCREENS:
        raise Http404
    return SCREENS[kind]


def _tabs():
    return [(key, screen.title) for key, screen in SCREENS.items()]


@sales_page
def sales_settings_list(request, kind):
    screen = _screen(kind)
    rows = list(screen.rows(request.user)[:500])
    table = [(row, [_shown(row, column) for column in screen.columns]) for row in rows]
    return render(
        request,
        "web/sales/settings_list.html",
        {
            "kind": kind,
            "screen": screen,
            "tabs": _tabs(),
            "headers": [screen.form._meta.model._meta.get_field(c).verbose_name for c in screen.columns],
            "table": table,
            "can_edit": queries.may_configure(request.user),
        },
    )


def _shown(row, column):
    value = getattr(row, f"get_{column}_display", None)
    value = value() if value else getattr(row, column)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return value


@sales_page
def sales_settings_row(request, kind, pk=None):
    screen = _screen(kind)
    row = screen.access(request.user, pk) if pk else None
    initial: dict[str, Any] = {"version": row.version} if row else {}
    if row is None and kind == "layouts":
        initial.update(starter(request.LANGUAGE_CODE[:2]), language=request.LANGUAGE_CODE[:2])
        initial["journal"] = request.GET.get("journal")
    form = screen.form(request.POST or None, instance=row, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            values = {k: v for k, v in form.cleaned_data.items() if k != "version"}
            try:
                row = screen.save(
                    acting_user=request.user,
                    instance=row,
                    values=values,
                    expected_version=form.cleaned_data.get("version"),
                )
            except SuiviError as e:
                status = show_on_form(form, e)
            else:
                messages.success(request, _("Settings saved."))
                return redirect("sales_settings", kind=kind)
        status = status if status != 200 else 400
    years = JournalYear.objects.filter(journal=row).order_by("-year") if kind == "journals" and row else None
    return render(
        request,
        "web/sales/settings_form.html",
        {
            "kind": kind,
            "screen": screen,
            "tabs": _tabs(),
            "form": form,
            "row": row,
            "years": years,
            "can_edit": queries.may_configure(request.user),
            "layouts": row.layouts.all() if kind == "journals" and row else None,
        },
        status=status,
    )


@sales_page
@require_POST
def journal_year(request, pk):
    journal = queries.access_journal(request.user, pk)
    back = reverse("sales_settings_row", args=["journals", pk])
    try:
        year = int(request.POST.get("year", "")[:4])
    except ValueError:
        return after_command(request, SuiviError(_("A year from 1900 to 9999.")), back)
    try:
        services.set_journal_year_closed(
            acting_user=request.user, journal=journal, year=year, closed=request.POST.get("closed") == "1"
        )
    except SuiviError as e:
        return after_command(request, e, back)
    messages.success(request, _("Settings saved."))
    return redirect(back)
