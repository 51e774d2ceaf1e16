"""The import wizard, for parties or for contacts of existing parties: upload, map columns and dry
run, then import.

The views only store the upload and queue the worker's steps (``suivi.parties.jobs``); the page
polls the import's progress with HTMX while a step runs. Who may import is the service's rule.
"""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from suivi.parties import importing
from suivi.parties.jobs import import_step
from suivi.parties.models import ImportHolds, ImportStatus, PartyImport

from ..forms import ImportUploadForm

BUSY = (ImportStatus.UPLOADED, ImportStatus.CHECKING, ImportStatus.APPLYING)


class UploadForm(ImportUploadForm):
    holds = forms.ChoiceField(
        label=gettext_lazy("The file holds"),
        choices=ImportHolds.choices,
        initial=ImportHolds.PARTIES,
        widget=forms.RadioSelect,
        required=False,  # parties, as before the choice existed
    )


def _may_import(request) -> None:
    # Shows the refusal before any upload is read; the service decides again on every step.
    if not request.user.is_manager:
        raise PermissionDenied(_("Only managers and administrators may import parties and contacts."))


@login_required
def import_upload(request):
    _may_import(request)
    status = 200
    if request.method == "POST":
        # Refuse an oversized upload from its announced length, before reading the body.
        try:
            importing.check_size(int(request.META.get("CONTENT_LENGTH") or 0) - 4096)
        except (importing.ImportFileError, ValueError) as e:
            return render(request, "web/imports/upload.html", {"form": UploadForm(), "refusal": str(e)}, status=413)
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                party_import = importing.create_import(
                    acting_user=request.user,
                    upload=upload,
                    encoding=form.cleaned_data["encoding"],
                    holds=form.cleaned_data["holds"] or ImportHolds.PARTIES,
                )
            except importing.ImportFileError as e:
                form.add_error("file", str(e))
            else:
                import_step(party_import.pk)
                return redirect("party_import_map", pk=party_import.pk)
        status = 400
    else:
        holds = request.GET.get("holds")
        form = UploadForm(initial={"holds": holds if holds in ImportHolds.values else ImportHolds.PARTIES})
    return render(request, "web/imports/upload.html", {"form": form}, status=status)


def _load(request, pk) -> PartyImport:
    try:
        return PartyImport.objects.get(pk=pk, created_by=request.user)
    except (PartyImport.DoesNotExist, ValueError) as e:
        raise Http404 from e


@login_required
def import_map(request, pk):
    """Map columns and show the dry run; POST ``check`` runs the dry run, ``apply`` imports.
    An HTMX GET answers the progress of the step under way."""
    _may_import(request)
    party_import = _load(request, pk)
    problems: list[str] = []
    if request.method == "POST":
        if request.POST.get("apply"):
            if importing.start_apply(acting_user=request.user, party_import=party_import):
                import_step(party_import.pk)
            return redirect("party_import_map", pk=party_import.pk)
        mapping = {}
        for name in importing.fields_for(party_import.holds):
            value = request.POST.get(f"map_{name}", "")
            if value.isdigit() and len(value) < 6:
                mapping[name] = int(value)
        problems = importing.start_check(
            acting_user=request.user,
            party_import=party_import,
            mapping=mapping,
            update_existing=bool(request.POST.get("update_existing")),
        )
        if not problems:
            import_step(party_import.pk)
            return redirect("party_import_map", pk=party_import.pk)
        party_import.mapping = mapping
    if request.htmx and request.method == "GET":
        response = render(request, "web/imports/_progress.html", {"imp": party_import})
        if party_import.status not in BUSY:
            response["HX-Refresh"] = "true"  # the step is over: show its result
        return response
    mapping = {k: int(v) for k, v in party_import.mapping.items()}
    report = party_import.report or {}
    fields = importing.fields_for(party_import.holds)
    return render(
        request,
        "web/imports/map.html",
        {
            "imp": party_import,
            "busy": party_import.status in BUSY,
            "headers": list(enumerate(party_import.headers)),
            "fields": [(name, label, mapping.get(name)) for name, (label, _s) in fields.items()],
            "contacts": party_import.holds == ImportHolds.CONTACTS,
            "preview": party_import.preview,
            "problems": problems,
            "report": report,
            "rejected_count": report.get("rejected_count", len(report.get("rejected", []))),
            "required": importing.required_for(party_import.holds),
        },
        status=400 if problems else 200,
    )
