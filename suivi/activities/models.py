"""Actions, action types and folders (general and party folders, with opportunity fields)."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from suivi.parties.models import Contact, Party


class ActionType(models.Model):
    """A kind of action (call, meeting, e-mail…), configured by an administrator."""

    name_fr = models.CharField(_("name (French)"), max_length=60)
    name_en = models.CharField(_("name (English)"), max_length=60)
    name_nl = models.CharField(_("name (Dutch)"), max_length=60)
    colour = models.CharField(_("colour"), max_length=7, default="#0f5fa8")
    icon = models.CharField(
        _("icon"), max_length=8, default="•", help_text=_("A short symbol or emoji shown before the subject.")
    )
    default_duration = models.PositiveIntegerField(_("default duration (minutes)"), default=30)
    billable_by_default = models.BooleanField(_("billable by default"), default=False)
    is_calendar_item = models.BooleanField(_("shown on the agenda"), default=False)
    reminder_minutes = models.PositiveIntegerField(
        _("default reminder (minutes before)"),
        null=True,
        blank=True,
        help_text=_("Actions of this type get this reminder when they are created. Empty: no reminder."),
    )
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)

    # What an administrator sets on the settings screen (and the API shows).
    EDITABLE = (
        "name_fr",
        "name_en",
        "name_nl",
        "colour",
        "icon",
        "default_duration",
        "billable_by_default",
        "is_calendar_item",
        "reminder_minutes",
        "active",
        "position",
    )

    class Meta:
        verbose_name = _("action type")
        verbose_name_plural = _("action types")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        language = (get_language() or "fr")[:2]
        return getattr(self, f"name_{language}", "") or self.name_fr


class Stage(models.Model):
    """A step of the sales pipeline, with the probability it usually carries; named in the three
    languages of the interface."""

    name_fr = models.CharField(_("name (French)"), max_length=60)
    name_en = models.CharField(_("name (English)"), max_length=60, blank=True)
    name_nl = models.CharField(_("name (Dutch)"), max_length=60, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    default_probability = models.PositiveSmallIntegerField(
        _("default probability (%)"), default=10, validators=[MaxValueValidator(100)]
    )

    version = models.PositiveIntegerField(default=1)

    EDITABLE = ("name_fr", "name_en", "name_nl", "position", "default_probability")

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """The name in the current language, else the French one."""
        language = (get_language() or "fr")[:2]
        return getattr(self, f"name_{language}", "") or self.name_fr

    @name.setter
    def name(self, value: str) -> None:
        self.name_fr = value


class OpportunityStatus(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")
    ABANDONED = "abandoned", _("Abandoned")


# Status workflows are data: from a status, the statuses one may move to.
OPPORTUNITY_TRANSITIONS: dict[str, set[str]] = {
    OpportunityStatus.OPEN: {OpportunityStatus.WON, OpportunityStatus.LOST, OpportunityStatus.ABANDONED},
    OpportunityStatus.WON: {OpportunityStatus.OPEN},
    OpportunityStatus.LOST: {OpportunityStatus.OPEN},
    OpportunityStatus.ABANDONED: {OpportunityStatus.OPEN},
}


class Folder(models.Model):
    """Groups actions about one affair. Without a party it is a *general* folder; with one, a
    *party folder*. With opportunity management on (S6) it also carries opportunity fields."""

    name = models.CharField(_("name"), max_length=150)
    party = models.ForeignKey(
        Party, null=True, blank=True, on_delete=models.PROTECT, related_name="folders", verbose_name=_("party")
    )
    description = models.TextField(_("description"), blank=True)
    followed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("followed by"),
    )
    archived = models.BooleanField(_("archived"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)
    # --- opportunity (S6) -------------------------------------------------------------------
    is_opportunity = models.BooleanField(_("opportunity"), default=False)
    opportunity_type = models.CharField(_("type"), max_length=60, blank=True)
    budget = models.DecimalField(
        _("budget"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"), null=True, blank=True, validators=[MaxValueValidator(100)]
    )
    status = models.CharField(
        _("status"), max_length=10, choices=OpportunityStatus.choices, default=OpportunityStatus.OPEN
    )
    stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="folders", verbose_name=_("stage")
    )
    expected_close = models.DateField(_("expected close date"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=80, blank=True)
    lost_reason = models.CharField(_("lost reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("folder")
        verbose_name_plural = _("folders")
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["party", "archived", "name"], name="folder_party"),
            # The board: open opportunities of a stage, closing soonest first.
            models.Index(
                fields=["stage", "expected_close", "id"],
                name="folder_board",
                condition=models.Q(is_opportunity=True, status="open", archived=False),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_party_folder(self) -> bool:
        return self.party_id is not None

    @property
    def weighted_amount(self) -> Decimal | None:
        """Budget × probability: what the opportunity is worth today."""
        if self.budget is None or self.probability is None:
            return None
        return (self.budget * self.probability / 100).quantize(Decimal("0.01"))


class ActionStatus(models.TextChoices):
    TODO = "todo", _("To do")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


ACTION_TRANSITIONS: dict[str, set[str]] = {
    ActionStatus.TODO: {ActionStatus.DONE, ActionStatus.CANCELLED},
    ActionStatus.DONE: {ActionStatus.TODO},
    ActionStatus.CANCELLED: {ActionStatus.TODO},
}


class Priority(models.IntegerChoices):
    LOW = 1, _("Low")
    NORMAL = 2, _("Normal")
    HIGH = 3, _("High")


class Action(models.Model):
    """One exchange or task with a third party: a call, meeting, e-mail, letter, visit, note…"""

    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(
        _("description"), blank=True, help_text=_("Rich text; scripts and unsafe markup are removed.")
    )
    # The foreign keys' own indexes would repeat the first column of the list's indexes below.
    action_type = models.ForeignKey(
        ActionType, on_delete=models.PROTECT, related_name="actions", verbose_name=_("type"), db_index=False
    )
    party = models.ForeignKey(
        Party,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="actions",
        verbose_name=_("party"),
        db_index=False,
    )
    contacts = models.ManyToManyField(Contact, blank=True, related_name="actions", verbose_name=_("contacts"))
    folder = models.ForeignKey(
        Folder,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="actions",
        verbose_name=_("folder"),
        db_index=False,
    )
    start = models.DateTimeField(_("start"), null=True, blank=True)
    end = models.DateTimeField(_("end"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    all_day = models.BooleanField(_("all day"), default=False)
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ActionStatus.choices, default=ActionStatus.TODO)
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices, default=Priority.NORMAL)
    followed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="followed_actions",
        verbose_name=_("followed by"),
        db_index=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("created by")
    )
    private = models.BooleanField(
        _("private"), default=False, help_text=_("Only you, the follower and managers see it.")
    )
    # --- billing group (billed later by the billing app) -------------------------------------
    billable = models.BooleanField(_("billable"), default=False)
    bill_quantity = models.DecimalField(
        _("hours to bill"),
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    unit_price = models.DecimalField(
        _("unit price"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    invoice_text = models.CharField(_("invoice text"), max_length=200, blank=True)
    # --- agenda (M2): participants and recurrence ------------------------------------------
    participants = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="participating_actions",
        verbose_name=_("participants"),
        help_text=_("Other users taking part: the action shows in their agenda too."),
    )
    # An RFC 5545 RRULE value (``FREQ=WEEKLY;BYDAY=MO,TH;UNTIL=…``), read from ``start`` in the
    # company's time zone; occurrences are expanded on read (``activities.recurrence``).
    rrule = models.CharField(_("recurrence"), max_length=300, blank=True, default="")
    # The original starts (UTC, ISO 8601) of the occurrences removed from the series, or moved
    # out of it to an exception (an action whose ``series`` is this one).
    exdates = models.JSONField(default=list, blank=True, editable=False)
    # The end of the series' last occurrence; null while the series is open-ended.
    series_end = models.DateTimeField(null=True, blank=True, editable=False)
    series = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="exceptions", editable=False
    )
    recurrence_id = models.DateTimeField(null=True, blank=True, editable=False)  # the start it replaces
    # Longer than the agenda's look-back (``activities.recurrence.LOOK_BACK``): read apart.
    long_event = models.BooleanField(default=False, editable=False)
    # --- bookkeeping -----------------------------------------------------------------------
    when = models.DateTimeField(editable=False, db_index=False)  # start, or due date, or creation
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("action")
        verbose_name_plural = _("actions")
        ordering = ["-when", "-id"]
        indexes = [
            # Each filter of the action list is a range of one index, read in date order.
            models.Index(fields=["-when", "-id"], name="action_when"),
            models.Index(fields=["party", "-when", "-id"], name="action_party_when"),
            models.Index(fields=["followed_by", "-when", "-id"], name="action_follower_when"),
            models.Index(fields=["followed_by", "status", "-when", "-id"], name="action_follower_status"),
            models.Index(fields=["action_type", "-when", "-id"], name="action_type_when"),
            models.Index(fields=["folder", "-when", "-id"], name="action_folder_when"),
            # Sorts of the action list that page without reading every row.
            models.Index(fields=["subject", "id"], name="action_subject"),
            models.Index(fields=["status", "-when", "-id"], name="action_status_when"),
            # The agenda: a user's recurring series and long events, each a short list of its own.
            models.Index(fields=["followed_by", "when"], name="action_series", condition=~models.Q(rrule="")),
            models.Index(fields=["followed_by", "when"], name="action_long", condition=models.Q(long_event=True)),
        ]

    def __str__(self) -> str:
        return self.subject


class ActionKeyword(models.Model):
    """One folded word of an action's subject: what plain-word search reads, by index, instead of
    matching the subject of every action (``activities.keywords`` keeps it)."""

    # No index of its own on ``action``: the unique (action, word) constraint's index serves
    # look-ups by action (the rewrite on each save).
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="keywords", db_index=False)
    word = models.CharField(max_length=60)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["action", "word"], name="action_keyword_once")]
        indexes = [
            models.Index(
                fields=["word", "action"],
                name="action_keyword_word",
                opclasses=["varchar_pattern_ops", "int8_ops"],
            )
        ]

    def __str__(self) -> str:
        return self.word


class Attachment(models.Model):
    """A file attached to an action: uploaded by a user, or the PDF a linked-action rule
    attached. The bytes live in the ``attachments`` storage (Django's storage API: the local
    file system under the var folder by default) under a name Suivi makes up, never the user's;
    ``name`` is the sanitised name shown and offered at download, ``content_type`` what the
    first bytes say the file is (not what the browser claimed). Files are served only through
    a permission-checked view, as downloads.

    Deleting an action deletes its attachments: the rows with it (cascade), the files once the
    deletion is committed (``activities.attachments``); deleting one attachment does the same.
    """

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="attachments")
    file = models.CharField(max_length=255, editable=False)  # the name in the storage
    name = models.CharField(_("name"), max_length=150)
    size = models.PositiveBigIntegerField(_("size"))
    content_type = models.CharField(_("content type"), max_length=100)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["action", "-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class Reminder(models.Model):
    """A reminder of an action, some minutes before each of its occurrences (M2). A series'
    reminders also remind its exceptions (the occurrences changed on their own)."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="reminders")
    minutes_before = models.PositiveIntegerField(_("minutes before"))

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["action", "minutes_before"]
        constraints = [models.UniqueConstraint(fields=["action", "minutes_before"], name="reminder_once")]

    def __str__(self) -> str:
        return f"{self.action_id} −{self.minutes_before} min"


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    # Claimed by a worker that died before saying whether its mail left: never sent again
    # (at most once), but shown in the browser like a sent one.
    UNKNOWN = "unknown", _("Unknown")


