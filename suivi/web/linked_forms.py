"""Forms of the linked-action rules screen (S12) and of the action's attachments. They carry
values; the rules are in suivi.sales.rules and suivi.activities.attachments."""

from django import forms
from django.utils.translation import gettext_lazy as _

from suivi.sales.models import LinkedActionRule

from .forms import CarriesValuesForm, SuiviForm


class LinkedActionRuleForm(CarriesValuesForm):
    """One tab of the screen (print or e-mail): the form is prefixed with its event kind."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = LinkedActionRule
        fields = list(LinkedActionRule.EDITABLE)
        code = {"class": "code", "spellcheck": "false"}
        widgets = {
            "subject_template": forms.TextInput(attrs=code),
            "folder_name_template": forms.TextInput(attrs=code),
            "folder_mode": forms.RadioSelect,
            "follower_mode": forms.RadioSelect,
            "status": forms.RadioSelect,
        }

    def __init__(self, *args, action_types, folders, followers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action_type"].queryset = action_types
        self.fields["folder"].queryset = folders
        self.fields["follower"].queryset = followers
        self.fields["subject_template"].required = False
        self.fields["folder_name_template"].required = False
        self.fields["due_in_days"].required = False


class AttachmentForm(SuiviForm):
    file = forms.FileField(label=_("File"), allow_empty_file=True)
