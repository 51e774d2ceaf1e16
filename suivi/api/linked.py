"""REST endpoints of linked actions and attachments (issue 9, points 5–8):

- ``/api/v1/linked-action-rules/``: every user reads, managers write (``sales.rules.save_rule``);
  not behind the CRM gate, like the rest of the sales settings.
- ``/api/v1/documents/{id}/linked-actions/``: the actions linked to a document that the caller
  sees; POST ``{"action": id}`` links one by hand. Behind the CRM gate.
- ``/api/v1/actions/{id}/attachments/`` (list, multipart upload of ``file``) and
  ``…/attachments/{id}/`` (download, DELETE): the action's permissions, private ones included
  (404 for who may not see the action). Behind the CRM gate.
"""

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from suivi.activities import attachments
from suivi.activities.models import Action, Attachment
from suivi.activities.queries import access_action
from suivi.core.errors import InvalidInput
from suivi.lib.ids import parse_id
from suivi.sales import links, rules
from suivi.sales.models import LinkedActionRule
from suivi.sales.queries import access_document, access_layout

from .views import CrmViewSet, VersionedUpdates

# --- rules ---------------------------------------------------------------------------------------


class LinkedActionRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = LinkedActionRule
        fields = ["id", "layout", "event_kind", *LinkedActionRule.EDITABLE, "version"]
        extra_kwargs = {"version": {"read_only": False, "required": False}}


class LinkedActionRuleViewSet(
    VersionedUpdates,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The rule of a layout for ``print`` or ``email`` (S12). Filter with ``?layout=``."""

    permission_classes = [IsAuthenticated]
    serializer_class = LinkedActionRuleSerializer
    filter_backends: list = []

    def get_queryset(self):
        qs = LinkedActionRule.objects.select_related("layout").order_by("layout", "event_kind")
        layout = self.request.query_params.get("layout")
        if layout is not None:
            qs = qs.filter(layout_id=parse_id(layout) or 0)
        return qs

    def get_object(self):
        number = parse_id(self.kwargs["pk"])
        rule = LinkedActionRule.objects.select_related("layout").filter(pk=number or 0).first()
        if rule is None:
            raise Http404
        return rule

    def _values(self, serializer):
        data = dict(serializer.validated_data)
        for name in ("version", "layout", "event_kind"):
            data.pop(name, None)
        return data

    def perform_create(self, serializer):
        layout = access_layout(self.request.user, serializer.validated_data["layout"].pk)
        kind = serializer.validated_data["event_kind"]
        if rules.rule_of(layout, kind) is not None:
            raise InvalidInput({"event_kind": _("This layout has a rule for this event already: change it (PATCH).")})
        serializer.instance = rules.save_rule(
            acting_user=self.request.user, layout=layout, kind=kind, values=self._values(serializer)
        )

    def perform_update(self, serializer):
        rule = serializer.instance
        for name in ("layout", "event_kind"):
            if name in serializer.validated_data and serializer.validated_data[name] != getattr(rule, name):
                raise InvalidInput({name: _("A rule stays with its layout and event; change the other rule.")})
        serializer.instance = rules.save_rule(
            acting_user=self.request.user,
            layout=rule.layout,
            kind=rule.event_kind,
            values=self._values(serializer),
            expected_version=self.expected_version(serializer),
        )


# --- a document's linked actions -----------------------------------------------------------------


class LinkedActionSerializer(serializers.ModelSerializer):
    generated_by = serializers.SerializerMethodField()

    class Meta:
        model = Action
        fields = ["id", "subject", "status", "action_type", "followed_by", "when", "due_date", "generated_by"]

    def get_generated_by(self, action) -> dict | None:
        event = getattr(action, "generated", None)
        return {"event": event.pk, "kind": event.kind} if event else None


class LinkBody(serializers.Serializer):
    action = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


class DocumentLinkedActionViewSet(mixins.ListModelMixin, CrmViewSet):
    """Actions linked to the document (generated and manual) that the caller sees."""

    serializer_class = LinkedActionSerializer
    filter_backends: list = []
    pagination_class = None

    def _document(self):
        return access_document(self.request.user, self.kwargs["document_pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema: no document to read
            return Action.objects.none()
        return links.linked_actions(self.request.user, self._document())

    @extend_schema(request=LinkBody, responses={201: LinkedActionSerializer})
    def create(self, request, document_pk=None):
        """Link an action the caller may change to this document (it leaves its previous one)."""
        body = LinkBody(data=request.data)
        body.is_valid(raise_exception=True)
        document = self._document()
        action = access_action(request.user, body.validated_data["action"])
        links.set_linked_document(acting_user=request.user, action=action, document=document)
        return Response(LinkedActionSerializer(action).data, status=status.HTTP_201_CREATED)


# --- attachments ---------------------------------------------------------------------------------


class AttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = ["id", "name", "size", "content_type", "uploaded_by", "created_at"]
        read_only_fields = fields


class UploadBody(serializers.Serializer):
    file = serializers.FileField()


class ActionAttachmentViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, CrmViewSet):
    """Files of an action. GET on one answers its bytes, as a download."""

    serializer_class = AttachmentSerializer
    filter_backends: list = []
    pagination_class = None
    parser_classes = [MultiPartParser]

    def _action(self):
        return access_action(self.request.user, self.kwargs["action_pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema: no action to read
            return Attachment.objects.none()
        return attachments.attachments_of(self.request.user, self._action())

    def get_object(self):
        return attachments.access_attachment(self.request.user, self.kwargs["action_pk"], self.kwargs["pk"])

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def retrieve(self, request, action_pk=None, pk=None):
        return attachments.download(self.get_object())

    @extend_schema(request={"multipart/form-data": UploadBody}, responses={201: AttachmentSerializer})
    def create(self, request, action_pk=None):
        """Attach ``file`` (multipart). Larger than the limit: 413, refused before it is read."""
        action = self._action()
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > attachments.max_bytes() + 64 * 1024:
            return Response(
                {"detail": attachments.too_large_message()}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
            )
        body = UploadBody(data=request.data)
        if not body.is_valid():
            raise ValidationError(body.errors)
        upload = body.validated_data["file"]
        attachment = attachments.add_attachment(
            acting_user=request.user, action=action, name=upload.name, content=upload, size=upload.size
        )
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        attachments.delete_attachment(acting_user=self.request.user, attachment=instance)


def register(router) -> None:
    router.register("linked-action-rules", LinkedActionRuleViewSet, basename="linked-action-rule")
    router.register(
        r"documents/(?P<document_pk>[0-9]+)/linked-actions", DocumentLinkedActionViewSet, basename="document-action"
    )
    router.register(r"actions/(?P<action_pk>[0-9]+)/attachments", ActionAttachmentViewSet, basename="action-attachment")
