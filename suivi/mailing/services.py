"""Writes of mail: the company server and mailboxes (administrators and owners), composing a mail
(its e-mail action first, then the send), filing or ignoring an inbox mail.

A composed mail is recorded before anything leaves: the action on the party's timeline (with its
Message-ID, recipients, body and attachments), the ``OutgoingMail`` row, then — once committed —
the worker sends it by its method (``sending.deliver``). A failure leaves the row *failed* with
its reason; nothing typed is lost and it can be sent again.
"""

import html
import re
from collections.abc import Sequence
from email.headerregistry import Address
from email.utils import make_msgid, parseaddr
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from suivi.activities import attachments
from suivi.activities import services as action_services
from suivi.activities.models import Action, ActionStatus, Folder
from suivi.core import audit
from suivi.core.company import company_settings
from suivi.core.errors import InvalidInput, PermissionDenied, lock_for_update
from suivi.lib.text import one_line
from suivi.parties.models import Contact, Party

from .models import (
    InboxStatus,
    IncomingMail,
    Mailbox,
    MailKind,
    MailRecord,
    MailStatus,
    MailTemplate,
    Method,
    MicrosoftAccount,
    OutgoingMail,
    OutgoingServer,
    Signature,
)
from .parsing import normalise_message_id
from .queries import email_action_type, outgoing_server

MAX_RECIPIENTS = 100
MAX_SUBJECT = 500
MAX_BODY = 200_000


# --- the company server and mailboxes ------------------------------------------------------------


def _need_administrator(user) -> None:
    if not (user and user.is_authenticated and user.is_administrator):
        raise PermissionDenied(_("Only an administrator may change the company's mail server."))


def _port(value: Any, errors: dict[str, str]) -> int | None:
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = 0
    if not 1 <= port <= 65535:
        errors["port"] = _("A port is a number from 1 to 65535.")
        return None
    return port


def _host(value: Any) -> str:
    return one_line(str(value or "")).strip().rstrip(".")[:255]


@transaction.atomic
def save_outgoing_server(
    *, acting_user, values: dict[str, Any], password: str | None, expected_version
) -> OutgoingServer:
    """Change the company SMTP server. ``password`` None keeps the stored one ("" clears it)."""
    _need_administrator(acting_user)
    outgoing_server()
    server = lock_for_update(
        OutgoingServer, 1, expected_version, _("Someone changed the mail server meanwhile: reload the page.")
    )
    errors: dict[str, str] = {}
    server.host = _host(values.get("host"))
    server.port = _port(values.get("port", 587), errors) or server.port
    server.security = values.get("security") or server.security
    server.login = one_line(str(values.get("login") or ""))[:255]
    server.from_address = str(values.get("from_address") or "").strip()
    server.from_name = one_line(str(values.get("from_name") or ""))[:200]
    if "email_action_type" in values:
        server.email_action_type = values["email_action_type"]
    if server.from_address:
        try:
            EmailValidator()(server.from_address)
        except ValidationError:
            errors["from_address"] = _("This is not a valid e-mail address.")
    if errors:
        raise InvalidInput(errors)
    if password is not None:
        server.password = password
    server.version += 1
    server.save()
    audit.record(acting_user, "update", server, {"host": ["", server.host]})
    return server


