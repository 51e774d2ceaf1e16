"""REST endpoints of mail (issue 10, point 6), behind the CRM gate like the mail pages:

- ``/api/v1/mailboxes/``: the mailboxes the caller reads (their own, the shared ones they are a
  member of; administrators every one); created, changed (with ``version`` or ``If-Match``) and
  deleted by their owner (an administrator for a shared one) through ``mailing.services``.
  ``POST …/{id}/check`` tries the connection and answers each step.
- ``/api/v1/messages/``: the mails the caller composed (a manager: everyone's); ``POST`` records
  the e-mail action and the mail, which the worker then sends; ``POST …/{id}/retry`` sends again
  a mail whose sending failed.
- ``/api/v1/inbox/``: the mails of the caller's mailboxes, ``?status=new|filed|ignored``, newest
  first; one with where it could be filed (``suggestions``); ``POST …/{id}/file`` and
  ``POST …/{id}/ignore``.

Another user's mailbox, mail or inbox mail is a 404, as on the pages. Reads go through
``mailing.queries``, writes through ``mailing.services``: the same rules and messages.
"""

import unicodedata

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from suivi.accounts.models import User
from suivi.activities import attachments
from suivi.activities.queries import access_folder
from suivi.core.errors import InvalidInput
from suivi.lib.ids import MAX_ID
from suivi.mailing import checks, queries, services
from suivi.mailing.models import (
    InboxStatus,
    IncomingMail,
    Mailbox,
    MailKind,
    MailStatus,
    Method,
    OutgoingMail,
    Security,
)
from suivi.parties.queries import access_contact, access_party

from .parsers import SafeJSONParser
from .views import CrmViewSet

MAX_FILES = 10
MAX_LISTED = 2000  # recipients or contacts read at most; the service says how many a mail may have


def _id_field(**kwargs):
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def _resolve(getter, user, value, field: str, message: str):
    """The record ``value`` names if ``user`` may see it; else a 400 on ``field`` (an id in a body
    is an input error, not a missing page)."""
    try:
        return getter(user, value)
    except Http404:
        raise ValidationError({field: message % {"id": value}}) from None


def _party(user, value):
    return _resolve(access_party, user, value, "party", _("No party with the id %(id)s."))


def _folder(user, value):
    return _resolve(access_folder, user, value, "folder", _("No folder with the id %(id)s."))


def _contacts(user, values):
    return [_resolve(access_contact, user, v, "contacts", _("No contact with the id %(id)s.")) for v in values]


# --- mailboxes ------------------------------------------------------------------------------------


class MailboxSerializer(serializers.ModelSerializer):
    shared = serializers.BooleanField(
        required=False,
        help_text="On creation: a shared mailbox (administrators only), read by its members; else the caller's own.",
    )
    members = serializers.PrimaryKeyRelatedField(
        many=True,
        required=False,
        queryset=User.objects.filter(is_active=True),
        help_text="The users a shared mailbox is shared with (ids); an own mailbox has none.",
    )
    password = serializers.CharField(
        write_only=True,
        required=False,
        allow_null=True,
        allow_blank=True,
        trim_whitespace=False,
        max_length=1000,
        style={"input_type": "password"},
        help_text=(
            "Write-only: never returned. Left out or null keeps the stored password; an empty "
            "string clears it. Stored encrypted."
        ),
    )
    address = serializers.CharField(required=False, allow_blank=True, max_length=254)
    imap_security = serializers.ChoiceField(choices=Security.choices, required=False)
    version = serializers.IntegerField(
        required=False, min_value=1, max_value=2**31, help_text="The version you read; a mismatch answers 409."
    )

    class Meta:
        model = Mailbox
        fields = [
            "id",
            "name",
            "address",
            "owner",
            "shared",
            "members",
            "is_default",
            "imap_host",
            "imap_port",
            "imap_security",
            "login",
            "password",
            "auto_file",
            "last_read_at",
            "last_error",
            "created_at",
            "version",
        ]
        read_only_fields = ["owner", "last_read_at", "last_error", "created_at"]
        extra_kwargs = {
            "name": {"required": False, "allow_blank": True, "max_length": None},
            "imap_host": {"required": False, "allow_blank": True, "max_length": None},
            "login": {"required": False, "allow_blank": True, "max_length": None},
            "imap_port": {"required": False, "min_value": None, "max_value": None},
        }

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["shared"] = instance.owner_id is None
        return data


