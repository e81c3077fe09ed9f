"""Who sees what: the one visibility policy of the platform.

Every read path (API lists and details, nested data such as genealogy nodes and event
documents, EPCIS queries, PACT, passports, pages, reports, the Django admin and the audit
export) asks this module what an organisation, a regulator or the public may read.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from traceability.choices import OrganisationRole
from traceability.models import EventRecord, LedgerEntry, Organisation, TraceableObject

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


# --- roles: platform operators and organisation members -------------------------------------


def is_operator_organisation(organisation: Organisation | None) -> bool:
    """The platform's own organisation (``settings.PLATFORM_ORGANISATION_SLUG``) is the only one
    with the operator role: ``organisation_create`` refuses that role to every other."""
    return organisation is not None and organisation.role == OrganisationRole.OPERATOR


def is_platform_operator(user: object) -> bool:
    """Who runs the platform: changes registry defaults (platform-wide emission factors),
    registers partners, signs checkpoints and has the whole Django admin.

    A superuser, or a user (or API key) acting for the operator organisation. Every other
    signed-in user is an organisation's member, whatever its ``is_staff`` flag: that flag only
    lets a member into the Django admin, which then shows what this policy lets it read.
    """
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    if getattr(user, "is_superuser", False):
        return True
    return is_operator_organisation(acting_organisation(user))


def acting_organisation(user: object) -> Organisation | None:
    """The organisation a signed-in user or an API key acts for, if any."""
    organisation = getattr(user, "organisation", None)  # an API key's principal
    if isinstance(organisation, Organisation):
        return organisation
    membership = getattr(user, "membership", None) if getattr(user, "is_authenticated", False) else None
    return membership.organisation if membership is not None else None


def ledger_entries_readable_by(*, organisation: Organisation) -> QuerySet[LedgerEntry]:
    """Entries whose documents an organisation may read (``may_read_documents_of``)."""
    entries = LedgerEntry.objects.select_related("organisation")
    if organisation.role in READ_ALL_ROLES:
        return entries.all()
    return entries.filter(organisation=organisation)
