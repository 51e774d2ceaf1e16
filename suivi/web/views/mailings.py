"""E-mailing pages (issue 11): the list, a draft's form, the count and a sample of its recipients,
one recipient's preview, a test to oneself, sending with a confirmation, pause / resume / cancel,
the live progress (polled every 2 s while sending), the recipients with their states and their
export, the *unknown* ones to decide about; and the public unsubscribe page (RFC 8058).

Reads go through ``mailing_services.access_mailing`` and ``recipients_of``; every change is a
service of ``mailing_services`` (or ``mailing.unsubscribe``). Who may change an e-mailing (its
author or a manager) is the services' rule; the pages only hide the buttons of those who may not.
"""

import csv
import io
from collections.abc import Iterator
from functools import wraps

from django.contrib import messages
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from suivi.core.errors import InvalidInput, SuiviError
from suivi.lib.ids import parse_id
from suivi.lib.spreadsheet import csv_cell, xlsx_row
from suivi.mailing import mailing_services as services
from suivi.mailing import unsubscribe
from suivi.mailing.bounces import BOUNCED
from suivi.mailing.mailings import (
    MailingAttachment,
    MailingRecipient,
    MailingStatus,
    OptOutSource,
    RecipientStatus,
    Selection,
)
from suivi.parties.models import Contact
from suivi.parties.queries import ContactFilters, contact_list

from ..downloads import spreadsheet
from ..mailing_forms import AttachmentForm, MailingForm, UnknownForm, initial_of
from ..outcomes import after_command, show_on_form, status_of
from ..pagination import page_of

PAGE_SIZE = 50
RECIPIENTS_PAGE = 100
CONTACTS_FOUND = 20
POLL_SECONDS = 2
LIVE = (MailingStatus.SENDING, MailingStatus.SCHEDULED)


