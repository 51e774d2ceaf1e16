"""Mail pages (S3, S7, S15): compose and send, the mails one sent, the inbox and its filing,
one's mailboxes, and the company's SMTP server."""

from functools import wraps

from django.conf import settings as django_settings
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from suivi.accounts.queries import device_preference
from suivi.activities.models import ActionType
from suivi.activities.queries import access_action, access_folder
from suivi.core.errors import InvalidInput, SuiviError
from suivi.lib.ids import parse_id
from suivi.lib.user_templates import TemplateFailed
from suivi.mailing import checks, queries, services, templates
from suivi.mailing.models import InboxStatus, MailStatus, MailTemplate, Method, Signature
from suivi.mailing.sending import as_bytes, build_message
from suivi.parties.queries import access_contact, access_party

from ..mail_forms import ComposeForm, FileForm, MailboxForm, MailTemplateForm, OutgoingServerForm, SignatureForm
from ..outcomes import show_on_form, status_of


def mail_page(view):
    """A refusal of a service raised outside a form is a page with its status, never a 500."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except SuiviError as e:
            return render(
                request,
                "web/refused.html",
                {"message": e.message, "back_url": reverse("mail_inbox"), "forbidden": status_of(e) == 403},
                status=status_of(e),
            )

    return wrapper


# --- compose ---------------------------------------------------------------------------------------


def _context_of(request):
    """What the mail is written from: ?party=, ?contact=, ?action=, ?reply= (an inbox mail)."""
    source = request.POST if request.method == "POST" else request.GET
    party = contact = folder = reply = None
    initial: dict = {}
    if pk := parse_id(source.get("party")):
        party = access_party(request.user, pk)
    if pk := parse_id(source.get("contact")):
        contact = access_contact(request.user, pk)
        if contact.email:
            initial["to"] = f"{contact} <{contact.email}>"
        if party is None:
            party = contact.parties.first()
    if pk := parse_id(source.get("action")):
        action = access_action(request.user, pk)
        party = party or action.party
        folder = action.folder
        initial["subject"] = action.subject
        initial["contacts"] = [c.pk for c in action.contacts.all()]
        record = action.mail_records.order_by("-id").first()
        if record is not None:
            initial["in_reply_to"] = record.message_id
    if pk := parse_id(source.get("folder")):
        folder = access_folder(request.user, pk)
    if pk := parse_id(source.get("reply")):
        reply = queries.access_incoming(request.user, pk)
        initial["to"] = f"{reply.sender_name} <{reply.sender_email}>" if reply.sender_name else reply.sender_email
        initial["subject"] = reply.subject if reply.subject.lower().startswith("re:") else f"Re: {reply.subject}"
        initial["in_reply_to"] = reply.message_id
        when = date_format(timezone.localtime(reply.date), "SHORT_DATETIME_FORMAT")
        quoted = "\n".join("> " + line for line in (reply.text or "").splitlines()[:200])
        initial["body"] = (
            "\n\n"
            + _("On %(date)s, %(sender)s wrote:")
            % {
                "date": when,
                "sender": reply.sender_name or reply.sender_email,
            }
            + "\n"
            + quoted
        )
        if reply.action_id:
            party = party or reply.action.party
            folder = folder or reply.action.folder
    if pk := parse_id(source.get("template")):
        template = MailTemplate.objects.filter(pk=pk, active=True).first()
        if template is not None:
            values = templates.context(party=party, contact=contact, user=request.user, language=request.LANGUAGE_CODE)
            try:
                initial["subject"], initial["body"] = templates.fill(template, values, request.LANGUAGE_CODE)
            except TemplateFailed as e:
                messages.error(
                    request,
                    _("The template “%(name)s” fails: %(problem)s") % {"name": template.name, "problem": e.problem},
                )
    signature = Signature.objects.filter(user=request.user).values_list("text", flat=True).first()
    if signature:
        initial["body"] = initial.get("body", "") + "\n\n-- \n" + signature
    return party, contact, folder, initial


@mail_page
def compose_page(request):
    party, contact, folder, initial = _context_of(request)
    device = device_preference(request.user, request.device_id)
    through_outlook = bool(device and device.send_via_outlook)
    form = ComposeForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        chosen = [c for c in party.affiliations.select_related("contact")] if party else []
        picked = {str(pk) for pk in request.POST.getlist("contact")}
        to = [f"{a.contact} <{a.contact.email}>" for a in chosen if str(a.contact_id) in picked and a.contact.email]
        contacts = [a.contact for a in chosen if str(a.contact_id) in picked]
        files = [(f.name, f, f.size) for f in request.FILES.getlist("files")]
        try:
            mail = services.compose(
                acting_user=request.user,
                to=to + ([data["to"]] if data["to"] else []),
                cc=data["cc"],
                bcc=data["bcc"],
                subject=data["subject"],
                body=data["body"],
                party=party,
                contacts=contacts,
                folder=folder,
                in_reply_to=data["in_reply_to"],
                method=data["method"],
                through_outlook=through_outlook,
                files=files,
            )
        except SuiviError as e:
            status = show_on_form(form, e)
        else:
            if mail.method == Method.OUTLOOK_DESKTOP:
                messages.success(request, _("Your mail is ready: open the downloaded file, Outlook sends it."))
            elif mail.method in (Method.DRAFTS, Method.GRAPH_DRAFTS):
                messages.success(request, _("Your mail is being stored in your drafts folder."))
            else:
                messages.success(request, _("Your mail is being sent."))
            return redirect("mail_sent_detail", pk=mail.pk)
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "web/mail/compose.html",
        {
            "form": form,
            "party": party,
            "folder": folder,
            "affiliations": party.affiliations.select_related("contact") if party else [],
            "picked": set(request.POST.getlist("contact"))
            if request.method == "POST"
            else {str(pk) for pk in initial.get("contacts", [])} | ({str(contact.pk)} if contact else set()),
            "files_dropped": status == 400 and bool(request.FILES),
            "through_outlook": through_outlook,
            "templates": MailTemplate.objects.filter(active=True),
            "contact": contact,
        },
        status=status,
    )


@mail_page
def sent_list(request):
    mails = queries.my_mails(request.user).filter(author=request.user).order_by("-created_at", "-id")[:100]
    return render(request, "web/mail/sent_list.html", {"mails": mails})


@mail_page
def sent_detail(request, pk):
    mail = queries.access_outgoing(request.user, pk)
    files = mail.action.attachments.all() if mail.action_id else []
    return render(
        request,
        "web/mail/sent_detail.html",
        {"mail": mail, "can_retry": mail.status == MailStatus.FAILED, "attachments": files},
    )


@require_POST
@mail_page
def sent_retry(request, pk):
    mail = queries.access_outgoing(request.user, pk)
    try:
        services.retry(acting_user=request.user, mail=mail)
    except InvalidInput as e:
        messages.error(request, " ".join(e.errors.values()))
    else:
        messages.success(request, _("Your mail is being sent again."))
    return redirect("mail_sent_detail", pk=mail.pk)


@mail_page
def sent_eml(request, pk):
    """The mail as a file desktop Outlook opens ready to send (``X-Unsent: 1``), attachments in."""
    mail = queries.access_outgoing(request.user, pk)
    if mail.method != Method.OUTLOOK_DESKTOP:
        raise Http404
    message = build_message(mail)
    message.extra_headers["X-Unsent"] = "1"
    response = HttpResponse(as_bytes(message), content_type="message/rfc822")
    response["Content-Disposition"] = 'attachment; filename="mail.eml"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- the inbox -------------------------------------------------------------------------------------


@mail_page
def inbox_page(request):
    status = request.GET.get("status") or InboxStatus.NEW
    if status not in InboxStatus.values:
        status = InboxStatus.NEW
    mails = list(queries.inbox(request.user, status)[: queries.INBOX_PAGE])
    return render(
        request,
        "web/mail/inbox.html",
        {
            "mails": mails,
            "status": status,
            "statuses": InboxStatus.choices,
            "mailboxes": queries.inbox_mailboxes(request.user),
        },
    )


@mail_page
def inbox_mail(request, pk):
    mail = queries.access_incoming(request.user, pk)
    own = {a.lower() for a in queries.inbox_mailboxes(request.user).values_list("address", flat=True)}
    suggestions = queries.suggestions(request.user, mail, own)
    form = FileForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            party = access_party(request.user, data["party"]) if data["party"] else None
            folder = access_folder(request.user, data["folder"]) if data["folder"] else None
            ids = [parse_id(v) for v in (data["contacts"] or "").split(",")]
            contacts = [access_contact(request.user, i) for i in ids if i]
            with transaction.atomic():
                action = services.file_mail(
                    acting_user=request.user, mail=mail, party=party, folder=folder, contacts=contacts
                )
        except SuiviError as e:
            status = show_on_form(form, e)
        else:
            messages.success(request, _("Mail filed on the party's history."))
            return redirect("action_detail", pk=action.pk)
    return render(
        request,
        "web/mail/inbox_mail.html",
        {"mail": mail, "suggestions": suggestions, "form": form},
        status=status if request.method != "POST" or status != 200 else 400,
    )


@require_POST
@mail_page
def inbox_ignore(request, pk):
    mail = queries.access_incoming(request.user, pk)
    services.ignore_mail(acting_user=request.user, mail=mail)
    messages.success(request, _("Mail ignored."))
    return redirect("mail_inbox")


@require_POST
@mail_page
def inbox_read_now(request):
    from suivi.mailing.jobs import read_mailbox

    for mailbox in queries.inbox_mailboxes(request.user):
        read_mailbox(mailbox.pk)
    messages.success(request, _("Your mailboxes are being read; new mails appear here in a moment."))
    return redirect("mail_inbox")


# --- mailboxes ---------------------------------------------------------------------------------------


@mail_page
def mailbox_list(request):
    from suivi.mailing.models import MicrosoftAccount

    return render(
        request,
        "web/mail/mailboxes.html",
        {
            "mailboxes": queries.mailboxes_of(request.user),
            "microsoft_offered": bool(django_settings.SUIVI_MS_CLIENT_ID),
            "microsoft": MicrosoftAccount.objects.filter(user=request.user).first(),
        },
    )


@mail_page
def mailbox_edit(request, pk=None):
    mailbox = queries.access_mailbox(request.user, pk, for_write=True) if pk else None
    initial = {"version": mailbox.version} if mailbox else {"address": request.user.email, "login": request.user.email}
    shared = (
        mailbox.owner_id is None if mailbox else (request.GET.get("shared") == "1" and request.user.is_administrator)
    )
    form = MailboxForm(request.POST or None, instance=mailbox, initial=initial, shared=shared)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            values = {k: v for k, v in form.cleaned_data.items() if k not in ("password", "version")}
            values["shared"] = shared
            try:
                saved = services.save_mailbox(
                    acting_user=request.user,
                    mailbox=mailbox,
                    values=values,
                    password=form.cleaned_data["password"] or None,
                    expected_version=form.cleaned_data.get("version"),
                )
            except SuiviError as e:
                status = show_on_form(form, e)
            else:
                messages.success(request, _("Mailbox saved."))
                return redirect("mailbox_edit", pk=saved.pk)
        else:
            status = 400
    steps = request.session.pop(f"mailbox-check-{pk}", None) if pk else None
    return render(
        request,
        "web/mail/mailbox.html",
        {"form": form, "mailbox": mailbox, "steps": steps, "shared": shared},
        status=status,
    )


@require_POST
@mail_page
def mailbox_check(request, pk):
    mailbox = queries.access_mailbox(request.user, pk)
    request.session[f"mailbox-check-{pk}"] = checks.check_mailbox(mailbox)
    return redirect("mailbox_edit", pk=pk)


@require_POST
@mail_page
def mailbox_delete(request, pk):
    mailbox = queries.access_mailbox(request.user, pk, for_write=True)
    services.delete_mailbox(acting_user=request.user, mailbox=mailbox)
    messages.success(request, _("Mailbox deleted."))
    return redirect("mailbox_list")


# --- the company SMTP server ------------------------------------------------------------------------------


@mail_page
def outgoing_server_page(request):
    server = queries.outgoing_server()
    initial = {"version": server.version}
    if server.email_action_type_id is None:
        initial["email_action_type"] = queries.email_action_type().pk
    form = OutgoingServerForm(request.POST or None, instance=server, initial=initial)
    form.fields["email_action_type"].queryset = ActionType.objects.filter(active=True)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            values = {k: v for k, v in form.cleaned_data.items() if k not in ("password", "version")}
            try:
                services.save_outgoing_server(
                    acting_user=request.user,
                    values=values,
                    password=form.cleaned_data["password"] or None,
                    expected_version=form.cleaned_data.get("version"),
                )
            except SuiviError as e:
                status = show_on_form(form, e)
            else:
                messages.success(request, _("Mail server saved."))
                return redirect("outgoing_server")
        else:
            status = 400
    steps = request.session.pop("smtp-check", None)
    return render(
        request,
        "web/mail/outgoing_server.html",
        {"form": form, "steps": steps, "can_edit": request.user.is_administrator},
        status=status,
    )


@require_POST
@mail_page
def outgoing_server_check(request):
    if not request.user.is_administrator:
        raise Http404
    request.session["smtp-check"] = checks.check_smtp(queries.outgoing_server())
    return redirect("outgoing_server")


# --- Microsoft 365 (S3) ----------------------------------------------------------------------------


@require_POST
@mail_page
def microsoft_connect(request):
    from suivi.mailing import microsoft

    if not django_settings.SUIVI_MS_CLIENT_ID:
        raise Http404
    return redirect(microsoft.start(request.session, request.build_absolute_uri(reverse("microsoft_done"))))


@mail_page
def microsoft_done(request):
    from suivi.mailing import microsoft

    try:
        account = microsoft.finish(acting_user=request.user, session=request.session, query=request.GET.dict())
    except InvalidInput as e:
        messages.error(request, " ".join(e.errors.values()))
    else:
        messages.success(request, _("Microsoft 365 connected: %(account)s.") % {"account": account.account_email})
    return redirect("mailbox_list")


@require_POST
@mail_page
def microsoft_disconnect(request):
    from suivi.mailing import microsoft

    microsoft.disconnect(acting_user=request.user)
    messages.success(request, _("Microsoft 365 disconnected."))
    return redirect("mailbox_list")


# --- templates and signature ----------------------------------------------------------------------------


@mail_page
def template_list(request):
    return render(
        request,
        "web/mail/templates.html",
        {"templates": MailTemplate.objects.all(), "can_edit": request.user.is_manager},
    )


@mail_page
def template_edit(request, pk=None):
    template = None
    if pk is not None:
        template = MailTemplate.objects.filter(pk=parse_id(pk)).first()
        if template is None:
            raise Http404
    form = MailTemplateForm(
        request.POST or None, instance=template, initial={"version": template.version} if template else {}
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            values = {k: v for k, v in form.cleaned_data.items() if k != "version"}
            try:
                services.save_template(
                    acting_user=request.user,
                    template=template,
                    values=values,
                    expected_version=form.cleaned_data.get("version"),
                )
            except SuiviError as e:
                status = show_on_form(form, e)
            else:
                messages.success(request, _("Template saved."))
                return redirect("mail_templates")
        else:
            status = 400
    return render(
        request,
        "web/mail/template.html",
        {"form": form, "template": template, "fields": templates.FIELDS_HELP, "can_edit": request.user.is_manager},
        status=status,
    )


@mail_page
def signature_page(request):
    current = Signature.objects.filter(user=request.user).values_list("text", flat=True).first() or ""
    form = SignatureForm(request.POST or None, initial={"text": current})
    if request.method == "POST" and form.is_valid():
        services.save_signature(acting_user=request.user, text=form.cleaned_data["text"])
        messages.success(request, _("Signature saved."))
        return redirect("mail_signature")
    return render(request, "web/mail/signature.html", {"form": form}, status=400 if request.method == "POST" else 200)
