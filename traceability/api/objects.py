"""Read endpoints for items, lots, events and genealogy; each filtered to what the caller may see."""

import json

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from traceability import visibility
from traceability.api.authentication import request_organisation
from traceability.api.pagination import NewestFirst
from traceability.api.references import OBJECT_REFERENCE_PARAMETER, object_reference
from traceability.choices import SERIALISED_KINDS, ObjectKind
from traceability.errors import ApplicationError
from traceability.filtersets import EventRecordFilterSet, TraceableObjectFilterSet
from traceability.genealogy import genealogy
from traceability.models import EventRecord, TraceableObject


class TraceableObjectSerializer(serializers.ModelSerializer):
    createdBy = serializers.SlugRelatedField(source="created_by", slug_field="slug", read_only=True)
    custodian = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    initialKg = serializers.DecimalField(source="initial_kg", max_digits=16, decimal_places=3)
    remainingKg = serializers.DecimalField(source="remaining_kg", max_digits=16, decimal_places=3)
    createdSeq = serializers.IntegerField(source="created_seq")
    createdAt = serializers.DateTimeField(source="created_at")
    endedSeq = serializers.IntegerField(source="ended_seq", allow_null=True)
    endedAt = serializers.DateTimeField(source="ended_at", allow_null=True)

    class Meta:
        model = TraceableObject
        fields = [
            "id",
            "identifier",
            "kind",
            "label",
            "status",
            "createdBy",
            "custodian",
            "site",
            "attributes",
            "initialKg",
            "remainingKg",
            "createdSeq",
            "createdAt",
            "endedSeq",
            "endedAt",
        ]


class EventRecordListSerializer(serializers.ListSerializer):
    """Decides once per page what the caller may see of the events on it."""

    def to_representation(self, data):  # type: ignore[no-untyped-def]
        records = list(data.all() if hasattr(data, "all") else data)
        self.context["event_reader"] = event_reader_for(self.context, records)
        return super().to_representation(records)


def event_reader_for(context: dict[str, object], records: list[EventRecord]) -> visibility.EventReader:
    request = context.get("request")
    organisation = request_organisation(request) if isinstance(request, Request) else None
    identifiers = {obj.identifier for record in records for obj in record.involved.all()}
    return visibility.event_reader(organisation=organisation, identifiers=identifiers)


class EventRecordSerializer(serializers.ModelSerializer):
    """An event; of another organisation's event that the caller may not read, its outline: the
    document, site and warnings are withheld and only the objects the caller can see are named."""

    seq = serializers.IntegerField(source="entry_id")
    eventType = serializers.CharField(source="event_type")
    bizStep = serializers.CharField(source="biz_step")
    eventTime = serializers.DateTimeField(source="event_time")
    organisation = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    objects = serializers.SerializerMethodField()
    entryHash = serializers.CharField(source="entry.entry_hash")
    document = serializers.SerializerMethodField()

    class Meta:
        model = EventRecord
        list_serializer_class = EventRecordListSerializer
        fields = [
            "seq",
            "operation",
            "eventType",
            "bizStep",
            "eventTime",
            "organisation",
            "site",
            "objects",
            "warnings",
            "entryHash",
            "document",
        ]

    def _reader(self, record: EventRecord) -> visibility.EventReader:
        reader = self.context.get("event_reader")
        if not isinstance(reader, visibility.EventReader):
            reader = self.context["event_reader"] = event_reader_for(self.context, [record])
        return reader

    def to_representation(self, instance: EventRecord) -> dict[str, object]:
        data = super().to_representation(instance)
        if not self._reader(instance).reads_document(owner_id=instance.organisation_id):
            data.update(site=None, warnings=[])
        return data

    def get_objects(self, record: EventRecord) -> list[str]:
        reader = self._reader(record)
        return [obj.identifier for obj in record.involved.all() if reader.shows(obj.identifier)]

    @extend_schema_field({"type": "object", "nullable": True, "description": "null when not yours to read"})
    def get_document(self, record: EventRecord) -> dict[str, object] | None:
        if not self._reader(record).reads_document(owner_id=record.organisation_id):
            return None
        return json.loads(record.entry.document)


