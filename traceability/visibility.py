"""Who sees what: the one visibility policy of the platform.

Every read path (API lists and details, nested data such as genealogy nodes and event
documents, EPCIS queries, PACT, passports, pages, reports, the Django admin and the audit
export) asks this module what an organisation, a regulator or the public may read.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from traceability.choices import OrganisationRole
from traceability.models import EventRecord, Organisation, TraceableObject

# Roles that read every organisation's objects, events and documents.
READ_ALL_ROLES = frozenset({OrganisationRole.REGULATOR, OrganisationRole.OPERATOR})


def may_read_documents_of(*, reader: Organisation, owner_id: int) -> bool:
    """Documents are the recorder's; regulators and the operator read all of them."""
    return reader.pk == owner_id or reader.role in READ_ALL_ROLES


def objects_visible_to(*, organisation: Organisation) -> QuerySet[TraceableObject]:
    """What an organisation made, holds, or held (it recorded an event about it then)."""
    objects = TraceableObject.objects.select_related("created_by", "custodian")
    if organisation.role in READ_ALL_ROLES:
        return objects.all()
    held = EventRecord.involved.through.objects.filter(eventrecord__organisation=organisation).values(
        "traceableobject_id"
    )
    return objects.filter(Q(created_by=organisation) | Q(custodian=organisation) | Q(pk__in=held))


def events_visible_to(*, organisation: Organisation) -> QuerySet[EventRecord]:
    """Events an organisation recorded, and events about objects it can see."""
    events = EventRecord.objects.select_related("entry", "organisation")
    if organisation.role in READ_ALL_ROLES:
        return events.all()
    concerning = EventRecord.involved.through.objects.filter(
        traceableobject__in=objects_visible_to(organisation=organisation).values("pk")
    ).values("eventrecord_id")
    return events.filter(Q(organisation=organisation) | Q(pk__in=concerning))
