"""Users, roles and preferences (per user, and per device for S3)."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from suivi.core.models import SendingMethod


class Role(models.TextChoices):
    ADMINISTRATOR = "admin", _("Administrator")
    MANAGER = "manager", _("Manager")
    USER = "user", _("User")


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.USER)
    language = models.CharField(
        _("language"),
        max_length=5,
        choices=[("fr", "Français"), ("en", "English"), ("nl", "Nederlands")],
        default="fr",
    )
    sending_method = models.CharField(
        _("e-mail sending method"),
        max_length=8,
        choices=SendingMethod.choices,
        blank=True,
        default="",
        help_text=_("Leave empty to follow the company default."),
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        default="",
        help_text=_("The agenda shows times in this zone. Empty: the company's."),
    )
    # Optimistic locking of role and groups changes (accounts.services.update_user).
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["first_name", "last_name", "username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_administrator(self) -> bool:
        return self.is_active and (self.role == Role.ADMINISTRATOR or self.is_superuser)

    @property
    def is_manager(self) -> bool:
        return self.is_administrator or (self.is_active and self.role == Role.MANAGER)


class DevicePreference(models.Model):
    """Preferences of one user on one device (the seed's *poste*), keyed by a signed cookie."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="devices")
    device_id = models.CharField(max_length=64)
    label = models.CharField(_("device"), max_length=200, blank=True)
    send_via_outlook = models.BooleanField(
        _("send e-mails through Outlook"),
        default=False,
        help_text=_("On this device, e-mails written in Suivi go through your Outlook instead of Suivi's own sending."),
    )
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "device_id"], name="one_preference_per_device")]
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return self.label or self.device_id[:8]
