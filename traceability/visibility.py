"""Who sees what: the one visibility policy of the platform.

Every read path (API lists and details, nested data such as genealogy nodes and event
documents, EPCIS queries, PACT, passports, pages, reports, the Django admin and the audit
export) asks this module what an organisation, a regulator or the public may read.

Three rules, each decided here once:
- Objects: an organisation sees what it made, holds or held; regulators and the operator see all.
- Events: an organisation sees the events it recorded and the events about objects it sees, but
  reads another organisation's event document only where ``may_read_documents_of`` says so; of
  the rest it sees the event's outline (``event_outline``): that it happened, its operation, type
  and time, and the objects in it that the reader can see.
- Nested objects: where another organisation's object must appear inside something the reader
  may see (a genealogy, a passport's provenance, a transformation's inputs), it appears folded
  (``fold_genealogies``): its kind and kilograms, no identifier, label or database id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet

from traceability.choices import OPERATION_FIELD, OrganisationRole
from traceability.genealogy import Genealogy
from traceability.models import EventRecord, LedgerEntry, Organisation, Site, TraceableObject

# Roles that read every organisation's objects, events and documents.
READ_ALL_ROLES = frozenset({OrganisationRole.REGULATOR, OrganisationRole.OPERATOR})


def reads_all(organisation: Organisation | None) -> bool:
    """Regulators and the operator read every organisation's objects, events and documents."""
    return organisation is not None and organisation.role in READ_ALL_ROLES


def may_read_documents_of(*, reader: Organisation | None, owner_id: int) -> bool:
    """Documents are the recorder's; regulators and the operator read all of them."""
    return reader is not None and (reader.pk == owner_id or reads_all(reader))


def documents_readable_by(*, organisation: Organisation, recorder: str = "organisation") -> Q:
    """``may_read_documents_of`` as a condition on rows whose ``recorder`` field is the recorder."""
    return Q(pk__isnull=False) if reads_all(organisation) else Q(**{recorder: organisation})


def objects_visible_to(*, organisation: Organisation) -> QuerySet[TraceableObject]:
    """What an organisation made, holds, or held (it recorded an event about it then)."""
    objects = TraceableObject.objects.select_related("created_by", "custodian")
    if reads_all(organisation):
        return objects.all()
    held = EventRecord.involved.through.objects.filter(eventrecord__organisation=organisation).values(
        "traceableobject_id"
    )
    return objects.filter(Q(created_by=organisation) | Q(custodian=organisation) | Q(pk__in=held))


def events_visible_to(*, organisation: Organisation) -> QuerySet[EventRecord]:
    """Events an organisation recorded, and events about objects it can see."""
    events = EventRecord.objects.select_related("entry", "organisation")
    if reads_all(organisation):
        return events.all()
    concerning = EventRecord.involved.through.objects.filter(
        traceableobject__in=objects_visible_to(organisation=organisation).values("pk")
    ).values("eventrecord_id")
    return events.filter(Q(organisation=organisation) | Q(pk__in=concerning))


def object_ids_visible_to(*, organisation: Organisation | None, ids: Iterable[int]) -> frozenset[int]:
    """Which of these object ids the organisation can see (none for the public), in at most one query."""
    wanted = set(ids)
    if organisation is None or not wanted:
        return frozenset()
    if reads_all(organisation):
        return frozenset(wanted)
    return frozenset(objects_visible_to(organisation=organisation).filter(pk__in=wanted).values_list("pk", flat=True))


def identifiers_visible_to(*, organisation: Organisation | None, identifiers: Iterable[str]) -> frozenset[str]:
    """Which of these object identifiers the organisation can see (none for the public), in at most one query."""
    wanted = set(identifiers)
    if organisation is None or not wanted:
        return frozenset()
    if reads_all(organisation):
        return frozenset(wanted)
    visible = objects_visible_to(organisation=organisation).filter(identifier__in=wanted)
    return frozenset(visible.values_list("identifier", flat=True))


def identifiers_hidden_from(*, organisation: Organisation, identifiers: Iterable[str]) -> frozenset[str]:
    """Which of these identifiers name an object that exists but the organisation cannot see, in at
    most one query. Writes answer about them exactly as about identifiers that name nothing."""
    wanted = set(identifiers)
    if not wanted or reads_all(organisation):
        return frozenset()
    visible = objects_visible_to(organisation=organisation).filter(identifier__in=wanted).values("pk")
    hidden = TraceableObject.objects.filter(identifier__in=wanted).exclude(pk__in=visible)
    return frozenset(hidden.values_list("identifier", flat=True))


# --- events --------------------------------------------------------------------------------

# The fields of an EPCIS event whose document the reader may not read that it still sees: the
# event happened, what and when. Places, business transactions, sources and destinations,
# sensor data, instance master data and every extension (recipes, energy, losses, object
# descriptions) are the recorder's.
OUTLINE_FIELDS = ("@context", "type", "eventID", "eventTime", "eventTimeZoneOffset", "recordTime", "action", "bizStep")
# Fields naming objects: kept in an outline only for the objects the reader can see.
IDENTIFIER_FIELDS = ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
QUANTITY_FIELDS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")
# Marks an outline, so no reader takes it for the whole event.
WITHHELD_FIELD = "lt:withheld"