@transaction.atomic
def save_mailbox(
    *, acting_user, mailbox: Mailbox | None, values: dict[str, Any], password: str | None, expected_version=None
) -> Mailbox:
    """Create or change a mailbox. A user's own mailbox is theirs to manage; a shared one
    (``shared`` true, administrators only) is read by its ``members``."""
    if mailbox is None:
        shared = bool(values.get("shared"))
        if shared and not acting_user.is_administrator:
            raise PermissionDenied(_("Only an administrator may add a shared mailbox."))
        mailbox = Mailbox(owner=None if shared else acting_user)
    else:
        mailbox = lock_for_update(
            Mailbox, mailbox.pk, expected_version, _("Someone changed this mailbox meanwhile: reload the page.")
        )
        if not (mailbox.owner_id == acting_user.pk or (mailbox.owner_id is None and acting_user.is_administrator)):
            raise PermissionDenied(_("Only the owner of this mailbox may change it."))
        mailbox.version += 1
    errors: dict[str, str] = {}
    mailbox.name = one_line(str(values.get("name") or ""))[:100]
    mailbox.address = str(values.get("address") or "").strip()
    mailbox.imap_host = _host(values.get("imap_host"))
    mailbox.imap_port = _port(values.get("imap_port", 993), errors) or mailbox.imap_port
    mailbox.imap_security = values.get("imap_security") or mailbox.imap_security
    mailbox.login = one_line(str(values.get("login") or ""))[:255]
    mailbox.auto_file = bool(values.get("auto_file"))
    mailbox.is_default = bool(values.get("is_default")) and mailbox.owner_id is not None
    if not mailbox.name:
        errors["name"] = _("Give the mailbox a name.")
    try:
        EmailValidator()(mailbox.address)
    except ValidationError:
        errors["address"] = _("This is not a valid e-mail address.")
    if not mailbox.imap_host:
        errors["imap_host"] = _("Type the name of the IMAP server, e.g. imap.example.com.")
    if not mailbox.login:
        errors["login"] = _("Type the login of the mailbox (often its e-mail address).")
    if errors:
        raise InvalidInput(errors)
    if password is not None:
        mailbox.password = password
    mailbox.last_error = ""  # read again with what was just saved
    if mailbox.is_default:
        Mailbox.objects.filter(owner_id=mailbox.owner_id, is_default=True).exclude(pk=mailbox.pk).update(
            is_default=False
        )
    mailbox.save()
    if mailbox.owner_id is None and "members" in values:
        mailbox.members.set(values["members"])
    audit.record(acting_user, "update" if mailbox.version > 1 else "create", mailbox)
    return mailbox


@transaction.atomic
def delete_mailbox(*, acting_user, mailbox: Mailbox) -> None:
    if not (mailbox.owner_id == acting_user.pk or (mailbox.owner_id is None and acting_user.is_administrator)):
        raise PermissionDenied(_("Only the owner of this mailbox may delete it."))
    audit.record(acting_user, "delete", mailbox)
    mailbox.delete()


# --- composing -------------------------------------------------------------------------------------


def sending_method(user, *, chosen: str = "", through_outlook: bool = False) -> str:
    """How a mail of ``user`` leaves (S7 and S3): the device's Outlook when its preference is on
    (through Microsoft 365 when the user connected it, else the desktop client); otherwise the
    message's choice, else the user's, else the company's — send or store in drafts."""
    base = chosen if chosen in (Method.SEND, Method.DRAFTS) else ""
    base = base or user.sending_method or company_settings().default_sending_method or Method.SEND
    if chosen in (Method.OUTLOOK_DESKTOP, Method.GRAPH_SEND, Method.GRAPH_DRAFTS):
        return chosen
    if through_outlook:
        if MicrosoftAccount.objects.filter(user=user).exists():
            return Method.GRAPH_DRAFTS if base == Method.DRAFTS else Method.GRAPH_SEND
        return Method.OUTLOOK_DESKTOP
    return Method.DRAFTS if base == Method.DRAFTS else Method.SEND


_SEPARATORS = re.compile(r"""[,;\r\n]+(?=(?:[^"]*"[^"]*")*[^"]*$)""")  # not inside quotes


