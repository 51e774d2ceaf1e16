"""Forms of the web pages. They check types; domain rules are in the services they feed."""

import json
from functools import lru_cache

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from suivi.accounts.models import User
from suivi.core.models import CompanySettings, SendingMethod
from suivi.lib.colours import validate_colour
from suivi.parties.importing import ENCODINGS
from suivi.parties.models import Address, Category, Contact, Party

from .fields import StorableValues


class DateInput(forms.DateInput):
    """A native date picker. It reads only ISO values (``2027-05-10``), whatever the language:
    a localised value (``10/05/2027``) shows empty and the next save would write null."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    """A native date-and-time picker; ISO values only (``2027-05-10T14:30``), as DateInput."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


class LongSelect(forms.Select):
    """A select of a long, flat list (the 250 countries) written in one pass: Django renders each
    option through a template, which made the country select most of a party page's time."""

    def render(self, name, value, attrs=None, renderer=None):
        options = _options(tuple((str(choice), str(label)) for choice, label in self.choices))
        if value not in (None, ""):
            chosen = format_html('<option value="{}">', value)
            options = mark_safe(options.replace(chosen, chosen[:-1] + " selected>", 1))
        final = self.build_attrs(self.attrs, attrs)
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(final), options)


@lru_cache(maxsize=16)
def _options(choices: tuple[tuple[str, str], ...]) -> str:
    """The options of a long select, escaped once per list and language."""
    return format_html_join("", '<option value="{}">{}</option>', choices)


