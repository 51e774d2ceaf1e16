"""Mail: the company's outgoing server, mailboxes, composed mails and the inbox (S3, S7, S15).

- ``OutgoingServer``: the company SMTP server (one row). Empty host: Django's EMAIL_* settings.
- ``Mailbox``: an IMAP mailbox, a user's own or shared with chosen users. Each user has at most
  one default mailbox: the one Suivi reads for their inbox and files drafts into.
- ``OutgoingMail``: a mail composed in Suivi, a row before anything is sent (claim, send, record:
  a crash or an unreachable server loses nothing, and it can be sent again).
- ``IncomingMail``: a mail read from a mailbox, waiting to be filed or ignored.
- ``MailRecord``: which action holds which Message-ID: never two actions for one Message-ID,
  and replies thread with their action through In-Reply-To / References.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from suivi.activities.models import Action, ActionType
from suivi.core.secrets import SecretField
from suivi.parties.models import Party


class Security(models.TextChoices):
    SSL = "ssl", _("SSL/TLS")
    STARTTLS = "starttls", _("STARTTLS")
    NONE = "none", _("None (unencrypted)")


class OutgoingServer(models.Model):
    """The company's SMTP server (one row, pk 1)."""

    host = models.CharField(_("SMTP server"), max_length=255, blank=True)
    port = models.PositiveIntegerField(_("port"), default=587)
    security = models.CharField(_("security"), max_length=8, choices=Security.choices, default=Security.STARTTLS)
    login = models.CharField(_("login"), max_length=255, blank=True)
    password = SecretField(_("password"), blank=True, default="")
    from_address = models.EmailField(_("sender address"), blank=True)
    from_name = models.CharField(_("sender name"), max_length=200, blank=True)
    email_action_type = models.ForeignKey(
        ActionType,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("action type of e-mails"),
        help_text=_("The type of the actions Suivi records for sent and filed e-mails."),
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("outgoing mail server")

    def __str__(self) -> str:
        return self.host or "—"


class Mailbox(models.Model):
    """An IMAP mailbox: a user's own (``owner``) or shared (no owner) with ``members``."""

    name = models.CharField(_("name"), max_length=100)
    address = models.EmailField(_("e-mail address"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="mailboxes",
        verbose_name=_("owner"),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="shared_mailboxes", verbose_name=_("shared with")
    )
    is_default = models.BooleanField(
        _("default mailbox"), default=False, help_text=_("The mailbox Suivi reads as your inbox and files drafts into.")
    )
    imap_host = models.CharField(_("IMAP server"), max_length=255)
    imap_port = models.PositiveIntegerField(_("port"), default=993)
    imap_security = models.CharField(_("security"), max_length=8, choices=Security.choices, default=Security.SSL)
    login = models.CharField(_("login"), max_length=255)
    password = SecretField(_("password"), blank=True, default="")
    auto_file = models.BooleanField(
        _("file mails from known contacts automatically"),
        default=False,
        help_text=_("A mail whose sender is a contact of one party becomes an e-mail action on that party at once."),
    )
    last_read_at = models.DateTimeField(_("last read"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    reading_until = models.DateTimeField(null=True, blank=True)  # lease of the worker reading it
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    EDITABLE = (
        "name",
        "address",
        "is_default",
        "imap_host",
        "imap_port",
        "imap_security",
        "login",
        "auto_file",
    )

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner"], condition=Q(is_default=True), name="one_default_mailbox_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>"


class FolderState(models.Model):
    """How far a folder of a mailbox was read: its UIDVALIDITY and the last UID seen."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="folder_states")
    folder = models.CharField(max_length=255)
    uidvalidity = models.BigIntegerField(null=True)
    last_uid = models.BigIntegerField(default=0)
    read_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["mailbox", "folder"], name="one_state_per_folder")]

    def __str__(self) -> str:
        return f"{self.mailbox_id}:{self.folder}"


class Method(models.TextChoices):
    SEND = "send", _("Send directly")
    DRAFTS = "drafts", _("Store in the drafts folder")
    OUTLOOK_DESKTOP = "outlook", _("Open in Outlook")
    GRAPH_SEND = "graph", _("Send through Microsoft 365")
    GRAPH_DRAFTS = "graph_drafts", _("Store in Outlook's drafts (Microsoft 365)")


class MailStatus(models.TextChoices):
    QUEUED = "queued", _("waiting to be sent")
    SENDING = "sending", _("being sent")
    SENT = "sent", _("sent")
    DRAFTED = "drafted", _("in the drafts folder")
    HANDED = "handed", _("handed to Outlook")
    FAILED = "failed", _("failed")


class OutgoingMail(models.Model):
    """A mail composed in Suivi. Its e-mail action is recorded with it; the row is claimed by
    the worker that sends it (``lease_until``) and says what became of it."""

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    method = models.CharField(_("sending method"), max_length=12, choices=Method.choices)
    status = models.CharField(_("status"), max_length=8, choices=MailStatus.choices, default=MailStatus.QUEUED)
    error = models.CharField(_("error"), max_length=1000, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=255, unique=True)
    in_reply_to = models.CharField(max_length=255, blank=True)
    from_address = models.CharField(_("from"), max_length=320)
    to = models.JSONField(_("to"), default=list)  # ["Name <address>", …]
    cc = models.JSONField(_("cc"), default=list, blank=True)
    bcc = models.JSONField(_("bcc"), default=list, blank=True)
    subject = models.CharField(_("subject"), max_length=500)
    body = models.TextField(_("message"), blank=True)
    action = models.OneToOneField(
        Action, null=True, blank=True, on_delete=models.SET_NULL, related_name="outgoing_mail"
    )
    party = models.ForeignKey(Party, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    graph_id = models.CharField(max_length=255, blank=True)  # the draft's id in Outlook
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "lease_until"], name="outgoing_mail_work")]

    def __str__(self) -> str:
        return self.subject


class MailKind(models.TextChoices):
    CONVERSATION = "conversation", _("conversation")
    AUTO_REPLY = "auto_reply", _("automatic reply")
    BOUNCE = "bounce", _("delivery failure")


class InboxStatus(models.TextChoices):
    NEW = "new", _("to file")
    FILED = "filed", _("filed")
    IGNORED = "ignored", _("ignored")


class IncomingMail(models.Model):
    """A mail read from a mailbox: shown in its users' inbox until filed or ignored."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="mails")
    folder = models.CharField(max_length=255)
    uid = models.BigIntegerField()
    message_id = models.CharField(max_length=255)
    in_reply_to = models.CharField(max_length=255, blank=True)
    references = models.JSONField(default=list, blank=True)
    subject = models.CharField(_("subject"), max_length=500, blank=True)
    sender_name = models.CharField(max_length=200, blank=True)
    sender_email = models.CharField(max_length=320, blank=True)
    recipients = models.JSONField(default=list, blank=True)  # every other address: to, cc, reply-to
    date = models.DateTimeField(_("date"))
    text = models.TextField(blank=True)
    html = models.TextField(blank=True)
    kind = models.CharField(max_length=12, choices=MailKind.choices, default=MailKind.CONVERSATION)
    status = models.CharField(max_length=8, choices=InboxStatus.choices, default=InboxStatus.NEW)
    attachment_names = models.JSONField(default=list, blank=True)
    raw = models.CharField(max_length=255, blank=True)  # the stored .eml when it has attachments
    size = models.PositiveIntegerField(default=0)
    action = models.ForeignKey(Action, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [models.UniqueConstraint(fields=["mailbox", "message_id"], name="one_mail_per_message_id")]
        indexes = [models.Index(fields=["mailbox", "status", "-date"], name="inbox_list")]

    def __str__(self) -> str:
        return self.subject


class MailRecord(models.Model):
    """The Message-ID an action holds (a sent mail, or a filed one): one action per Message-ID."""

    message_id = models.CharField(max_length=255, unique=True)
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="mail_records")
    incoming = models.BooleanField(default=False)
    sender = models.CharField(max_length=320, blank=True)
    recipients = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.message_id


class MailTemplate(models.Model):
    """A mail template with merge fields (sandboxed, allow-listed): subject and body."""

    name = models.CharField(_("name"), max_length=100)
    subject = models.CharField(_("subject"), max_length=500)
    body = models.TextField(_("message"))
    active = models.BooleanField(_("active"), default=True)
    version = models.PositiveIntegerField(default=1)

    EDITABLE = ("name", "subject", "body", "active")

    class Meta:
        verbose_name = _("e-mail template")
        verbose_name_plural = _("e-mail templates")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Signature(models.Model):
    """A user's e-mail signature, added below what they compose."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mail_signature")
    text = models.TextField(_("signature"), blank=True)

    def __str__(self) -> str:
        return str(self.user)


class MicrosoftAccount(models.Model):
    """A user's connected Microsoft 365 account (S3): the OAuth tokens, encrypted."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="microsoft_account")
    account_email = models.CharField(max_length=320)
    access_token = SecretField(default="")
    refresh_token = SecretField(default="")
    expires_at = models.DateTimeField()
    connected_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.account_email


from .mailings import Mailing, MailingRecipient  # noqa: E402,F401  (e-mailings, issue 11)
