"""Checking and projecting operation events.

``project`` is called for every ledger event, in ``seq`` order, inside the append
transaction (with ``check=True``: a broken rule raises and the whole append rolls
back) and by ``rebuild_projections`` (with ``check=False``: the ledger already
accepted the event, so replaying it must give the state it gave then). The rows
the rules and the projection read are fetched once, by ``_gather``; the rules
themselves are ``rules``' named functions, listed by each operation's module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from traceability import visibility
from traceability.choices import CompositionPolicy, ObjectStatus, Operation
from traceability.epcis.core.fields import canonical_id, named_identifiers, parse_time
from traceability.epcis.core.hashing import EventHashError
from traceability.models import (
    AlloySpecification,
    EpcisEventEpc,
    EventRecord,
    LedgerEntry,
    MassFlow,
    Organisation,
    Site,
    TraceableObject,
)
from traceability.operations import rules
from traceability.operations.definition import OperationDefinition
from traceability.operations.effects import Effects
from traceability.operations.epcis import OPERATION_FIELD
from traceability.operations.registry import operation_for
from traceability.operations.rules import MASS_EPSILON, Known, metal_inputs


def mass_balance_tolerance() -> Decimal:
    """Relative tolerance of a transformation's mass balance (default 0.5 %, set per deployment)."""
    return Decimal(str(getattr(settings, "MASS_BALANCE_TOLERANCE", "0.005")))


def project(
    entry: LedgerEntry,
    document: dict[str, object],
    *,
    check: bool,
    recorder_authorised: bool = False,
    tracked: Tracked | None = None,
) -> EventRecord | None:
    """Apply one ledger event to the projections; ``None`` for events that are no operation.

    ``recorder_authorised``: the recording service has already checked the recorder's role.
    ``tracked``: what ``tracked_objects`` read for the batch (else read for this event alone).
    """
    if OPERATION_FIELD not in document:
        if check:
            if tracked is None:
                tracked = tracked_objects([document], entry.organisation)
            check_other_event(document, entry.organisation, tracked)
        return None
    operation = operation_for(document)
    effects = operation.parse(document)
    if check and tracked is None:
        tracked = tracked_objects([document], entry.organisation)
    known = _gather(effects, entry.organisation, hidden=tracked.hidden if tracked is not None else frozenset())
    if check:
        _check(operation, effects, known, recorder_authorised=recorder_authorised)
    consumed = {str(obj.pk): str(kg) for obj, kg in rules.consumed(effects, known.objects)}
    warnings = _apply(effects, entry, known)
    record = EventRecord.objects.create(
        entry=entry,
        operation=effects.operation,
        event_type=str(document.get("type", "")),
        biz_step=str(document.get("bizStep", "")),
        event_time=effects.event_time,
        organisation=entry.organisation,
        site_id=effects.site_id,
        warnings=warnings,
        consumed=consumed,
    )
    objects = known.objects
    involved = {objects[i].pk for i in effects.touched} | {objects[o.identifier].pk for o in effects.outputs}
    through = EventRecord.involved.through
    through.objects.bulk_create(through(eventrecord_id=entry.seq, traceableobject_id=pk) for pk in involved)
    return record


@dataclass(frozen=True)
class Tracked:
    """The objects Looptrace tracks that a batch's events without an operation name (by each form
    the events wrote), and which of them the recorder made, holds or held; and the identifiers its
    operations' events name of objects the recorder cannot see (``Known.hidden``)."""

    named: dict[str, list[TraceableObject]]
    held: set[int]
    hidden: frozenset[str] = frozenset()


