"""REST endpoints. They read through the queries modules and write through the services."""

from axes.exceptions import AxesBackendPermissionDenied
from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.decorators import api_view, permission_classes, throttle_classes
from rest_framework.exceptions import AuthenticationFailed, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from suivi.accounts.queries import visible_users
from suivi.activities import services as action_services
from suivi.activities.models import ActionType, Stage
from suivi.activities.queries import ActionFilters, access_action, access_folder, action_list, folder_list
from suivi.core import services as core_services
from suivi.core.company import company_settings
from suivi.core.expressions import ExpressionError
from suivi.core.gates import opportunities_refusal, refusal
from suivi.core.models import CrmLevel
from suivi.parties import services as party_services
from suivi.parties.models import Party
from suivi.parties.queries import (
    ContactFilters,
    access_contact,
    access_party,
    contact_list,
    matching_words,
    visible_parties,
)

from .filters import IdFilter
from .permissions import CrmEnabled, IsAdministratorOrReadOnly
from .serializers import (
    ActionSerializer,
    ActionTypeSerializer,
    CompanySettingsSerializer,
    ContactSerializer,
    FolderSerializer,
    PartySerializer,
    StageSerializer,
    TokenRequestSerializer,
    TokenSerializer,
    UserSerializer,
)


@extend_schema(
    request=TokenRequestSerializer,
    responses={200: TokenSerializer},
    auth=[],
    summary="Exchange a username and password for an API token",
)
@api_view(["POST"])
@permission_classes([AllowAny])
@throttle_classes([])
def obtain_token(request):
    serializer = TokenRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    try:
        user = authenticate(
            request._request,
            username=serializer.validated_data["username"],
            password=serializer.validated_data["password"],
        )
    except AxesBackendPermissionDenied:
        user = None
    if user is None or not user.is_active:
        # The same answer for an unknown user, a wrong password and a locked account.
        raise AuthenticationFailed(_("Wrong username or password."))
    token, _created = Token.objects.get_or_create(user=user)
    return Response({"token": token.key})


class VersionedUpdates:
    """Every update states the version it started from: the ``version`` field of the body or an
    ``If-Match`` header (the ``ETag`` of the GET). Without either the service answers 428; with
    another version, 409. Reads send the version as ``ETag``."""

    def expected_version(self, serializer=None):
        if serializer is not None and serializer.validated_data.get("version") is not None:
            return serializer.validated_data["version"]
        header = self.request.headers.get("If-Match", "").strip()
        if not header:
            return None
        value = header.removeprefix("W/").strip('"')
        if not value.isdigit() or len(value) > 18:
            raise ValidationError({"If-Match": _('If-Match takes the version (ETag) you read, e.g. "3".')})
        return int(value)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        data = getattr(response, "data", None)
        if (
            getattr(self, "action", None) in ("retrieve", "update", "partial_update", None)
            and isinstance(data, dict)
            and "version" in data
        ):
            response["ETag"] = f'"{data["version"]}"'
        return response


class PartyFilter(filters.FilterSet):
    q = filters.CharFilter(method="filter_q", label="Words of name, code, e-mail, VAT or city")
    city = filters.CharFilter(field_name="city", lookup_expr="istartswith")
    # One category id, compared with `exact`: an out-of-range id finds nothing instead of
    # overflowing the database's integer (a multiple-choice filter validates with `IN`).
    categories = IdFilter(field_name="categories", label="Category id")

    class Meta:
        model = Party
        fields = [
            "is_customer",
            "is_supplier",
            "is_prospect",
            "archived",
            "categories",
            "country",
            "code",
            "vat_number",
        ]

    def filter_q(self, queryset, name, value):
        return matching_words(queryset, value)


