"""REST endpoints of e-mailings (issue 11, point 8), behind the CRM gate like the pages:

- ``/api/v1/mailings/``: every e-mailing (every signed-in user reads them), newest first; a draft
  is created, changed (with ``version`` or ``If-Match``) and deleted by its author or a manager;
- ``POST …/{id}/start`` (the version read: a double click is refused), ``…/pause``,
  ``…/resume``, ``…/cancel``; ``GET …/{id}/progress``: the recipients by state and an ETA;
- ``GET …/{id}/recipients``: one row per recipient, ``?status=`` (or ``bounced``), paginated;
  ``POST …/{id}/unknown``: count as sent, or send again, those whose fate a crash left unknown.

Reads go through ``mailing_services.access_mailing`` and ``recipients_of``, writes through its
services: the same rules and messages as the pages.
"""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from suivi.lib.ids import MAX_ID
from suivi.mailing import mailing_services as services
from suivi.mailing.bounces import BOUNCED
from suivi.mailing.mailings import (
    Mailing,
    MailingMethod,
    MailingRecipient,
    MailingStatus,
    RecipientStatus,
    Selection,
)

from .parsers import SafeJSONParser
from .views import CrmViewSet

MAX_LISTED = 50_000


def _one_of(choices) -> str:
    return "One of: " + ", ".join(value for value, _label in choices) + "."


class MailingSerializer(serializers.ModelSerializer):
    # Plain strings in the schema: their names (status, method) are other choice sets' elsewhere.
    status = serializers.CharField(read_only=True, help_text=_one_of(MailingStatus.choices))
    method = serializers.CharField(
        required=False, allow_blank=True, help_text=_one_of(MailingMethod.choices) + " Left out: the default."
    )
    selection = serializers.CharField(required=False, help_text=_one_of(Selection.choices))
    name = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    subject = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    body = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, max_length=services.MAX_BODY * 2
    )
    sender_name = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    sender_address = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    reply_to = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    envelope_from = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="Where delivery failure reports go (the sender address when empty).",
    )
    expression = serializers.CharField(
        required=False, allow_blank=True, max_length=5000, help_text='e.g. party.city = "Namur"'
    )
    contact_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        max_length=MAX_LISTED,
        help_text="A hand-made list: the contacts' ids.",
    )
    addresses = serializers.ListField(
        child=serializers.CharField(max_length=1000),
        required=False,
        max_length=services.MAX_LIST_ADDRESSES,
        help_text='A hand-made list: addresses typed in, each "Name <address>" or "address".',
    )
    record_actions = serializers.BooleanField(required=False)
    pause_reason = serializers.CharField(read_only=True, help_text="Why it paused itself, in your language.")
    attachments = serializers.SerializerMethodField()
    version = serializers.IntegerField(
        required=False, min_value=1, max_value=2**31, help_text="The version you read; a mismatch answers 409."
    )

    class Meta:
        model = Mailing
        fields = [
            "id",
            "name",
            "status",
            "subject",
            "body",
            "sender_name",
            "sender_address",
            "reply_to",
            "envelope_from",
            "method",
            "selection",
            "expression",
            "contact_ids",
            "addresses",
            "record_actions",
            "author",
            "attachments",
            "scheduled_at",
            "started_at",
            "finished_at",
            "pause_reason",
            "created_at",
            "updated_at",
            "version",
        ]
        read_only_fields = ["author", "scheduled_at", "started_at", "finished_at", "created_at", "updated_at"]

    def get_attachments(self, mailing) -> list[str]:
        return [a.name for a in mailing.attachments.all()]


class MailingListSerializer(MailingSerializer):
    class Meta(MailingSerializer.Meta):
        fields = [f for f in MailingSerializer.Meta.fields if f not in ("body", "contact_ids", "addresses")]


class StartBody(serializers.Serializer):
    version = serializers.IntegerField(
        required=False, min_value=1, max_value=2**31, help_text="The version you read (or an If-Match header)."
    )
    at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Send later, at this time; left out: now."
    )


class ProgressSerializer(serializers.Serializer):
    status = serializers.CharField(help_text=_one_of(MailingStatus.choices))
    total = serializers.IntegerField(help_text="Recipients' rows made so far (all of them once prepared).")
    pending = serializers.IntegerField()
    sending = serializers.IntegerField()
    sent = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    unknown = serializers.IntegerField()
    remaining = serializers.IntegerField()
    prepared = serializers.BooleanField(help_text="Every recipient's row is made.")
    done_share = serializers.FloatField(help_text="0 to 1.")
    eta_seconds = serializers.FloatField(allow_null=True, help_text="Time left at the company's pace.")
    pause_reason = serializers.CharField()


class RecipientSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text=_one_of(RecipientStatus.choices))
    reason_code = serializers.CharField(read_only=True, help_text="Why it failed, was skipped or is unknown.")
    reason = serializers.SerializerMethodField()

    class Meta:
        model = MailingRecipient
        fields = [
            "id",
            "name",
            "address",
            "contact",
            "party",
            "status",
            "reason_code",
            "reason",
            "attempts",
            "message_id",
            "sent_at",
        ]
        read_only_fields = fields

    def get_reason(self, row) -> str:
        if row.reason_code == BOUNCED:
            return _("bounced: %(detail)s") % {"detail": row.detail}
        return row.reason


class UnknownBody(serializers.Serializer):
    do = serializers.ChoiceField(
        choices=[("sent", "sent"), ("resend", "resend")], help_text="sent: count them as sent; resend: send again."
    )
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        allow_null=True,
        max_length=10_000,
        help_text="The recipients (left out: every unknown one).",
    )