def mailing_page(view):
    """A refusal of a service raised outside a form is a page with its status, never a 500."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except SuiviError as e:
            return render(
                request,
                "web/refused.html",
                {"message": e.message, "back_url": reverse("mailing_list"), "forbidden": status_of(e) == 403},
                status=status_of(e),
            )

    return wrapper


def _detail_url(mailing) -> str:
    return reverse("mailing_detail", args=[mailing.pk])


# --- the list --------------------------------------------------------------------------------------------


@mailing_page
def mailing_list(request):
    page = page_of(services.visible_mailings(request.user), request.GET.get("page"), PAGE_SIZE)
    counts: dict[int, dict[str, int]] = {}
    ids = [m.pk for m in page]
    if ids:  # every mailing's recipients by state in one grouped count
        for mailing_id, status, n in (
            MailingRecipient.objects.filter(mailing_id__in=ids)
            .order_by()
            .values_list("mailing_id", "status")
            .annotate(n=Count("id"))
            .values_list("mailing_id", "status", "n")
        ):
            counts.setdefault(mailing_id, {})[status] = n
    rows = []
    for mailing in page:
        by_status = counts.get(mailing.pk, {})
        total = sum(by_status.values())
        waiting = by_status.get(RecipientStatus.PENDING, 0) + by_status.get(RecipientStatus.SENDING, 0)
        rows.append(
            {
                "mailing": mailing,
                "total": total,
                "sent": by_status.get(RecipientStatus.SENT, 0),
                "percent": round(100 * (total - waiting) / total) if total else 0,
            }
        )
    return render(request, "web/mailings/list.html", {"page": page, "rows": rows, "query": ""})


# --- the draft ---------------------------------------------------------------------------------------------


def _chosen_contacts(ids) -> list[Contact]:
    pks = sorted({pk for pk in (parse_id(i) for i in ids) if pk is not None})[: services.MAX_LIST_CONTACTS]
    return list(Contact.objects.filter(pk__in=pks).order_by("name_key", "id")) if pks else []


def _form_context(form, mailing, contact_ids) -> dict:
    return {
        "form": form,
        "mailing": mailing,
        "chosen": _chosen_contacts(contact_ids),
        "merge_fields": services.MERGE_FIELDS_HELP,
        "selection_fields": services.FIELDS_HELP,
        "contacts_found": [],
    }


def _values(form, request) -> dict:
    values = form.values(request.POST.getlist("contact_ids"))
    if not values.get("method"):
        values.pop("method")  # the user's or the company's default
    return values


@mailing_page
def mailing_create(request):
    form = MailingForm(request.POST or None, initial={"selection": Selection.EXPRESSION})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                mailing = services.create_mailing(acting_user=request.user, values=_values(form, request))
            except SuiviError as e:
                status = show_on_form(form, e)
            else:
                messages.success(request, _("E-mailing saved as a draft: check its recipients, then send it."))
                return redirect(_detail_url(mailing))
        else:
            status = 400
    contact_ids = request.POST.getlist("contact_ids") if request.method == "POST" else []
    return render(request, "web/mailings/form.html", _form_context(form, None, contact_ids), status=status)


@mailing_page
def mailing_edit(request, pk):
    mailing = services.access_mailing(request.user, pk, for_write=True)
    if mailing.status != MailingStatus.DRAFT:
        messages.error(request, _("This e-mailing was started: it can no longer be changed."))
        return redirect(_detail_url(mailing))
    form = MailingForm(request.POST or None, initial=initial_of(mailing))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.update_mailing(
                    acting_user=request.user,
                    mailing=mailing,
                    values=_values(form, request),
                    expected_version=form.cleaned_data.get("version"),
                )
            except SuiviError as e:
                status = show_on_form(form, e)
            else:
                messages.success(request, _("E-mailing saved."))
                return redirect(_detail_url(mailing))
        else:
            status = 400
    contact_ids = request.POST.getlist("contact_ids") if request.method == "POST" else mailing.contact_ids
    return render(request, "web/mailings/form.html", _form_context(form, mailing, contact_ids), status=status)


@require_POST
@mailing_page
def mailing_delete(request, pk):
    mailing = services.access_mailing(request.user, pk, for_write=True)
    try:
        services.delete_mailing(acting_user=request.user, mailing=mailing)
    except SuiviError as e:
        return after_command(request, e, _detail_url(mailing))
    messages.success(request, _("E-mailing deleted."))
    return redirect("mailing_list")


@mailing_page
def mailing_selection(request):
    """The count and a sample of the recipients of the selection typed in the form (not saved):
    the expression's problem in the user's language when it has one. An htmx request gets its
    answer as 200 (htmx swaps no 4xx); a plain request a 400."""
    params = request.GET
    try:
        preview = services.preview_selection(
            acting_user=request.user,
            selection=params.get("selection") or Selection.EXPRESSION,
            expression=params.get("expression", "")[:5000],
            contact_ids=params.getlist("contact_ids"),
            addresses=params.get("addresses", "")[:1_000_000],
        )
    except InvalidInput as e:
        status = 200 if request.htmx else 400
        return render(request, "web/mailings/_selection.html", {"errors": list(e.errors.values())}, status=status)
    return render(request, "web/mailings/_selection.html", {"preview": preview})


@mailing_page
def mailing_contacts(request):
    """Contacts to tick for a hand-made list: those already ticked, then those the words find."""
    chosen = _chosen_contacts(request.GET.getlist("contact_ids"))
    found: list[Contact] = []
    q = request.GET.get("contact_q", "").strip()
    if q:
        taken = {c.pk for c in chosen}
        found = [
            c
            for c in contact_list(request.user, ContactFilters(q=q[:200]))[: CONTACTS_FOUND + len(taken)]
            if c.pk not in taken
        ][:CONTACTS_FOUND]
    return render(
        request, "web/mailings/_contacts.html", {"chosen": chosen, "contacts_found": found, "searched": bool(q)}
    )


# --- one e-mailing ------------------------------------------------------------------------------------------


def _state_context(request, mailing) -> dict:
    progress = services.progress(mailing)
    return {
        "mailing": mailing,
        "progress": progress,
        "percent": round(progress.done_share * 100),
        "eta": _duration(progress.eta_seconds),
        "can_change": services.may_change(request.user, mailing),
        "live": mailing.status in LIVE,
        "poll": POLL_SECONDS,
    }


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return _("%(hours)s h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    if minutes:
        return _("%(minutes)s min %(seconds)02d s") % {"minutes": minutes, "seconds": secs}
    return _("%(seconds)s s") % {"seconds": secs}


@mailing_page
def mailing_detail(request, pk):
    mailing = services.access_mailing(request.user, pk)
    context = _state_context(request, mailing)
    if mailing.status == MailingStatus.DRAFT:
        try:
            context["preview"] = services.mailing_selection_preview(acting_user=request.user, mailing=mailing)
        except InvalidInput as e:
            context["selection_errors"] = list(e.errors.values())
    context["attachments"] = list(mailing.attachments.all())
    context["attachment_form"] = AttachmentForm()
    return render(request, "web/mailings/detail.html", context)


@mailing_page
def mailing_progress(request, pk):
    """The state block of an e-mailing alone: what the page polls every 2 s while it sends."""
    mailing = services.access_mailing(request.user, pk)
    return render(request, "web/mailings/_state.html", _state_context(request, mailing))


@mailing_page
def mailing_preview(request, pk):
    """The mail one recipient would receive (the first of the selection, or ``?contact=``):
    merged, sanitised, shown in a sandboxed frame that runs nothing."""
    mailing = services.access_mailing(request.user, pk)
    contact_id = parse_id(request.GET.get("contact"))
    context: dict = {"mailing": mailing}
    status = 200
    try:
        context["message"] = services.preview_message(acting_user=request.user, mailing=mailing, contact_id=contact_id)
    except InvalidInput as e:
        context["errors"] = list(e.errors.values())
        status = 400
    try:
        context["sample"] = services.mailing_selection_preview(acting_user=request.user, mailing=mailing).sample
    except InvalidInput:
        context["sample"] = []
    context["contact_id"] = contact_id
    return render(request, "web/mailings/preview.html", context, status=status)


@require_POST
@mailing_page
def mailing_test(request, pk):
    mailing = services.access_mailing(request.user, pk)
    try:
        failure = services.send_test(acting_user=request.user, mailing=mailing)
    except SuiviError as e:
        return after_command(request, e, _detail_url(mailing))
    if failure:
        messages.error(request, _("The test could not be sent: %(reason)s") % {"reason": failure})
    else:
        messages.success(request, _("A test was sent to %(address)s.") % {"address": request.user.email})
    return redirect(_detail_url(mailing))


@mailing_page
def mailing_send(request, pk):
    """Send a draft: a page that says to how many recipients, and its button (the version the
    user saw goes with it: a change meanwhile is a 409, a double click a refusal)."""
    mailing = services.access_mailing(request.user, pk, for_write=True)
    status = 200
    errors: list[str] = []
    if request.method == "POST":
        try:
            services.start(acting_user=request.user, mailing=mailing, expected_version=request.POST.get("version"))
        except InvalidInput as e:
            errors = list(e.errors.values())
            status = 400
        except SuiviError as e:
            return after_command(request, e, _detail_url(mailing))
        else:
            messages.success(request, _("The e-mailing is being sent."))
            return redirect(_detail_url(mailing))
    if mailing.status != MailingStatus.DRAFT and not errors:
        messages.error(request, _("This e-mailing was already started."))
        return redirect(_detail_url(mailing))
    try:
        preview = services.mailing_selection_preview(acting_user=request.user, mailing=mailing)
    except InvalidInput as e:
        preview = None
        errors += list(e.errors.values())
        status = 400
    return render(
        request, "web/mailings/send.html", {"mailing": mailing, "preview": preview, "errors": errors}, status=status
    )


def _command(service, done: str):
    @require_POST
    @mailing_page
    def view(request, pk):
        mailing = services.access_mailing(request.user, pk, for_write=True)
        try:
            service(acting_user=request.user, mailing=mailing)
        except SuiviError as e:
            return after_command(request, e, _detail_url(mailing))
        messages.success(request, done)
        return redirect(_detail_url(mailing))

    return view


def mailing_pause(request, pk):
    return _command(services.pause, _("The e-mailing is paused: no mail leaves until you resume it."))(request, pk)


def mailing_resume(request, pk):
    return _command(services.resume, _("The e-mailing goes on."))(request, pk)


def mailing_cancel(request, pk):
    return _command(services.cancel, _("The e-mailing is cancelled: the mails not sent yet will not be sent."))(
        request, pk
    )


@require_POST
@mailing_page
def mailing_unknown(request, pk):
    """Decide about the recipients whose mail may or may not have left: count them as sent, or
    send them again (all of them, or those ticked)."""
    mailing = services.access_mailing(request.user, pk, for_write=True)
    back = _detail_url(mailing)
    if request.POST.get("back") == "recipients":
        back = reverse("mailing_recipients", args=[mailing.pk]) + "?status=unknown"
    form = UnknownForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose what to do with these recipients."))
        return redirect(back)
    ids = request.POST.getlist("ids") or None
    try:
        changed = services.resolve_unknown(
            acting_user=request.user, mailing=mailing, resend=form.cleaned_data["do"] == "resend", recipient_ids=ids
        )
    except SuiviError as e:
        return after_command(request, e, back)
    if form.cleaned_data["do"] == "resend":
        text = ngettext(
            "%(count)s recipient will receive the mail again.",
            "%(count)s recipients will receive the mail again.",
            changed,
        )
    else:
        text = ngettext("%(count)s recipient counted as sent.", "%(count)s recipients counted as sent.", changed)
    messages.success(request, text % {"count": changed})
    return redirect(back)


# --- attachments ---------------------------------------------------------------------------------------------


@csrf_exempt  # checked below, once the size is known: CSRF's check would read the whole body first
@require_POST
def attachment_add(request, pk):
    """Attach a file to a draft. A body larger than every file together may be is refused from its
    Content-Length, before anything is read (nothing changes, so no CSRF check is needed yet)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > services.MAX_ATTACHMENTS_BYTES + 64 * 1024:
        return _too_large(request, pk)
    return _attach(request, pk)


