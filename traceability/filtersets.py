import django_filters

from traceability.choices import ObjectKind, ObjectStatus
from traceability.models import EventRecord, TraceableObject


class TraceableObjectFilterSet(django_filters.FilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=ObjectKind.choices)
    status = django_filters.MultipleChoiceFilter(choices=ObjectStatus.choices)
    custodian = django_filters.CharFilter(field_name="custodian__slug")
    created_by = django_filters.CharFilter(field_name="created_by__slug")
    identifier = django_filters.CharFilter()
    label = django_filters.CharFilter(lookup_expr="icontains")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = TraceableObject
        fields = ["kind", "status", "custodian", "created_by", "identifier", "label", "site"]


class EventRecordFilterSet(django_filters.FilterSet):
    operation = django_filters.CharFilter()
    organisation = django_filters.CharFilter(field_name="organisation__slug")
    event_time_after = django_filters.IsoDateTimeFilter(field_name="event_time", lookup_expr="gte")
    event_time_before = django_filters.IsoDateTimeFilter(field_name="event_time", lookup_expr="lt")
    object = django_filters.CharFilter(field_name="involved__identifier", distinct=True)

    class Meta:
        model = EventRecord
        fields = ["operation", "organisation", "site"]
