"""CRM action pages: list with filters and expression search, the action form (classic or tabs,
S4/S5), status changes, bulk reassign and close."""

from datetime import UTC, datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from suivi.accounts.models import User
from suivi.accounts.queries import followed_by_choices
from suivi.activities import occurrences, recurrence
from suivi.activities import services as action_services
from suivi.activities.attachments import attachments_of, max_bytes
from suivi.activities.models import ACTION_TRANSITIONS, Action, ActionStatus, ActionType, Folder
from suivi.activities.queries import (
    SORTS,
    ActionFilters,
    access_action,
    action_page,
    action_search,
    folder_choices,
    visible_actions,
    with_action_relations,
)
from suivi.core.audit import history
from suivi.core.company import company_settings
from suivi.core.counts import capped_count
from suivi.core.errors import InvalidInput, SuiviError
from suivi.core.expressions import ExpressionError
from suivi.core.gates import refusal
from suivi.core.models import CrmLevel
from suivi.lib.ids import parse_id, parse_ids
from suivi.parties.models import Contact
from suivi.parties.queries import access_party
from suivi.sales import links
from suivi.sales.links import linked_document as linked_document_of
from suivi.sales.queries import access_document, journals

from ..forms import ActionForm
from ..outcomes import after_command, show_on_form, status_of

# Columns of the list, in order; those with a key sort (see activities.queries.SORTS).
COLUMNS = [
    ("when", gettext_lazy("When")),
    ("", gettext_lazy("Type")),
    ("subject", gettext_lazy("Subject")),
    ("", gettext_lazy("Party")),
    ("", gettext_lazy("Folder")),
    ("", gettext_lazy("Followed by")),
    ("status", gettext_lazy("Status")),
]


def action_list_page(request):
    """The action list. Without any parameter it opens on my open actions, overdue first; the
    search box takes plain words or an expression."""
    if not request.GET:
        return redirect(f"{reverse('action_list')}?followed_by={request.user.pk}&status=todo&sort=when")
    filters = ActionFilters.from_params(request.GET)
    sort = request.GET.get("sort", "-when")
    sort = sort if sort in SORTS else "-when"
    query_error = None
    count, more = 0, False
    try:
        qs, count_cap = action_search(request.user, filters)
        page = action_page(
            with_action_relations(qs),
            request.GET.get("after", ""),
            sort=sort,
            before=request.GET.get("before", ""),
            number=parse_id(request.GET.get("page")) or 1,
        )
        count, more = capped_count(qs, count_cap)
    except ExpressionError as e:
        query_error = e.message
        page = action_page(Action.objects.none())
    params = request.GET.copy()
    for name in ("after", "before", "page"):
        params.pop(name, None)
    without_sort = params.copy()
    without_sort.pop("sort", None)
    return render(
        request,
        "web/actions/list.html",
        {
            "page": page,
            "filters": filters,
            "query_error": query_error,
            "query": params.urlencode(),
            "query_without_sort": without_sort.urlencode(),
            "sort": sort,
            "columns": COLUMNS,
            "count": count,
            "count_capped": more,
            "mine": filters.followed_by == request.user.pk and filters.status == "todo",
            "types": ActionType.objects.all(),
            "users": User.objects.filter(is_active=True),
            "reassign_to": followed_by_choices(company_settings(request)),
            "statuses": ActionStatus.choices,
        },
        status=400 if query_error else 200,
    )


def action_fields(request):
    """The fields an action expression may name, for the search box's completion (djangoql's
    introspection format; the allow-list is the schema's)."""
    from djangoql.serializers import DjangoQLSchemaSerializer

    from suivi.activities.queries import ActionSchema

    return JsonResponse(DjangoQLSchemaSerializer().serialize(ActionSchema(Action)))


