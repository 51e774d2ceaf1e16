"""Reads of mail, permission-checked: a user sees their own mailboxes and those shared with them,
the inbox of those mailboxes, and the mails they composed; administrators manage every
mailbox and the company server."""

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.http import Http404
from django.utils.translation import gettext as _

from suivi.activities.models import Action, ActionType, Folder
from suivi.activities.queries import visible_actions
from suivi.core.errors import PermissionDenied
from suivi.lib.ids import parse_id
from suivi.parties.models import Contact, Party

from .models import InboxStatus, IncomingMail, Mailbox, MailRecord, OutgoingMail, OutgoingServer

INBOX_PAGE = 50


def outgoing_server() -> OutgoingServer:
    return OutgoingServer.objects.get_or_create(pk=1)[0]


def email_action_type() -> ActionType:
    """The type of the actions of sent and filed e-mails: the company's choice, else the type
    named E-mail, else the first active one."""
    server = OutgoingServer.objects.filter(pk=1).select_related("email_action_type").first()
    if server and server.email_action_type and server.email_action_type.active:
        return server.email_action_type
    chosen = (
        ActionType.objects.filter(active=True, name_en__iexact="e-mail").first()
        or ActionType.objects.filter(active=True).order_by("position", "id").first()
    )
    if chosen is None:
        raise PermissionDenied(_("No active action type: an administrator must create one."))
    return chosen


def _readable(user) -> Q:
    return Q(owner=user) | Q(owner__isnull=True, members=user)


def mailboxes_of(user) -> QuerySet[Mailbox]:
    """The mailboxes ``user`` reads: their own, and the shared ones they are a member of
    (administrators see every mailbox)."""
    if not (user and user.is_authenticated):
        return Mailbox.objects.none()
    if user.is_administrator:
        return Mailbox.objects.select_related("owner")
    return Mailbox.objects.filter(_readable(user)).distinct().select_related("owner")


def access_mailbox(user, mailbox_id, *, for_write: bool = False) -> Mailbox:
    """The mailbox ``mailbox_id`` if ``user`` may read it (404 otherwise); ``for_write``: only
    its owner, or an administrator for a shared one."""
    pk = parse_id(mailbox_id)
    mailbox = mailboxes_of(user).filter(pk=pk).first() if pk else None
    if mailbox is None:
        raise Http404
    if for_write and not (mailbox.owner_id == user.pk or (mailbox.owner_id is None and user.is_administrator)):
        raise PermissionDenied(_("Only the owner of this mailbox may change it."))
    return mailbox


def default_mailbox(user) -> Mailbox | None:
    return Mailbox.objects.filter(owner=user, is_default=True).first() if user and user.is_authenticated else None


def inbox_mailboxes(user) -> QuerySet[Mailbox]:
    """The mailboxes whose mails ``user`` reads: their own and those shared with them — an
    administrator manages every mailbox but reads nobody else's mail."""
    if not (user and user.is_authenticated):
        return Mailbox.objects.none()
    return Mailbox.objects.filter(_readable(user)).distinct()


def inbox(user, status: str = InboxStatus.NEW) -> QuerySet[IncomingMail]:
    """The mails of the mailboxes ``user`` reads, newest first."""
    boxes = inbox_mailboxes(user).values("pk")
    return (
        IncomingMail.objects.filter(mailbox__in=boxes, status=status)
        .select_related("mailbox")
        .defer("html", "text")
        .order_by("-date", "-id")
    )


def access_incoming(user, mail_id) -> IncomingMail:
    pk = parse_id(mail_id)
    mail = IncomingMail.objects.filter(pk=pk, mailbox__in=inbox_mailboxes(user).values("pk")).first() if pk else None
    if mail is None:
        raise Http404
    return mail


def my_mails(user) -> QuerySet[OutgoingMail]:
    if not (user and user.is_authenticated):
        return OutgoingMail.objects.none()
    qs = OutgoingMail.objects.select_related("action", "party")
    return qs if user.is_manager else qs.filter(author=user)


def access_outgoing(user, mail_id) -> OutgoingMail:
    """A composed mail: its author's, or any for a manager (404 otherwise)."""
    pk = parse_id(mail_id)
    mail = my_mails(user).filter(pk=pk).first() if pk else None
    if mail is None:
        raise Http404
    return mail


# --- filing suggestions ---------------------------------------------------------------------------


@dataclass
class Suggestion:
    """Where a mail could be filed: a party, the contacts there it was exchanged with, a folder
    (the thread's), and the action of the thread it answers."""

    party: Party
    contacts: list[Contact] = field(default_factory=list)
    folder: Folder | None = None
    thread: Action | None = None


def thread_action(user, message_ids: list[str]) -> Action | None:
    """The action holding one of ``message_ids`` (In-Reply-To first, then References from the
    newest), if ``user`` may see it."""
    ids = [m for m in message_ids if m]
    if not ids:
        return None
    records = {r.message_id: r.action_id for r in MailRecord.objects.filter(message_id__in=ids)}
    for message_id in ids:
        if message_id in records:
            return visible_actions(user).select_related("party", "folder").filter(pk=records[message_id]).first()
    return None


def contacts_by_address(addresses: list[str]) -> dict[str, list[Contact]]:
    """The contacts whose e-mail is one of ``addresses`` (any case), by lower-case address."""
    lowered = sorted({a.strip().lower() for a in addresses if a and "@" in a})[:200]
    found: dict[str, list[Contact]] = {}
    if not lowered:
        return found
    for contact in Contact.objects.alias(address=Lower("email")).filter(address__in=lowered).order_by("id")[:500]:
        found.setdefault(contact.email.lower(), []).append(contact)
    return found


def suggestions(user, mail: IncomingMail, own_addresses: frozenset[str] | set[str] = frozenset()) -> list[Suggestion]:
    """Where ``mail`` could be filed, best first: the party of the action it answers, then the
    parties of the contacts it was exchanged with, then the parties whose own address it names."""
    addresses = [a for a in [mail.sender_email, *mail.recipients] if a and a.lower() not in own_addresses]
    result: dict[int, Suggestion] = {}
    thread = thread_action(user, [mail.in_reply_to, *reversed(mail.references)])
    if thread is not None and thread.party is not None:
        result[thread.party.pk] = Suggestion(thread.party, folder=thread.folder, thread=thread)
    contacts = contacts_by_address(addresses)
    contact_ids = [c.pk for group in contacts.values() for c in group]
    if contact_ids:
        parties = (
            Party.objects.filter(affiliations__contact_id__in=contact_ids, archived=False)
            .values_list("pk", "affiliations__contact_id")
            .order_by("pk")[:200]
        )
        by_party: dict[int, list[int]] = {}
        for party_id, contact_id in parties:
            by_party.setdefault(party_id, []).append(contact_id)
        objects = Party.objects.in_bulk(list(by_party))
        contact_of = {c.pk: c for group in contacts.values() for c in group}
        for party_id, ids in by_party.items():
            suggestion = result.setdefault(party_id, Suggestion(objects[party_id]))
            suggestion.contacts.extend(contact_of[i] for i in ids if contact_of[i] not in suggestion.contacts)
    lowered = sorted({a.lower() for a in addresses if "@" in a})[:200]
    if lowered:
        for party in Party.objects.alias(address=Lower("email")).filter(address__in=lowered, archived=False)[:20]:
            result.setdefault(party.pk, Suggestion(party))
    return list(result.values())[:10]
