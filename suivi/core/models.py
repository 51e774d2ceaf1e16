"""Company settings (S1–S9) and the audit trail."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from suivi.lib.countries import country_choices


class CrmLevel(models.TextChoices):
    BASIC = "basic", _("M1 — base CRM")
    FULL = "full", _("M2 — shared agenda, calendar sync, billing of actions, planning")


class ActionFormLayout(models.TextChoices):
    CLASSIC = "classic", _("Classic: one page")
    TABS = "tabs", _("Separate tabs")


class SendingMethod(models.TextChoices):
    SEND = "send", _("Send directly")
    DRAFTS = "drafts", _("Store in the drafts folder")


class CompanySettings(models.Model):
    """The one settings record of the company (the seed's *Paramètres généraux*)."""

    company_name = models.CharField(_("company name"), max_length=200, default="")
    country = models.CharField(
        _("country"),
        max_length=2,
        default="BE",
        choices=country_choices,
        help_text=_("Default country for VAT numbers and phone numbers typed without prefix."),
    )
    # --- tab Customers/suppliers: the CRM options of the seed -------------------------------
    crm_enabled = models.BooleanField(
        _("CRM"),
        default=True,
        help_text=_("Switches the CRM on. Off: its menus, screens and API are closed; nothing is deleted."),
    )
    crm_level = models.CharField(
        _("CRM level"),
        max_length=8,
        choices=CrmLevel.choices,
        default=CrmLevel.BASIC,
        help_text=_(
            "M1 is the base CRM. M2 adds the shared agenda with Outlook and CalDAV "
            "sync, billing of actions and planning."
        ),
    )
    action_form_layout = models.CharField(
        _("action form display"),
        max_length=8,
        choices=ActionFormLayout.choices,
        default=ActionFormLayout.CLASSIC,
        help_text=_("Show the parts of the action form on one page, or in separate tabs."),
    )
    billing_in_main_tab = models.BooleanField(
        _("keep the billing group on the main tab"),
        default=True,
        help_text=_("With separate tabs: keep the billing group on the main tab, or give it its own Billing tab."),
    )
    opportunities_enabled = models.BooleanField(
        _("opportunity management"),
        default=False,
        help_text=_(
            "Adds opportunity fields to folders: type, budget, probability, status, "
            "stage… Off: the fields are hidden, their data kept."
        ),
    )
    default_sending_method = models.CharField(
        _("e-mail sending method"),
        max_length=8,
        choices=SendingMethod.choices,
        default=SendingMethod.SEND,
        help_text=_(
            "Default for every user: send e-mails at once, or store them in the "
            "drafts folder of the sender's mailbox. Users and messages can override it."
        ),
    )
    mailing_delay_seconds = models.DecimalField(
        _("delay between the mails of an e-mailing (seconds)"),
        max_digits=7,
        decimal_places=3,
        default=Decimal("1.000"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("How long the e-mailing worker waits between two sends. Decimals allowed, 0 or more."),
    )
    followed_by_expression = models.TextField(
        _("users expression for “Followed by”"),
        blank=True,
        default="",
        help_text=_(
            "Which users the “Followed by” list offers, e.g. "
            '<code>is_active = True and groups.name in ("Sales", "Support")</code>. '
            "Empty: every active user."
        ),
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("company settings")
        verbose_name_plural = _("company settings")

    def __str__(self) -> str:
        return self.company_name or str(_("Company settings"))

    @property
    def crm_full(self) -> bool:
        return self.crm_enabled and self.crm_level == CrmLevel.FULL


class AuditEvent(models.Model):
    """Who changed what, when: one row per write, made by the service that wrote."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verb = models.CharField(max_length=40)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=40)
    object_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["object_type", "object_id", "-at"]),
            models.Index(fields=["actor", "-id"], name="audit_actor"),  # what I touched last
        ]
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.verb} {self.object_type}#{self.object_id}"