def parse_recipients(values, field: str, errors: dict[str, str]) -> list[str]:
    """Addresses typed or chosen (a list, or text separated by commas, semicolons or new lines),
    each checked; returned as "Name <address>" with the name cleaned of anything a header
    could be injected with."""
    if isinstance(values, str):
        values = [values]
    pieces = [p.strip() for v in values or [] for p in _SEPARATORS.split(str(v))]
    result, bad = [], []
    for piece in filter(None, pieces):
        name, address = parseaddr(one_line(piece))
        address = address.strip()
        try:
            EmailValidator()(address)
            local, domain = address.rsplit("@", 1)
            formatted = str(Address(display_name=one_line(name)[:100], username=local, domain=domain.lower()))
        except (ValidationError, ValueError, IndexError):
            bad.append(one_line(piece)[:80])
            continue
        if formatted not in result:
            result.append(formatted)
    if bad:
        errors[field] = _("Not an e-mail address: %(values)s.") % {"values": ", ".join(bad[:5])}
    elif len(result) > MAX_RECIPIENTS:
        errors[field] = _("At most %(limit)s recipients in one mail; use an e-mailing for more.") % {
            "limit": MAX_RECIPIENTS
        }
    return result


def _body_html(text: str) -> str:
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in text.split("\n\n") if p.strip())


def _sender(user, method: str, mailbox: Mailbox | None) -> str:
    server = outgoing_server()
    if method in (Method.DRAFTS,) and mailbox is not None:
        return str(Address(display_name=one_line(str(user)), addr_spec=mailbox.address))
    address = (mailbox.address if mailbox else "") or server.from_address or user.email
    if not address:
        from django.conf import settings

        address = settings.DEFAULT_FROM_EMAIL
    return str(Address(display_name=one_line(str(user) or server.from_name), addr_spec=address))


@transaction.atomic
def compose(
    *,
    acting_user,
    to,
    subject: str,
    body: str,
    cc=(),
    bcc=(),
    party: Party | None = None,
    contacts: Sequence[Contact] = (),
    folder: Folder | None = None,
    in_reply_to: str = "",
    method: str = "",
    through_outlook: bool = False,
    files: Sequence[tuple[str, IO[bytes] | bytes, int | None]] = (),
    attach_actions_files: Sequence = (),
) -> OutgoingMail:
    """Record a composed mail and its e-mail action; the worker sends it once committed.

    Every problem is reported at once (InvalidInput); nothing is recorded then."""
    errors: dict[str, str] = {}
    to_list = parse_recipients(to, "to", errors)
    cc_list = parse_recipients(cc, "cc", errors)
    bcc_list = parse_recipients(bcc, "bcc", errors)
    if not (to_list or errors.get("to")):
        errors["to"] = _("Choose at least one recipient.")
    subject = one_line(subject or "")
    if not subject:
        errors["subject"] = _("A mail needs a subject.")
    elif len(subject) > MAX_SUBJECT:
        errors["subject"] = _("At most %(limit)s characters.") % {"limit": MAX_SUBJECT}
    body = (body or "").replace("\r\n", "\n")
    if len(body) > MAX_BODY:
        errors["body"] = _("At most %(limit)s characters.") % {"limit": MAX_BODY}
    too_big = [name for name, content, size in files if (size or 0) > attachments.max_bytes()]
    if too_big:
        errors["files"] = _(
            "%(names)s: a file can be at most %(size)s MB. Nothing was sent: remove it and send again."
        ) % {
            "names": ", ".join(attachments.clean_name(n) for n in too_big),
            "size": f"{attachments.max_bytes() / 1024 / 1024:g}",
        }
    chosen = sending_method(acting_user, chosen=method, through_outlook=through_outlook)
    from .queries import default_mailbox

    mailbox = default_mailbox(acting_user)
    if chosen == Method.DRAFTS and mailbox is None:
        errors["method"] = _(
            "To store mails in your drafts folder, add your mailbox first (Preferences › Mailboxes), "
            "or choose to send directly."
        )
    if errors:
        raise InvalidInput(errors)
    message_id = make_msgid(domain=_domain_of(mailbox, acting_user))
    action = action_services.create_action(
        acting_user=acting_user,
        values={
            "subject": subject[:200],
            "description": body,
            "action_type": email_action_type(),
            "party": party,
            "folder": folder,
            "start": timezone.now(),
            "status": ActionStatus.TODO,
            "followed_by": acting_user,
        },
        contacts=list(contacts),
    )
    for name, content, size in files:
        attachments.add_attachment(acting_user=acting_user, action=action, name=name, content=content, size=size)
    for attachment in attach_actions_files:  # files of another action (a reply, a document's PDF)
        with attachments.open_file(attachment) as handle:
            attachments.add_attachment(
                acting_user=acting_user, action=action, name=attachment.name, content=handle.read()
            )
    mail = OutgoingMail.objects.create(
        author=acting_user,
        mailbox=mailbox,
        method=chosen,
        status=MailStatus.HANDED if chosen == Method.OUTLOOK_DESKTOP else MailStatus.QUEUED,
        message_id=message_id,
        in_reply_to=normalise_message_id(in_reply_to or "")[:255],
        from_address=_sender(acting_user, chosen, mailbox),
        to=to_list,
        cc=cc_list,
        bcc=bcc_list,
        subject=subject,
        body=body,
        action=action,
        party=party,
    )
    MailRecord.objects.create(
        message_id=message_id, action=action, incoming=False, sender=mail.from_address, recipients=to_list + cc_list
    )
    if chosen != Method.OUTLOOK_DESKTOP:
        transaction.on_commit(lambda: _wake(mail.pk), robust=True)
    return mail


