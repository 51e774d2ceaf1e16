"""Forms of the commercial pages. They carry values; the rules are in suivi.sales.services."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from suivi.sales.models import Article, DocumentLine, Journal, Layout, VatRate

from .forms import CarriesValuesForm, SuiviForm


class VersionedRowForm(CarriesValuesForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class VatRateForm(VersionedRowForm):
    class Meta:
        model = VatRate
        fields = list(VatRate.EDITABLE)


class ArticleForm(VersionedRowForm):
    class Meta:
        model = Article
        fields = list(Article.EDITABLE)


class JournalForm(VersionedRowForm):
    class Meta:
        model = Journal
        fields = list(Journal.EDITABLE)
        widgets = {"numbering_pattern": forms.TextInput(attrs={"class": "code", "spellcheck": "false"})}


class LayoutForm(VersionedRowForm):
    class Meta:
        model = Layout
        fields = ["journal", *Layout.EDITABLE]
        code = {"class": "code", "spellcheck": "false"}
        widgets = {
            "html_template": forms.Textarea(attrs={"rows": 18, **code}),
            "css": forms.Textarea(attrs={"rows": 8, **code}),
            "email_subject_template": forms.TextInput(attrs=code),
            "email_body_template": forms.Textarea(attrs={"rows": 8, **code}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["journal"].queryset = Journal.objects.order_by("code")
        for name in ("email_subject_template", "email_body_template"):
            self.fields[name].required = False


class DocumentForm(CarriesValuesForm):
    """The header of a document. The party comes from the picker (``party``) and is read by the
    view; contact and folder are the chosen party's."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        from suivi.sales.models import Document

        model = Document
        fields = ["journal", "contact", "folder", "date", "due_date", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, journals, contacts, folders, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["journal"].queryset = journals
        self.fields["contact"].queryset = contacts
        self.fields["folder"].queryset = folders
        self.fields["date"].required = False


class LineForm(forms.ModelForm):
    class Meta:
        model = DocumentLine
        fields = ["article", "description", "quantity", "unit", "unit_price", "discount_percent", "vat_rate"]
        widgets = {
            "description": forms.TextInput(),
            "quantity": forms.TextInput(attrs={"inputmode": "decimal", "size": 6}),
            "unit_price": forms.TextInput(attrs={"inputmode": "decimal", "size": 8}),
            "discount_percent": forms.TextInput(attrs={"inputmode": "decimal", "size": 4}),
            "unit": forms.TextInput(attrs={"size": 5}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["article"].queryset = Article.objects.filter(active=True)
        self.fields["vat_rate"].queryset = VatRate.objects.filter(active=True)
        # Numbers are read by the service (comma or dot, precise messages), not by the form.
        for name in ("quantity", "unit_price", "discount_percent"):
            self.fields[name] = forms.CharField(
                label=self.fields[name].label, required=False, widget=self.fields[name].widget
            )
        for field in self.fields.values():
            field.required = False

    def _post_clean(self):
        pass


LineFormSet = forms.formset_factory(LineForm, extra=3, can_delete=True, max_num=2000, absolute_max=2000)


class SendForm(SuiviForm):
    layout = forms.ModelChoiceField(label=_("Layout"), queryset=Layout.objects.none())
    to = forms.CharField(label=pgettext_lazy("e-mail recipient", "To"), required=False, max_length=254)
    key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, layouts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["layout"].queryset = layouts