class NativeInputs:
    """Every date and date-time field of a Suivi form uses the native pickers above, so no form
    can render a localised value into them again; long lists of choices render in one pass."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.SplitDateTimeField):
                continue
            if (
                isinstance(field, forms.ChoiceField)
                and not isinstance(field, forms.ModelChoiceField)  # its choices are a query
                and type(field.widget) is forms.Select
                and len(choices := list(field.choices)) > 50
            ):
                field.widget = LongSelect(attrs=field.widget.attrs, choices=choices)
                field.widget.is_required = field.required
                continue
            if isinstance(field, forms.DateTimeField):
                field.widget = DateTimeInput(attrs=field.widget.attrs)
            elif isinstance(field, forms.DateField):
                field.widget = DateInput(attrs=field.widget.attrs)
            else:
                continue
            field.widget.is_required = field.required


class SuiviForm(NativeInputs, StorableValues, forms.Form):
    pass


class SuiviModelForm(NativeInputs, StorableValues, forms.ModelForm):
    pass


class CarriesValuesForm(SuiviModelForm):
    """A model form that only carries what was typed: the model's own checks (uniqueness,
    lengths, cross-field rules) are the service's, which reports them all at once with messages
    that name the clashing record."""

    def _post_clean(self):
        pass


class GeneralSettingsForm(SuiviModelForm):
    class Meta:
        model = CompanySettings
        fields = ["company_name", "country"]


class CrmSettingsForm(SuiviModelForm):
    """Tab *Customers/suppliers*: every CRM option of the seed (S1–S9)."""

    class Meta:
        model = CompanySettings
        fields = [
            "crm_enabled",
            "crm_level",
            "action_form_layout",
            "billing_in_main_tab",
            "opportunities_enabled",
            "default_sending_method",
            "mailing_delay_seconds",
            "followed_by_expression",
        ]
        widgets = {
            "crm_level": forms.RadioSelect,
            "action_form_layout": forms.RadioSelect,
            "default_sending_method": forms.RadioSelect,
            "mailing_delay_seconds": forms.NumberInput(attrs={"step": "0.001", "min": "0"}),
            "followed_by_expression": forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "code"}),
        }


class PreferencesForm(SuiviForm):
    language = forms.ChoiceField(label=_("Language"), choices=User._meta.get_field("language").choices)
    sending_method = forms.ChoiceField(
        label=_("E-mail sending method"),
        required=False,
        choices=[("", _("Company default"))] + list(SendingMethod.choices),
        help_text=_("Overrides the company default for your e-mails."),
    )
    send_via_outlook = forms.BooleanField(
        label=_("Send e-mails through Outlook on this device"),
        required=False,
        help_text=_(
            "Applies to this browser only: e-mails you write here are handed to Outlook instead of being sent by Suivi."
        ),
    )


class PartyForm(CarriesValuesForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Party
        fields = [
            "code",
            "name",
            "is_customer",
            "is_supplier",
            "is_prospect",
            "vat_number",
            "email",
            "phone",
            "website",
            "street",
            "postal_code",
            "city",
            "country",
            "language",
            "categories",
            "sales_rep",
            "notes",
        ]
        widgets = {"categories": forms.CheckboxSelectMultiple, "notes": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "code": _("Leave empty for an automatic code."),
            "vat_number": _("With or without country prefix, e.g. BE0403.170.701."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Required fields are checked by the service too, so that every problem of a form is
        # reported at once rather than one round-trip at a time.
        self.fields["code"].required = False
        self.fields["name"].required = False
        self.fields["categories"].queryset = Category.objects.all()
        self.fields["sales_rep"].queryset = User.objects.filter(is_active=True)
        # Length and format are checked by the service with precise messages; the form only
        # carries what was typed.
        for name in ("email", "website"):
            self.fields[name] = forms.CharField(
                label=self.fields[name].label,
                required=False,
                max_length=None,
                widget=forms.TextInput(attrs={"type": "email" if name == "email" else "text"}),
            )
        for field in self.fields.values():
            if hasattr(field, "max_length"):
                field.max_length = None
                field.validators = [v for v in field.validators if v.__class__.__name__ != "MaxLengthValidator"]
                field.widget.attrs.pop("maxlength", None)


class ContactForm(CarriesValuesForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Contact
        fields = ["first_name", "last_name", "email", "phone", "mobile", "language", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"] = forms.CharField(label=self.fields["email"].label, required=False)
        self.fields["last_name"].required = False


class AffiliationForm(SuiviForm):
    party = forms.IntegerField(widget=forms.HiddenInput)
    function = forms.CharField(label=_("Function"), required=False, max_length=100)


class AddressForm(SuiviModelForm):
    class Meta:
        model = Address
        fields = ["kind", "label", "street", "postal_code", "city", "country"]


class ImportUploadForm(SuiviForm):
    file = forms.FileField(label=_("CSV or XLSX file"), allow_empty_file=True)
    encoding = forms.ChoiceField(label=_("Encoding (CSV)"), choices=ENCODINGS, initial="utf-8")


# --- CRM -----------------------------------------------------------------------------------------


class ActionForm(CarriesValuesForm):
    """One form for both layouts (S4): the template decides classic page or tabs."""

    # The party comes from the party picker (``party`` in the POST), read by the view.
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        from suivi.activities.models import Action

        model = Action
        fields = [
            "subject",
            "action_type",
            "folder",
            "contacts",
            "start",
            "end",
            "due_date",
            "all_day",
            "duration_minutes",
            "status",
            "priority",
            "followed_by",
            "private",
            "description",
            "billable",
            "bill_quantity",
            "unit_price",
            "invoice_text",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 6}),
            "contacts": forms.CheckboxSelectMultiple,
        }

    BILLING = ["billable", "bill_quantity", "unit_price", "invoice_text"]

    def __init__(
        self, *args, followed_by_users, folders, contacts, billing: bool = True, agenda: bool = False, **kwargs
    ):
        from suivi.activities.models import ActionType

        super().__init__(*args, **kwargs)
        if not billing:  # billing of actions is M2 (S2b): hidden at M1, its data kept
            for name in self.BILLING:
                del self.fields[name]
        self.fields["action_type"].queryset = ActionType.objects.filter(active=True)
        self.fields["followed_by"].queryset = followed_by_users
        self.fields["folder"].queryset = folders
        self.fields["contacts"].queryset = contacts
        self.fields["subject"].required = False
        self.fields["subject"].max_length = None
        self.fields["subject"].widget.attrs.pop("maxlength", None)
        self.fields["subject"].validators = []
        self.fields["status"].disabled = self.instance.pk is not None  # changed by its workflow
        # Each type says whether its actions are billable by default; the form follows the
        # chosen type (suivi.js) until the user ticks the box themselves.
        types = list(self.fields["action_type"].queryset)
        billable_types = [str(t.pk) for t in types if t.billable_by_default]
        self.fields["action_type"].widget.attrs["data-billable-types"] = " ".join(billable_types)
        if billing and self.instance.pk is None and not self.is_bound:
            initial_type = str(self.initial.get("action_type") or "")
            self.initial.setdefault("billable", initial_type in billable_types)
        self.agenda = agenda
        if agenda:  # repeat, participants and reminders are M2's (the agenda)
            self._add_agenda_fields()

    # --- M2: repeat, participants, reminders -------------------------------------------------

    def _add_agenda_fields(self) -> None:
        from suivi.activities import recurrence

        self.fields["repeat_freq"] = forms.ChoiceField(label=_("Repeat"), choices=REPEAT_CHOICES, required=False)
        self.fields["repeat_interval"] = forms.IntegerField(
            label=_("Every"), min_value=1, max_value=1000, required=False, initial=1
        )
        self.fields["repeat_days"] = forms.MultipleChoiceField(
            label=_("On"), choices=WEEKDAY_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
        )
        self.fields["repeat_end"] = forms.ChoiceField(
            label=_("Ends"), choices=REPEAT_END_CHOICES, required=False, widget=forms.RadioSelect, initial="never"
        )
        self.fields["repeat_count"] = forms.IntegerField(
            label=_("After (times)"), min_value=1, max_value=1_000_000, required=False
        )
        self.fields["repeat_until"] = forms.DateField(label=_("On (date)"), required=False, widget=DateInput)
        # A rule the controls cannot show (written through the API) is kept as it is.
        self.fields["repeat_rule"] = forms.CharField(
            label=_("Recurrence rule (RFC 5545)"), required=False, max_length=300
        )
        self.fields["participants"] = forms.ModelMultipleChoiceField(
            label=_("Participants"),
            queryset=User.objects.filter(is_active=True).order_by("first_name", "last_name", "username"),
            required=False,
            help_text=_("Other users taking part: the action shows in their agenda too."),
        )
        for n in range(1, REMINDER_ROWS + 1):
            self.fields[f"reminder_{n}_amount"] = forms.IntegerField(
                label=_("Reminder"),
                min_value=0,
                max_value=REMINDER_MAX_MINUTES,
                required=False,
                error_messages={"min_value": REMINDER_RANGE, "max_value": REMINDER_RANGE},
            )
            self.fields[f"reminder_{n}_unit"] = forms.ChoiceField(
                label=_("Unit"), choices=REMINDER_UNITS, required=False, initial="minutes"
            )
        if self.is_bound:
            return
        action = self.instance
        # Each type's default reminder, which a new action's form follows (reminders.js) until
        # the user types one of their own; the service gives it too when none is sent (API).
        defaults = {str(t.pk): t.reminder_minutes for t in self.fields["action_type"].queryset}
        self.fields["action_type"].widget.attrs["data-reminder-types"] = json.dumps(
            {pk: reminder_parts(m) for pk, m in defaults.items() if m is not None}
        )
        if action.pk:
            self.initial["participants"] = list(action.participants.values_list("pk", flat=True))
            minutes = sorted(action.reminders.values_list("minutes_before", flat=True))
        else:
            default = defaults.get(str(self.initial.get("action_type") or ""))
            minutes = [default] if default is not None else []
        for n, value in enumerate(minutes[:REMINDER_ROWS], start=1):
            amount, unit = reminder_parts(value)
            self.initial[f"reminder_{n}_amount"] = amount
            self.initial[f"reminder_{n}_unit"] = unit
        start = self.initial.get("start") or action.start
        self.initial.update(repeat_controls(action.rrule, start, recurrence.company_zone()))

    def clean(self):
        data = super().clean()
        if self.agenda:
            for n in range(1, REMINDER_ROWS + 1):
                amount = data.get(f"reminder_{n}_amount")
                factor = REMINDER_FACTORS.get(data.get(f"reminder_{n}_unit") or "", 1)
                if amount is not None and amount * factor > REMINDER_MAX_MINUTES:
                    self.add_error(f"reminder_{n}_amount", REMINDER_RANGE)
        return data

    def reminders(self) -> list[int] | None:
        """The reminders typed, in minutes before the start (None without the agenda)."""
        if not self.agenda:
            return None
        minutes = []
        for n in range(1, REMINDER_ROWS + 1):
            amount = self.cleaned_data.get(f"reminder_{n}_amount")
            if amount is not None:
                minutes.append(amount * REMINDER_FACTORS.get(self.cleaned_data.get(f"reminder_{n}_unit") or "", 1))
        return sorted(set(minutes))

    def rrule(self, start) -> str | None:
        """The rule the repeat controls say, from ``start`` (None without the agenda); the
        action's own rule when they say the same, so that a save unchanged keeps it as it was."""
        if not self.agenda:
            return None
        from suivi.activities import recurrence

        built = build_rrule(self.cleaned_data, start, recurrence.company_zone())
        previous = self.instance.rrule if self.instance.pk else ""
        if previous and same_rule(built, previous, start, recurrence.company_zone()):
            return previous
        return built


