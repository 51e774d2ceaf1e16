"""Writes and reads of e-mailings (issue 11) for the pages and the API.

Every write is a service here: keyword-only ``acting_user``, one transaction, an audit row,
the worker woken once committed. Who may change an e-mailing: its author or a manager; every
signed-in user reads them. The sending itself is ``mailing_sender`` (the worker).

- draft: ``create_mailing``, ``update_mailing`` (its version), ``add_attachment``,
  ``remove_attachment``, ``delete_mailing``; before sending: ``preview_selection`` (count and
  sample of the recipients), ``preview_message`` (one recipient's mail), ``send_test`` (to oneself);
- sending: ``start`` (now or at a time), ``pause``, ``resume``, ``cancel``, ``resolve_unknown``
  (send again, or count as sent, the recipients whose fate a crash left unknown);
- reads: ``access_mailing``, ``visible_mailings``, ``recipients_of``, ``progress``;
- unsubscribe links: ``unsubscribe_token``, ``address_of_token``, ``unsubscribe_url``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.utils import parseaddr
from functools import cache
from typing import IO, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.core.validators import EmailValidator
from django.db import transaction
from django.db.models import Count, QuerySet
from django.db.models.functions import Lower, Trim
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from suivi.activities import attachments as files
from suivi.core import audit
from suivi.core.company import company_settings
from suivi.core.errors import LATEST, InvalidInput, PermissionDenied, lock_for_update
from suivi.core.expressions import ExpressionError, ExpressionSchema, compile_expression
from suivi.core.secrets import seal, unseal
from suivi.lib.ids import parse_id
from suivi.lib.sandbox import Sandbox
from suivi.lib.text import one_line
from suivi.lib.user_templates import check
from suivi.parties.models import Affiliation, Category, Contact, Party

from . import templates
from .mailings import (
    InvalidAddress,
    Mailing,
    MailingAttachment,
    MailingMethod,
    MailingOptOut,
    MailingRecipient,
    MailingStatus,
    RecipientReason,
    RecipientStatus,
    Selection,
    normalise_address,
)
from .models import Mailbox
from .queries import default_mailbox, outgoing_server

logger = logging.getLogger(__name__)

MAX_SUBJECT = 500
MAX_BODY = 200_000
MAX_LIST_CONTACTS = 50_000
MAX_LIST_ADDRESSES = 10_000
MAX_ATTACHMENTS_BYTES = 10 * 1024 * 1024  # every mail carries them: all of them together
SAMPLE_SIZE = 10
UNSUBSCRIBE_SALT = "suivi.unsubscribe"

# --- the recipients' selection ------------------------------------------------------------------


class RecipientSchema(ExpressionSchema):
    """What an e-mailing's selection may name: a contact at a party (``party.…``, ``contact.…``,
    ``function``, ``is_main``). Archived contacts and parties are never selected."""

    include = (Affiliation, Party, Contact, Category, get_user_model())
    fields = {
        Affiliation: ["function", "is_main", "party", "contact"],
        Party: [
            "name",
            "code",
            "city",
            "postal_code",
            "country",
            "language",
            "is_customer",
            "is_supplier",
            "is_prospect",
            "created_at",
            "categories",
            "sales_rep",
        ],
        Contact: ["first_name", "last_name", "email", "language", "created_at"],
        Category: ["name"],
        get_user_model(): ["username", "first_name", "last_name"],
    }


FIELDS_HELP = (
    "party.name, party.code, party.city, party.postal_code, party.country, party.language, party.is_customer, "
    "party.is_supplier, party.is_prospect, party.categories.name, party.sales_rep.username · contact.first_name, "
    "contact.last_name, contact.email, contact.language · function, is_main"
)


def selected_affiliations(expression: str) -> QuerySet[Affiliation]:
    """The contacts at parties ``expression`` selects (ExpressionError if it does not compile),
    each once, archived ones left out."""
    q = compile_expression(expression, Affiliation, RecipientSchema)
    qs = Affiliation.objects.filter(contact__archived=False, party__archived=False)
    if q:
        qs = qs.filter(pk__in=Affiliation.objects.filter(q).values("pk"))
    return qs


@dataclass
class Candidate:
    """One recipient of a selection, before its row exists. ``position`` orders the selection
    (the affiliation's id, or the rank in a hand-made list): the worker's cursor."""

    position: int
    contact_id: int | None
    party_id: int | None
    name: str
    address: str


def candidate_chunks(mailing: Mailing, *, after: int = 0, limit: int = 1000) -> Iterator[tuple[list[Candidate], int]]:
    """The recipients of the selection of ``mailing`` after position ``after``, in order, by
    chunks of at most ``limit``: each with the position it ends at (a chunk of a hand-made list
    whose contacts were all deleted meanwhile is empty, and still moves on)."""
    if mailing.selection == Selection.EXPRESSION:
        selected = selected_affiliations(mailing.expression)
        while True:
            rows = list(
                selected.filter(pk__gt=after)
                .order_by("pk")
                .select_related("contact")
                .only("pk", "party_id", "contact__id", "contact__first_name", "contact__last_name", "contact__email")[
                    :limit
                ]
            )
            if not rows:
                return
            after = rows[-1].pk
            yield [Candidate(a.pk, a.contact_id, a.party_id, str(a.contact), a.contact.email) for a in rows], after
    ids = sorted(set(mailing.contact_ids))
    while after < len(ids):
        chunk = ids[after : after + limit]
        contacts = {
            c.pk: c for c in Contact.objects.filter(pk__in=chunk).only("pk", "first_name", "last_name", "email")
        }
        parties: dict[int, int] = {}
        for contact_id, party_id in (
            Affiliation.objects.filter(contact_id__in=chunk)
            .order_by("contact_id", "-is_main", "pk")
            .values_list("contact_id", "party_id")
        ):
            parties.setdefault(contact_id, party_id)
        found = [
            Candidate(rank, pk, parties.get(pk), str(contacts[pk]), contacts[pk].email)
            for rank, pk in enumerate(chunk, start=after + 1)
            if pk in contacts  # a contact deleted since it was chosen is left out
        ]
        after += len(chunk)
        yield found, after
    typed = list(mailing.addresses)
    while after - len(ids) < len(typed):
        start = after - len(ids)
        found = []
        for rank, text in enumerate(typed[start : start + limit], start=after + 1):
            name, address = parseaddr(str(text))
            found.append(Candidate(rank, None, None, one_line(name), address))
        after += len(found)
        yield found, after


def first_candidates(mailing: Mailing, count: int) -> list[Candidate]:
    """The first ``count`` recipients of the selection (contacts once each)."""
    result: list[Candidate] = []
    seen: set[int] = set()
    for chunk, _end in candidate_chunks(mailing, limit=max(count * 3, 10)):
        for c in chunk:
            if c.contact_id is not None:
                if c.contact_id in seen:
                    continue
                seen.add(c.contact_id)
            result.append(c)
            if len(result) >= count:
                return result
    return result


def usable_address(address: str) -> str:
    """``address`` if mail can be sent to it (one valid address, nothing a header could be
    injected with), else ""."""
    address = (address or "").strip()
    if not address or len(address) > 254 or one_line(address) != address:
        return ""
    try:
        EmailValidator()(address)
        local, domain = address.rsplit("@", 1)
        Address(username=local, domain=domain)
    except (ValidationError, ValueError, IndexError):
        return ""
    return address


@dataclass
class SampleRecipient:
    name: str
    address: str
    party: str
    contact_id: int | None
    party_id: int | None


@dataclass
class SelectionPreview:
    """What a selection holds before sending: ``count`` recipients (contacts, and addresses of a
    hand-made list), ``without_address`` of them have none, ``opted_out`` and ``invalid`` are
    skipped; ``sample`` the first few."""

    count: int
    without_address: int
    opted_out: int
    invalid: int
    sample: list[SampleRecipient] = field(default_factory=list)


def _preview_of(mailing: Mailing, sample_size: int) -> SelectionPreview:
    if mailing.selection == Selection.EXPRESSION:
        qs = selected_affiliations(mailing.expression)
        keys = qs.exclude(contact__email="").annotate(key=Lower(Trim("contact__email"))).values("key")
        count = qs.values("contact_id").distinct().count()
        without = qs.filter(contact__email="").values("contact_id").distinct().count()
        opted = MailingOptOut.objects.filter(address__in=keys).count()
        invalid = InvalidAddress.objects.filter(address__in=keys, marked_at__isnull=False).count()
    else:
        ids = set(mailing.contact_ids)
        contacts = Contact.objects.filter(pk__in=ids)
        typed = [normalise_address(parseaddr(str(a))[1]) for a in mailing.addresses]
        count = contacts.count() + len(typed)
        without = contacts.filter(email="").count()
        keys_list = (
            list(contacts.exclude(email="").annotate(key=Lower(Trim("email"))).values_list("key", flat=True)) + typed
        )
        opted = MailingOptOut.objects.filter(address__in=keys_list).count()
        invalid = InvalidAddress.objects.filter(address__in=keys_list, marked_at__isnull=False).count()
    sample = [
        SampleRecipient(c.name, c.address, "", c.contact_id, c.party_id) for c in first_candidates(mailing, sample_size)
    ]
    party_names = dict(
        Party.objects.filter(pk__in={s.party_id for s in sample if s.party_id}).values_list("pk", "name")
    )
    for one in sample:
        one.party = party_names.get(one.party_id, "") if one.party_id else ""
    return SelectionPreview(count, without, opted, invalid, sample)


def preview_selection(
    *,
    acting_user,
    selection: str = Selection.EXPRESSION,
    expression: str = "",
    contact_ids: Iterable[Any] = (),
    addresses: Any = (),
    sample_size: int = SAMPLE_SIZE,
) -> SelectionPreview:
    """The count and a sample of the recipients a selection (not saved yet) holds. Raises
    InvalidInput with the expression's or the list's problem."""
    _need_user(acting_user)
    errors: dict[str, str] = {}
    draft = Mailing(selection=selection if selection in Selection.values else Selection.EXPRESSION)
    _set_selection(draft, {"expression": expression, "contact_ids": contact_ids, "addresses": addresses}, errors)
    if errors:
        raise InvalidInput(errors)
    return _preview_of(draft, min(max(sample_size, 1), 100))


def mailing_selection_preview(*, acting_user, mailing: Mailing, sample_size: int = SAMPLE_SIZE) -> SelectionPreview:
    """The count and a sample of the recipients of a saved e-mailing's selection."""
    _need_user(acting_user)
    try:
        return _preview_of(mailing, min(max(sample_size, 1), 100))
    except ExpressionError as e:
        raise InvalidInput({"expression": e.message}) from e


# --- unsubscribe links ----------------------------------------------------------------------------------


def unsubscribe_token(address: str) -> str:
    """An opaque token standing for ``address`` (normalised), for the unsubscribe link: encrypted
    and authenticated (``core.secrets.seal``), so the link neither shows the address nor can be
    made for another one."""
    return seal(UNSUBSCRIBE_SALT + ":" + normalise_address(address))


def address_of_token(token: str) -> str | None:
    """The address a token of ``unsubscribe_token`` stands for; None if it was not made here."""
    value = unseal(token)
    if not value or not value.startswith(UNSUBSCRIBE_SALT + ":"):
        return None
    return value[len(UNSUBSCRIBE_SALT) + 1 :] or None


def base_url() -> str:
    return str(getattr(settings, "SUIVI_BASE_URL", "") or "http://127.0.0.1:8000").rstrip("/")


def unsubscribe_url(address: str) -> str:
    return f"{base_url()}/u/{unsubscribe_token(address)}/"


# --- templates --------------------------------------------------------------------------------------


@cache
def html_environment() -> Sandbox:
    """The sandbox of bodies: HTML, every merged value escaped."""
    return Sandbox(html=True, filters={})


def specimen() -> dict[str, Any]:
    return {**templates.specimen(), "unsubscribe_url": "https://example.com/u/token/"}


MERGE_FIELDS_HELP = templates.FIELDS_HELP + " · unsubscribe_url"


# --- permissions and reads ------------------------------------------------------------------------


def _need_user(user) -> None:
    if not (user and user.is_authenticated):
        raise PermissionDenied(_("Sign in to work with e-mailings."))


def may_change(user, mailing: Mailing) -> bool:
    return bool(user and user.is_authenticated and (user.is_manager or mailing.author_id == user.pk))


def _need_writer(user, mailing: Mailing) -> None:
    _need_user(user)
    if not may_change(user, mailing):
        raise PermissionDenied(_("Only the author of this e-mailing or a manager may change it."))


def visible_mailings(user) -> QuerySet[Mailing]:
    """The e-mailings ``user`` sees: all of them for a signed-in user, newest first."""
    if not (user and user.is_authenticated):
        return Mailing.objects.none()
    return Mailing.objects.select_related("author").order_by("-created_at", "-id")


def access_mailing(user, mailing_id, *, for_write: bool = False) -> Mailing:
    """The e-mailing ``mailing_id`` if ``user`` sees it (404 otherwise); ``for_write``: and may
    change it (PermissionDenied otherwise)."""
    pk = parse_id(mailing_id)
    if pk is None or not (user and user.is_authenticated):
        raise Http404
    try:
        mailing = Mailing.objects.select_related("author", "mailbox").get(pk=pk)
    except Mailing.DoesNotExist as e:
        raise Http404 from e
    if for_write:
        _need_writer(user, mailing)
    return mailing


def recipients_of(user, mailing: Mailing, *, status: str = "") -> QuerySet[MailingRecipient]:
    """The recipients of ``mailing`` (read through ``access_mailing``), in their order; ``status``
    narrows them to one state."""
    if not (user and user.is_authenticated):
        return MailingRecipient.objects.none()
    qs = MailingRecipient.objects.filter(mailing=mailing)
    if status in RecipientStatus.values:
        qs = qs.filter(status=status)
    return qs.order_by("id")


@dataclass
class Progress:
    total: int
    pending: int
    sending: int
    sent: int
    failed: int
    skipped: int
    unknown: int
    prepared: bool
    eta_seconds: float | None

    @property
    def remaining(self) -> int:
        return self.pending + self.sending

    @property
    def done_share(self) -> float:
        """The share (0–1) of the recipients that are no longer waiting."""
        return 1.0 if not self.total else (self.total - self.remaining) / self.total


def progress(mailing: Mailing) -> Progress:
    """Where ``mailing`` stands: its recipients by state (one grouped count on the work index)
    and an estimate of the time left. Before the worker made every row, ``prepared`` is false
    and the totals are those made so far."""
    counts = dict(
        MailingRecipient.objects.filter(mailing=mailing)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    done = sum(counts.get(s, 0) for s in (RecipientStatus.SENT, RecipientStatus.FAILED, RecipientStatus.UNKNOWN))
    remaining = counts.get(RecipientStatus.PENDING, 0) + counts.get(RecipientStatus.SENDING, 0)
    eta: float | None = None
    if mailing.status in (MailingStatus.SENDING, MailingStatus.PAUSED, MailingStatus.SCHEDULED) and mailing.prepared:
        delay = float(company_settings().mailing_delay_seconds)
        per_mail = delay
        if done >= 10 and mailing.started_at and mailing.last_send_at:
            per_mail = max(delay, (mailing.last_send_at - mailing.started_at).total_seconds() / done)
        eta = remaining * per_mail
    return Progress(
        total=sum(counts.values()),
        pending=counts.get(RecipientStatus.PENDING, 0),
        sending=counts.get(RecipientStatus.SENDING, 0),
        sent=counts.get(RecipientStatus.SENT, 0),
        failed=counts.get(RecipientStatus.FAILED, 0),
        skipped=counts.get(RecipientStatus.SKIPPED, 0),
        unknown=counts.get(RecipientStatus.UNKNOWN, 0),
        prepared=mailing.prepared,
        eta_seconds=eta,
    )


# --- drafts ----------------------------------------------------------------------------------------


def _address_or_error(value: Any, field_name: str, errors: dict[str, str], *, required: bool) -> str:
    address = one_line(str(value or "")).strip()
    if not address:
        if required:
            errors[field_name] = _("Type an e-mail address.")
        return ""
    if not usable_address(address):
        errors[field_name] = _("This is not a valid e-mail address.")
    return address


def _typed_addresses(values: Any, errors: dict[str, str]) -> list[str]:
    from .services import _SEPARATORS

    if isinstance(values, str):
        values = [values]
    pieces = [p.strip() for v in values or [] for p in _SEPARATORS.split(str(v))]
    result: list[str] = []
    seen: set[str] = set()
    bad: list[str] = []
    for piece in filter(None, pieces):
        name, address = parseaddr(one_line(piece))
        address = usable_address(address)
        if not address:
            bad.append(one_line(piece)[:80])
            continue
        if normalise_address(address) in seen:
            continue
        seen.add(normalise_address(address))
        local, domain = address.rsplit("@", 1)
        result.append(str(Address(display_name=one_line(name)[:100], username=local, domain=domain.lower())))
    if bad:
        errors["addresses"] = _("Not an e-mail address: %(values)s.") % {"values": ", ".join(bad[:5])}
    elif len(result) > MAX_LIST_ADDRESSES:
        errors["addresses"] = _("At most %(limit)s typed addresses in one e-mailing.") % {"limit": MAX_LIST_ADDRESSES}
    return result


def _set_selection(mailing: Mailing, values: dict[str, Any], errors: dict[str, str]) -> None:
    if mailing.selection == Selection.EXPRESSION:
        mailing.expression = str(values.get("expression") or "").strip()
        mailing.contact_ids, mailing.addresses = [], []
        try:
            compile_expression(mailing.expression, Affiliation, RecipientSchema)
        except ExpressionError as e:
            errors["expression"] = e.message
        return
    mailing.expression = ""
    raw_ids = values.get("contact_ids") or []
    if isinstance(raw_ids, (str, int)):
        raw_ids = [raw_ids]
    ids: list[int] = []
    for raw in raw_ids:
        pk = parse_id(raw)
        if pk is None:
            errors["contact_ids"] = _("Choose contacts from the list.")
            break
        ids.append(pk)
    ids = sorted(set(ids))
    if len(ids) > MAX_LIST_CONTACTS:
        errors["contact_ids"] = _("At most %(limit)s contacts in a hand-made list.") % {"limit": MAX_LIST_CONTACTS}
    mailing.contact_ids = ids
    mailing.addresses = _typed_addresses(values.get("addresses"), errors)


def _apply(mailing: Mailing, values: dict[str, Any], acting_user) -> dict[str, str]:
    """Set the editable fields of ``mailing`` from ``values`` (those present); every problem."""
    errors: dict[str, str] = {}
    if "subject" in values:
        mailing.subject = one_line(str(values.get("subject") or ""))
    if "body" in values:
        mailing.body = str(values.get("body") or "").replace("\r\n", "\n")
    if "name" in values:
        mailing.name = one_line(str(values.get("name") or ""))[:200]
    mailing.name = mailing.name or mailing.subject[:200]
    if not mailing.subject:
        errors["subject"] = _("A mail needs a subject.")
    elif len(mailing.subject) > MAX_SUBJECT:
        errors["subject"] = _("At most %(limit)s characters.") % {"limit": MAX_SUBJECT}
    else:
        found = check(mailing.subject, templates.environment(), specimen())
        if found:
            errors["subject"] = " ".join(str(p) for p in found)
    if not mailing.body.strip():
        errors["body"] = _("Write the message.")
    elif len(mailing.body) > MAX_BODY:
        errors["body"] = _("At most %(limit)s characters.") % {"limit": MAX_BODY}
    else:
        found = check(mailing.body, html_environment(), specimen())
        if found:
            errors["body"] = " ".join(str(p) for p in found)
    if "method" in values:
        chosen = values.get("method") or ""
        if chosen not in MailingMethod.values:
            errors["method"] = _("Choose how the mails leave.")
        else:
            mailing.method = chosen
    mailbox = None
    if mailing.method == MailingMethod.DRAFTS:
        mailbox = default_mailbox(mailing.author)
        if mailbox is None:
            errors["method"] = _(
                "To store the mails in the drafts folder, the author needs a default mailbox "
                "(Preferences › Mailboxes); or choose to send directly."
            )
    mailing.mailbox = mailbox
    if "sender_name" in values:
        mailing.sender_name = one_line(str(values.get("sender_name") or ""))[:200]
    if "sender_address" in values:
        mailing.sender_address = _address_or_error(
            values.get("sender_address"), "sender_address", errors, required=False
        )
    if not mailing.sender_address:
        mailing.sender_address = _default_sender(mailing.author, mailbox)
        if not mailing.sender_address:
            errors["sender_address"] = _("Type the sender's e-mail address.")
    if "reply_to" in values:
        mailing.reply_to = _address_or_error(values.get("reply_to"), "reply_to", errors, required=False)
    if "envelope_from" in values:
        mailing.envelope_from = _address_or_error(values.get("envelope_from"), "envelope_from", errors, required=False)
    if "record_actions" in values:
        mailing.record_actions = bool(values.get("record_actions"))
    if "selection" in values:
        selection = values.get("selection") or ""
        if selection not in Selection.values:
            errors["selection"] = _("Choose how the recipients are selected.")
        else:
            mailing.selection = selection
    if any(k in values for k in ("selection", "expression", "contact_ids", "addresses")):
        _set_selection(mailing, values, errors)
    return errors


def _default_sender(user, mailbox: Mailbox | None) -> str:
    if mailbox is not None:
        return mailbox.address
    own = default_mailbox(user)
    return outgoing_server().from_address or (own.address if own is not None else "") or user.email or ""


@transaction.atomic
def create_mailing(*, acting_user, values: dict[str, Any]) -> Mailing:
    """A new e-mailing, in draft. Every problem is reported at once (InvalidInput)."""
    _need_user(acting_user)
    server = outgoing_server()
    mailing = Mailing(author=acting_user, sender_name=one_line(str(acting_user) or server.from_name)[:200])
    from .services import sending_method

    values = {**values, "method": values.get("method") or sending_method(acting_user)}
    errors = _apply(mailing, values, acting_user)
    if errors:
        raise InvalidInput(errors)
    mailing.save()
    audit.record(acting_user, "create", mailing)
    return mailing


def _locked(mailing: Mailing, expected_version) -> Mailing:
    return lock_for_update(
        Mailing, mailing.pk, expected_version, _("Someone changed this e-mailing meanwhile: reload the page.")
    )


def _need_draft(mailing: Mailing) -> None:
    if mailing.status != MailingStatus.DRAFT:
        raise InvalidInput({"status": _("This e-mailing was started: it can no longer be changed.")})


@transaction.atomic
def update_mailing(*, acting_user, mailing: Mailing, values: dict[str, Any], expected_version) -> Mailing:
    """Change a draft e-mailing (from the version the user edited)."""
    _need_writer(acting_user, mailing)
    mailing = _locked(mailing, expected_version)
    _need_draft(mailing)
    before = {name: getattr(mailing, name) for name in Mailing.EDITABLE}
    errors = _apply(mailing, values, acting_user)
    if errors:
        raise InvalidInput(errors)
    mailing.version += 1
    mailing.save()
    changes = {
        name: [str(old)[:200], str(getattr(mailing, name))[:200]]
        for name, old in before.items()
        if old != getattr(mailing, name)
    }
    audit.record(acting_user, "update", mailing, changes)
    return mailing


@transaction.atomic
def delete_mailing(*, acting_user, mailing: Mailing) -> None:
    """Delete a draft e-mailing with its files."""
    _need_writer(acting_user, mailing)
    mailing = _locked(mailing, LATEST)
    _need_draft(mailing)
    names = list(mailing.attachments.values_list("file", flat=True))
    audit.record(acting_user, "delete", mailing)
    mailing.delete()
    transaction.on_commit(lambda: files.remove_files(names))


@transaction.atomic
def add_attachment(
    *, acting_user, mailing: Mailing, name: str, content: bytes | IO[bytes] | File, size: int | None = None
) -> MailingAttachment:
    """Attach a file to every mail of a draft e-mailing (all files together at most 10 MB)."""
    _need_writer(acting_user, mailing)
    mailing = _locked(mailing, LATEST)
    _need_draft(mailing)
    if isinstance(content, bytes):
        content = ContentFile(content)
    elif not isinstance(content, File):
        content = File(content)
    size = content.size if size is None else size
    already = sum(mailing.attachments.values_list("size", flat=True))
    if size is None or size > files.max_bytes() or already + size > MAX_ATTACHMENTS_BYTES:
        raise InvalidInput(
            {
                "file": _("The files of an e-mailing can be at most %(size)s MB together: nothing was attached.")
                % {"size": f"{MAX_ATTACHMENTS_BYTES / 1024 / 1024:g}"}
            }
        )
    if size == 0:
        raise InvalidInput({"file": _("This file is empty: nothing was attached.")})
    content.seek(0)
    head = content.read(files.SNIFF_BYTES)
    content.seek(0)
    now = timezone.now()
    try:
        stored = files.storage().save(f"attachments/{now:%Y/%m}/{uuid.uuid4().hex}", content)
    except Exception as e:  # a full disk, an object store that does not answer
        logger.exception("Could not store an attachment of e-mailing %s", mailing.pk)
        raise InvalidInput({"file": files.store_unreachable_message()}) from e
    try:
        with transaction.atomic():
            attachment = MailingAttachment.objects.create(
                mailing=mailing, file=stored, name=files.clean_name(name), size=size, content_type=files.sniff(head)
            )
            audit.record(acting_user, "attach", mailing, {"file": ["", attachment.name]})
    except BaseException:
        files.remove_files([stored])
        raise
    return attachment


@transaction.atomic
def remove_attachment(*, acting_user, attachment: MailingAttachment) -> None:
    mailing = attachment.mailing
    _need_writer(acting_user, mailing)
    _need_draft(_locked(mailing, LATEST))
    audit.record(acting_user, "detach", mailing, {"file": [attachment.name, ""]})
    name = attachment.file
    attachment.delete()
    transaction.on_commit(lambda: files.remove_files([name]))


# --- preview and test -------------------------------------------------------------------------------


@dataclass
class MessagePreview:
    subject: str
    html: str
    text: str
    sender: str
    to: str
    headers: dict[str, str]
    attachments: list[str]


def _sample_candidate(mailing: Mailing, contact_id=None, party_id=None) -> Candidate | None:
    if contact_id is not None:
        pk = parse_id(contact_id)
        contact = Contact.objects.filter(pk=pk).first() if pk else None
        if contact is None:
            raise InvalidInput({"contact": _("This contact no longer exists.")})
        party = parse_id(party_id) if party_id is not None else None
        if party is None:
            party = (
                Affiliation.objects.filter(contact=contact)
                .order_by("-is_main", "pk")
                .values_list("party_id", flat=True)
                .first()
            )
        return Candidate(0, contact.pk, party, str(contact), contact.email)
    found = first_candidates(mailing, 1)
    return found[0] if found else None


def preview_message(*, acting_user, mailing: Mailing, contact_id=None, party_id=None) -> MessagePreview:
    """The mail one recipient would receive (the first of the selection unless one is given):
    merged and sanitised, as it would leave. Nothing is sent or stored."""
    _need_user(acting_user)
    from .mailing_messages import Composer, PreparationFailed

    candidate = _sample_candidate(mailing, contact_id, party_id)
    try:
        composer = Composer(mailing)
        built = composer.build_for(candidate, message_id="<preview@suivi.invalid>")
    except PreparationFailed as e:
        raise InvalidInput({"body": e.message}) from e
    message = built.message
    return MessagePreview(
        subject=built.subject,
        html=built.html,
        text=built.text,
        sender=message.from_email,
        to=", ".join(message.to),
        headers={k: str(v) for k, v in message.extra_headers.items()},
        attachments=[name for name, _data, _type in composer.files],
    )


def send_test(*, acting_user, mailing: Mailing) -> str:
    """Send the first recipient's mail to the acting user's own address, at once, through the
    company server ("[Test]" before its subject). Returns "" when the server accepted it, else
    why it did not (in the user's language)."""
    _need_user(acting_user)
    address = usable_address(acting_user.email or "")
    if not address:
        raise InvalidInput({"to": _("Your user has no e-mail address to send the test to (Preferences).")})
    from .mailing_messages import Composer, PreparationFailed, send_one

    try:
        candidate = _sample_candidate(mailing)
        built = Composer(mailing).build_for(
            candidate, message_id=None, to=(str(acting_user), address), subject_prefix="[Test] "
        )
    except PreparationFailed as e:
        raise InvalidInput({"body": e.message}) from e
    with transaction.atomic():
        audit.record(acting_user, "email", mailing, {"e-mail": ["", address]})
    return send_one(built.message)


# --- sending ----------------------------------------------------------------------------------------


def _wake(mailing_id: int) -> None:
    from .jobs import send_mailing

    send_mailing(mailing_id)


def _status_change(acting_user, mailing: Mailing, new: str, **fields: Any) -> None:
    old = mailing.status
    Mailing.objects.filter(pk=mailing.pk).update(status=new, version=mailing.version + 1, **fields)
    audit.record(acting_user, "status", mailing, {"status": [old, new]})


def _has_recipients(mailing: Mailing) -> bool:
    if mailing.selection == Selection.EXPRESSION:
        return selected_affiliations(mailing.expression).exists()
    return bool(mailing.addresses) or Contact.objects.filter(pk__in=mailing.contact_ids[:MAX_LIST_CONTACTS]).exists()


@transaction.atomic
def start(*, acting_user, mailing: Mailing, expected_version, at: datetime | None = None) -> Mailing:
    """Send a draft e-mailing: now (the worker starts once committed), or at ``at``. A second
    click, or a second start from another page, is refused: it was already started."""
    _need_writer(acting_user, mailing)
    if expected_version is None or expected_version == "":
        _locked(mailing, expected_version)  # VersionRequired
    mailing = _locked(mailing, LATEST)
    if mailing.status != MailingStatus.DRAFT:  # a double click: the first one started it
        raise InvalidInput({"status": _("This e-mailing was already started.")})
    _locked(mailing, expected_version)  # what the user saw is what leaves
    errors = _apply(mailing, {}, acting_user)  # checked again: the sender's mailbox may be gone
    try:
        if not errors and not _has_recipients(mailing):
            errors["selection"] = _("The selection holds no recipient.")
    except ExpressionError as e:
        errors["expression"] = e.message
    if errors:
        raise InvalidInput(errors)
    now = timezone.now()
    if at is not None and at > now + timedelta(seconds=30):
        _status_change(acting_user, mailing, MailingStatus.SCHEDULED, scheduled_at=at, mailbox=mailing.mailbox)
        transaction.on_commit(lambda: _wake_at(mailing.pk, at), robust=True)
    else:
        _status_change(
            acting_user, mailing, MailingStatus.SENDING, started_at=now, scheduled_at=None, mailbox=mailing.mailbox
        )
        transaction.on_commit(lambda: _wake(mailing.pk), robust=True)
    mailing.refresh_from_db()
    return mailing


def _wake_at(mailing_id: int, at: datetime) -> None:
    from .jobs import start_scheduled_mailing

    start_scheduled_mailing.schedule(args=(mailing_id,), eta=at)


@transaction.atomic
def pause(*, acting_user, mailing: Mailing) -> Mailing:
    """Stop sending after the mail that is leaving now; ``resume`` goes on from there."""
    _need_writer(acting_user, mailing)
    mailing = _locked(mailing, LATEST)
    if mailing.status not in (MailingStatus.SENDING, MailingStatus.SCHEDULED):
        raise InvalidInput({"status": _("Only an e-mailing being sent or scheduled can be paused.")})
    _status_change(acting_user, mailing, MailingStatus.PAUSED, pause_code="", pause_detail="")
    mailing.refresh_from_db()
    return mailing


@transaction.atomic
def resume(*, acting_user, mailing: Mailing) -> Mailing:
    """Go on sending a paused e-mailing (at the company's pace: no burst to catch up)."""
    _need_writer(acting_user, mailing)
    mailing = _locked(mailing, LATEST)
    if mailing.status != MailingStatus.PAUSED:
        raise InvalidInput({"status": _("Only a paused e-mailing can be resumed.")})
    if mailing.method == MailingMethod.DRAFTS and mailing.mailbox_id is None:
        raise InvalidInput({"method": _("The mailbox of this e-mailing's drafts was deleted.")})
    _status_change(
        acting_user,
        mailing,
        MailingStatus.SENDING,
        pause_code="",
        pause_detail="",
        started_at=mailing.started_at or timezone.now(),
    )
    transaction.on_commit(lambda: _wake(mailing.pk), robust=True)
    mailing.refresh_from_db()
    return mailing


@transaction.atomic
def cancel(*, acting_user, mailing: Mailing) -> Mailing:
    """Send no more mails of this e-mailing: those sent stay sent, the one leaving now (if any)
    is recorded by the worker, the waiting ones are skipped (reason: cancelled)."""
    _need_writer(acting_user, mailing)
    mailing = _locked(mailing, LATEST)
    if mailing.status in (MailingStatus.DONE, MailingStatus.CANCELLED):
        raise InvalidInput({"status": _("This e-mailing is finished: there is nothing to cancel.")})
    _status_change(acting_user, mailing, MailingStatus.CANCELLED, finished_at=timezone.now())
    MailingRecipient.objects.filter(mailing=mailing, status=RecipientStatus.PENDING).update(
        status=RecipientStatus.SKIPPED, reason_code=RecipientReason.CANCELLED, detail="", next_try_at=None
    )
    mailing.refresh_from_db()
    return mailing


@transaction.atomic
def resolve_unknown(*, acting_user, mailing: Mailing, resend: bool, recipient_ids: Sequence[Any] | None = None) -> int:
    """Decide about recipients whose mail may or may not have left (a crash during its send):
    ``resend`` puts them back in the queue (the same Message-ID), else they count as sent.
    ``recipient_ids`` None: every unknown one. Returns how many changed."""
    _need_writer(acting_user, mailing)
    mailing = _locked(mailing, LATEST)
    if mailing.status == MailingStatus.CANCELLED:
        raise InvalidInput({"status": _("This e-mailing was cancelled.")})
    qs = MailingRecipient.objects.filter(mailing=mailing, status=RecipientStatus.UNKNOWN)
    if recipient_ids is not None:
        qs = qs.filter(pk__in=[pk for pk in (parse_id(r) for r in recipient_ids) if pk is not None])
    if resend:
        changed = qs.update(
            status=RecipientStatus.PENDING, reason_code="", detail="", lease_until=None, next_try_at=None, attempts=0
        )
        if changed and mailing.status == MailingStatus.DONE:
            _status_change(acting_user, mailing, MailingStatus.SENDING, finished_at=None)
        if changed and mailing.status in (MailingStatus.DONE, MailingStatus.SENDING):
            transaction.on_commit(lambda: _wake(mailing.pk), robust=True)
    else:
        changed = qs.update(
            status=RecipientStatus.SENT,
            reason_code=RecipientReason.CONFIRMED,
            detail=str(acting_user)[:200],
            lease_until=None,
        )
    audit.record(acting_user, "update", mailing, {"unknown": ["", f"{changed} {'resend' if resend else 'sent'}"]})
    return changed


def iter_recipients(mailing: Mailing, *, status: str = "", batch: int = 2000) -> Iterator[MailingRecipient]:
    """Every recipient of ``mailing`` by keyset, ``batch`` rows in memory at a time (exports)."""
    last = 0
    while True:
        qs = MailingRecipient.objects.filter(mailing=mailing, pk__gt=last)
        if status:
            qs = qs.filter(status=status)
        rows = list(qs.order_by("pk")[:batch])
        if not rows:
            return
        yield from rows
        last = rows[-1].pk


def opted_out(address: str) -> bool:
    return MailingOptOut.objects.filter(address=normalise_address(address)).exists()
