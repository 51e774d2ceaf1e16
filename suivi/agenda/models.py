"""What the agenda keeps besides actions: working hours, company holidays, absences, saved
shared views and the ICS feeds people subscribe to."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class WorkingHours(models.Model):
    """One span of a user's working week (Monday 09:00–12:30), in the company's time zone. A user
    without any span works the company's usual week (``agenda.planning.DEFAULT_WEEK``)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(_("day"), choices=Weekday.choices)
    start = models.TimeField(_("from"))
    end = models.TimeField(_("to"))

    class Meta:
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")
        ordering = ["user", "weekday", "start"]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"


class Holiday(models.Model):
    """A day the whole company is closed."""

    day = models.DateField(_("day"), unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("company holiday")
        verbose_name_plural = _("company holidays")
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} {self.name}"


class Absence(models.Model):
    """A time a user is away (leave, training, illness): no free slot is offered then."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="absences")
    start = models.DateTimeField(_("from"))
    end = models.DateTimeField(_("to"))
    reason = models.CharField(_("reason"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("absence")
        verbose_name_plural = _("absences")
        ordering = ["user", "start"]
        indexes = [models.Index(fields=["user", "end"], name="absence_user_end")]

    def __str__(self) -> str:
        return f"{self.user} {self.start:%Y-%m-%d}"


class SavedView(models.Model):
    """A named set of users shown side by side (“Sales team”), the owner's own or shared with
    everyone."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agenda_views")
    name = models.CharField(_("name"), max_length=100)
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", verbose_name=_("users"))
    shared = models.BooleanField(_("shared with everyone"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("agenda view")
        verbose_name_plural = _("agenda views")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class CalendarFeed(models.Model):
    """A secret ICS address of one user's agenda, or of a saved view, that a calendar application
    subscribes to. Only a digest of the secret is kept; revoking makes the address a plain 404."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds")
    view = models.ForeignKey(SavedView, null=True, blank=True, on_delete=models.CASCADE, related_name="feeds")
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The digest of the content last served and when it first was: the feed's Last-Modified, so
    # that a deletion (which leaves no newer ``updated_at`` behind) still moves it.
    content_etag = models.CharField(max_length=80, blank=True, editable=False)
    content_changed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return str(self.view or self.owner)
