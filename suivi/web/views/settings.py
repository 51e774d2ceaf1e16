"""Company settings (Paramètres généraux), on tabs; administrators change them."""

from django.conf import settings as django_settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from suivi.accounts import services as account_services
from suivi.accounts.queries import device_preference
from suivi.activities import services as action_services
from suivi.activities.models import ActionType, Stage
from suivi.core import services as core_services
from suivi.core.company import company_settings
from suivi.core.errors import ConflictError, PermissionDenied, SuiviError, VersionRequired
from suivi.core.expressions import ExpressionError

from ..forms import CrmSettingsForm, GeneralSettingsForm, PreferencesForm, configuration_formset
from ..outcomes import status_of

TABS = {
    "general": (gettext_lazy("General"), GeneralSettingsForm),
    "crm": (gettext_lazy("Customers/suppliers"), CrmSettingsForm),
    "action-types": (gettext_lazy("Action types"), None),
    "stages": (gettext_lazy("Pipeline stages"), None),
}
CONFIGURATION = {
    "action-types": (ActionType, list(ActionType.EDITABLE)),
    "stages": (Stage, list(Stage.EDITABLE)),
}


@login_required
def company_settings_page(request, tab="crm"):
    if tab not in TABS:
        tab = "crm"
    if tab in CONFIGURATION:
        return _configuration_page(request, tab)
    settings_obj = company_settings(request)
    form_class = TABS[tab][1]
    can_edit = request.user.is_administrator
    form = form_class(request.POST or None, instance=settings_obj)
    status = 200
    if request.method == "POST":
        if not can_edit:
            messages.error(request, _("Only administrators may change the company settings."))
            status = 403
        elif form.is_valid():
            try:
                core_services.update_company_settings(
                    acting_user=request.user,
                    values={name: form.cleaned_data[name] for name in form_class.Meta.fields},
                    expected_version=request.POST.get("version"),
                )
            except ExpressionError as e:
                form.add_error("followed_by_expression", e.message)
            except (ConflictError, VersionRequired) as e:
                messages.error(request, e.message)
                status = status_of(e)
            except PermissionDenied as e:
                messages.error(request, e.message)
                status = 403
            else:
                messages.success(request, _("Settings saved."))
                return redirect("company_settings", tab=tab)
        if form.errors and status == 200:
            status = 400
    if not can_edit:
        for field in form.fields.values():
            field.disabled = True
    return render(
        request,
        "web/settings.html",
        {
            "form": form,
            "tab": tab,
            "tabs": [(k, v[0]) for k, v in TABS.items()],
            "can_edit": can_edit,
            "version": settings_obj.version,
        },
        status=status,
    )


def _configuration_page(request, tab):
    """Action types or pipeline stages: one row each, administrators change them."""
    model, fields = CONFIGURATION[tab]
    can_edit = request.user.is_administrator
    formset = configuration_formset(model, fields, request.POST or None)
    status = 200
    if request.method == "POST":
        if not can_edit:
            messages.error(request, _("Only administrators may change action types and stages."))
            status = 403
        elif formset.is_valid():
            try:
                with transaction.atomic():  # every row or none
                    for form in formset.forms:
                        if form.has_changed():
                            action_services.save_configuration_row(
                                acting_user=request.user,
                                model=model,
                                instance=form.instance if form.instance.pk else None,
                                values={name: form.cleaned_data[name] for name in fields},
                                expected_version=form.cleaned_data.get("version"),
                            )
            except SuiviError as e:
                messages.error(request, e.message)
                status = status_of(e)
            else:
                messages.success(request, _("Settings saved."))
                return redirect("company_settings", tab=tab)
        else:
            status = 400
    return render(
        request,
        "web/settings_rows.html",
        {
            "formset": formset,
            "tab": tab,
            "tabs": [(k, v[0]) for k, v in TABS.items()],
            "can_edit": can_edit,
            "fields": fields,
        },
        status=status,
    )


@login_required
def preferences(request):
    device = device_preference(request.user, request.device_id)
    initial = {
        "language": request.user.language,
        "sending_method": request.user.sending_method,
        "send_via_outlook": bool(device and device.send_via_outlook),
    }
    form = PreferencesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        account_services.update_preferences(
            acting_user=request.user,
            device_id=request.device_id,
            device_label=request.headers.get("User-Agent", "")[:200],
            language=form.cleaned_data["language"],
            sending_method=form.cleaned_data["sending_method"],
            send_via_outlook=form.cleaned_data["send_via_outlook"],
        )
        request.session["suivi_language"] = form.cleaned_data["language"]
        with translation.override(form.cleaned_data["language"]):  # said in the language just chosen
            messages.success(request, _("Preferences saved."))
        return redirect("preferences")
    return render(
        request,
        "web/preferences.html",
        {
            "form": form,
            "device": device,
            "device_id": request.device_id,
            "devices": request.user.devices.all(),
        },
    )


@require_POST
def set_language(request):
    """Switch the interface language from the header; kept on the user for next time."""
    language = request.POST.get("language", "")
    if language in {code for code, _name in django_settings.LANGUAGES}:
        request.session["suivi_language"] = language
        if request.user.is_authenticated:
            account_services.set_language(acting_user=request.user, language=language)
    target = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return redirect(target)