def _domain_of(mailbox: Mailbox | None, user) -> str:
    address = (mailbox.address if mailbox else "") or outgoing_server().from_address or user.email or "suivi.invalid"
    return address.rsplit("@", 1)[-1] or "suivi.invalid"


def _wake(mail_id: int) -> None:
    from .jobs import deliver_mail

    deliver_mail(mail_id)


@transaction.atomic
def retry(*, acting_user, mail: OutgoingMail) -> OutgoingMail:
    """Send again a mail whose sending failed (its author or a manager)."""
    if not (acting_user.is_manager or mail.author_id == acting_user.pk):
        raise PermissionDenied(_("Only the author of this mail may send it again."))
    if mail.status != MailStatus.FAILED:
        raise InvalidInput({"status": _("Only a mail whose sending failed can be sent again.")})
    OutgoingMail.objects.filter(pk=mail.pk, status=MailStatus.FAILED).update(status=MailStatus.QUEUED, error="")
    transaction.on_commit(lambda: _wake(mail.pk), robust=True)
    mail.refresh_from_db()
    return mail


# --- the inbox ---------------------------------------------------------------------------------------


def _incoming_description(mail: IncomingMail) -> str:
    sender = f"{mail.sender_name} ({mail.sender_email})" if mail.sender_name else mail.sender_email
    return _("From: %(sender)s") % {"sender": sender} + "\n\n" + (mail.text or "")


@transaction.atomic
def file_mail(
    *,
    acting_user,
    mail: IncomingMail,
    party: Party | None,
    folder: Folder | None = None,
    contacts: Sequence[Contact] = (),
    followed_by=None,
) -> Action:
    """File an inbox mail as a done e-mail action (with its attachments) on ``party``. A mail
    whose Message-ID an action already holds is linked to that action: never two actions for
    one Message-ID."""
    mail = IncomingMail.objects.select_for_update().get(pk=mail.pk)
    existing = MailRecord.objects.filter(message_id=mail.message_id).select_related("action").first()
    if existing is not None:
        action = existing.action
    else:
        if mail.kind != MailKind.CONVERSATION and party is None:
            raise InvalidInput({"party": _("Choose the party to file this mail on.")})
        action = action_services.create_action(
            acting_user=acting_user,
            values={
                "subject": (mail.subject or _("(no subject)"))[:200],
                "description": _incoming_description(mail),
                "action_type": email_action_type(),
                "party": party,
                "folder": folder,
                "start": mail.date,
                "status": ActionStatus.DONE,
                "followed_by": followed_by or acting_user,
            },
            contacts=list(contacts),
        )
        try:
            with transaction.atomic():
                MailRecord.objects.create(
                    message_id=mail.message_id,
                    action=action,
                    incoming=True,
                    sender=mail.sender_email,
                    recipients=mail.recipients,
                )
        except IntegrityError:  # filed by someone else at the same moment: theirs stands
            raise InvalidInput({"mail": _("This mail was just filed by someone else.")}) from None
        _attach_files_of(acting_user, mail, action)
    mail.status = InboxStatus.FILED
    mail.action = action
    mail.filed_by = acting_user
    mail.save(update_fields=["status", "action", "filed_by"])
    return action


