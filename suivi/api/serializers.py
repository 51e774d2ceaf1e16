from django.utils.translation import gettext as _
from rest_framework import serializers

from suivi.accounts.models import User
from suivi.activities.services import OPPORTUNITY_FIELDS
from suivi.core.models import CompanySettings
from suivi.core.services import EDITABLE_SETTINGS
from suivi.lib.colours import validate_colour
from suivi.parties.models import Affiliation, Category, Contact, Party

PARTY_FIELDS = [
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
    "notes",
]


class GatedFields:
    """Fields of a feature a company option may close (``gated_fields``): when the viewset passes
    ``closed=<the gate's reason>``, they are neither shown nor accepted (the data is kept)."""

    gated_fields: tuple[str, ...] = ()

    def __init__(self, *args, closed: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.closed = closed
        if closed:
            for name in self.gated_fields:
                self.fields.pop(name, None)

    def validate(self, attrs):
        data = getattr(self, "initial_data", None)
        sent = set(data) if isinstance(data, dict) else set()
        refused = sorted(sent & set(self.gated_fields)) if self.closed else []
        if refused:
            raise serializers.ValidationError(dict.fromkeys(refused, self.closed))
        return super().validate(attrs)


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "colour"]
        extra_kwargs = {"colour": {"validators": [validate_colour]}}


class PartySerializer(serializers.ModelSerializer):
    """Field checks are the service's (suivi.parties.validation): the serializer only carries."""

    categories = serializers.PrimaryKeyRelatedField(many=True, queryset=Category.objects.all(), required=False)
    sales_rep = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), required=False, allow_null=True)
    version = serializers.IntegerField(required=False, help_text="The version you read; a mismatch answers 409.")

    class Meta:
        model = Party
        fields = ["id", *PARTY_FIELDS, "categories", "sales_rep", "archived", "created_at", "updated_at", "version"]
        read_only_fields = ["archived", "created_at", "updated_at"]
        extra_kwargs = {name: {"validators": [], "required": False} for name in PARTY_FIELDS}
        # A missing name is refused by the service, with the same message as the form's.
        extra_kwargs["name"] = {"required": False, "allow_blank": True, "validators": []}

    def get_fields(self):
        fields = super().get_fields()
        for name in ("email", "website"):
            fields[name] = serializers.CharField(required=False, allow_blank=True)
        # A code or a country's name (Belgique, België, Belgium): the service reads it.
        fields["country"] = serializers.CharField(required=False, allow_blank=True)
        for name in PARTY_FIELDS:
            field = fields[name]
            if isinstance(field, serializers.CharField):
                field.max_length = None
                field.validators = [v for v in field.validators if "MaxLength" not in v.__class__.__name__]
        return fields


class AffiliationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Affiliation
        fields = ["party", "function", "is_main"]


class ContactSerializer(serializers.ModelSerializer):
    affiliations = AffiliationSerializer(many=True, read_only=True)
    party = serializers.PrimaryKeyRelatedField(
        queryset=Party.objects.all(),
        write_only=True,
        required=False,
        help_text="On creation: a party the contact works at.",
    )
    function = serializers.CharField(write_only=True, required=False, allow_blank=True)
    version = serializers.IntegerField(required=False)

    class Meta:
        model = Contact
        fields = [
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "mobile",
            "language",
            "notes",
            "archived",
            "affiliations",
            "party",
            "function",
            "created_at",
            "updated_at",
            "version",
        ]
        read_only_fields = ["archived", "created_at", "updated_at"]

    def get_fields(self):
        fields = super().get_fields()
        fields["email"] = serializers.CharField(required=False, allow_blank=True)
        # A missing last name is refused by the service, with the same message as the form's.
        fields["last_name"] = serializers.CharField(required=False, allow_blank=True, max_length=None)
        return fields


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "email", "role", "is_active"]


class CompanySettingsSerializer(serializers.ModelSerializer):
    class Meta:
        model = CompanySettings
        fields = [*EDITABLE_SETTINGS, "version", "updated_at"]
        read_only_fields = ["updated_at"]
        extra_kwargs = {"version": {"required": False, "read_only": False}}

    def validate_mailing_delay_seconds(self, value):
        if value < 0:
            raise serializers.ValidationError(_("The delay cannot be negative."))
        return value


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class ReminderMinutesField(serializers.ListField):
    """An action's reminders as minutes before its start (several; M2)."""

    def get_attribute(self, instance):
        if not getattr(instance, "pk", None):
            return []
        return sorted(r.minutes_before for r in instance.reminders.all())


class ActionSerializer(GatedFields, serializers.ModelSerializer):
    """Rules (follower list, party of contacts and folder, dates, recurrence) are the service's.
    The agenda's fields (``rrule``, ``participants``, ``reminders``) are M2's, like billing."""

    version = serializers.IntegerField(required=False)
    reminders = ReminderMinutesField(
        child=serializers.IntegerField(min_value=0, max_value=4 * 7 * 24 * 60),
        required=False,
        max_length=10,
        help_text="Reminders, in minutes before the start (M2).",
    )

    class Meta:
        from suivi.activities.models import Action

        model = Action
        fields = [
            "id",
            "subject",
            "description",
            "action_type",
            "party",
            "contacts",
            "folder",
            "start",
            "end",
            "due_date",
            "all_day",
            "duration_minutes",
            "status",
            "priority",
            "followed_by",
            "created_by",
            "private",
            "billable",
            "bill_quantity",
            "unit_price",
            "invoice_text",
            "rrule",
            "exdates",
            "series",
            "recurrence_id",
            "participants",
            "reminders",
            "created_at",
            "updated_at",
            "version",
        ]
        read_only_fields = ["status", "created_by", "created_at", "updated_at", "exdates", "series", "recurrence_id"]
        extra_kwargs = {
            "subject": {"validators": [], "required": False, "allow_blank": True},
            "followed_by": {"required": False, "help_text": "Defaults to the user making the request."},
            "rrule": {
                "required": False,
                "help_text": "An RFC 5545 RRULE value (e.g. FREQ=WEEKLY;BYDAY=MO), read from the start in the "
                "company's time zone (M2).",
            },
            "participants": {"required": False},
        }

    # Billing of actions and the agenda's fields: M2.
    gated_fields = (
        "billable",
        "bill_quantity",
        "unit_price",
        "invoice_text",
        "rrule",
        "exdates",
        "series",
        "recurrence_id",
        "participants",
        "reminders",
    )


class FolderSerializer(GatedFields, serializers.ModelSerializer):
    weighted_amount = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True, allow_null=True)
    version = serializers.IntegerField(required=False)

    class Meta:
        from suivi.activities.models import Folder

        model = Folder
        fields = [
            "id",
            "name",
            "party",
            "description",
            "followed_by",
            "archived",
            "is_opportunity",
            "opportunity_type",
            "budget",
            "currency",
            "probability",
            "status",
            "stage",
            "expected_close",
            "source",
            "lost_reason",
            "weighted_amount",
            "version",
        ]
        read_only_fields = ["archived", "status"]
        extra_kwargs = {"probability": {"max_value": None, "min_value": None}}

    gated_fields = (*OPPORTUNITY_FIELDS, "weighted_amount")


class ActionTypeSerializer(serializers.ModelSerializer):
    class Meta:
        from suivi.activities.models import ActionType

        model = ActionType
        fields = ["id", *ActionType.EDITABLE, "version"]
        read_only_fields = fields


class StageSerializer(serializers.ModelSerializer):
    class Meta:
        from suivi.activities.models import Stage

        model = Stage
        fields = ["id", "name", *Stage.EDITABLE, "version"]
        read_only_fields = fields