class ReminderDelivery(models.Model):
    """The durable promise of one reminder, for one occurrence, to one person: created once by
    the sweep (unique), claimed by a conditional UPDATE, e-mailed, then marked sent. It is also
    what the browser's notification area lists (``read_at``)."""

    reminder = models.ForeignKey(Reminder, on_delete=models.CASCADE, related_name="deliveries")
    # The action that holds the occurrence (the master, or an exception of it).
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminder_deliveries")
    occurrence_start = models.DateTimeField()
    due_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    lease_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    late = models.BooleanField(default=False)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("reminder delivery")
        verbose_name_plural = _("reminder deliveries")
        ordering = ["-due_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["reminder", "user", "occurrence_start"], name="reminder_delivery_once")
        ]
        indexes = [
            models.Index(fields=["state", "due_at"], name="reminder_delivery_due"),
            models.Index(fields=["user", "read_at", "-due_at"], name="reminder_delivery_user"),
        ]

    def __str__(self) -> str:
        return f"{self.reminder_id} {self.user_id} {self.occurrence_start:%Y-%m-%d %H:%M}"


class ReminderSweep(models.Model):
    """When the reminder sweep last ran (one row): the next one creates the deliveries due since
    then, so that a reminder due while the worker was down is sent late rather than never."""

    last_run = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.last_run:%Y-%m-%d %H:%M:%S}"
