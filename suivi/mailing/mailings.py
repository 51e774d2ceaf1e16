"""E-mailings (issue 11, S8): one message with merge fields sent to many recipients, paced by the
company's delay, crash-safe and never twice.

- ``Mailing``: the message (subject and HTML body with merge fields, sender, attachments), how the
  recipients are chosen (an expression over contacts at parties, or a hand-made list), how it
  leaves (send, or store in the sender's Drafts: S7) and its state::

      draft ──start──▶ sending ──(all done)──▶ done
        │   └─start(at)─▶ scheduled ──(its time)──▶ sending
        │                     │                    ▲  │
        │                     └──(stale)──▶ paused ─┘  │ (pause, or the worker after a run of failures)
        └──────────────── cancel (any state but done) ─┴──▶ cancelled

  One worker at a time holds a lease on the row (``worker``, ``lease_until``); it checks the
  state before each mail, so pause and cancel take effect between two mails.

- ``MailingRecipient``: one row per recipient, made when the worker starts (from the selection,
  in chunks that commit with their cursor), each with its Message-ID fixed from the start::

      pending ──claim──▶ sending ──▶ sent | failed (reason) | pending again (a 4xx: later, capped)
      skipped (opted out, no address, duplicate address, invalid address) — never sent
      unknown: found *sending* by the next worker after a crash, or the connection was lost after
               the message's last byte: never sent again by itself; the user decides.

  One row per (e-mailing, normalised address): ``address_key`` is unique per e-mailing; rows that
  will never be sent for want of an address, or because another contact has the same one, hold
  no key.

- ``MailingOptOut`` and ``InvalidAddress``: addresses later e-mailings skip (an unsubscribe; a run
  of bounces). Kept by address, beside the contacts, whatever contact holds the address.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from suivi.activities.models import Action
from suivi.parties.models import Contact, Party

from .models import Mailbox


def normalise_address(address: str) -> str:
    """The form an address is compared in: trimmed and lower-cased (the same person whatever the
    case they typed it in)."""
    return (address or "").strip().lower()


class MailingStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    SCHEDULED = "scheduled", _("scheduled")
    SENDING = "sending", _("sending")
    PAUSED = "paused", _("paused")
    DONE = "done", _("finished")
    CANCELLED = "cancelled", _("cancelled")


class MailingMethod(models.TextChoices):
    SEND = "send", _("Send directly")
    DRAFTS = "drafts", _("Store in the drafts folder")


class Selection(models.TextChoices):
    EXPRESSION = "expression", _("contacts selected by an expression")
    LIST = "list", _("a hand-made list")


class PauseReason:
    """Why an e-mailing paused itself (``Mailing.pause_code``); read in each reader's language."""

    FAILURES = "failures"
    LOGIN = "login"
    UNREACHABLE = "unreachable"
    MAILBOX = "mailbox"
    STALE = "stale"
    TEMPLATE = "template"


PAUSE_REASONS = {
    PauseReason.FAILURES: _("%(count)s mails in a row could not be sent; the last one: %(detail)s"),
    PauseReason.LOGIN: _("the mail server refused the login (%(detail)s)"),
    PauseReason.UNREACHABLE: _("the mail server could not be reached (%(detail)s)"),
    PauseReason.MAILBOX: _("the drafts folder could not be written (%(detail)s)"),
    PauseReason.STALE: _(
        "it was scheduled for %(detail)s but Suivi was not running then; start it again if it should still leave"
    ),
    PauseReason.TEMPLATE: _("the message cannot be prepared (%(detail)s)"),
}