REMINDER_ROWS = 3
REMINDER_MAX_MINUTES = 4 * 7 * 24 * 60  # the service's limit (activities.services)
REMINDER_RANGE = _("A reminder is between 0 minutes and 4 weeks before the start.")
REMINDER_UNITS = [("minutes", _("minutes before")), ("hours", _("hours before")), ("days", _("days before"))]
REMINDER_FACTORS = {"minutes": 1, "hours": 60, "days": 1440}
REPEAT_CHOICES = [
    ("", _("Does not repeat")),
    ("daily", _("Daily")),
    ("weekly", _("Weekly")),
    ("monthly_date", _("Monthly, on the same date")),
    ("monthly_weekday", _("Monthly, on the same weekday (e.g. 2nd Tuesday)")),
    ("yearly", _("Yearly")),
    ("custom", _("Other rule (as written)")),
]
REPEAT_END_CHOICES = [("never", _("Never")), ("count", _("After a number of times")), ("until", _("On a date"))]
WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
WEEKDAY_CHOICES = [
    ("MO", _("Mon")),
    ("TU", _("Tue")),
    ("WE", _("Wed")),
    ("TH", _("Thu")),
    ("FR", _("Fri")),
    ("SA", _("Sat")),
    ("SU", _("Sun")),
]


def reminder_parts(minutes: int) -> tuple[int, str]:
    """``minutes`` as the form shows it: in days or hours when it is a whole number of them."""
    if minutes and minutes % 1440 == 0:
        return minutes // 1440, "days"
    if minutes and minutes % 60 == 0:
        return minutes // 60, "hours"
    return minutes, "minutes"