class PartyViewSet(
    VersionedUpdates,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Parties. DELETE archives (a party with history is never deleted)."""

    serializer_class = PartySerializer
    filterset_class = PartyFilter
    ordering_fields = ["name_key", "code", "city_key", "created_at", "updated_at"]
    ordering = ["name_key", "id"]
    search_fields = []

    def get_queryset(self):
        return visible_parties(self.request.user).prefetch_related("categories")

    def get_object(self):
        return access_party(self.request.user, self.kwargs["pk"])

    def _values(self, serializer):
        data = dict(serializer.validated_data)
        categories = data.pop("categories", None)
        data.pop("version", None)
        return data, categories

    def perform_create(self, serializer):
        values, categories = self._values(serializer)
        serializer.instance = party_services.create_party(
            acting_user=self.request.user,
            values=values,
            categories=categories or (),
            default_country=company_settings(self.request._request).country,
        )

    def perform_update(self, serializer):
        values, categories = self._values(serializer)
        serializer.instance = party_services.update_party(
            acting_user=self.request.user,
            party=serializer.instance,
            values=values,
            categories=categories,
            expected_version=self.expected_version(serializer),
        )

    def perform_destroy(self, instance):
        party_services.archive_party(
            acting_user=self.request.user, party=instance, expected_version=self.expected_version()
        )


class ContactViewSet(
    VersionedUpdates,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ContactSerializer
    filterset_fields = ["archived", "language"]
    ordering_fields = ["name_key", "created_at", "updated_at"]
    ordering = ["name_key", "id"]

    def get_queryset(self):
        params = self.request.query_params
        return contact_list(
            self.request.user,
            ContactFilters.from_params(
                {"q": params.get("q", ""), "party": params.get("party"), "archived": params.get("archived", "")}
            ),
        )

    def get_object(self):
        return access_contact(self.request.user, self.kwargs["pk"])

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        party = data.pop("party", None)
        function = data.pop("function", "")
        data.pop("version", None)
        serializer.instance = party_services.create_contact(
            acting_user=self.request.user,
            values=data,
            party=party,
            function=function,
            default_country=company_settings(self.request._request).country,
        )

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        for name in ("party", "function", "version"):
            data.pop(name, None)
        serializer.instance = party_services.update_contact(
            acting_user=self.request.user,
            contact=serializer.instance,
            values=data,
            expected_version=self.expected_version(serializer),
        )


class UserViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = UserSerializer
    filterset_fields = ["role", "is_active"]
    ordering_fields = ["username", "last_name"]

    def get_queryset(self):
        return visible_users(self.request.user)


class CompanySettingsView(VersionedUpdates, APIView):
    """The company settings: read by every user, changed by administrators (PATCH)."""

    permission_classes = [IsAdministratorOrReadOnly]
    serializer_class = CompanySettingsSerializer
    name = gettext_lazy("Company settings")  # the browsable API's title (else from the class name)

    @extend_schema(responses=CompanySettingsSerializer)
    def get(self, request):
        return Response(CompanySettingsSerializer(company_settings(request._request)).data)

    @extend_schema(request=CompanySettingsSerializer, responses=CompanySettingsSerializer)
    def patch(self, request):
        serializer = CompanySettingsSerializer(company_settings(request._request), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        values.pop("version", None)
        obj = core_services.update_company_settings(
            acting_user=request.user, values=values, expected_version=self.expected_version(serializer)
        )
        return Response(CompanySettingsSerializer(obj).data, status=status.HTTP_200_OK)


# --- CRM (behind the S1 gate) ----------------------------------------------------------------


class CrmViewSet(VersionedUpdates, viewsets.GenericViewSet):
    """The base of every CRM endpoint: authenticated, behind the CRM gate (S1, and S2 where a
    viewset sets ``crm_level``). A new CRM endpoint inherits the gate; it cannot forget it."""

    permission_classes = [IsAuthenticated, CrmEnabled]


class ActionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    CrmViewSet,
):
    """Actions the caller may see (private ones only to their creator, follower and managers).
    ``?query=`` takes an expression; the other filters as on the action list."""

    serializer_class = ActionSerializer
    filter_backends = []

    def get_serializer(self, *args, **kwargs):
        if not getattr(self, "swagger_fake_view", False):  # the schema documents every field
            kwargs["closed"] = refusal(company_settings(self.request._request), CrmLevel.FULL)
        return super().get_serializer(*args, **kwargs)

    def get_queryset(self):
        try:
            return action_list(
                self.request.user, ActionFilters.from_params(self.request.query_params)
            ).prefetch_related("contacts", "participants", "reminders")
        except ExpressionError as e:
            raise ValidationError({"query": e.message}) from e

    def get_object(self):
        return access_action(self.request.user, self.kwargs["pk"])

    def _values(self, serializer):
        data = dict(serializer.validated_data)
        contacts = data.pop("contacts", None)
        data.pop("version", None)
        # M2's participants and reminders go to the service beside the fields.
        self._extra = {"participants": data.pop("participants", None), "reminders": data.pop("reminders", None)}
        return data, contacts

    def perform_create(self, serializer):
        values, contacts = self._values(serializer)
        values.setdefault("followed_by", self.request.user)
        serializer.instance = action_services.create_action(
            acting_user=self.request.user, values=values, contacts=contacts or (), **self._extra
        )

    def perform_update(self, serializer):
        values, contacts = self._values(serializer)
        serializer.instance = action_services.update_action(
            acting_user=self.request.user,
            action=serializer.instance,
            values=values,
            contacts=contacts,
            expected_version=self.expected_version(serializer),
            **self._extra,
        )


class FolderViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    CrmViewSet,
):
    """Folders. With opportunity management off (S6) the opportunity fields are neither shown
    nor accepted (the service refuses them too); their values are kept."""

    serializer_class = FolderSerializer
    filterset_fields = ["party", "is_opportunity", "status", "stage"]

    def get_serializer(self, *args, **kwargs):
        if not getattr(self, "swagger_fake_view", False):  # the schema documents every field
            kwargs["closed"] = opportunities_refusal(company_settings(self.request._request))
        return super().get_serializer(*args, **kwargs)

    def get_queryset(self):
        return folder_list(self.request.user)

    def get_object(self):
        return access_folder(self.request.user, self.kwargs["pk"])

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("version", None)
        serializer.instance = action_services.create_folder(acting_user=self.request.user, values=data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("version", None)
        serializer.instance = action_services.update_folder(
            acting_user=self.request.user,
            folder=serializer.instance,
            values=data,
            expected_version=self.expected_version(serializer),
        )


class ActionTypeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CrmViewSet):
    """Action types (call, meeting…), in the three languages; administrators change them on the
    settings screen."""

    serializer_class = ActionTypeSerializer
    filterset_fields = ["active", "is_calendar_item"]
    ordering = ["position", "id"]

    def get_queryset(self):
        return ActionType.objects.order_by("position", "id")


class StageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CrmViewSet):
    """Stages of the opportunity pipeline (S6), in board order."""

    serializer_class = StageSerializer
    ordering = ["position", "id"]

    def get_queryset(self):
        return Stage.objects.order_by("position", "id")


@extend_schema_view(get=extend_schema(exclude=True), patch=extend_schema(exclude=True))
class CompanySettingsSlashView(CompanySettingsView):
    """The same settings at ``/api/v1/settings/`` (documented once, without the slash)."""
