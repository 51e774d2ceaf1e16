"""REST endpoints of recurring actions' occurrences (issue 12, point 2), behind the M2 gate:

- ``POST /api/v1/actions/{id}/occurrence/``: change one occurrence (``scope`` ``this``), the
  occurrences from it on (``following``) or the whole series (``all``). The body names the
  occurrence by its original start (``original_start``, ISO 8601 with its offset), gives the
  changed fields in ``values`` and the version read in ``version`` (or ``If-Match``): a stale one
  answers 409, none 428. The answer is the action that now holds the occurrence.
- ``POST /api/v1/actions/{id}/occurrence/delete/``: delete by the same scopes.

The action is read through ``access_action`` (another user's private action is a 404) and
written through ``activities.occurrences.change_occurrence`` / ``delete_occurrence``.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from suivi.accounts.models import User
from suivi.activities import occurrences
from suivi.activities.models import Action
from suivi.activities.queries import access_action
from suivi.core.models import CrmLevel

from .serializers import ActionSerializer
from .views import CrmViewSet

SCOPES = [("this", "this occurrence"), ("following", "this and the following"), ("all", "the whole series")]


class OccurrenceValuesSerializer(serializers.Serializer):
    """The fields an occurrence's change may carry (the rest are the series')."""

    subject = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    description = serializers.CharField(required=False, allow_blank=True, max_length=100_000)
    start = serializers.DateTimeField(required=False)
    end = serializers.DateTimeField(required=False, allow_null=True)
    all_day = serializers.BooleanField(required=False)
    priority = serializers.IntegerField(required=False, min_value=1, max_value=3)
    private = serializers.BooleanField(required=False)
    rrule = serializers.CharField(required=False, allow_blank=True, max_length=300)
    followed_by = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), required=False)


class OccurrenceChangeSerializer(serializers.Serializer):
    original_start = serializers.DateTimeField()
    scope = serializers.ChoiceField(choices=SCOPES)
    values = OccurrenceValuesSerializer(required=False)
    version = serializers.IntegerField(required=False, min_value=0)


class OccurrenceDeleteSerializer(serializers.Serializer):
    original_start = serializers.DateTimeField()
    scope = serializers.ChoiceField(choices=SCOPES)


class OccurrenceViewSet(CrmViewSet):
    crm_level = CrmLevel.FULL
    queryset = Action.objects.none()  # the action is read through access_action; this types the path
    lookup_value_regex = "[0-9]+"

    @extend_schema(request=OccurrenceChangeSerializer, responses=ActionSerializer)
    @action(detail=True, methods=["post"], url_path="occurrence")
    def change(self, request, pk=None):
        found = access_action(request.user, pk)
        body = OccurrenceChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        changed = occurrences.change_occurrence(
            acting_user=request.user,
            action=found,
            original_start=data["original_start"],
            scope=data["scope"],
            values=dict(data.get("values") or {}),
            expected_version=self.expected_version(body),
        )
        return Response(ActionSerializer(changed).data, status=status.HTTP_200_OK)

    @extend_schema(request=OccurrenceDeleteSerializer, responses={204: None})
    @action(detail=True, methods=["post"], url_path="occurrence/delete")
    def remove(self, request, pk=None):
        found = access_action(request.user, pk)
        body = OccurrenceDeleteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        occurrences.delete_occurrence(
            acting_user=request.user,
            action=found,
            original_start=body.validated_data["original_start"],
            scope=body.validated_data["scope"],
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


def register(router) -> None:
    router.register("actions", OccurrenceViewSet, basename="action-occurrence")
