"""Articles, VAT rates, journals, layouts, documents and their lines, print and e-mail events."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from suivi.activities.models import Folder
from suivi.parties.models import Contact, Party

LAYOUT_LANGUAGES = [("fr", "Français"), ("en", "English"), ("nl", "Nederlands")]


class VatRate(models.Model):
    """A VAT rate: 21 %, 6 %, 0 %, reverse charge (0 % with a legal mention)…"""

    code = models.CharField(_("code"), max_length=10, unique=True)
    label = models.CharField(_("label"), max_length=100)
    rate = models.DecimalField(
        _("rate (%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    mention = models.CharField(
        _("legal mention"),
        max_length=200,
        blank=True,
        help_text=_("Printed under the totals, e.g. “Reverse charge, article 51 §2 of the VAT code”."),
    )
    active = models.BooleanField(_("active"), default=True)
    version = models.PositiveIntegerField(default=1)

    EDITABLE = ("code", "label", "rate", "mention", "active")

    class Meta:
        verbose_name = _("VAT rate")
        verbose_name_plural = _("VAT rates")
        ordering = ["-rate", "code"]

    def __str__(self) -> str:
        return self.label


class Article(models.Model):
    """Something sold or bought, with its default price and VAT rate."""

    code = models.CharField(_("code"), max_length=30, unique=True)
    name_fr = models.CharField(_("name (French)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    name_nl = models.CharField(_("name (Dutch)"), max_length=200, blank=True)
    unit = models.CharField(_("unit"), max_length=20, blank=True, help_text=_("e.g. piece, hour, m²"))
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=4, default=Decimal("0"))
    vat_rate = models.ForeignKey(VatRate, on_delete=models.PROTECT, related_name="+", verbose_name=_("VAT rate"))
    active = models.BooleanField(_("active"), default=True)
    version = models.PositiveIntegerField(default=1)

    EDITABLE = ("code", "name_fr", "name_en", "name_nl", "unit", "unit_price", "vat_rate", "active")

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} · {self.name()}"

    def name(self, language: str | None = None) -> str:
        """The name in ``language`` (default: the active one), French when it has none."""
        language = (language or get_language() or "fr")[:2]
        return getattr(self, f"name_{language}", "") or self.name_fr


class DocumentKind(models.TextChoices):
    QUOTE = "quote", _("Quote")
    ORDER = "order", _("Order")
    DELIVERY = "delivery", _("Delivery note")
    INVOICE = "invoice", _("Invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")


class JournalSide(models.TextChoices):
    SALES = "sales", _("Sales")
    PURCHASES = "purchases", _("Purchases")


class Journal(models.Model):
    """A numbered series of documents of one kind (the seed's *journal*)."""

    code = models.CharField(_("code"), max_length=10, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=12, choices=DocumentKind.choices)
    side = models.CharField(_("sales or purchases"), max_length=10, choices=JournalSide.choices, default="sales")
    numbering_pattern = models.CharField(
        _("numbering pattern"),
        max_length=40,
        default="{year}/{seq:05}",
        help_text=_("{year} is the year of the document, {seq} its number in the year, e.g. F{year}-{seq:04}."),
    )
    active = models.BooleanField(_("active"), default=True)
    version = models.PositiveIntegerField(default=1)

    EDITABLE = ("code", "name", "kind", "side", "numbering_pattern", "active")

    class Meta:
        verbose_name = _("journal")
        verbose_name_plural = _("journals")
        ordering = ["side", "kind", "code"]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class JournalYear(models.Model):
    """The counter of one journal's year: the last number given, and whether the year is closed.
    Validation locks this row, so two validations in the same journal and year take turns."""

    journal = models.ForeignKey(Journal, on_delete=models.CASCADE, related_name="years")
    year = models.PositiveSmallIntegerField(_("year"))
    last_number = models.PositiveIntegerField(_("last number"), default=0)
    closed = models.BooleanField(_("closed"), default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["journal", "year"], name="one_counter_per_journal_year")]
        ordering = ["journal", "-year"]

    def __str__(self) -> str:
        return f"{self.journal.code} {self.year}"