def _attach_files_of(acting_user, mail: IncomingMail, action: Action) -> None:
    if not mail.raw:
        return
    from .parsing import parse_mail

    with attachments.storage().open(mail.raw, "rb") as handle:
        parsed = parse_mail(handle.read(), max_attachment_bytes=attachments.max_bytes())
    for item in parsed.attachments:
        attachments.add_attachment(acting_user=acting_user, action=action, name=item.filename, content=item.data)


@transaction.atomic
def ignore_mail(*, acting_user, mail: IncomingMail) -> None:
    IncomingMail.objects.filter(pk=mail.pk, status=InboxStatus.NEW).update(
        status=InboxStatus.IGNORED, filed_by=acting_user
    )


def auto_file(mailbox: Mailbox, mails: list[IncomingMail]) -> int:
    """The mailbox's rule: a mail that answers a filed one goes with it; a mail whose sender is
    a contact of exactly one party is filed there, on behalf of the mailbox's owner. Others
    wait in the inbox."""
    from .queries import suggestions

    owner = mailbox.owner
    own = {mailbox.address.lower()}
    filed = 0
    for mail in mails:
        found = suggestions(owner, mail, own)
        thread = next((s for s in found if s.thread is not None), None)
        by_sender = [s for s in found if any(c.email.lower() == mail.sender_email.lower() for c in s.contacts)]
        chosen = thread or (by_sender[0] if len(by_sender) == 1 else None)
        if chosen is None:
            continue
        try:
            file_mail(acting_user=owner, mail=mail, party=chosen.party, folder=chosen.folder, contacts=chosen.contacts)
            filed += 1
        except (InvalidInput, PermissionDenied):
            continue  # left in the inbox for its owner
    return filed


# --- templates and signatures ----------------------------------------------------------------------


@transaction.atomic
def save_template(*, acting_user, template: MailTemplate | None, values: dict[str, Any], expected_version=None):
    """Create or change an e-mail template (managers); its merge fields are checked first."""
    from . import templates

    if not acting_user.is_manager:
        raise PermissionDenied(_("Only managers may change the e-mail templates."))
    if template is None:
        template = MailTemplate()
    else:
        template = lock_for_update(
            MailTemplate, template.pk, expected_version, _("Someone changed this template meanwhile: reload the page.")
        )
        template.version += 1
    template.name = one_line(str(values.get("name") or ""))[:100]
    template.subject = one_line(str(values.get("subject") or ""))[:500]
    template.body = str(values.get("body") or "")
    template.active = bool(values.get("active", True))
    errors = templates.problems(template.subject, template.body)
    if not template.name:
        errors["name"] = _("Give the template a name.")
    if not template.subject:
        errors.setdefault("subject", _("A mail needs a subject."))
    if errors:
        raise InvalidInput(errors)
    template.save()
    audit.record(acting_user, "update" if template.version > 1 else "create", template)
    return template


@transaction.atomic
def save_signature(*, acting_user, text: str) -> Signature:
    signature, _created = Signature.objects.update_or_create(
        user=acting_user, defaults={"text": (text or "").replace("\r\n", "\n")[:5000]}
    )
    return signature