def tracked_objects(documents: Sequence[dict[str, object]], organisation: Organisation) -> Tracked:
    """Read once per batch (at most four queries), before its events are checked one by one.

    A batch is one organisation's, so an object an earlier event of the batch makes is the
    recorder's own, and no event of the batch can make another organisation's object the recorder's:
    what the recorder cannot see when the batch starts it cannot see at any event of it.
    """
    operated = {value for d in documents if OPERATION_FIELD in d for value in visibility.event_identifiers(d)}
    hidden = visibility.identifiers_hidden_from(organisation=organisation, identifiers=operated)
    return replace(_tracked_by_other_events(documents, organisation), hidden=hidden)


def _tracked_by_other_events(documents: Sequence[dict[str, object]], organisation: Organisation) -> Tracked:
    named = {value for d in documents if OPERATION_FIELD not in d for value in named_identifiers(d)}
    if not named:
        return Tracked({}, set())
    canonical = {value: canonical_id(value) for value in named}
    # The forms other events wrote the same identifiers in (an EPC URN for a Digital Link, say).
    aliases: dict[str, set[str]] = {}
    written = EpcisEventEpc.objects.filter(canonical__in=set(canonical.values())).values_list("canonical", "value")
    for form, value in written.distinct():
        aliases.setdefault(form, set()).add(value)
    forms = {value: {value, canonical[value], *aliases.get(canonical[value], ())} for value in named}
    identifiers = set().union(*forms.values())
    objects = {o.identifier: o for o in TraceableObject.objects.filter(identifier__in=identifiers)}
    if not objects:
        return Tracked({}, set())
    held = {obj.pk for obj in objects.values() if organisation.pk in (obj.created_by_id, obj.custodian_id)}
    held |= set(
        EventRecord.involved.through.objects.filter(
            traceableobject_id__in=[obj.pk for obj in objects.values()], eventrecord__organisation=organisation
        ).values_list("traceableobject_id", flat=True)
    )
    found = {value: [objects[f] for f in sorted(alike) if f in objects] for value, alike in forms.items()}
    return Tracked({value: hits for value, hits in found.items() if hits}, held)


def check_other_event(document: dict[str, object], organisation: Organisation, tracked: Tracked) -> None:
    """The rules an event without an operation keeps: a plausible time, and objects its recorder held."""
    try:
        moment = parse_time(document.get("eventTime"))
    except EventHashError:
        moment = None  # the EPCIS index refuses it, naming the field
    if moment is not None:
        rules.event_time_within_bounds(moment, timezone.now())
    named = {value: tracked.named.get(value, []) for value in named_identifiers(document)}
    rules.objects_held_by_capturer(named, tracked.held)


def _gather(effects: Effects, organisation: Organisation, *, hidden: frozenset[str] = frozenset()) -> Known:
    """Every row the rules and the projection read, in one place (``hidden``: from ``tracked_objects``)."""
    # No row locks: this runs under the ledger's append lock, which serialises every writer.
    objects = {
        o.identifier: o
        for o in TraceableObject.objects.filter(
            identifier__in=effects.touched + [o.identifier for o in effects.outputs]
        )
    }
    site = Site.objects.filter(pk=effects.site_id).order_by().first() if effects.site_id is not None else None
    alloy = (
        AlloySpecification.objects.filter(name=effects.target_alloy).order_by().first()
        if effects.target_alloy
        else None
    )
    new_custodian = (
        Organisation.objects.filter(slug=effects.new_custodian).order_by().first()
        if effects.new_custodian is not None
        else None
    )
    destination = (
        Site.objects.select_related("organisation").filter(pk=effects.destination_site_id).order_by().first()
        if effects.destination_site_id is not None
        else None
    )
    made_by: dict[str, tuple[str, int | None]] = {}
    if effects.claim is not None and effects.claim.lot in objects:
        lot = objects[effects.claim.lot]
        made = EventRecord.objects.filter(entry_id=lot.created_seq).values_list("operation", "site_id").first()
        if made is not None:
            made_by[lot.identifier] = made
    return Known(
        organisation=organisation,
        custody_since=_custody_since(objects, effects.touched),
        now=timezone.now(),
        tolerance=mass_balance_tolerance(),
        objects=objects,
        site=site,
        alloy=alloy,
        new_custodian=new_custodian,
        destination=destination,
        hidden=hidden,
        made_by=made_by,
    )