class ChangedSerializer(serializers.Serializer):
    changed = serializers.IntegerField()


STATUS_PARAMETER = OpenApiParameter(
    "status",
    OpenApiTypes.STR,
    enum=[*RecipientStatus.values, BOUNCED],
    description="One state (bounced: failed after a delivery report)",
)


@extend_schema_view(
    update=extend_schema(description="Change a draft, from the version you read (``version`` or If-Match)."),
    partial_update=extend_schema(description="Change a draft, from the version you read (``version`` or If-Match)."),
)
class MailingViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    CrmViewSet,
):
    """E-mailings, newest first (the list leaves out the body and the hand-made list). A draft is
    changed by its author or a manager; once started it can only be paused, resumed or
    cancelled."""

    filter_backends: list = []
    parser_classes = [SafeJSONParser]
    WRITES = ("update", "partial_update", "destroy", "start", "pause", "resume", "cancel", "unknown")

    def get_serializer_class(self):
        return MailingListSerializer if self.action == "list" else MailingSerializer

    def get_queryset(self):
        return services.visible_mailings(self.request.user).prefetch_related("attachments")

    def get_object(self):
        return services.access_mailing(self.request.user, self.kwargs["pk"], for_write=self.action in self.WRITES)

    @staticmethod
    def _values(serializer) -> dict:
        data = dict(serializer.validated_data)
        data.pop("version", None)
        if not data.get("method"):
            data.pop("method", None)
        return data

    def perform_create(self, serializer):
        serializer.instance = services.create_mailing(acting_user=self.request.user, values=self._values(serializer))

    def perform_update(self, serializer):
        serializer.instance = services.update_mailing(
            acting_user=self.request.user,
            mailing=serializer.instance,
            values=self._values(serializer),
            expected_version=self.expected_version(serializer),
        )

    def perform_destroy(self, instance):
        services.delete_mailing(acting_user=self.request.user, mailing=instance)

    def _answer(self, mailing: Mailing) -> Response:
        mailing = services.access_mailing(self.request.user, mailing.pk)
        return Response(MailingSerializer(mailing).data)

    @extend_schema(request=StartBody, responses=MailingSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        """Send a draft now (or ``at`` a later time), from the version you read: a second start is
        refused (400), a change meanwhile is a 409, no version a 428."""
        mailing = self.get_object()
        body = StartBody(data=request.data)
        body.is_valid(raise_exception=True)
        started = services.start(
            acting_user=request.user,
            mailing=mailing,
            expected_version=self.expected_version(body),
            at=body.validated_data.get("at"),
        )
        return self._answer(started)

    @extend_schema(request=None, responses=MailingSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        """Stop after the mail that is leaving now."""
        return self._answer(services.pause(acting_user=request.user, mailing=self.get_object()))

    @extend_schema(request=None, responses=MailingSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Go on sending a paused e-mailing, at the company's pace."""
        return self._answer(services.resume(acting_user=request.user, mailing=self.get_object()))

    @extend_schema(request=None, responses=MailingSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Send no more mails (those sent stay sent)."""
        return self._answer(services.cancel(acting_user=request.user, mailing=self.get_object()))

    @extend_schema(responses=ProgressSerializer)
    @action(detail=True, methods=["get"])
    def progress(self, request, pk=None):
        """The recipients by state, the share done and the time left."""
        mailing = self.get_object()
        p = services.progress(mailing)
        return Response(
            {
                "status": mailing.status,
                "total": p.total,
                "pending": p.pending,
                "sending": p.sending,
                "sent": p.sent,
                "failed": p.failed,
                "skipped": p.skipped,
                "unknown": p.unknown,
                "remaining": p.remaining,
                "prepared": p.prepared,
                "done_share": p.done_share,
                "eta_seconds": p.eta_seconds,
                "pause_reason": mailing.pause_reason,
            }
        )

    @extend_schema(parameters=[STATUS_PARAMETER], responses=RecipientSerializer(many=True))
    @action(detail=True, methods=["get"])
    def recipients(self, request, pk=None):
        """The recipients in their order, paginated; ``?status=`` narrows them to one state."""
        mailing = self.get_object()
        wanted = request.query_params.get("status", "")
        if wanted == BOUNCED:
            qs = services.recipients_of(request.user, mailing, status=RecipientStatus.FAILED).filter(
                reason_code=BOUNCED
            )
        elif wanted in RecipientStatus.values or not wanted:
            qs = services.recipients_of(request.user, mailing, status=wanted)
        else:
            raise ValidationError(
                {
                    "status": _("The status is one of: %(values)s.")
                    % {"values": ", ".join([*RecipientStatus.values, BOUNCED])}
                }
            )
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(RecipientSerializer(page, many=True).data)

    @extend_schema(request=UnknownBody, responses=ChangedSerializer)
    @action(detail=True, methods=["post"])
    def unknown(self, request, pk=None):
        """Decide about the recipients whose mail may or may not have left (a crash during its
        send): count them as sent, or send them again (the same Message-ID)."""
        mailing = self.get_object()
        body = UnknownBody(data=request.data)
        body.is_valid(raise_exception=True)
        changed = services.resolve_unknown(
            acting_user=request.user,
            mailing=mailing,
            resend=body.validated_data["do"] == "resend",
            recipient_ids=body.validated_data.get("ids"),
        )
        return Response({"changed": changed}, status=status.HTTP_200_OK)


def register(router) -> None:
    router.register("mailings", MailingViewSet, basename="mailing")
