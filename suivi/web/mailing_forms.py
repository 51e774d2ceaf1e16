"""Forms of the e-mailing pages: they carry values; the rules (and every message about a bad
value) live in ``suivi.mailing.mailing_services``."""

from django import forms
from django.utils.translation import gettext_lazy as _

from suivi.mailing.mailings import Mailing, MailingMethod, Selection


class MailingForm(forms.Form):
    """A draft e-mailing. Every field is optional here: the service says what is missing."""

    name = forms.CharField(
        label=_("Name"),
        required=False,
        max_length=2000,
        help_text=_("For you and your colleagues; the subject when left empty."),
    )
    subject = forms.CharField(label=_("Subject"), required=False, max_length=2000)
    body = forms.CharField(
        label=_("Message"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "true"}),
        help_text=_("HTML (paragraphs, bold, links…); a text version is made from it. Scripts and styles are removed."),
    )
    sender_name = forms.CharField(label=_("Sender name"), required=False, max_length=2000)
    sender_address = forms.CharField(
        label=_("Sender address"),
        required=False,
        max_length=2000,
        help_text=_("Empty: the company's sender address (or your drafts mailbox's)."),
    )
    reply_to = forms.CharField(label=_("Reply to"), required=False, max_length=2000)
    envelope_from = forms.CharField(
        label=Mailing._meta.get_field("envelope_from").verbose_name.capitalize(),
        required=False,
        max_length=2000,
        help_text=_(
            "Where delivery failure reports go; the sender address when empty. Give it a mailbox in Suivi "
            "(Mail › Mailboxes) and Suivi reads the reports and marks the addresses that bounce."
        ),
    )
    method = forms.ChoiceField(label=_("Sending method"), choices=MailingMethod.choices, required=False)
    selection = forms.ChoiceField(
        label=_("Recipients"), choices=Selection.choices, required=False, widget=forms.RadioSelect
    )
    expression = forms.CharField(
        label=_("Selection"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text=_('e.g. party.city = "Namur" and party.is_customer = true; empty: every contact of every party.'),
    )
    addresses = forms.CharField(
        label=_("Addresses"),
        required=False,
        max_length=1_000_000,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text=_(
            "Addresses typed in, each with or without a name before it, separated by commas, semicolons or lines."
        ),
    )
    record_actions = forms.BooleanField(
        label=Mailing._meta.get_field("record_actions").verbose_name.capitalize(),
        required=False,
        help_text=Mailing._meta.get_field("record_actions").help_text,
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    VALUES = (
        "name",
        "subject",
        "body",
        "sender_name",
        "sender_address",
        "reply_to",
        "envelope_from",
        "method",
        "selection",
        "expression",
        "addresses",
        "record_actions",
    )

    def values(self, contact_ids: list[str]) -> dict:
        """What the service is given: the form's values and the contacts ticked (as typed)."""
        data = {name: self.cleaned_data.get(name) for name in self.VALUES}
        data["contact_ids"] = contact_ids
        return data


def initial_of(mailing: Mailing) -> dict:
    return {
        "name": mailing.name,
        "subject": mailing.subject,
        "body": mailing.body,
        "sender_name": mailing.sender_name,
        "sender_address": mailing.sender_address,
        "reply_to": mailing.reply_to,
        "envelope_from": mailing.envelope_from,
        "method": mailing.method,
        "selection": mailing.selection,
        "expression": mailing.expression,
        "addresses": "\n".join(str(a) for a in mailing.addresses),
        "record_actions": mailing.record_actions,
        "version": mailing.version,
    }


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("File"))


class UnknownForm(forms.Form):
    """What to do with recipients whose mail may or may not have left."""

    do = forms.ChoiceField(choices=[("sent", "sent"), ("resend", "resend")])