def _rule_parts(text: str) -> dict[str, str]:
    parts = {}
    for item in (text or "").strip().removeprefix("RRULE:").split(";"):
        name, _sep, value = item.partition("=")
        if name.strip():
            parts[name.strip().upper()] = value.strip().upper()
    return parts


def _nth(local_start) -> int:
    """Which weekday of its month ``local_start`` is (1–4), or -1 for the last (a 5th)."""
    n = (local_start.day - 1) // 7 + 1
    return -1 if n == 5 else n


def repeat_controls(text: str, start, zone) -> dict:
    """The repeat controls' values that show the rule ``text`` of an action starting at ``start``;
    a rule they cannot show is ``custom`` (kept as written)."""
    if not text:
        return {"repeat_freq": "", "repeat_interval": 1, "repeat_end": "never"}
    parts = _rule_parts(text)
    local = start.astimezone(zone) if start else None
    freq = parts.pop("FREQ", "")
    values: dict = {"repeat_interval": int(parts.pop("INTERVAL", "1") or 1), "repeat_end": "never"}
    if "COUNT" in parts:
        values["repeat_end"], values["repeat_count"] = "count", int(parts.pop("COUNT"))
    elif "UNTIL" in parts:
        from datetime import UTC, datetime

        until = parts.pop("UNTIL")
        try:
            moment = datetime.strptime(until[:15], "%Y%m%dT%H%M%S").replace(tzinfo=UTC) if "T" in until else None
            values["repeat_end"] = "until"
            values["repeat_until"] = (
                moment.astimezone(zone).date() if moment else datetime.strptime(until[:8], "%Y%m%d").date()
            )
        except ValueError:
            return {"repeat_freq": "custom", "repeat_rule": text}
    if freq == "DAILY" and not parts:
        values["repeat_freq"] = "daily"
    elif (
        freq == "WEEKLY"
        and set(parts) <= {"BYDAY"}
        and all(d in WEEKDAYS for d in parts.get("BYDAY", "").split(",") if d)
    ):
        values["repeat_freq"] = "weekly"
        days = [d for d in parts.get("BYDAY", "").split(",") if d]
        values["repeat_days"] = days or ([WEEKDAYS[local.weekday()]] if local else [])
    elif freq == "MONTHLY" and (
        not parts or (set(parts) == {"BYMONTHDAY"} and local and parts["BYMONTHDAY"] == str(local.day))
    ):
        values["repeat_freq"] = "monthly_date"
    elif (
        freq == "MONTHLY"
        and set(parts) == {"BYDAY"}
        and local
        and parts["BYDAY"] == f"{_nth(local)}{WEEKDAYS[local.weekday()]}"
    ):
        values["repeat_freq"] = "monthly_weekday"
    elif freq == "YEARLY" and not parts:
        values["repeat_freq"] = "yearly"
    else:
        return {"repeat_freq": "custom", "repeat_rule": text, "repeat_interval": 1, "repeat_end": "never"}
    return values