@mailing_page
def _too_large(request, pk):
    mailing = services.access_mailing(request.user, pk, for_write=True)
    messages.error(
        request,
        _("The files of an e-mailing can be at most %(size)s MB together: nothing was attached.")
        % {"size": f"{services.MAX_ATTACHMENTS_BYTES / 1024 / 1024:g}"},
    )
    return redirect(_detail_url(mailing))


@csrf_protect
@mailing_page
def _attach(request, pk):
    mailing = services.access_mailing(request.user, pk, for_write=True)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a file to attach."))
        return redirect(_detail_url(mailing))
    upload = form.cleaned_data["file"]
    try:
        services.add_attachment(
            acting_user=request.user, mailing=mailing, name=upload.name, content=upload, size=upload.size
        )
    except SuiviError as e:
        return after_command(request, e, _detail_url(mailing))
    messages.success(request, _("File attached."))
    return redirect(_detail_url(mailing))


@require_POST
@mailing_page
def attachment_remove(request, pk, attachment_pk):
    mailing = services.access_mailing(request.user, pk, for_write=True)
    attachment = MailingAttachment.objects.filter(mailing=mailing, pk=parse_id(attachment_pk)).first()
    if attachment is None:
        raise Http404
    try:
        services.remove_attachment(acting_user=request.user, attachment=attachment)
    except SuiviError as e:
        return after_command(request, e, _detail_url(mailing))
    messages.success(request, _("File removed."))
    return redirect(_detail_url(mailing))