class Layout(models.Model):
    """How a journal's documents are printed and e-mailed: an HTML template, its CSS, and the
    e-mail's subject and body templates, all written by users and rendered in a sandbox."""

    journal = models.ForeignKey(Journal, on_delete=models.CASCADE, related_name="layouts", verbose_name=_("journal"))
    name = models.CharField(_("name"), max_length=100)
    language = models.CharField(_("language"), max_length=2, choices=LAYOUT_LANGUAGES, default="fr")
    html_template = models.TextField(_("HTML template"))
    css = models.TextField(_("CSS"), blank=True)
    email_subject_template = models.CharField(_("e-mail subject"), max_length=300, blank=True)
    email_body_template = models.TextField(_("e-mail body"), blank=True)
    is_default = models.BooleanField(_("default layout of the journal"), default=False)
    version = models.PositiveIntegerField(default=1)

    EDITABLE = (
        "name",
        "language",
        "html_template",
        "css",
        "email_subject_template",
        "email_body_template",
        "is_default",
    )

    class Meta:
        verbose_name = _("layout")
        verbose_name_plural = _("layouts")
        ordering = ["journal", "-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["journal"], condition=models.Q(is_default=True), name="one_default_layout_per_journal"
            )
        ]

    def __str__(self) -> str:
        return self.name


class DocumentStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    VALIDATED = "validated", _("Validated")
    CANCELLED = "cancelled", _("Cancelled")


# The workflow as data: what each status may become (services.set_document_status applies it).
DOCUMENT_TRANSITIONS = {
    DocumentStatus.DRAFT: {DocumentStatus.VALIDATED, DocumentStatus.CANCELLED},
    DocumentStatus.VALIDATED: {DocumentStatus.CANCELLED},
    DocumentStatus.CANCELLED: set(),
}


