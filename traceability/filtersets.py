from datetime import UTC

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django_filters.fields import IsoDateTimeField

from traceability import visibility
from traceability.api.authentication import request_organisation
from traceability.choices import ObjectKind, ObjectStatus
from traceability.models import EventRecord, TraceableObject


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 time with any offset, turned into UTC before it reaches the database
    (PostgreSQL refuses offsets beyond 15:59, and a time near year 1 may not convert)."""

    def to_python(self, value):  # type: ignore[no-untyped-def]
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise ValidationError("a time that has no UTC equivalent", code="invalid") from exc


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class TraceableObjectFilterSet(django_filters.FilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=ObjectKind.choices)
    status = django_filters.MultipleChoiceFilter(choices=ObjectStatus.choices)
    custodian = django_filters.CharFilter(field_name="custodian__slug")
    created_by = django_filters.CharFilter(field_name="created_by__slug")
    identifier = django_filters.CharFilter()
    label = django_filters.CharFilter(lookup_expr="icontains")
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = TraceableObject
        fields = ["kind", "status", "custodian", "created_by", "identifier", "label", "site"]


class EventRecordFilterSet(django_filters.FilterSet):
    operation = django_filters.CharFilter()
    organisation = django_filters.CharFilter(field_name="organisation__slug")
    event_time_after = UtcDateTimeFilter(field_name="event_time", lookup_expr="gte")
    event_time_before = UtcDateTimeFilter(field_name="event_time", lookup_expr="lt")
    object = django_filters.CharFilter(method="filter_object")

    class Meta:
        model = EventRecord
        fields = ["operation", "organisation", "site"]

    def filter_object(self, queryset: QuerySet[EventRecord], name: str, value: str) -> QuerySet[EventRecord]:
        """Events about an object the caller can see: naming one it cannot see matches nothing, so
        the filter does not tell which other organisations' objects an event involves."""
        organisation = request_organisation(self.request) if self.request is not None else None
        if organisation is None:
            return queryset.none()
        objects = visibility.objects_visible_to(organisation=organisation).filter(identifier=value)
        return queryset.filter(involved__in=objects.values("pk")).distinct()
