"""The party import wizard: upload, map columns and dry run, then import."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from suivi.core.gates import company_settings
from suivi.parties import importing
from suivi.parties.models import ImportStatus, PartyImport

from ..forms import ImportUploadForm


def _manager(request):
    if not request.user.is_manager:
        raise PermissionDenied(_("Only managers and administrators may import parties."))


@login_required
def import_upload(request):
    _manager(request)
    status = 200
    if request.method == "POST":
        # Refuse an oversized upload from its announced length, before reading the body.
        try:
            importing.check_size(int(request.META.get("CONTENT_LENGTH") or 0) - 4096)
        except importing.ImportFileError as e:
            return render(
                request, "web/imports/upload.html", {"form": ImportUploadForm(), "refusal": str(e)}, status=413
            )
        form = ImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                importing.check_size(upload.size)
                data = upload.read()
                table = importing.read_table(data, upload.name, form.cleaned_data["encoding"])
            except importing.ImportFileError as e:
                form.add_error("file", str(e))
            else:
                party_import = PartyImport(
                    created_by=request.user,
                    filename=upload.name[:255],
                    encoding=form.cleaned_data["encoding"],
                    mapping={k: v for k, v in importing.guess_mapping(table.headers).items()},
                )
                party_import.file.save(f"{party_import.id}.bin", ContentFile(data), save=False)
                party_import.save()
                return redirect("party_import_map", pk=party_import.pk)
        status = 400
    else:
        form = ImportUploadForm()
    return render(request, "web/imports/upload.html", {"form": form}, status=status)


def _load(request, pk):
    try:
        party_import = PartyImport.objects.get(pk=pk, created_by=request.user)
    except (PartyImport.DoesNotExist, ValueError) as e:
        raise Http404 from e
    with party_import.file.open("rb") as f:
        table = importing.read_table(f.read(), party_import.filename, party_import.encoding)
    return party_import, table


@login_required
def import_map(request, pk):
    """Map columns and show the dry run; POST with ``apply`` imports."""
    _manager(request)
    party_import, table = _load(request, pk)
    country = company_settings(request).country
    problems = []
    if request.method == "POST" and party_import.status != ImportStatus.APPLIED:
        mapping = {}
        for name in importing.FIELDS:
            value = request.POST.get(f"map_{name}", "")
            if value.isdigit():
                mapping[name] = int(value)
        party_import.mapping = mapping
        problems = importing.check_mapping(mapping, table.headers)
        if not problems:
            if request.POST.get("apply"):
                report = importing.apply_import(
                    acting_user=request.user, party_import=party_import, table=table, default_country=country
                )
                messages.success(request, _("%(count)s parties imported.") % {"count": report.created})
                return redirect("party_import_map", pk=party_import.pk)
            report = importing.dry_run(table, mapping, country)
            party_import.report = report.as_dict()
            party_import.status = ImportStatus.CHECKED
        party_import.save(update_fields=["mapping", "report", "status"])
    mapping = {k: int(v) for k, v in party_import.mapping.items()}
    return render(
        request,
        "web/imports/map.html",
        {
            "imp": party_import,
            "headers": list(enumerate(table.headers)),
            "fields": [(name, label, mapping.get(name)) for name, (label, _s) in importing.FIELDS.items()],
            "preview": table.rows[:5],
            "row_count": len(table.rows),
            "problems": problems,
            "report": party_import.report,
            "required": importing.REQUIRED,
        },
        status=400 if problems else 200,
    )
