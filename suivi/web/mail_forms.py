"""Forms of the mail pages: they carry values; the rules live in ``suivi.mailing.services``."""

from django import forms
from django.utils.translation import gettext_lazy as _

from suivi.mailing.models import Mailbox, MailTemplate, Method, OutgoingServer


class ComposeForm(forms.Form):
    to = forms.CharField(
        label=_("To"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Choose contacts below or type addresses, separated by commas."),
        required=False,
    )
    cc = forms.CharField(label=_("Cc"), required=False, max_length=5000)
    bcc = forms.CharField(label=_("Bcc"), required=False, max_length=5000)
    subject = forms.CharField(label=_("Subject"), required=False, max_length=2000)
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 14}), required=False)
    method = forms.ChoiceField(
        label=_("Sending method"),
        required=False,
        choices=[("", _("Default")), (Method.SEND, Method.SEND.label), (Method.DRAFTS, Method.DRAFTS.label)],
    )
    in_reply_to = forms.CharField(required=False, widget=forms.HiddenInput, max_length=255)
    party = forms.IntegerField(required=False, widget=forms.HiddenInput)
    folder = forms.IntegerField(required=False, widget=forms.HiddenInput)


class MailboxForm(forms.ModelForm):
    password = forms.CharField(
        label=_("Password"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to keep the stored password. It is stored encrypted and never shown."),
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Mailbox
        fields = [
            "name",
            "address",
            "imap_host",
            "imap_port",
            "imap_security",
            "login",
            "is_default",
            "auto_file",
            "members",
        ]
        widgets = {"members": forms.CheckboxSelectMultiple}

    def __init__(self, *args, shared: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None or not self.instance.password:
            self.fields["password"].help_text = _("It is stored encrypted and never shown.")
        from suivi.accounts.models import User

        if shared:
            self.fields["members"].queryset = User.objects.filter(is_active=True)
            self.fields["members"].required = False
            del self.fields["is_default"]
        else:
            del self.fields["members"]


class OutgoingServerForm(forms.ModelForm):
    password = forms.CharField(
        label=_("Password"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to keep the stored password. It is stored encrypted and never shown."),
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = OutgoingServer
        fields = ["host", "port", "security", "login", "from_address", "from_name", "email_action_type"]


class FileForm(forms.Form):
    party = forms.IntegerField(label=_("Party"), required=False)
    folder = forms.IntegerField(label=_("Folder"), required=False)
    contacts = forms.CharField(required=False, max_length=2000)


class MailTemplateForm(forms.ModelForm):
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = MailTemplate
        fields = ["name", "subject", "body", "active"]
        widgets = {"body": forms.Textarea(attrs={"rows": 12})}


class SignatureForm(forms.Form):
    text = forms.CharField(
        label=_("Your signature"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Added below every mail you write in Suivi, after a “-- ” line that Suivi writes itself."),
    )