# The operations that pass objects from one organisation to another.
CUSTODY_MOVES = (Operation.CUSTODY_TRANSFER, Operation.MOLTEN_TRANSFER)


def _custody_since(objects: dict[str, TraceableObject], touched: list[str]) -> dict[str, datetime]:
    """When each touched object's current custodian took it: the time of the last move recorded by another
    organisation (the shipper), else the object's creation. One query, over the moves of these objects."""
    held = {objects[i].pk: objects[i] for i in touched if i in objects}
    since = {obj.pk: obj.created_at for obj in held.values()}
    if held:
        moves = (
            EventRecord.involved.through.objects.filter(
                traceableobject_id__in=held, eventrecord__operation__in=CUSTODY_MOVES
            )
            .order_by("eventrecord_id")
            .values_list("traceableobject_id", "eventrecord__organisation_id", "eventrecord__event_time")
        )
        for pk, shipper, moment in moves:
            if shipper != held[pk].custodian_id:
                since[pk] = moment
    return {obj.identifier: since[pk] for pk, obj in held.items()}


def _check(operation: OperationDefinition, effects: Effects, known: Known, *, recorder_authorised: bool) -> None:
    if not recorder_authorised:
        rules.recorder_role_allowed(effects.operation, known.organisation.role, operation.roles)
    for rule in (*rules.RECORDING, *operation.rules):
        rule(effects, known)


# --- composition --------------------------------------------------------------------------


def mixed_composition(parts: list[tuple[Decimal, dict[str, object]]]) -> dict[str, float]:
    """Mass-weighted composition (mass %) of a mix; elements missing from an assay count as 0."""
    total = sum((kg for kg, _ in parts), Decimal(0))
    if total == 0:
        return {}
    elements = sorted({element for _, composition in parts for element in composition})
    return {
        element: round(float(sum(kg * Decimal(str(c.get(element, 0))) for kg, c in parts) / total), 4)
        for element in elements
    }


def specification_misses(composition: dict[str, float], alloy: AlloySpecification) -> list[str]:
    misses = []
    for element, limit in alloy.limits.items():
        value = composition.get(element, 0.0)
        if "max" in limit and value > limit["max"]:
            misses.append(f"{element} {value}% exceeds {alloy.name} max {limit['max']}%")
        if "min" in limit and value < limit["min"]:
            misses.append(f"{element} {value}% is below {alloy.name} min {limit['min']}%")
    return misses


# --- applying ------------------------------------------------------------------------------