class Mailing(models.Model):
    """An e-mailing: its message, its recipients' selection and where its sending stands."""

    name = models.CharField(_("name"), max_length=200)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=MailingStatus.choices, default=MailingStatus.DRAFT)
    subject = models.CharField(_("subject"), max_length=500)
    body = models.TextField(_("message"), help_text=_("HTML, with merge fields; a text version is made from it."))
    sender_name = models.CharField(_("sender name"), max_length=200, blank=True)
    sender_address = models.CharField(_("sender address"), max_length=254)
    reply_to = models.CharField(_("reply to"), max_length=254, blank=True)
    envelope_from = models.CharField(
        _("bounce address"),
        max_length=254,
        blank=True,
        help_text=_("Where delivery failure reports go; the sender address when empty."),
    )
    method = models.CharField(
        _("sending method"), max_length=8, choices=MailingMethod.choices, default=MailingMethod.SEND
    )
    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    selection = models.CharField(
        _("recipients"), max_length=10, choices=Selection.choices, default=Selection.EXPRESSION
    )
    expression = models.TextField(_("selection"), blank=True)
    contact_ids = models.JSONField(default=list, blank=True)  # a hand-made list: contacts…
    addresses = models.JSONField(default=list, blank=True)  # …and addresses typed in ("Name <address>")
    record_actions = models.BooleanField(
        _("record each mail on the party's timeline"),
        default=False,
        help_text=_(
            "Adds an e-mailing action to the timeline of each recipient's party. Off by default: a large "
            "e-mailing would add thousands of actions to the timelines and slow its sending down."
        ),
    )
    scheduled_at = models.DateTimeField(_("send at"), null=True, blank=True)
    # The worker's lease: one worker sends an e-mailing at a time.
    worker = models.CharField(max_length=120, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # The recipients' rows are made by the worker, in chunks committed with this cursor.
    prepared = models.BooleanField(default=False)
    prepared_upto = models.BigIntegerField(default=0)
    last_send_at = models.DateTimeField(null=True, blank=True)  # the pace goes on from it after a restart
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    pause_code = models.CharField(max_length=12, blank=True)  # a PauseReason when it paused itself
    pause_detail = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    version = models.PositiveIntegerField(default=1)

    EDITABLE = (
        "name",
        "subject",
        "body",
        "sender_name",
        "sender_address",
        "reply_to",
        "envelope_from",
        "method",
        "selection",
        "expression",
        "contact_ids",
        "addresses",
        "record_actions",
    )

    class Meta:
        verbose_name = _("e-mailing")
        verbose_name_plural = _("e-mailings")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "lease_until"], name="mailing_work")]

    def __str__(self) -> str:
        return self.name

    @property
    def pause_reason(self) -> str:
        """Why the e-mailing paused itself, in the reader's language ("" when a user paused it)."""
        text = PAUSE_REASONS.get(self.pause_code)
        if text is None:
            return self.pause_detail
        detail = self.pause_detail
        count = ""
        if self.pause_code == PauseReason.FAILURES:
            count, _sep, detail = detail.partition("|")
        elif self.pause_code == PauseReason.STALE:
            when = parse_datetime(detail)
            if when is not None:
                detail = date_format(timezone.localtime(when), "SHORT_DATETIME_FORMAT")
        return str(text) % {"count": count, "detail": detail[:300]}


class RecipientStatus(models.TextChoices):
    PENDING = "pending", _("waiting")
    SENDING = "sending", _("being sent")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")
    SKIPPED = "skipped", _("skipped")
    UNKNOWN = "unknown", _("unknown")


class RecipientReason:
    """Why a recipient was skipped, failed or is unknown (``MailingRecipient.reason_code``)."""

    OPTED_OUT = "opted_out"
    NO_ADDRESS = "no_address"
    DUPLICATE = "duplicate"
    INVALID = "invalid"
    REFUSED = "refused"
    MESSAGE = "message"
    SENDER = "sender"
    RETRIES = "retries"
    TEMPLATE = "template"
    DRAFTS = "drafts"
    INTERRUPTED = "interrupted"
    LOST = "lost"
    CANCELLED = "cancelled"
    CONFIRMED = "confirmed"


