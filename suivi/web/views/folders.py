"""Folders (S10, S11) and the opportunity pipeline (S6)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from suivi.accounts.models import User
from suivi.accounts.queries import followed_by_choices
from suivi.activities import services as action_services
from suivi.activities.models import Stage
from suivi.activities.queries import (
    CARDS_PER_STAGE,
    access_folder,
    folder_choices,
    folder_list,
    forecast,
    pipeline,
    stage_cards,
    stage_count,
    visible_actions,
)
from suivi.activities.services import may_change_folder
from suivi.core.audit import history
from suivi.core.company import company_settings
from suivi.core.errors import LATEST, InvalidInput, SuiviError
from suivi.lib.ids import parse_id
from suivi.lib.unicode import strip_unstorable
from suivi.parties.queries import access_party

from ..forms import FolderForm
from ..outcomes import after_command, show_on_form, status_of
from ..pagination import page_of


def _opportunities_on(request) -> bool:
    return company_settings(request).opportunities_enabled


def folder_list_page(request):
    party_id = request.GET.get("party")
    party = access_party(request.user, party_id) if party_id else None
    q = strip_unstorable(request.GET.get("q", ""))[:100]
    folders = folder_list(request.user, q=q, party_id=party.pk if party else None)
    page = page_of(folders, request.GET.get("page"), 50)
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


def folder_create(request):
    party_id = request.POST.get("party") or request.GET.get("party")
    party = access_party(request.user, party_id) if party_id else None
    form = FolderForm(
        request.POST or None,
        initial={"party": party.pk if party else None, "followed_by": request.user.pk},
        opportunities=_opportunities_on(request),
        followed_by_users=followed_by_choices(company_settings(request)),
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                folder = action_services.create_folder(
                    acting_user=request.user, values={**_folder_values(form), "party": party}
                )
            except SuiviError as e:
                status = show_on_form(form, e)
            else:
                messages.success(request, _("Folder “%(name)s” created.") % {"name": folder})
                return redirect("folder_list")
        status = status if status != 200 else 400
    return render(request, "web/folders/form.html", {"form": form, "folder": None, "party": party}, status=status)


def folder_edit(request, pk):
    folder = access_folder(request.user, pk)
    form = FolderForm(
        request.POST or None,
        instance=folder,
        initial={"version": folder.version},
        opportunities=_opportunities_on(request),
        followed_by_users=followed_by_choices(company_settings(request), keep=folder.followed_by),
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
            except SuiviError as e:
                status = show_on_form(form, e)
            else:
                messages.success(request, _("Changes saved."))
                return redirect("folder_list")
        status = status if status != 200 else 400
    return render(
        request,
        "web/folders/form.html",
        {
            "form": form,
            "folder": folder,
            "party": folder.party,
            "history": history(folder, 20),
            "can_change": may_change_folder(request.user, folder),
        },
        status=status,
    )


def folder_delete(request, pk):
    """Deleting a folder that holds actions asks where they go; nothing is lost silently."""
    folder = access_folder(request.user, pk)
    count = visible_actions(request.user).filter(folder=folder).count()
    targets = [f for f in folder_choices(folder.party_id) if f.pk != folder.pk]
    error = None
    status = 200
    if request.method == "POST":
        choice = request.POST.get("actions", "")
        move_to = None
        if chosen := parse_id(choice):
            move_to = next((f for f in targets if f.pk == chosen), None)
        try:
            action_services.delete_folder(
                acting_user=request.user,
                folder=folder,
                move_to=move_to,
                detach=choice == "detach",
                expected_version=request.POST.get("version"),
            )
        except SuiviError as e:
            error = e.message
            status = status_of(e)
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
        status=status,
    )


@require_POST
def folder_quick_create(request):
    """HTMX, from the new-action form: a folder for the chosen party, made in place (S11)."""
    party = access_party(request.user, request.POST.get("party"))
    name = request.POST.get("new_folder_name", "").strip()
    error = None
    folder = None
    # The creator follows the new folder when the company's Followed-by expression (S9) offers them.
    follower = (
        request.user if followed_by_choices(company_settings(request)).filter(pk=request.user.pk).exists() else None
    )
    try:
        folder = action_services.create_folder(
            acting_user=request.user, values={"name": name, "party": party, "followed_by": follower}
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


def pipeline_board(request):
    followed_by = parse_id(request.GET.get("followed_by"))
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


def pipeline_column(request, pk):
    """More cards of one column of the board, after the ``offset`` first ones."""
    stage = get_object_or_404(Stage, pk=pk)
    followed_by = parse_id(request.GET.get("followed_by"))
    offset = min(max(parse_id(request.GET.get("offset")) or 0, 0), 100_000)
    cards = stage_cards(request.user, stage, followed_by=followed_by, offset=offset, limit=CARDS_PER_STAGE)
    return render(
        request,
        "web/folders/_cards.html",
        {
            "cards": cards,
            "more": max(0, stage_count(request.user, stage, followed_by=followed_by) - offset - len(cards)),
            "stage": stage,
            "next_offset": offset + CARDS_PER_STAGE,
            "followed_by": followed_by,
        },
    )


@require_POST
def pipeline_move(request, pk):
    """Move an opportunity to another stage (drag on the board, or its select)."""
    folder = access_folder(request.user, pk)
    error = None
    try:
        stage = Stage.objects.get(pk=int(request.POST.get("stage", "")))
        action_services.move_to_stage(acting_user=request.user, folder=folder, stage=stage)
    except (Stage.DoesNotExist, ValueError, OverflowError):
        error, status = _("Choose a stage of the pipeline."), 400
    except SuiviError as e:
        if not request.htmx:
            return after_command(request, e, reverse("pipeline"))
        error, status = e.message, status_of(e)
    else:
        status = 200
    if request.htmx:
        # HTMX swaps only successful answers by default: the board shows the refusal itself.
        return render(request, "web/folders/_move_result.html", {"folder": folder, "error": error}, status=status)
    return after_command(request, SuiviError(error) if error else None, reverse("pipeline"))


@require_POST
def opportunity_status(request, pk):
    folder = access_folder(request.user, pk)
    try:
        action_services.set_opportunity_status(
            acting_user=request.user,
            folder=folder,
            status=request.POST.get("status", ""),
            lost_reason=request.POST.get("lost_reason", ""),
            expected_version=request.POST.get("version") or LATEST,
        )
    except SuiviError as e:
        return after_command(request, e, reverse("folder_edit", args=[pk]))
    return after_command(request, None, reverse("folder_edit", args=[pk]))
