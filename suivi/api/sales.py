"""REST endpoints of the commercial side: VAT rates, articles, journals, layouts and documents
(with validate, cancel, convert, credit note, PDF and e-mail). They read through
``suivi.sales.queries`` and write through ``suivi.sales.services``: the same rules and messages
as the pages. Not behind the CRM gate: the commercial side works with the CRM off."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from suivi.sales import queries, services
from suivi.sales.models import (
    Article,
    Document,
    DocumentEvent,
    DocumentKind,
    DocumentLine,
    DocumentStatus,
    Journal,
    Layout,
    VatRate,
)

from .views import VersionedUpdates


class VatRateSerializer(serializers.ModelSerializer):
    class Meta:
        model = VatRate
        fields = ["id", *VatRate.EDITABLE, "version"]
        extra_kwargs = {"version": {"read_only": False, "required": False}}


class ArticleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Article
        fields = ["id", *Article.EDITABLE, "version"]
        extra_kwargs = {"version": {"read_only": False, "required": False}}


class JournalSerializer(serializers.ModelSerializer):
    class Meta:
        model = Journal
        fields = ["id", *Journal.EDITABLE, "version"]
        extra_kwargs = {"version": {"read_only": False, "required": False}}


class LayoutSerializer(serializers.ModelSerializer):
    class Meta:
        model = Layout
        fields = ["id", "journal", *Layout.EDITABLE, "version"]
        extra_kwargs = {"version": {"read_only": False, "required": False}}


class LineSerializer(serializers.ModelSerializer):
    class Meta:
        model = DocumentLine
        fields = ["article", "description", "quantity", "unit", "unit_price", "discount_percent", "vat_rate", "net"]
        read_only_fields = ["net"]
        extra_kwargs = {
            "quantity": {"required": False},
            "unit_price": {"required": False},
            "discount_percent": {"required": False},
            "vat_rate": {"required": False},
        }


class DocumentSerializer(serializers.ModelSerializer):
    lines = LineSerializer(many=True, required=False)
    kind = serializers.CharField(source="journal.kind", read_only=True)

    class Meta:
        model = Document
        fields = [
            "id",
            "journal",
            "kind",
            "party",
            "contact",
            "folder",
            "date",
            "due_date",
            "notes",
            "status",
            "number",
            "source",
            "lines",
            "total_excl",
            "total_vat",
            "total_incl",
            "print_count",
            "version",
        ]
        read_only_fields = ["status", "number", "source", "total_excl", "total_vat", "total_incl", "print_count"]
        extra_kwargs = {"version": {"read_only": False, "required": False}, "date": {"required": False}}


class EventSerializer(serializers.ModelSerializer):
    reason = serializers.CharField(read_only=True, help_text="Why the send failed, in the reader's language.")

    class Meta:
        model = DocumentEvent
        fields = [
            "id",
            "kind",
            "layout",
            "status",
            "recipient",
            "subject",
            "error",
            "error_code",
            "reason",
            "attempts",
            "created_at",
        ]


class VersionBody(serializers.Serializer):
    version = serializers.IntegerField(required=False, min_value=1, max_value=2**31)


class ConvertBody(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DocumentKind.choices)
    journal = serializers.PrimaryKeyRelatedField(queryset=Journal.objects.all(), required=False)


class SendBody(serializers.Serializer):
    layout = serializers.PrimaryKeyRelatedField(queryset=Layout.objects.all(), required=False)
    to = serializers.CharField(required=False, allow_blank=True, max_length=254)
    idempotency_key = serializers.CharField(required=False, max_length=64)


class SalesViewSet(VersionedUpdates, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated]


class ConfigurationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, SalesViewSet
):
    """Read by every user; created and changed by managers (through ``save``)."""

    save = None  # the service function of the row

    def _values(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("version", None)
        return data

    def perform_create(self, serializer):
        serializer.instance = type(self).save(
            acting_user=self.request.user, instance=None, values=self._values(serializer)
        )

    def perform_update(self, serializer):
        serializer.instance = type(self).save(
            acting_user=self.request.user,
            instance=serializer.instance,
            values=self._values(serializer),
            expected_version=self.expected_version(serializer),
        )


class VatRateViewSet(ConfigurationViewSet):
    serializer_class = VatRateSerializer
    save = services.save_vat_rate

    def get_queryset(self):
        return queries.vat_rates(self.request.user).order_by("-rate", "code")

    def get_object(self):
        return queries.access_vat_rate(self.request.user, self.kwargs["pk"])


class ArticleViewSet(ConfigurationViewSet):
    serializer_class = ArticleSerializer
    filterset_fields = ["active", "vat_rate"]
    save = services.save_article

    def get_queryset(self):
        return queries.articles(self.request.user).order_by("code")

    def get_object(self):
        return queries.access_article(self.request.user, self.kwargs["pk"])


class JournalViewSet(ConfigurationViewSet):
    serializer_class = JournalSerializer
    filterset_fields = ["kind", "side", "active"]
    save = services.save_journal

    def get_queryset(self):
        return queries.journals(self.request.user).order_by("side", "kind", "code")

    def get_object(self):
        return queries.access_journal(self.request.user, self.kwargs["pk"])


class LayoutViewSet(ConfigurationViewSet):
    serializer_class = LayoutSerializer
    filterset_fields = ["journal", "language"]
    save = services.save_layout

    def get_queryset(self):
        return queries.layouts(self.request.user).order_by("journal", "-is_default", "name")

    def get_object(self):
        return queries.access_layout(self.request.user, self.kwargs["pk"])


class DocumentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, SalesViewSet
):
    """Documents. Filters as on the documents page (``journal``, ``kind``, ``status``, ``party``,
    ``from``, ``to``, ``q``). Drafts are changed with their version; lines sent replace them all."""

    serializer_class = DocumentSerializer
    filter_backends: list = []

    def get_queryset(self):
        return queries.document_list(
            self.request.user, queries.DocumentFilters.from_params(self.request.query_params)
        ).prefetch_related("lines")

    def get_object(self):
        return queries.access_document(self.request.user, self.kwargs["pk"])

    def _split(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("version", None)
        lines = data.pop("lines", None)
        return data, lines

    def perform_create(self, serializer):
        values, lines = self._split(serializer)
        serializer.instance = services.create_document(acting_user=self.request.user, values=values, lines=lines or ())

    def perform_update(self, serializer):
        values, lines = self._split(serializer)
        serializer.instance = services.update_document(
            acting_user=self.request.user,
            document=serializer.instance,
            values=values,
            lines=lines,
            expected_version=self.expected_version(serializer),
        )

    def _answer(self, document, code=status.HTTP_200_OK):
        document = Document.objects.prefetch_related("lines").get(pk=document.pk)
        response = Response(DocumentSerializer(document).data, status=code)
        response["ETag"] = f'"{document.version}"'
        return response

    @extend_schema(request=VersionBody, responses=DocumentSerializer)
    @action(detail=True, methods=["post"])
    def validate(self, request, pk=None):
        """Number the draft (send the version you read, or If-Match)."""
        body = VersionBody(data=request.data)
        body.is_valid(raise_exception=True)
        document = queries.access_document(request.user, pk, for_write=True)
        return self._answer(
            services.validate_document(
                acting_user=request.user, document=document, expected_version=self.expected_version(body)
            )
        )

    @extend_schema(request=None, responses=DocumentSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        document = queries.access_document(request.user, pk, for_write=True)
        return self._answer(
            services.set_document_status(acting_user=request.user, document=document, status=DocumentStatus.CANCELLED)
        )

    @extend_schema(request=ConvertBody, responses={201: DocumentSerializer})
    @action(detail=True, methods=["post"])
    def convert(self, request, pk=None):
        """A draft of another kind made from this validated document (``kind``: order, delivery,
        invoice; ``credit_note`` from an invoice)."""
        body = ConvertBody(data=request.data)
        body.is_valid(raise_exception=True)
        document = queries.access_document(request.user, pk, for_write=True)
        kind, journal = body.validated_data["kind"], body.validated_data.get("journal")
        if kind == DocumentKind.CREDIT_NOTE:
            made = services.make_credit_note(acting_user=request.user, invoice=document, journal=journal)
        else:
            made = services.convert_document(acting_user=request.user, document=document, kind=kind, journal=journal)
        return self._answer(made, status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[OpenApiParameter("layout", OpenApiTypes.INT, description="Layout id (default: the journal's)")],
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
    )
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk=None):
        """The PDF of the document. A draft is a preview (nothing recorded); a validated document
        is a print: counted once per ``Idempotency-Key`` header (a new print without one)."""
        document = queries.access_document(request.user, pk)
        layout = queries.layout_for(request.user, document, request.query_params.get("layout"))
        if document.status == DocumentStatus.DRAFT:
            pdf = services.document_pdf(document, layout)
        else:
            key = request.headers.get("Idempotency-Key", "")[:64] or None
            _event, pdf = services.print_document(
                acting_user=request.user, document=document, layout=layout, idempotency_key=key
            )
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{queries.document_filename(document)}"'
        return response

    @extend_schema(request=SendBody, responses={200: EventSerializer})
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        """E-mail the document's PDF (to ``to``, default its contact or party). The answer is the
        send: ``status`` done, or failed with the ``error`` (retry with the same call)."""
        body = SendBody(data=request.data)
        body.is_valid(raise_exception=True)
        document = queries.access_document(request.user, pk, for_write=True)
        layout = body.validated_data.get("layout")
        layout = queries.layout_for(request.user, document, layout.pk if layout else None)
        key = body.validated_data.get("idempotency_key") or request.headers.get("Idempotency-Key", "")[:64] or None
        event = services.send_document(
            acting_user=request.user,
            document=document,
            layout=layout,
            to=body.validated_data.get("to", ""),
            idempotency_key=key,
        )
        return Response(EventSerializer(event).data)


def register(router) -> None:
    router.register("vat-rates", VatRateViewSet, basename="vat-rate")
    router.register("articles", ArticleViewSet, basename="article")
    router.register("journals", JournalViewSet, basename="journal")
    router.register("layouts", LayoutViewSet, basename="layout")
    router.register("documents", DocumentViewSet, basename="document")