def build_rrule(data: dict, start, zone) -> str:
    """The RRULE value the repeat controls ``data`` say, for an action starting at ``start``
    ("" for none). The service checks it (and says why it refuses one)."""
    from datetime import UTC, datetime, time

    freq = data.get("repeat_freq") or ""
    if not freq:
        return ""
    if freq == "custom":
        return (data.get("repeat_rule") or "").strip()
    local = start.astimezone(zone) if start else None
    parts = {
        "daily": ["FREQ=DAILY"],
        "weekly": ["FREQ=WEEKLY"],
        "monthly_date": ["FREQ=MONTHLY"],
        "monthly_weekday": ["FREQ=MONTHLY"],
        "yearly": ["FREQ=YEARLY"],
    }.get(freq, ["FREQ=" + freq.upper()])
    interval = data.get("repeat_interval") or 1
    if interval != 1:
        parts.append(f"INTERVAL={interval}")
    if freq == "weekly":
        days = [d for d in WEEKDAYS if d in (data.get("repeat_days") or [])]
        if not days and local:
            days = [WEEKDAYS[local.weekday()]]
        if days:
            parts.append("BYDAY=" + ",".join(days))
    elif freq == "monthly_weekday" and local:
        parts.append(f"BYDAY={_nth(local)}{WEEKDAYS[local.weekday()]}")
    end = data.get("repeat_end") or "never"
    if end == "count" and data.get("repeat_count"):
        parts.append(f"COUNT={data['repeat_count']}")
    elif end == "until" and data.get("repeat_until"):
        last = datetime.combine(data["repeat_until"], time(23, 59, 59)).replace(tzinfo=zone).astimezone(UTC)
        parts.append("UNTIL=" + last.strftime("%Y%m%dT%H%M%SZ"))
    return ";".join(parts)