class Document(models.Model):
    """A quote, order, delivery note, invoice or credit note. Its number is given at validation."""

    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, related_name="documents", verbose_name=_("journal"))
    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="documents", verbose_name=_("party"))
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("contact")
    )
    folder = models.ForeignKey(
        Folder, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("folder")
    )
    date = models.DateField(_("date"))
    due_date = models.DateField(_("due date"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=DocumentStatus.choices, default="draft")
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True)
    sequence = models.PositiveIntegerField(_("number in the year"), null=True, blank=True)
    number = models.CharField(_("number"), max_length=60, blank=True, db_index=True)
    source = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="derived",
        verbose_name=_("made from"),
    )
    notes = models.TextField(_("notes"), blank=True)
    total_excl = models.DecimalField(_("total excl. VAT"), max_digits=14, decimal_places=2, default=Decimal("0"))
    total_vat = models.DecimalField(_("VAT"), max_digits=14, decimal_places=2, default=Decimal("0"))
    total_incl = models.DecimalField(_("total incl. VAT"), max_digits=14, decimal_places=2, default=Decimal("0"))
    print_count = models.PositiveIntegerField(_("prints"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    validated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["-date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["journal", "year", "sequence"], name="one_number_per_journal_year"),
        ]
        indexes = [
            models.Index(fields=["-date", "-id"], name="document_by_date"),
            models.Index(fields=["party", "-date", "-id"], name="document_by_party"),
            models.Index(fields=["journal", "-date", "-id"], name="document_by_journal"),
        ]

    def __str__(self) -> str:
        return f"{self.journal.code} {self.number}" if self.number else f"{self.journal.code} ({self.pk})"

    @property
    def kind(self) -> str:
        return self.journal.kind

    @property
    def is_draft(self) -> bool:
        return self.status == DocumentStatus.DRAFT


class DocumentLine(models.Model):
    """One line: an article or free text, quantity × unit price less a discount, at a VAT rate.
    ``net`` is the line's amount excluding VAT, rounded to the cent."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    article = models.ForeignKey(
        Article, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("article")
    )
    description = models.TextField(_("description"), blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3, default=Decimal("1"))
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=4, default=Decimal("0"))
    discount_percent = models.DecimalField(_("discount (%)"), max_digits=5, decimal_places=2, default=Decimal("0"))
    vat_rate = models.ForeignKey(VatRate, on_delete=models.PROTECT, related_name="+", verbose_name=_("VAT rate"))
    # The rate when the line was written: a later change of the VAT rate leaves the document as it was.
    vat_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))
    net = models.DecimalField(_("amount excl. VAT"), max_digits=14, decimal_places=2, default=Decimal("0"))

    class Meta:
        ordering = ["document", "position", "id"]

    def __str__(self) -> str:
        return self.description[:60]


class EventKind(models.TextChoices):
    PRINT = "print", _("Print")
    EMAIL = "email", _("E-mail")


class EventStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class SendFailure:
    """Why an e-mail was not sent: stored as a code (with a technical detail), so that each
    reader reads the reason in their own language (``DocumentEvent.reason``)."""

    REFUSED = "refused"
    TIMEOUT = "timeout"
    UNKNOWN_HOST = "unknown_host"
    UNREACHABLE = "unreachable"
    LOGIN = "login"
    RECIPIENT = "recipient"
    MESSAGE = "message"
    LAYOUT = "layout"


# The reason of a failed send as a clause of the sentence "The e-mail to … was not sent: …".
SEND_FAILURE_REASONS = {
    SendFailure.REFUSED: _("the mail server refused the connection"),
    SendFailure.TIMEOUT: _("the mail server did not answer in time"),
    SendFailure.UNKNOWN_HOST: _("the name of the mail server was not found"),
    SendFailure.UNREACHABLE: _("the mail server could not be reached (%(detail)s)"),
    SendFailure.LOGIN: _("the mail server refused the user name or the password"),
    SendFailure.RECIPIENT: _("the mail server refused the recipient (%(detail)s)"),
    SendFailure.MESSAGE: _("the mail server refused the message (%(detail)s)"),
    SendFailure.LAYOUT: _("the layout fails (%(detail)s)"),
}


class DocumentEvent(models.Model):
    """One print or e-mail of a document through a layout. ``idempotency_key`` names the user's
    request (a double click or a retried request carries the same key), so one request is one
    event; the linked-action rules of the layout hook here."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=5, choices=EventKind.choices)
    layout = models.ForeignKey(Layout, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    idempotency_key = models.CharField(max_length=64)
    status = models.CharField(max_length=8, choices=EventStatus.choices, default=EventStatus.PENDING)
    recipient = models.CharField(_("recipient"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body = models.TextField(blank=True)
    error = models.TextField(_("reason"), blank=True)  # the technical detail, as the server or system said it
    error_code = models.CharField(max_length=12, blank=True)  # a SendFailure
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["document", "kind", "idempotency_key"], name="one_event_per_request")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.document_id} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def reason(self) -> str:
        """Why the send failed, in the reader's language (a row recorded before reasons had a
        code reads as it was stored)."""
        if self.error_code in SEND_FAILURE_REASONS:
            return str(SEND_FAILURE_REASONS[self.error_code]) % {"detail": self.error[:300]}
        return self.error


# --- linked actions (S12, S13) and the document ↔ action link (S16) -----------------------------


class FolderMode(models.TextChoices):
    NONE = "none", _("No folder")
    FIXED = "fixed", _("A fixed folder")
    DOCUMENT = "document", _("The document's folder")
    PARTY = "party", _("A folder of the party, named by a template")


class FollowerMode(models.TextChoices):
    ACTING = "acting", _("The user printing or sending")
    SALES_REP = "sales_rep", _("The party's sales representative")
    FIXED = "fixed", _("A fixed user")


class GeneratedStatus(models.TextChoices):
    DONE = "done", _("Done")
    TODO = "todo", _("To do")


class LinkedActionRule(models.Model):
    """What printing (or e-mailing) a document with one layout records on the party's history:
    one rule per layout and event kind, set on the *Linked-actions folder settings* screen (S12).
    ``services.apply_linked_action_rule`` applies it to each print or send event (S13)."""

    layout = models.ForeignKey(
        Layout, on_delete=models.CASCADE, related_name="linked_action_rules", verbose_name=_("layout")
    )
    event_kind = models.CharField(_("event"), max_length=5, choices=EventKind.choices)
    enabled = models.BooleanField(_("generate an action"), default=False)
    action_type = models.ForeignKey(
        "activities.ActionType",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("action type"),
    )
    subject_template = models.CharField(
        _("subject"),
        max_length=300,
        default="{{ document.kind_label }} {{ document.number }} · {{ party.name }}",
        help_text=_("A template with the document's fields, e.g. {{ document.number }} {{ party.name }}."),
    )
    folder_mode = models.CharField(_("folder"), max_length=8, choices=FolderMode.choices, default=FolderMode.NONE)
    folder = models.ForeignKey(
        Folder, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("fixed folder")
    )
    folder_name_template = models.CharField(
        _("name of the party's folder"),
        max_length=150,
        blank=True,
        default="{{ document.kind_label }} {{ document.number }}",
    )
    follower_mode = models.CharField(
        _("followed by"), max_length=9, choices=FollowerMode.choices, default=FollowerMode.ACTING
    )
    follower = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("fixed user"),
    )
    status = models.CharField(_("status"), max_length=4, choices=GeneratedStatus.choices, default=GeneratedStatus.DONE)
    due_in_days = models.PositiveSmallIntegerField(_("due in (days)"), default=0, validators=[MaxValueValidator(3650)])
    attach_pdf = models.BooleanField(_("attach the PDF"), default=True)
    version = models.PositiveIntegerField(default=1)

    EDITABLE = (
        "enabled",
        "action_type",
        "subject_template",
        "folder_mode",
        "folder",
        "folder_name_template",
        "follower_mode",
        "follower",
        "status",
        "due_in_days",
        "attach_pdf",
    )

    class Meta:
        verbose_name = _("linked-action rule")
        verbose_name_plural = _("linked-action rules")
        ordering = ["layout", "event_kind"]
        constraints = [models.UniqueConstraint(fields=["layout", "event_kind"], name="one_rule_per_layout_and_event")]

    def __str__(self) -> str:
        return f"{self.layout} · {self.get_event_kind_display()}"


class RuleOutcome(models.TextChoices):
    GENERATED = "generated", _("Action generated")
    NO_RULE = "no_rule", _("No rule")
    RULE_OFF = "rule_off", _("Rule off")
    CRM_OFF = "crm_off", _("CRM off")
    FAILED = "failed", _("The rule could not be applied")


class LinkedActionRun(models.Model):
    """What the layout's rule did for one print or send event: generated an action, or why not.
    One row per event (the one-to-one key): a repeated request or a retried delivery applies
    the rule once, and the document page reads here *why no action was generated*."""

    event = models.OneToOneField(DocumentEvent, on_delete=models.CASCADE, related_name="linked_action_run")
    outcome = models.CharField(max_length=9, choices=RuleOutcome.choices)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.event_id}: {self.outcome}"


class DocumentAction(models.Model):
    """The document an action refers to (the action's *Linked doc.*, S16): set by hand on the
    action form, or by a linked-action rule, then ``event`` is the print or send that generated
    it. An action has at most one linked document; a document lists all its actions."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="action_links")
    action = models.OneToOneField(
        "activities.Action", on_delete=models.CASCADE, related_name="document_link", verbose_name=_("action")
    )
    event = models.OneToOneField(
        DocumentEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="generated_action"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document", "-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.document} ↔ {self.action_id}"