def _form(request, instance=None, party=None):
    """The action form, with the contacts and folders of its party.

    The party is the posted one (the picker's ``party``), else the one in the URL, else the
    action's own; it is read through ``access_party`` like any other.
    """
    settings_obj = company_settings(request)
    keep = instance.followed_by if instance and instance.pk else None
    if request.method == "POST":
        posted = request.POST.get("party", "")
        party = access_party(request.user, posted) if posted else None
    elif party is None and instance is not None:
        party = instance.party
    party_id = party.pk if party else None
    choices = folder_choices(party_id)
    folders = Folder.objects.filter(pk__in=[f.pk for f in choices])
    if instance and instance.folder_id:
        folders = folders | Folder.objects.filter(pk=instance.folder_id)
    contacts = Contact.objects.filter(affiliations__party_id=party_id) if party_id else Contact.objects.none()
    if instance is None or not instance.pk:
        initial = {
            "followed_by": request.user.pk
            if followed_by_choices(settings_obj).filter(pk=request.user.pk).exists()
            else None,
            "action_type": ActionType.objects.filter(active=True).values_list("pk", flat=True).first(),
        }
        if request.method == "GET":  # the agenda's "More fields" link: the slot it was on
            for name in ("start", "end"):
                moment = _local_moment(request.GET.get(name, ""))
                if moment is not None:
                    initial[name] = moment
            if "end" in initial and ("start" not in initial or initial["end"] < initial["start"]):
                del initial["end"]
    else:
        initial = {"version": instance.version}
    form = ActionForm(
        request.POST or None,
        instance=instance,
        initial=initial,
        followed_by_users=followed_by_choices(settings_obj, keep=keep),
        folders=folders,
        contacts=contacts,
        billing=refusal(settings_obj, CrmLevel.FULL) is None,
        agenda=refusal(settings_obj, CrmLevel.FULL) is None,
    )
    form.folder_choices = choices  # the picker's order (party folders first), read once
    return form, party


def _local_moment(raw: str) -> datetime | None:
    """A moment of a URL as the agenda writes it (``2027-03-01T09:00``, local time), or None when
    it is not one (or is outside the years 1900 to 2999)."""
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    if not 1900 <= moment.year <= 2999:
        return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _values(form, party):
    data = form.cleaned_data
    values = {
        name: data[name]
        for name in form.Meta.fields
        if name not in ("contacts",) and name in data and not form.fields[name].disabled
    }
    values["party"] = party
    for name in ("subject", "description", "invoice_text"):
        if name in form.fields:
            values[name] = values.get(name) or ""
    rule = form.rrule(values.get("start"))
    if rule is not None:
        values["rrule"] = rule
    return values, list(data.get("contacts") or [])


AGENDA_ERROR_FIELDS = {"rrule": "repeat_freq", "reminders": "reminder_1_amount"}


def _on_agenda_fields(form, error):
    """The service's messages on the recurrence and reminders beside the controls that set them."""
    errors = getattr(error, "errors", None)
    if not errors or not form.agenda:
        return error
    moved = {AGENDA_ERROR_FIELDS.get(field, field): message for field, message in errors.items()}
    return InvalidInput(moved)


def _agenda_extras(form) -> dict:
    """M2's participants and reminders, for the service (nothing at M1: kept as they are)."""
    if not form.agenda:
        return {}
    return {"participants": list(form.cleaned_data.get("participants") or []), "reminders": form.reminders()}


def _linked_document_posted(request, action):
    """The document the form links (S16): (document or None, error message or None). An unknown
    document, or one the user may not see, is a message on the form; nothing is saved."""
    if request.POST.get("linked_document_clear"):
        return None, None
    raw = request.POST.get("linked_document", "")
    if not raw:
        return None, None
    try:
        return access_document(request.user, raw), None
    except Http404:
        return None, _("This document does not exist or you may not see it: search it again.")


def _render_form(
    request, form, action, party, status=200, linked_document=None, linked_document_error=None, occurrence=None
):
    settings_obj = company_settings(request)
    if linked_document is None and action is not None and request.method != "POST":
        linked_document = linked_document_of(request.user, action)
    return render(
        request,
        "web/actions/form.html",
        {
            "linked_document": linked_document,
            "linked_document_error": linked_document_error,
            "document_journals": journals(request.user).order_by("code"),
            "attachments": attachments_of(request.user, action) if action else [],
            "attachment_max": max_bytes(),
            "form": form,
            "action": action,
            "layout": settings_obj.action_form_layout,
            "billing": "billable" in form.fields,
            "billing_tab": "billable" in form.fields
            and settings_obj.action_form_layout == "tabs"
            and not settings_obj.billing_in_main_tab,
            "party": party,
            "folders": form.folder_choices,
            "agenda": form.agenda,
            "occurrence": occurrence.isoformat() if occurrence else "",
            "recurring": bool(action and (action.rrule or action.series_id)),
            "scope": request.POST.get("scope", "this") if request.method == "POST" else "this",
            "history": history(action, 30) if action else [],
            # The status buttons change the whole series: not offered on one occurrence's page.
            "next_statuses": [(s, ActionStatus(s).label) for s in sorted(ACTION_TRANSITIONS.get(action.status, ()))]
            if action and not occurrence
            else [],
        },
        status=status,
    )


