"""Forms of the planning pages: the free-slot search, a booking, the team load, absences,
holidays and feeds."""

from django import forms
from django.utils.translation import gettext_lazy as _

from suivi.accounts.models import User
from suivi.agenda.queries import calendar_types
from suivi.agenda.services import within_years, years_message

DURATIONS = [
    (15, "0:15"),
    (30, "0:30"),
    (45, "0:45"),
    (60, "1:00"),
    (90, "1:30"),
    (120, "2:00"),
    (180, "3:00"),
    (240, "4:00"),
    (480, "8:00"),
]


class DateInput(forms.DateInput):
    """A native date picker: it takes ISO values, so they are rendered unlocalised."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


def active_users():
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")


class UsersField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.get_username()


class _FirstDayInRange:
    """The first day of a search or a load table: within the years the agenda accepts."""

    def clean_start(self):
        day = self.cleaned_data["start"]  # type: ignore[attr-defined]
        if not within_years(day):
            raise forms.ValidationError(years_message())
        return day


class SearchForm(_FirstDayInRange, forms.Form):
    users = UsersField(label=_("Users"), queryset=User.objects.none())
    duration = forms.TypedChoiceField(label=_("Duration"), choices=DURATIONS, coerce=int, initial=60)
    start = forms.DateField(label=_("From"), widget=DateInput(), input_formats=["%Y-%m-%d"])
    days = forms.IntegerField(label=_("Days to search"), min_value=1, max_value=92, initial=14)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["users"].queryset = active_users()
        self.fields["users"].widget.attrs["size"] = 6


class BookForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    action_type = forms.ModelChoiceField(label=_("Type"), queryset=calendar_types(), empty_label=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action_type"].queryset = calendar_types()


class LoadForm(_FirstDayInRange, forms.Form):
    users = UsersField(label=_("Users"), queryset=User.objects.none())
    start = forms.DateField(label=_("From"), widget=DateInput(), input_formats=["%Y-%m-%d"])
    by = forms.ChoiceField(label=_("Per"), choices=[("day", _("day")), ("week", _("week"))], initial="day")
    count = forms.IntegerField(label=_("How many"), min_value=1, max_value=31, initial=7)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["users"].queryset = active_users()
        self.fields["users"].widget.attrs["size"] = 6


class AbsenceForm(forms.Form):
    user = forms.ModelChoiceField(label=_("User"), queryset=User.objects.none(), empty_label=None)
    start = forms.DateTimeField(label=_("From"), widget=DateTimeInput(), input_formats=["%Y-%m-%dT%H:%M"])
    end = forms.DateTimeField(label=_("To"), widget=DateTimeInput(), input_formats=["%Y-%m-%dT%H:%M"])
    reason = forms.CharField(label=_("Reason"), max_length=100, required=False)

    def __init__(self, *args, viewer, **kwargs):
        super().__init__(*args, **kwargs)
        # Any user may be named: the service refuses (403) someone else's absence to a non-manager,
        # who is only shown their own name.
        self.fields["user"].queryset = active_users()
        if not viewer.is_manager:
            self.fields["user"].widget = forms.HiddenInput()


class HolidayForm(forms.Form):
    day = forms.DateField(label=_("Day"), widget=DateInput(), input_formats=["%Y-%m-%d"])
    name = forms.CharField(label=_("Name"), max_length=100)