# --- recipients ----------------------------------------------------------------------------------------------


STATUS_FILTERS = [*RecipientStatus.values, BOUNCED]


def _recipients(request, mailing):
    wanted = request.GET.get("status", "")
    if wanted == BOUNCED:
        qs = services.recipients_of(request.user, mailing, status=RecipientStatus.FAILED).filter(reason_code=BOUNCED)
    elif wanted in RecipientStatus.values:
        qs = services.recipients_of(request.user, mailing, status=wanted)
    else:
        wanted = ""
        qs = services.recipients_of(request.user, mailing)
    return wanted, qs


def _status_choices() -> list[tuple[str, str]]:
    return [(value, str(label)) for value, label in RecipientStatus.choices] + [(BOUNCED, _("bounced"))]


@mailing_page
def mailing_recipients(request, pk):
    mailing = services.access_mailing(request.user, pk)
    wanted, qs = _recipients(request, mailing)
    page = page_of(qs.select_related("party"), request.GET.get("page"), RECIPIENTS_PAGE)
    return render(
        request,
        "web/mailings/recipients.html",
        {
            "mailing": mailing,
            "page": page,
            "status": wanted,
            "statuses": _status_choices(),
            "query": f"status={wanted}" if wanted else "",
            "can_change": services.may_change(request.user, mailing),
            "bounced": BOUNCED,
        },
    )


