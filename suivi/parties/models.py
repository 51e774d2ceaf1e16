"""Third parties (customers, suppliers, prospects), their contacts, addresses and categories."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from suivi.lib.countries import country_choices
from suivi.lib.text import fold

LANGUAGES = [("fr", "Français"), ("nl", "Nederlands"), ("en", "English"), ("de", "Deutsch")]


def sort_indexes(name: str, fields: list[str]) -> list[models.Index]:
    """The indexes of one list sort: one for the active rows, one for the archived ones.

    Partial, because Django writes ``archived=False`` as ``WHERE NOT archived``, a condition
    SQLite cannot match to an index starting with ``archived``: the list would sort every row. The
    index's own condition is written the same way, so both databases use it.
    """
    return [
        models.Index(fields=fields, name=f"{name}_active", condition=models.Q(archived=False)),
        models.Index(fields=fields, name=f"{name}_archived", condition=models.Q(archived=True)),
    ]


class Category(models.Model):
    name = models.CharField(_("name"), max_length=80, unique=True)
    colour = models.CharField(_("colour"), max_length=7, default="#6b7280")

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Party(models.Model):
    """A company or person the business deals with (the seed's *tiers*)."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    is_customer = models.BooleanField(_("customer"), default=False)
    is_supplier = models.BooleanField(_("supplier"), default=False)
    is_prospect = models.BooleanField(_("prospect"), default=False)
    vat_number = models.CharField(_("VAT number"), max_length=20, blank=True, db_index=True)
    email = models.EmailField(_("e-mail"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    website = models.URLField(_("website"), max_length=200, blank=True)
    street = models.CharField(_("street"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=12, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, default="BE", choices=country_choices)
    language = models.CharField(_("language"), max_length=2, choices=LANGUAGES, default="fr")
    categories = models.ManyToManyField(Category, blank=True, verbose_name=_("categories"))
    sales_rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("sales representative"),
    )
    notes = models.TextField(_("notes"), blank=True)
    archived = models.BooleanField(_("archived"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    version = models.PositiveIntegerField(default=1)
    # Folded copies for sorting and searching independently of case and accents.
    name_key = models.CharField(max_length=200, editable=False, default="")
    city_key = models.CharField(max_length=100, editable=False, default="")
    # The import that created this party, so that a failed import removes what it created.
    source_import = models.ForeignKey(
        "PartyImport", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        verbose_name = _("party")
        verbose_name_plural = _("parties")
        ordering = ["name_key", "id"]
        indexes = [
            *sort_indexes("party_name", ["name_key", "id"]),
            *sort_indexes("party_city", ["city_key", "id"]),
            *sort_indexes("party_code", ["code"]),
            *sort_indexes("party_created", ["created_at", "id"]),
            # The import's duplicate check compares e-mail addresses whatever their case.
            models.Index(Lower("email"), name="party_email_lower"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.name_key = fold(self.name)[:200]
        self.city_key = fold(self.city)[:100]
        super().save(*args, **kwargs)

    @property
    def kinds(self) -> list[str]:
        return [
            str(label)
            for flag, label in (
                (self.is_customer, _("customer")),
                (self.is_supplier, _("supplier")),
                (self.is_prospect, _("prospect")),
            )
            if flag
        ]


class PartyKeyword(models.Model):
    """One folded word of a party's name, code, e-mail, VAT number or city: the type-ahead index."""

    # No index of its own: the unique (party, word) constraint's index serves look-ups by party,
    # and one index less is a cheaper import of 100,000 parties (≈10 keywords each).
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="keywords", db_index=False)
    word = models.CharField(max_length=60)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["party", "word"], name="party_keyword_once")]
        indexes = [
            models.Index(
                fields=["word", "party"],
                name="party_keyword_word",
                opclasses=["varchar_pattern_ops", "int8_ops"],
            )
        ]

    def __str__(self) -> str:
        return self.word


class AddressKind(models.TextChoices):
    BILLING = "billing", _("Billing")
    DELIVERY = "delivery", _("Delivery")
    OTHER = "other", _("Other")


class Address(models.Model):
    """A further address of a party (its main address is on the party itself)."""

    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="addresses")
    kind = models.CharField(_("kind"), max_length=10, choices=AddressKind.choices)
    label = models.CharField(_("label"), max_length=80, blank=True)
    street = models.CharField(_("street"), max_length=200)
    postal_code = models.CharField(_("postal code"), max_length=12, blank=True)
    city = models.CharField(_("city"), max_length=100)
    country = models.CharField(_("country"), max_length=2, default="BE", choices=country_choices)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        ordering = ["kind", "id"]

    def __str__(self) -> str:
        return f"{self.street}, {self.postal_code} {self.city}"


class Contact(models.Model):
    """A person; may belong to several parties with a function at each."""

    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100)
    email = models.EmailField(_("e-mail"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    mobile = models.CharField(_("mobile"), max_length=20, blank=True)
    language = models.CharField(_("language"), max_length=2, choices=LANGUAGES, default="fr")
    notes = models.TextField(_("notes"), blank=True)
    archived = models.BooleanField(_("archived"), default=False)
    parties = models.ManyToManyField(Party, through="Affiliation", related_name="contacts")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    version = models.PositiveIntegerField(default=1)
    name_key = models.CharField(max_length=201, editable=False, default="")

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["name_key", "id"]
        indexes = [
            *sort_indexes("contact_name", ["name_key", "id"]),
            # Mails are matched to contacts by address, whatever its case (suivi.mailing).
            models.Index(Lower("email"), name="contact_email_lower"),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def save(self, *args, **kwargs):
        self.name_key = fold(f"{self.last_name} {self.first_name}")[:201]
        super().save(*args, **kwargs)


class Affiliation(models.Model):
    """A contact's place at a party: their function there."""

    # The unique (party, contact) constraint's index serves look-ups by party.
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="affiliations", db_index=False)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="affiliations")
    function = models.CharField(_("function"), max_length=100, blank=True)
    is_main = models.BooleanField(_("main contact"), default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["party", "contact"], name="one_affiliation_per_party")]
        ordering = ["-is_main", "id"]

    def __str__(self) -> str:
        return f"{self.contact} — {self.function} @ {self.party}"


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    READY = "ready", _("Read, waiting for the mapping")
    CHECKING = "checking", _("Checking (dry run)")
    CHECKED = "checked", _("Checked (dry run)")
    APPLYING = "applying", _("Importing")
    APPLIED = "applied", _("Imported")
    FAILED = "failed", _("Failed")


class ImportHolds(models.TextChoices):
    """What the rows of an import file are."""

    PARTIES = "parties", _("Parties, each with an optional contact")
    CONTACTS = "contacts", _("Contacts of existing parties (found by code or VAT number)")


class PartyImport(models.Model):
    """One import of parties (each with an optional contact), or of contacts of existing parties,
    from a CSV or XLSX file, step by step.

    The file is kept under MEDIA_ROOT until the import is applied; the dry-run report is stored so
    that the user can read it again; applying twice does nothing the second time.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)
    filename = models.CharField(max_length=255)
    file = models.FileField(upload_to="imports/")
    encoding = models.CharField(max_length=20, default="utf-8")
    holds = models.CharField(max_length=10, choices=ImportHolds.choices, default=ImportHolds.PARTIES)
    mapping = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    report = models.JSONField(default=dict, blank=True)
    # Read by the worker: column names and first rows (cut short for display), the checked rows.
    headers = models.JSONField(default=list, blank=True)
    preview = models.JSONField(default=list, blank=True)
    row_count = models.PositiveIntegerField(default=0)
    staged = models.FileField(upload_to="imports/", blank=True)
    # Rows that match an existing party (code, then VAT number, then e-mail) update it; contact
    # rows, a contact of their party (e-mail, then first and last name).
    update_existing = models.BooleanField(default=False)
    # Progress of the job under way (percent) and its lease: a job whose lease expired is resumed.
    progress = models.PositiveSmallIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.filename


class ImportedContact(models.Model):
    """A contact that a contacts import created, so that a failed import deletes what it created
    (as ``Party.source_import`` does for parties)."""

    party_import = models.ForeignKey(PartyImport, on_delete=models.CASCADE, related_name="+", db_index=False)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["party_import", "contact"], name="imported_contact_once")]

    def __str__(self) -> str:
        return f"{self.contact_id} @ {self.party_import_id}"