class StepSerializer(serializers.Serializer):
    step = serializers.CharField(help_text="dns, tcp, tls, login, folder or server")
    ok = serializers.BooleanField()
    message = serializers.CharField()


class CheckSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="Every step succeeded.")
    steps = StepSerializer(many=True)


class MailboxViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    CrmViewSet,
):
    """Mailboxes (IMAP) the caller reads. Changes are their owner's (an administrator's for a
    shared one) and state the version they started from (``version`` or ``If-Match``)."""

    serializer_class = MailboxSerializer
    filter_backends: list = []
    parser_classes = [SafeJSONParser]

    def get_queryset(self):
        return queries.mailboxes_of(self.request.user).prefetch_related("members").order_by("name", "id")

    def get_object(self):
        writing = self.action in ("update", "partial_update", "destroy")
        mailbox = queries.access_mailbox(self.request.user, self.kwargs["pk"], for_write=writing)
        return Mailbox.objects.prefetch_related("members").select_related("owner").get(pk=mailbox.pk)

    def _values(self, serializer, mailbox: Mailbox | None):
        data = dict(serializer.validated_data)
        for name in ("version", "password"):
            data.pop(name, None)
        if mailbox is not None:
            if "shared" in data and data["shared"] != (mailbox.owner_id is None):
                raise InvalidInput({"shared": _("A mailbox stays shared or own: add another one instead.")})
            # Values left out keep theirs (a PATCH): the service sets every field it is given.
            data = {**{name: getattr(mailbox, name) for name in Mailbox.EDITABLE}, **data}
        shared = bool(data.get("shared")) if mailbox is None else mailbox.owner_id is None
        if "members" in data and not shared:
            raise InvalidInput({"members": _("Only a shared mailbox is shared with users.")})
        return data

    def _save(self, serializer, mailbox: Mailbox | None, **version):
        try:
            return services.save_mailbox(
                acting_user=self.request.user,
                mailbox=mailbox,
                values=self._values(serializer, mailbox),
                password=serializer.validated_data.get("password"),  # None (or left out) keeps it; "" clears
                **version,
            )
        except InvalidInput as e:  # the service names the port "port": here it is "imap_port"
            raise InvalidInput({"imap_port" if k == "port" else k: v for k, v in e.errors.items()}) from None

    def perform_create(self, serializer):
        serializer.instance = self._save(serializer, None)

    def perform_update(self, serializer):
        serializer.instance = self._save(
            serializer, serializer.instance, expected_version=self.expected_version(serializer)
        )

    def perform_destroy(self, instance):
        services.delete_mailbox(acting_user=self.request.user, mailbox=instance)

    @extend_schema(request=None, responses=CheckSerializer)
    @action(detail=True, methods=["post"])
    def check(self, request, pk=None):
        """Try to reach the mailbox step by step (DNS, TCP, TLS, login, folders); up to the first
        failure, each with what went wrong."""
        mailbox = queries.access_mailbox(request.user, pk)
        steps = checks.check_mailbox(mailbox)
        return Response({"ok": bool(steps) and all(s["ok"] for s in steps), "steps": steps})


# --- composed mails ---------------------------------------------------------------------------------


def _one_of(choices) -> str:
    return "One of: " + ", ".join(value for value, _label in choices) + "."


class MessageSerializer(serializers.ModelSerializer):
    # Plain strings in the schema: their names (status, method) are other choice sets' elsewhere.
    status = serializers.CharField(read_only=True, help_text=_one_of(MailStatus.choices))
    method = serializers.CharField(read_only=True, help_text=_one_of(Method.choices))
    to = serializers.ListField(child=serializers.CharField(), read_only=True, help_text='Each "Name <address>".')
    cc = serializers.ListField(child=serializers.CharField(), read_only=True)
    bcc = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = OutgoingMail
        fields = [
            "id",
            "status",
            "error",
            "method",
            "attempts",
            "message_id",
            "in_reply_to",
            "from_address",
            "to",
            "cc",
            "bcc",
            "subject",
            "body",
            "action",
            "party",
            "author",
            "mailbox",
            "created_at",
            "sent_at",
        ]
        read_only_fields = fields


class MessageListSerializer(MessageSerializer):
    class Meta(MessageSerializer.Meta):
        fields = [f for f in MessageSerializer.Meta.fields if f != "body"]
        read_only_fields = fields


def _recipients(help_text: str):
    return serializers.ListField(
        child=serializers.CharField(max_length=1000, allow_blank=True),
        required=False,
        max_length=MAX_LISTED,
        help_text=help_text,
    )


