"""Folders (S10, S11) and the opportunity pipeline (S6)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from suivi.accounts.models import User
from suivi.activities import services as action_services
from suivi.activities.models import Stage
from suivi.activities.queries import (
    access_folder,
    folder_choices,
    folder_list,
    forecast,
    pipeline,
)
from suivi.core.audit import history
from suivi.core.errors import ConflictError, InvalidInput, PermissionDenied, SuiviError
from suivi.core.gates import company_settings, crm_required
from suivi.parties.queries import access_party

from ..forms import FolderForm


def _opportunities_on(request) -> bool:
    return company_settings(request).opportunities_enabled


@login_required
@crm_required
def folder_list_page(request):
    party_id = request.GET.get("party")
    party = access_party(request.user, party_id) if party_id else None
    folders = folder_list(request.user, q=request.GET.get("q", "")[:100], party_id=party.pk if party else None)
    page = Paginator(folders, 50).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "web/folders/list.html",
        {
            "folders": page,
            "page": page,
            "query": params.urlencode(),
            "party": party,
            "q": request.GET.get("q", ""),
            "opportunities": _opportunities_on(request),
            "back": request.GET.get("back", ""),
        },
    )


def _folder_values(form):
    values = {name: form.cleaned_data[name] for name in form.fields if name not in ("version", "party")}
    for name in ("name", "description", "opportunity_type", "source", "lost_reason"):
        if name in values:
            values[name] = values[name] or ""
    if "currency" in values:
        values["currency"] = values["currency"] or "EUR"
    return values


@login_required
@crm_required
def folder_create(request):
    party_id = request.POST.get("party") or request.GET.get("party")
    party = access_party(request.user, party_id) if party_id else None
    form = FolderForm(
        request.POST or None,
        initial={"party": party.pk if party else None, "followed_by": request.user.pk},
        opportunities=_opportunities_on(request),
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                folder = action_services.create_folder(
                    acting_user=request.user, values={**_folder_values(form), "party": party}
                )
            except InvalidInput as e:
                for field, message in e.errors.items():
                    form.add_error(field if field in form.fields else None, message)
            else:
                messages.success(request, _("Folder “%(name)s” created.") % {"name": folder})
                return redirect("folder_list")
        status = 400
    return render(request, "web/folders/form.html", {"form": form, "folder": None, "party": party}, status=status)


@login_required
@crm_required
def folder_edit(request, pk):
    folder = access_folder(request.user, pk)
    form = FolderForm(
        request.POST or None,
        instance=folder,
        initial={"version": folder.version},
        opportunities=_opportunities_on(request),
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                action_services.update_folder(
                    acting_user=request.user,
                    folder=folder,
                    values=_folder_values(form),
                    expected_version=form.cleaned_data.get("version"),
                )
            except InvalidInput as e:
                for field, message in e.errors.items():
                    form.add_error(field if field in form.fields else None, message)
            except ConflictError as e:
                form.add_error(None, e.message)
                status = 409
            else:
                messages.success(request, _("Changes saved."))
                return redirect("folder_list")
        status = status if status != 200 else 400
    return render(
        request,
        "web/folders/form.html",
        {"form": form, "folder": folder, "party": folder.party, "history": history(folder, 20)},
        status=status,
    )


@login_required
@crm_required
def folder_delete(request, pk):
    """Deleting a folder that holds actions asks where they go; nothing is lost silently."""
    folder = access_folder(request.user, pk)
    count = folder.actions.count()
    targets = [f for f in folder_choices(folder.party_id) if f.pk != folder.pk]
    error = None
    if request.method == "POST":
        choice = request.POST.get("actions", "")
        move_to = None
        if choice.isdigit():
            move_to = next((f for f in targets if f.pk == int(choice)), None)
        try:
            action_services.delete_folder(
                acting_user=request.user, folder=folder, move_to=move_to, detach=choice == "detach"
            )
        except SuiviError as e:
            error = e.message
        else:
            messages.success(request, _("Folder “%(name)s” deleted.") % {"name": folder.name})
            return redirect("folder_list")
    return render(
        request,
        "web/folders/delete.html",
        {
            "folder": folder,
            "count": count,
            "targets": targets,
            "error": error,
        },
        status=400 if error else 200,
    )


@login_required
@crm_required
@require_POST
def folder_quick_create(request):
    """HTMX, from the new-action form: a folder for the chosen party, made in place (S11)."""
    party = access_party(request.user, request.POST.get("party"))
    name = request.POST.get("new_folder_name", "").strip()
    error = None
    folder = None
    try:
        folder = action_services.create_folder(
            acting_user=request.user, values={"name": name, "party": party, "followed_by": request.user}
        )
    except InvalidInput as e:
        error = "; ".join(e.errors.values())
    return render(
        request,
        "web/actions/_folder_field.html",
        {
            "folders": folder_choices(party.pk),
            "selected_folder": str(folder.pk) if folder else request.POST.get("folder", ""),
            "party": party,
            "folder_error": error,
            "new_folder_name": name if error else "",
        },
        status=400 if error else 200,
    )


def _opportunities_required(request):
    if not _opportunities_on(request):
        return render(
            request,
            "web/feature_off.html",
            {
                "reason": _(
                    "Opportunity management is off. An administrator can switch it on in Company "
                    "settings, tab Customers/suppliers."
                )
            },
            status=404,
        )
    return None


@login_required
@crm_required
def pipeline_board(request):
    if refused := _opportunities_required(request):
        return refused
    followed_by = request.GET.get("followed_by")
    followed_by = int(followed_by) if followed_by and followed_by.isdigit() else None
    return render(
        request,
        "web/folders/pipeline.html",
        {
            "columns": pipeline(request.user, followed_by=followed_by),
            "stages": Stage.objects.all(),
            "users": User.objects.filter(is_active=True),
            "followed_by": followed_by,
            "forecast": forecast(request.user, followed_by=followed_by),
        },
    )


@login_required
@crm_required
@require_POST
def pipeline_move(request, pk):
    """Move an opportunity to another stage (drag on the board, or its select)."""
    if refused := _opportunities_required(request):
        return refused
    folder = access_folder(request.user, pk)
    try:
        stage = Stage.objects.get(pk=int(request.POST.get("stage", "")))
        action_services.move_to_stage(acting_user=request.user, folder=folder, stage=stage)
    except (Stage.DoesNotExist, ValueError):
        messages.error(request, _("Choose a stage of the pipeline."))
        status = 400
    except PermissionDenied as e:
        messages.error(request, e.message)
        status = 403
    else:
        status = 200
    if request.htmx:
        return render(request, "web/folders/_move_result.html", {"folder": folder}, status=status)
    return redirect("pipeline")


@login_required
@crm_required
@require_POST
def opportunity_status(request, pk):
    folder = access_folder(request.user, pk)
    try:
        action_services.set_opportunity_status(
            acting_user=request.user,
            folder=folder,
            status=request.POST.get("status", ""),
            lost_reason=request.POST.get("lost_reason", ""),
        )
    except (SuiviError, ValueError) as e:
        messages.error(request, getattr(e, "message", str(e)))
    return redirect("folder_edit", pk=pk)