def _apply(effects: Effects, entry: LedgerEntry, known: Known) -> list[str]:
    warnings: list[str] = []
    objects = known.objects
    consumed = rules.consumed(effects, objects)
    contained = metal_inputs(consumed) if effects.metals_out else {}

    composition = None
    if effects.mixes_composition:
        composition = mixed_composition([(kg, obj.attributes.get("composition") or {}) for obj, kg in consumed])
        if known.alloy is not None:
            misses = specification_misses(composition, known.alloy)
            if known.site is not None and known.site.composition_policy == CompositionPolicy.REFUSE:
                rules.composition_within_specification(composition, misses)
            warnings.extend(misses)

    for obj, kg in consumed:
        obj.remaining_kg -= kg
        if obj.remaining_kg <= MASS_EPSILON or effects.input_end_status:
            obj.remaining_kg = max(obj.remaining_kg, Decimal(0))
            _end(obj, effects.input_end_status or ObjectStatus.CONSUMED, entry.seq, effects.event_time)
    for identifier, attributes in effects.observed.items():
        obj = objects[identifier]
        obj.attributes = {**obj.attributes, **attributes}
    if effects.claim is not None:
        obj = objects[effects.claim.lot]
        claimed = rules.claimed_kg(obj) + effects.claim.kg
        obj.attributes = {**obj.attributes, rules.CLAIMED_ATTRIBUTE: str(claimed)}
        TraceableObject.objects.filter(pk=obj.pk).update(attributes=obj.attributes)
    if effects.moved:
        custodian = None
        if effects.new_custodian:
            custodian = known.new_custodian
        elif known.destination is not None:
            custodian = known.destination.organisation
        for identifier in effects.moved:
            obj = objects[identifier]
            if custodian is not None:
                obj.custodian = custodian
            if effects.destination_site_id is not None:
                obj.site_id = effects.destination_site_id
    _write_changes(effects, consumed, objects)

    recovery = {m: round(float(kg / contained[m] * 100), 2) for m, kg in effects.metals_out.items() if contained.get(m)}
    created = []
    for output in effects.outputs:
        attributes = dict(output.attributes)
        metal = attributes.get("metal")
        if metal in recovery:
            attributes["recoveryPct"] = recovery[metal]
        if composition is not None and "composition" not in attributes:
            attributes["composition"] = composition
        obj = TraceableObject(
            identifier=output.identifier,
            kind=output.kind,
            label=output.label,
            created_by=known.organisation,
            custodian=known.organisation,
            site_id=effects.site_id,
            attributes=attributes,
            initial_kg=output.kg,
            remaining_kg=output.kg,
            inflow_kg=Decimal(0),
            created_seq=entry.seq,
            created_at=effects.event_time,
        )
        created.append(obj)
        objects[output.identifier] = obj
    flows = _flows(effects, consumed, objects, entry.seq)
    for flow in flows:
        flow.target.inflow_kg += flow.kg
    TraceableObject.objects.bulk_create(created)
    MassFlow.objects.bulk_create(flows)
    return warnings


def _write_changes(
    effects: Effects, consumed: list[tuple[TraceableObject, Decimal]], objects: dict[str, TraceableObject]
) -> None:
    """Write only what changed, one UPDATE per distinct set of values (a sorting of 40 parts: one)."""
    groups: dict[tuple[object, ...], list[int]] = {}
    for obj, _ in consumed:
        values = (obj.remaining_kg, obj.status, obj.ended_seq, obj.ended_at)
        groups.setdefault(values, []).append(obj.pk)
    for (remaining_kg, status, ended_seq, ended_at), pks in groups.items():
        TraceableObject.objects.filter(pk__in=pks).update(
            remaining_kg=remaining_kg, status=status, ended_seq=ended_seq, ended_at=ended_at
        )
    for identifier in effects.observed:
        TraceableObject.objects.filter(pk=objects[identifier].pk).update(attributes=objects[identifier].attributes)
    if effects.moved:
        first = objects[effects.moved[0]]
        TraceableObject.objects.filter(pk__in=[objects[i].pk for i in effects.moved]).update(
            custodian=first.custodian_id, site=first.site_id
        )


def _end(obj: TraceableObject, status: str, seq: int, at: datetime) -> None:
    obj.status = status
    obj.ended_seq = seq
    obj.ended_at = at


def _flows(
    effects: Effects, consumed: list[tuple[TraceableObject, Decimal]], objects: dict[str, TraceableObject], seq: int
) -> list[MassFlow]:
    """Genealogy edges: explicit ones, or every input into every output in proportion (a mix)."""
    if effects.flows:
        return [MassFlow(source=objects[f.source], target=objects[f.target], kg=f.kg, seq=seq) for f in effects.flows]
    if not effects.homogeneous or not effects.outputs:
        return []
    leaving = effects.outputs_kg + effects.losses_kg
    return [
        MassFlow(
            source=obj,
            target=objects[output.identifier],
            kg=(kg * output.kg / leaving).quantize(Decimal("0.001")),
            seq=seq,
        )
        for obj, kg in consumed
        for output in effects.outputs
    ]