class ComposeBody(serializers.Serializer):
    to = _recipients('Addresses, each "Name <address>" or "address".')
    cc = _recipients("Copies.")
    bcc = _recipients("Hidden copies.")
    subject = serializers.CharField(required=False, allow_blank=True)
    body = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, help_text="Plain text.")
    party = _id_field(required=False, allow_null=True, help_text="The party whose timeline holds the mail.")
    contacts = serializers.ListField(child=_id_field(), required=False, max_length=MAX_LISTED)
    folder = _id_field(required=False, allow_null=True)
    in_reply_to = serializers.CharField(
        required=False, allow_blank=True, max_length=255, help_text="The Message-ID this mail answers."
    )
    method = serializers.ChoiceField(
        choices=[("", "default"), Method.SEND, Method.DRAFTS, Method.OUTLOOK_DESKTOP],
        required=False,
        allow_blank=True,
        help_text=(
            "send: through the company's mail server; drafts: stored in the drafts folder of your "
            "default mailbox; left out: your preference, else the company's. outlook (desktop "
            "Outlook) is a feature of the browser pages and is refused here."
        ),
    )

    def validate_in_reply_to(self, value):
        if any(c.isspace() or unicodedata.category(c)[0] == "C" for c in value):
            raise serializers.ValidationError(_("A Message-ID is one word, e.g. <id@example.com>."))
        return value

    def validate_method(self, value):
        if value == Method.OUTLOOK_DESKTOP:
            raise serializers.ValidationError(
                _(
                    "Opening a mail in Outlook on your computer is a feature of the browser pages. "
                    "Through the API, choose send or drafts."
                )
            )
        return value


class ComposeUpload(ComposeBody):
    files = serializers.ListField(
        child=serializers.FileField(), required=False, max_length=MAX_FILES, help_text="Attachments."
    )


class MessageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CrmViewSet):
    """Mails composed in Suivi: the caller's own (a manager's: everyone's), newest first. The
    list leaves out the ``body``; one mail has it. A mail is sent by the worker after it is
    recorded: read it again for its ``status`` (queued, sending, sent, drafted, failed with its
    ``error``)."""

    filter_backends: list = []
    parser_classes = [SafeJSONParser, MultiPartParser]

    def get_serializer_class(self):
        return MessageListSerializer if self.action == "list" else MessageSerializer

    def get_queryset(self):
        return queries.my_mails(self.request.user).select_related(None).defer("body").order_by("-created_at", "-id")

    def get_object(self):
        return queries.access_outgoing(self.request.user, self.kwargs["pk"])

    @extend_schema(
        request={"application/json": ComposeBody, "multipart/form-data": ComposeUpload},
        responses={201: MessageSerializer},
        description=(
            "Compose a mail: its e-mail action is recorded on the party's timeline (with the "
            "chosen contacts and folder), then the worker sends it. Attachments: send the same "
            f"fields as multipart/form-data with up to {MAX_FILES} ``files`` (lists as repeated "
            "fields). Every problem is answered at once (400), nothing is recorded then."
        ),
    )
    def create(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_FILES * attachments.max_bytes() + 1024 * 1024:
            return Response(
                {"detail": attachments.too_large_message()}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
            )
        body = ComposeUpload(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        user = request.user
        party = _party(user, data["party"]) if data.get("party") else None
        folder = _folder(user, data["folder"]) if data.get("folder") else None
        contacts = _contacts(user, data.get("contacts") or [])
        mail = services.compose(
            acting_user=user,
            to=data.get("to") or [],
            cc=data.get("cc") or [],
            bcc=data.get("bcc") or [],
            subject=data.get("subject", ""),
            body=data.get("body", ""),
            party=party,
            contacts=contacts,
            folder=folder,
            in_reply_to=data.get("in_reply_to", ""),
            method=data.get("method", ""),
            files=[(f.name, f, f.size) for f in data.get("files") or []],
        )
        return Response(MessageSerializer(mail).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=MessageSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """Send again a mail whose sending failed (its author or a manager)."""
        mail = queries.access_outgoing(request.user, pk)
        return Response(MessageSerializer(services.retry(acting_user=request.user, mail=mail)).data)


# --- the inbox -------------------------------------------------------------------------------------


class IncomingSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text=_one_of(InboxStatus.choices))
    kind = serializers.CharField(read_only=True, help_text=_one_of(MailKind.choices))
    recipients = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="Every other address of the mail: to, cc, reply-to."
    )
    attachment_names = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = IncomingMail
        fields = [
            "id",
            "mailbox",
            "status",
            "kind",
            "message_id",
            "in_reply_to",
            "subject",
            "sender_name",
            "sender_email",
            "recipients",
            "date",
            "attachment_names",
            "size",
            "action",
            "filed_by",
        ]
        read_only_fields = fields


class SuggestedParty(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SuggestionSerializer(serializers.Serializer):
    party = SuggestedParty()
    contacts = serializers.ListField(child=serializers.IntegerField(), help_text="Contact ids at the party.")
    folder = serializers.IntegerField(allow_null=True, help_text="The folder of the thread, if any.")
    thread = serializers.IntegerField(allow_null=True, help_text="The action of the mail this one answers, if any.")


class IncomingDetailSerializer(IncomingSerializer):
    references = serializers.ListField(child=serializers.CharField(), read_only=True)
    suggestions = serializers.SerializerMethodField()

    class Meta(IncomingSerializer.Meta):
        fields = [*IncomingSerializer.Meta.fields, "references", "text", "html", "suggestions"]
        read_only_fields = fields

    @extend_schema_field(SuggestionSerializer(many=True))
    def get_suggestions(self, mail) -> list[dict]:
        found = self.context.get("suggestions") or []
        return [
            {
                "party": {"id": s.party.pk, "name": s.party.name},
                "contacts": [c.pk for c in s.contacts],
                "folder": s.folder.pk if s.folder else None,
                "thread": s.thread.pk if s.thread else None,
            }
            for s in found
        ]


class FileBody(serializers.Serializer):
    party = _id_field(required=False, allow_null=True, help_text="The party to file on (the suggestion's).")
    folder = _id_field(required=False, allow_null=True)
    contacts = serializers.ListField(child=_id_field(), required=False, max_length=MAX_LISTED)


class FiledSerializer(serializers.Serializer):
    action = serializers.IntegerField(help_text="The e-mail action that holds the mail.")


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                enum=list(InboxStatus.values),
                description="new (to file, the default), filed or ignored",
            )
        ]
    )
)
class InboxViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CrmViewSet):
    """Mails read from the caller's mailboxes (their own and the shared ones), newest first. The
    list leaves out ``text`` and ``html``; one mail has them, with its ``suggestions``: where it
    could be filed, best first."""

    filter_backends: list = []
    parser_classes = [SafeJSONParser]

    def get_serializer_class(self):
        return IncomingSerializer if self.action == "list" else IncomingDetailSerializer

    def get_queryset(self):
        wanted = self.request.query_params.get("status") or InboxStatus.NEW
        if wanted not in InboxStatus.values:
            raise ValidationError(
                {"status": _("The status is one of: %(values)s.") % {"values": ", ".join(InboxStatus.values)}}
            )
        return queries.inbox(self.request.user, wanted)

    def get_object(self):
        return queries.access_incoming(self.request.user, self.kwargs["pk"])

    @extend_schema(responses=IncomingDetailSerializer)
    def retrieve(self, request, pk=None):
        mail = self.get_object()
        own = {a.lower() for a in queries.mailboxes_of(request.user).values_list("address", flat=True)}
        found = queries.suggestions(request.user, mail, own)
        return Response(IncomingDetailSerializer(mail, context={"suggestions": found}).data)

    @extend_schema(request=FileBody, responses={201: FiledSerializer})
    @action(detail=True, methods=["post"], url_path="file")
    def file(self, request, pk=None):
        """File the mail as a done e-mail action (with its attachments) on ``party``; a mail an
        action holds already is linked to that action."""
        mail = queries.access_incoming(request.user, pk)
        body = FileBody(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        user = request.user
        party = _party(user, data["party"]) if data.get("party") else None
        folder = _folder(user, data["folder"]) if data.get("folder") else None
        contacts = _contacts(user, data.get("contacts") or [])
        filed = services.file_mail(acting_user=user, mail=mail, party=party, folder=folder, contacts=contacts)
        return Response({"action": filed.pk}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["post"])
    def ignore(self, request, pk=None):
        """Leave a new mail out of the inbox, unfiled (a filed mail stays filed)."""
        mail = queries.access_incoming(request.user, pk)
        services.ignore_mail(acting_user=request.user, mail=mail)
        return Response(status=status.HTTP_204_NO_CONTENT)


def register(router) -> None:
    router.register("mailboxes", MailboxViewSet, basename="mailbox")
    router.register("messages", MessageViewSet, basename="message")
    router.register("inbox", InboxViewSet, basename="inbox")