def event_identifiers(document: Mapping[str, object]) -> set[str]:
    """Every object identifier an EPCIS event names (lists, quantity elements, parent)."""
    named = {str(document["parentID"])} if document.get("parentID") else set()
    for field in IDENTIFIER_FIELDS:
        items = document.get(field)
        if isinstance(items, list):
            named.update(str(item) for item in items)
    for field in QUANTITY_FIELDS:
        items = document.get(field)
        if isinstance(items, list):
            named.update(str(item["epcClass"]) for item in items if isinstance(item, dict) and "epcClass" in item)
    return named


def event_outline(document: Mapping[str, object], *, visible: frozenset[str]) -> dict[str, object]:
    """What a reader sees of an event document it may not read (``visible``: identifiers it can see)."""
    outline = {field: document[field] for field in OUTLINE_FIELDS if field in document}
    if OPERATION_FIELD in document:
        outline[OPERATION_FIELD] = document[OPERATION_FIELD]
    if document.get("parentID") in visible:
        outline["parentID"] = document["parentID"]
    for field in IDENTIFIER_FIELDS:
        items = document.get(field)
        if isinstance(items, list):
            outline[field] = [item for item in items if item in visible]
    for field in QUANTITY_FIELDS:
        items = document.get(field)
        if isinstance(items, list):
            outline[field] = [i for i in items if isinstance(i, dict) and i.get("epcClass") in visible]
    outline[WITHHELD_FIELD] = True
    return outline


@dataclass(frozen=True)
class EventReader:
    """What one reader may see of a set of events: whose documents, and which of the objects in them."""

    organisation: Organisation | None
    visible: frozenset[str]  # identifiers of the objects named in the events that the reader can see

    def reads_document(self, *, owner_id: int) -> bool:
        return may_read_documents_of(reader=self.organisation, owner_id=owner_id)

    def shows(self, identifier: str) -> bool:
        return identifier in self.visible

    def document(self, document: Mapping[str, object], *, owner_id: int) -> dict[str, object]:
        """The document itself, or its outline."""
        if self.reads_document(owner_id=owner_id):
            return dict(document)
        return event_outline(document, visible=self.visible)


def event_reader(*, organisation: Organisation | None, identifiers: Iterable[str]) -> EventReader:
    """The reader of events that name ``identifiers`` (one query: which of them it can see)."""
    return EventReader(organisation, identifiers_visible_to(organisation=organisation, identifiers=identifiers))


# --- nested objects ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NodeView:
    """A genealogy node as a reader sees it. A folded node is another organisation's object the
    reader cannot see: its kind and kg only, under a placeholder id (negative, unique within one
    answer, so edges still connect) that no endpoint accepts."""

    id: int
    identifier: str | None
    kind: str
    label: str | None
    kg: Decimal
    depth: int
    folded: bool


@dataclass(frozen=True, slots=True)
class EdgeView:
    source: int
    target: int
    kg: Decimal


@dataclass(frozen=True)
class GenealogyView:
    root: TraceableObject
    direction: str
    nodes: list[NodeView]
    edges: list[EdgeView]


def genealogy_object_ids(walks: Sequence[Genealogy]) -> set[int]:
    """Every object the walks reach: their roots, nodes and the ends of their edges."""
    reached = {walk.root.pk for walk in walks} | {node.id for walk in walks for node in walk.nodes}
    return reached | {end for walk in walks for edge in walk.edges for end in (edge.source, edge.target)}


def fold_genealogies(*, walks: Sequence[Genealogy], visible: frozenset[int]) -> list[GenealogyView]:
    """The walks with every node not in ``visible`` (object ids the reader can see, from
    ``object_ids_visible_to``) folded; a folded object keeps one placeholder across the walks."""
    placeholders: dict[int, int] = {}

    def shown(pk: int) -> int:
        if pk in visible:
            return pk
        return placeholders.setdefault(pk, -1 - len(placeholders))

    views = []
    for walk in walks:
        nodes = [
            NodeView(node.id, node.identifier, node.kind, node.label, node.kg, node.depth, False)
            if node.id in visible
            else NodeView(shown(node.id), None, node.kind, None, node.kg, node.depth, True)
            for node in walk.nodes
        ]
        edges = [EdgeView(shown(edge.source), shown(edge.target), edge.kg) for edge in walk.edges]
        views.append(GenealogyView(walk.root, walk.direction, nodes, edges))
    return views


def genealogies_seen_by(*, organisation: Organisation | None, walks: Sequence[Genealogy]) -> list[GenealogyView]:
    """The walks as ``organisation`` (None: the public) sees them, in one query."""
    visible = object_ids_visible_to(organisation=organisation, ids=genealogy_object_ids(walks))
    return fold_genealogies(walks=walks, visible=visible)


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
    return LedgerEntry.objects.select_related("organisation").filter(documents_readable_by(organisation=organisation))


# --- sites ------------------------------------------------------------------------------------


def sites_visible_to(*, organisation: Organisation | None) -> QuerySet[Site]:
    """An organisation's own sites; every site, for regulators and the operator (``reads_all``).

    Another organisation's site is answered like a missing one: a site's address is its
    owner's business, even though the events it reads tell the site's id.
    """
    if organisation is None:
        return Site.objects.none()
    sites = Site.objects.select_related("organisation").order_by("organisation_id", "name", "pk")
    return sites if reads_all(organisation) else sites.filter(organisation=organisation)
