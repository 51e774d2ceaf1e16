"""Linked actions: the *Linked-actions folder settings* screen of a layout (S12), the linked-doc
search of the action form (S16), and the files of an action (its *Attachments* tab)."""

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from suivi.accounts.queries import followed_by_choices
from suivi.activities import attachments
from suivi.activities.models import ActionType, Folder
from suivi.activities.queries import access_action
from suivi.core.company import company_settings
from suivi.core.errors import InvalidInput, SuiviError
from suivi.sales import links, queries, rules
from suivi.sales.models import EventKind

from ..linked_forms import AttachmentForm, LinkedActionRuleForm
from ..outcomes import after_command, show_on_form
from .documents import sales_page

# --- the rules screen (S12) ----------------------------------------------------------------------


def _rule_forms(request, layout):
    stored = rules.rules_of(layout)
    settings_obj = company_settings(request)
    forms = {}
    for kind, rule in stored.items():
        keep = rule.follower if rule.follower_id else None
        forms[kind] = LinkedActionRuleForm(
            request.POST or None,
            instance=rule,
            prefix=kind,
            initial={"version": rule.version} if rule.pk else {},
            action_types=ActionType.objects.filter(active=True)
            | ActionType.objects.filter(pk=rule.action_type_id or 0),
            folders=Folder.objects.filter(party=None, archived=False).order_by("name"),
            followers=followed_by_choices(settings_obj, keep=keep),
        )
    return forms


@sales_page
def linked_action_rules(request, pk):
    """The two tabs, *Print* and *E-mail*, of a layout's linked-action rules; one Save saves both
    and reopens the page on the tab that was open (``?tab=email``). A user who may not change
    them reads them, disabled."""
    layout = queries.access_layout(request.user, pk)
    forms = _rule_forms(request, layout)
    can_edit = queries.may_configure(request.user)
    if not can_edit:
        for form in forms.values():
            for field in form.fields.values():
                field.disabled = True
    tab = request.POST.get("tab") or request.GET.get("tab")
    tab = tab if tab in EventKind.values else EventKind.values[0]
    status = 200
    if request.method == "POST":
        if all(form.is_valid() for form in forms.values()):
            try:
                with transaction.atomic():  # both tabs or neither
                    for kind, form in forms.items():
                        values = {k: v for k, v in form.cleaned_data.items() if k != "version"}
                        if values.get("due_in_days") is None:
                            values["due_in_days"] = 0
                        try:
                            rules.save_rule(
                                acting_user=request.user,
                                layout=layout,
                                kind=kind,
                                values=values,
                                expected_version=form.cleaned_data.get("version"),
                            )
                        except SuiviError as e:
                            status = show_on_form(form, e)
                            raise
            except SuiviError:
                pass
            else:
                messages.success(request, _("Linked-action rules saved."))
                return redirect(reverse("linked_action_rules", args=[layout.pk]) + f"?tab={tab}")
        status = status if status != 200 else 400
    return render(
        request,
        "web/linked/rules.html",
        {
            "layout": layout,
            "tabs": [(kind, EventKind(kind).label, forms[kind]) for kind in EventKind.values],
            "tab": tab,
            "can_edit": can_edit,
            "crm_enabled": company_settings(request).crm_enabled,
        },
        status=status,
    )


# --- the linked-doc search (S16) -----------------------------------------------------------------


def document_search(request):
    """HTMX: documents matching the linked-doc search of the action form, as picker options."""
    search = links.DocumentSearch.from_params(request.GET)
    documents = [] if search.empty else links.search_documents(request.user, search)
    return render(request, "web/linked/_document_options.html", {"documents": documents, "search": search})


# --- attachments ---------------------------------------------------------------------------------


def _back(pk):
    return reverse("action_detail", args=[pk]) + "#panel-attachments"


@csrf_exempt  # checked below, once the size is known: CSRF's check would read the whole body first
@require_POST
def attachment_upload(request, pk):
    """Attach a file to an action. A body larger than the limit is refused from its
    Content-Length, before anything is read (nothing changes, so no CSRF check is needed yet)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > attachments.max_bytes() + 64 * 1024:
        access_action(request.user, pk)
        messages.error(request, attachments.too_large_message())
        return redirect(_back(pk))
    return _upload(request, pk)


@csrf_protect
def _upload(request, pk):
    action = access_action(request.user, pk)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a file to attach."))
        return redirect(_back(pk))
    upload = form.cleaned_data["file"]
    try:
        attachments.add_attachment(
            acting_user=request.user, action=action, name=upload.name, content=upload, size=upload.size
        )
    except InvalidInput as e:
        messages.error(request, " ".join(e.errors.values()))
        return redirect(_back(pk))
    except SuiviError as e:
        return after_command(request, e, _back(pk))
    messages.success(request, _("File attached."))
    return redirect(_back(pk))


def attachment_download(request, pk, attachment_pk):
    return attachments.download(attachments.access_attachment(request.user, pk, attachment_pk))


@require_POST
def attachment_delete(request, pk, attachment_pk):
    attachment = attachments.access_attachment(request.user, pk, attachment_pk)
    try:
        attachments.delete_attachment(acting_user=request.user, attachment=attachment)
    except SuiviError as e:
        return after_command(request, e, _back(pk))
    messages.success(request, _("Attachment deleted."))
    return redirect(_back(pk))