def _reason(row: MailingRecipient) -> str:
    if row.reason_code == BOUNCED:
        return _("bounced: %(detail)s") % {"detail": row.detail}
    return row.reason


def _export_rows(qs) -> Iterator[list[str]]:
    labels = dict(RecipientStatus.choices)
    last = 0
    while True:  # by keyset, 2,000 rows in memory at a time
        rows = list(qs.filter(pk__gt=last).select_related("party").order_by("pk")[:2000])
        if not rows:
            return
        for r in rows:
            yield [
                r.name,
                r.address,
                r.party.name if r.party else "",
                str(labels.get(r.status, r.status)),
                _reason(r),
                r.sent_at.isoformat() if r.sent_at else "",
            ]
        last = rows[-1].pk


def _export_headers() -> list[str]:
    return [_("Name"), _("E-mail address"), _("Party"), _("Status"), _("Reason"), _("Sent")]


def _csv_lines(qs) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    yield "\ufeff"  # BOM so that Excel reads UTF-8
    writer.writerow([csv_cell(h) for h in _export_headers()])
    for row in _export_rows(qs):
        writer.writerow([csv_cell(v) for v in row])  # a formula-like value gets a leading '
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _xlsx_bytes(qs) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Recipients"))
    sheet.append(xlsx_row(sheet, _export_headers()))
    for row in _export_rows(qs):
        sheet.append(xlsx_row(sheet, row))  # every cell a string: never a formula
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@mailing_page
def mailing_export(request, pk, fmt):
    mailing = services.access_mailing(request.user, pk)
    _wanted, qs = _recipients(request, mailing)
    return spreadsheet(fmt, f"recipients-{mailing.pk}", lambda: _csv_lines(qs), lambda: _xlsx_bytes(qs))


# --- unsubscribe (public, RFC 8058) ------------------------------------------------------------------------


@csrf_exempt  # RFC 8058: the mail client's one-click POST has no cookie and no CSRF token
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe_page(request, token):
    """GET: a page with a button, changing nothing (a link scanner's visit unsubscribes nobody).
    POST (the button, or a mail client's ``List-Unsubscribe=One-Click``): opted out at once."""
    address = unsubscribe.address_of(token)
    if address is None:
        return render(request, "web/mailings/unsubscribe.html", {"unknown": True}, status=404)
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        unsubscribe.opt_out(address=address, source=OptOutSource.ONE_CLICK if one_click else OptOutSource.LINK)
        return render(request, "web/mailings/unsubscribe.html", {"address": address, "done": True})
    return render(
        request,
        "web/mailings/unsubscribe.html",
        {"address": address, "done": unsubscribe.is_opted_out(address), "token": token},
    )