class VisibleObjects(generics.GenericAPIView):
    serializer_class = TraceableObjectSerializer
    filterset_class = TraceableObjectFilterSet
    pagination_class = NewestFirst
    kinds: frozenset[str] | None = None

    def get_queryset(self) -> QuerySet[TraceableObject]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no caller
            return TraceableObject.objects.none()
        objects = visibility.objects_visible_to(organisation=request_organisation(self.request))
        return objects.filter(kind__in=self.kinds) if self.kinds is not None else objects

    def get_object(self) -> TraceableObject:
        """The object the path names by id or identifier, among those the caller may read: one it
        may not read answers exactly as one that does not exist."""
        found = self.filter_queryset(self.get_queryset()).filter(object_reference(self.kwargs["ref"])).first()
        if found is None:
            raise Http404
        self.check_object_permissions(self.request, found)
        return found


class ObjectListView(VisibleObjects, generics.ListAPIView):
    """Items and lots you made, hold or held."""


class ItemListView(ObjectListView):
    """Serialised items: vehicles, batteries, parts."""

    kinds = SERIALISED_KINDS


class LotListView(ObjectListView):
    """Mass lots: scrap, black mass, salts, ingots, melts."""

    kinds = frozenset(ObjectKind.values) - SERIALISED_KINDS


@extend_schema(parameters=[OBJECT_REFERENCE_PARAMETER])
class ObjectDetailView(VisibleObjects, generics.RetrieveAPIView):
    """One object, by its id or its identifier."""


class GenealogyNodeSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="the object's id; negative for a folded node (no object of yours)")
    identifier = serializers.CharField(allow_null=True, help_text="null when folded")
    kind = serializers.CharField()
    label = serializers.CharField(allow_null=True, help_text="null when folded")
    kg = serializers.DecimalField(max_digits=16, decimal_places=3)
    depth = serializers.IntegerField()
    folded = serializers.BooleanField(help_text="another organisation's object you cannot see: kind and kg only")


class GenealogyEdgeSerializer(serializers.Serializer):
    source = serializers.IntegerField()
    target = serializers.IntegerField()
    kg = serializers.DecimalField(max_digits=16, decimal_places=3)


class GenealogySerializer(serializers.Serializer):
    root = TraceableObjectSerializer()
    direction = serializers.CharField()
    nodes = GenealogyNodeSerializer(many=True)
    edges = GenealogyEdgeSerializer(many=True)


class GenealogyView(VisibleObjects):
    @extend_schema(
        parameters=[
            OBJECT_REFERENCE_PARAMETER,
            OpenApiParameter("direction", str, enum=["backward", "forward"], default="backward"),
        ],
        responses=GenealogySerializer,
        summary="Where an object came from (backward) or went (forward), with kg along every path",
    )
    def get(self, request: Request, ref: str) -> Response:
        root = self.get_object()
        direction = request.query_params.get("direction", "backward")
        if direction not in {"backward", "forward"}:
            raise ApplicationError("direction_invalid", "direction is backward or forward")
        found = genealogy(root=root, direction=direction)
        (seen,) = visibility.genealogies_seen_by(organisation=request_organisation(request), walks=[found])
        return Response(GenealogySerializer(seen).data)


class VisibleEvents(generics.GenericAPIView):
    serializer_class = EventRecordSerializer
    filterset_class = EventRecordFilterSet

    def get_queryset(self) -> QuerySet[EventRecord]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no caller
            return EventRecord.objects.none()
        return visibility.events_visible_to(organisation=request_organisation(self.request)).prefetch_related(
            "involved"
        )


class EventListView(VisibleEvents, generics.ListAPIView):
    """Operations recorded by you or about objects you can see, newest first."""

    pagination_class = NewestFirst


class EventDetailView(VisibleEvents, generics.RetrieveAPIView):
    lookup_field = "entry_id"
    lookup_url_kwarg = "seq"