def same_rule(first: str, second: str, start, zone) -> bool:
    """Whether two rules say the same for an action starting at ``start`` (the controls' way of
    writing a rule may differ from the stored one: order, INTERVAL=1, the start's own day)."""
    return repeat_controls(first, start, zone) == repeat_controls(second, start, zone) and (
        repeat_controls(first, start, zone).get("repeat_freq") != "custom" or _rule_parts(first) == _rule_parts(second)
    )


class FolderForm(CarriesValuesForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    party = forms.IntegerField(widget=forms.HiddenInput, required=False)

    OPPORTUNITY = [
        "is_opportunity",
        "opportunity_type",
        "budget",
        "currency",
        "probability",
        "stage",
        "expected_close",
        "source",
        "lost_reason",
    ]

    class Meta:
        from suivi.activities.models import Folder

        model = Folder
        fields = [
            "name",
            "description",
            "followed_by",
            "is_opportunity",
            "opportunity_type",
            "budget",
            "currency",
            "probability",
            "stage",
            "expected_close",
            "source",
            "lost_reason",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, opportunities: bool, followed_by_users, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["followed_by"].queryset = followed_by_users
        self.fields["name"].required = False
        self.fields["probability"].validators = []
        self.fields["probability"].widget.attrs.pop("max", None)
        if not opportunities:
            for name in self.OPPORTUNITY:
                del self.fields[name]


def _colour_checked(field, **kwargs):
    """Form fields of a model, colours checked as colours (the service checks them again)."""
    formfield = field.formfield(**kwargs)
    if field.name == "colour" and formfield is not None:
        formfield.validators.append(validate_colour)
    return formfield


class ConfigurationRowForm(SuiviModelForm):
    """One row of action types or stages; its version is checked by the service (428 without)."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


def configuration_formset(model, fields, data=None):
    """Rows of action types or stages, edited on one settings tab."""
    formset_class = forms.modelformset_factory(
        model,
        form=ConfigurationRowForm,
        fields=[*fields, "version"],
        extra=1,
        can_delete=False,
        formfield_callback=_colour_checked,
    )
    return formset_class(data, queryset=model.objects.all())


class UserForm(SuiviModelForm):
    """*Users* screen: a user's names, e-mail, role and groups (the service checks who may)."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = User
        fields = ["first_name", "last_name", "email", "role", "groups"]
        widgets = {"groups": forms.SelectMultiple(attrs={"size": 5})}


class NewUserForm(UserForm):
    """A new user: given a password now, or invited by e-mail to choose one."""

    how = forms.ChoiceField(
        label=_("Password"),
        choices=[("invite", _("Send an invitation by e-mail")), ("password", _("Set a password now"))],
        widget=forms.RadioSelect,
        initial="invite",
    )
    password1 = forms.CharField(label=_("New password"), required=False, widget=forms.PasswordInput)
    password2 = forms.CharField(label=_("New password again"), required=False, widget=forms.PasswordInput)

    class Meta(UserForm.Meta):
        fields = ["username", *UserForm.Meta.fields]

    def clean(self):
        data = super().clean()
        if data.get("how") == "invite" and not data.get("email"):
            self.add_error("email", _("An invitation needs an e-mail address."))
        if data.get("how") == "password":
            _check_new_password(self, data, User(username=data.get("username") or ""))
        return data


class SetPasswordForm(SuiviForm):
    """A new password, typed twice and checked by Django's password validators."""

    password1 = forms.CharField(label=_("New password"), widget=forms.PasswordInput)
    password2 = forms.CharField(label=_("New password again"), widget=forms.PasswordInput)

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        _check_new_password(self, data, self.user)
        return data


def _check_new_password(form, data, user) -> None:
    from django.contrib.auth import password_validation

    first, second = data.get("password1"), data.get("password2")
    if not first:
        form.add_error("password1", _("Type the new password."))
    elif first != second:
        form.add_error("password2", _("The two passwords differ."))
    else:
        try:
            password_validation.validate_password(first, user)
        except forms.ValidationError as e:
            form.add_error("password1", e)