def action_create(request):
    party = access_party(request.user, request.GET["party"]) if request.GET.get("party") else None
    form, party = _form(request, None, party)
    status = 200
    document, document_error = None, None
    if request.method == "POST":
        document, document_error = _linked_document_posted(request, None)
        if form.is_valid() and document_error is None:
            values, contacts = _values(form, party)
            try:
                action = action_services.create_action(
                    acting_user=request.user, values=values, contacts=contacts, **_agenda_extras(form)
                )
            except InvalidInput as e:
                for field, message in _on_agenda_fields(form, e).errors.items():
                    form.add_error(field if field in form.fields else None, message)
            else:
                if document is not None:
                    links.set_linked_document(acting_user=request.user, action=action, document=document)
                messages.success(request, _("Action recorded."))
                return redirect("action_detail", pk=action.pk)
        status = 400
    return _render_form(request, form, None, party, status, document, document_error)


def _moment(raw: str) -> datetime | None:
    """An ISO 8601 moment of a URL or a form (UTC when it says no offset), or None."""
    try:
        moment = datetime.fromisoformat(raw.strip().replace(" ", "+"))
        if timezone.is_naive(moment):
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _occurrence(request, action):
    """The occurrence of a recurring ``action`` the page shows (``?occurrence=<ISO original
    start>``, or the posted one): (original start, start, end), or None for the action itself.
    A start that is not one of its occurrences is a 404."""
    raw = request.POST.get("occurrence") if request.method == "POST" else request.GET.get("occurrence")
    if not raw or not action.rrule:
        return None
    moment = _moment(raw)
    try:
        found = moment is not None and recurrence.occurrence_at(action, moment)
    except (ValueError, OverflowError):
        found = False
    if not found:
        raise Http404(_("This occurrence does not exist."))
    duration = recurrence.duration_of(action)
    return moment, moment, (moment + duration) if action.end else None


def action_detail(request, pk):
    action = access_action(request.user, pk)
    occurrence = _occurrence(request, action)
    if occurrence is not None and request.method != "POST":
        # The form shows that occurrence's times; the rest is the series'.
        action.start, action.end = occurrence[1], occurrence[2]
    form, party = _form(request, action)
    status = 200
    document, document_error = None, None
    if request.method == "POST":
        document, document_error = _linked_document_posted(request, action)
        if form.is_valid() and document_error is None:
            values, contacts = _values(form, party)
            try:
                if occurrence is not None:
                    changed = occurrences.change_occurrence(
                        acting_user=request.user,
                        action=action,
                        original_start=occurrence[0],
                        scope=request.POST.get("scope", ""),
                        values=values,
                        contacts=contacts,
                        expected_version=form.cleaned_data.get("version"),
                        **_agenda_extras(form),
                    )
                else:
                    changed = action_services.update_action(
                        acting_user=request.user,
                        action=action,
                        values=values,
                        contacts=contacts,
                        expected_version=form.cleaned_data.get("version"),
                        **_agenda_extras(form),
                    )
            except SuiviError as e:
                status = show_on_form(form, _on_agenda_fields(form, e))
            else:
                links.set_linked_document(acting_user=request.user, action=changed, document=document)
                messages.success(request, _("Changes saved."))
                return redirect("action_detail", pk=changed.pk)
        status = status if status != 200 else 400
    return _render_form(
        request, form, action, party, status, document, document_error, occurrence=occurrence and occurrence[0]
    )


def _delete_refused(request, message: str, back_url: str):
    """A deletion refused for what was posted: a page of its own (400) that says why."""
    return render(request, "web/refused.html", {"message": message, "back_url": back_url}, status=400)