RECIPIENT_REASONS = {
    RecipientReason.OPTED_OUT: _("unsubscribed from e-mailings"),
    RecipientReason.NO_ADDRESS: _("no valid e-mail address"),
    RecipientReason.DUPLICATE: _("another recipient has the same address"),
    RecipientReason.INVALID: _("the address bounced too often"),
    RecipientReason.REFUSED: _("the mail server refused the recipient (%(detail)s)"),
    RecipientReason.MESSAGE: _("the mail server refused the message (%(detail)s)"),
    RecipientReason.SENDER: _("the mail server refused the sender (%(detail)s)"),
    RecipientReason.RETRIES: _("the mail server kept answering “try later” (%(detail)s)"),
    RecipientReason.TEMPLATE: _("the message could not be prepared for this recipient (%(detail)s)"),
    RecipientReason.DRAFTS: _("the drafts folder refused the message (%(detail)s)"),
    RecipientReason.INTERRUPTED: _(
        "the sending was interrupted while this mail was leaving: it may or may not have been received"
    ),
    RecipientReason.LOST: _(
        "the connection to the mail server was lost before it confirmed this mail: it may or may not "
        "have been received (%(detail)s)"
    ),
    RecipientReason.CANCELLED: _("the e-mailing was cancelled"),
    RecipientReason.CONFIRMED: _("counted as sent by %(detail)s"),
}


class MailingRecipient(models.Model):
    """One recipient of an e-mailing and what became of its mail."""

    mailing = models.ForeignKey(Mailing, on_delete=models.CASCADE, related_name="recipients", db_index=False)
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    party = models.ForeignKey(Party, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    name = models.CharField(_("name"), max_length=200, blank=True)
    address = models.CharField(_("e-mail address"), max_length=254, blank=True)
    address_key = models.CharField(max_length=254, blank=True)  # normalised; empty: never sent
    status = models.CharField(
        _("status"), max_length=8, choices=RecipientStatus.choices, default=RecipientStatus.PENDING
    )
    reason_code = models.CharField(max_length=12, blank=True)  # a RecipientReason
    detail = models.CharField(max_length=1000, blank=True)  # the technical detail, as the server said it
    attempts = models.PositiveSmallIntegerField(default=0)
    next_try_at = models.DateTimeField(null=True, blank=True)  # after a 4xx: not before
    lease_until = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    action = models.ForeignKey(Action, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("recipient")
        verbose_name_plural = _("recipients")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["mailing", "address_key"],
                condition=~Q(address_key=""),
                name="one_recipient_per_address",
            )
        ]
        indexes = [models.Index(fields=["mailing", "status", "id"], name="mailing_recipient_work")]

    def __str__(self) -> str:
        return self.address or self.name

    @property
    def reason(self) -> str:
        """Why it was skipped, failed or is unknown, in the reader's language."""
        text = RECIPIENT_REASONS.get(self.reason_code)
        if text is None:
            return self.detail
        return str(text) % {"detail": self.detail[:300]}


class MailingAttachment(models.Model):
    """A file sent with every mail of an e-mailing (stored like the files of actions)."""

    mailing = models.ForeignKey(Mailing, on_delete=models.CASCADE, related_name="attachments")
    file = models.CharField(max_length=255, editable=False)  # the name in the attachments storage
    name = models.CharField(_("name"), max_length=150)
    size = models.PositiveBigIntegerField(_("size"))
    content_type = models.CharField(_("content type"), max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class OptOutSource(models.TextChoices):
    ONE_CLICK = "one_click", _("one-click unsubscribe")
    LINK = "link", _("unsubscribe page")
    USER = "user", _("recorded by a user")
    COMPLAINT = "complaint", _("spam complaint")


class MailingOptOut(models.Model):
    """An address that asked for no more e-mailings: later e-mailings skip it."""

    address = models.CharField(_("e-mail address"), max_length=254, unique=True)  # normalised
    source = models.CharField(_("source"), max_length=10, choices=OptOutSource.choices, default=OptOutSource.LINK)
    mailing = models.ForeignKey(Mailing, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("unsubscribed address")
        verbose_name_plural = _("unsubscribed addresses")

    def __str__(self) -> str:
        return self.address


class InvalidAddress(models.Model):
    """An address mails bounced from. Once ``marked_at`` is set (the bounces reached the
    threshold), later e-mailings skip it."""

    address = models.CharField(_("e-mail address"), max_length=254, unique=True)  # normalised
    bounces = models.PositiveIntegerField(_("bounces"), default=0)
    last_bounce_at = models.DateTimeField(null=True, blank=True)
    last_reason = models.CharField(max_length=500, blank=True)
    marked_at = models.DateTimeField(_("marked invalid"), null=True, blank=True)

    class Meta:
        verbose_name = _("invalid address")
        verbose_name_plural = _("invalid addresses")

    def __str__(self) -> str:
        return self.address