@require_POST
def occurrence_delete(request, pk):
    """Delete an occurrence of a recurring action, the following ones or the whole series (M2);
    who may is the service's (its follower, its creator or a manager).

    The series' own page (no ``occurrence``) deletes the whole series only; an occurrence's page
    chooses the scope. Nothing is deleted before the user confirmed (``confirm``): the first
    post shows what would be deleted. A plain action, or a moment that is not one of the series'
    occurrences, is refused (400) with a message."""
    action = access_action(request.user, pk)
    scope = request.POST.get("scope", "")
    raw = request.POST.get("occurrence", "").strip()
    back_url = reverse("action_detail", args=[pk])
    if not (action.rrule or action.series_id):
        return _delete_refused(request, _("This action does not repeat: it has no occurrences to delete."), back_url)
    if scope not in occurrences.OCCURRENCE_SCOPES:
        return _delete_refused(
            request, _("Choose this occurrence, this and the following ones, or the whole series."), back_url
        )
    if action.series_id:
        moment = action.recurrence_id
    elif raw:
        moment = _moment(raw)
        if moment is None:
            return _delete_refused(request, _("This occurrence does not exist."), back_url)
        back_url = f"{back_url}?{urlencode({'occurrence': moment.isoformat()})}"
    elif scope == "all":
        moment = action.start
    else:
        return _delete_refused(request, _("Choose the occurrence to delete."), back_url)
    if moment is None:
        return _delete_refused(request, _("Choose the occurrence to delete."), back_url)
    if not request.POST.get("confirm"):
        return _delete_confirmation(request, action, moment, scope, raw, back_url)
    try:
        occurrences.delete_occurrence(acting_user=request.user, action=action, original_start=moment, scope=scope)
    except SuiviError as e:
        if status_of(e) == 400:
            return _delete_refused(request, e.message, back_url)
        return after_command(request, e, back_url)
    messages.success(request, _("Deleted."))
    if Action.objects.filter(pk=pk).exists():
        return redirect("action_detail", pk=pk)
    return redirect("action_list")


def _delete_confirmation(request, action, moment, scope, raw, back_url):
    """The confirmation step of a deletion: what would be deleted, and the button that does it."""
    master = action.series if action.series_id else action
    when = timezone.localtime(moment).strftime("%d/%m/%Y %H:%M") if scope != "all" else ""
    if scope == "this":
        what = _("The occurrence of %(when)s of “%(subject)s” will be deleted.")
    elif scope == "following":
        what = _("The occurrences of “%(subject)s” from %(when)s on will be deleted.")
    else:
        what = _("The whole series “%(subject)s” will be deleted: all its occurrences, and their attachments.")
    return render(
        request,
        "web/actions/delete_confirm.html",
        {
            "action": action,
            "message": what % {"when": when, "subject": master.subject},
            "occurrence": raw,
            "scope": scope,
            "back_url": back_url,
        },
    )


def action_party_fields(request):
    """HTMX: the contacts and folder fields for the party just chosen."""
    party = access_party(request.user, request.GET.get("party"))
    form, party = _form(request, None, party)
    return render(
        request,
        "web/actions/_party_fields.html",
        {
            "form": form,
            "party": party,
            "folders": form.folder_choices,
            "selected_folder": request.GET.get("folder", ""),
        },
    )


@require_POST
def action_status(request, pk):
    action = access_action(request.user, pk)
    try:
        action_services.set_action_status(
            acting_user=request.user, action=action, status=request.POST.get("status", "")
        )
    except SuiviError as e:
        return after_command(request, e, reverse("action_detail", args=[pk]))
    except ValueError:
        return after_command(request, SuiviError(_("Choose a status.")), reverse("action_detail", args=[pk]))
    return after_command(request, None, reverse("action_detail", args=[pk]))


@require_POST
def action_bulk(request):
    ids = parse_ids(request.POST.getlist("ids"))
    actions = list(visible_actions(request.user).filter(pk__in=ids))
    try:
        if request.POST.get("do") == "close":
            n = action_services.bulk_close(acting_user=request.user, actions=actions)
            messages.success(request, _("%(n)s actions closed.") % {"n": n})
        elif request.POST.get("do") == "reassign":
            try:
                user = User.objects.get(pk=parse_id(request.POST.get("followed_by")))
            except User.DoesNotExist as e:
                raise Http404 from e
            n = action_services.bulk_reassign(acting_user=request.user, actions=actions, followed_by=user)
            messages.success(request, _("%(n)s actions reassigned to %(user)s.") % {"n": n, "user": user})
    except SuiviError as e:
        messages.error(request, e.message)
    target = request.POST.get("next", "")
    return redirect(target if target.startswith("/crm/") else "action_list")
