"""Rules and projection of operation events.

``project`` is called for every ledger event, in ``seq`` order, inside the append
transaction (with ``check=True``: a broken rule raises and the whole append rolls
back) and by ``rebuild_projections`` (with ``check=False``: the ledger already
accepted the event, so replaying it must give the state it gave then).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from traceability.choices import ENDED_STATUSES, SERIALISED_KINDS, CompositionPolicy, ObjectStatus
from traceability.errors import ApplicationError
from traceability.models import (
    AlloySpecification,
    EventRecord,
    LedgerEntry,
    MassFlow,
    Organisation,
    Site,
    TraceableObject,
)
from traceability.operations.effects import Effects
from traceability.operations.registry import OPERATION_FIELD, operation_for

# How far in the future an event time may lie (clock skew between partners' systems).
MAX_CLOCK_SKEW = timedelta(minutes=5)
# Rounding slack when checking remaining mass: a gram.
MASS_EPSILON = Decimal("0.001")


def mass_balance_tolerance() -> Decimal:
    """Relative tolerance of a transformation's mass balance (default 0.5 %, set per deployment)."""
    return Decimal(str(getattr(settings, "MASS_BALANCE_TOLERANCE", "0.005")))


def project(entry: LedgerEntry, document: dict[str, object], *, check: bool) -> EventRecord | None:
    """Apply one ledger event to the projections; ``None`` for events that are no operation."""
    if OPERATION_FIELD not in document:
        return None
    organisation = entry.organisation
    effects = operation_for(document).parse(document)
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
    if check:
        _check(effects, organisation, objects, site=site, alloy=alloy)
    consumed = {str(obj.pk): str(kg) for obj, kg in _consumed(effects, objects)}
    warnings = _apply(effects, entry, organisation, objects, site=site, alloy=alloy)
    record = EventRecord.objects.create(
        entry=entry,
        operation=effects.operation,
        event_type=str(document.get("type", "")),
        biz_step=str(document.get("bizStep", "")),
        event_time=effects.event_time,
        organisation=organisation,
        site_id=effects.site_id,
        warnings=warnings,
        consumed=consumed,
    )
    involved = {objects[i].pk for i in effects.touched} | {objects[o.identifier].pk for o in effects.outputs}
    through = EventRecord.involved.through
    through.objects.bulk_create(through(eventrecord_id=entry.seq, traceableobject_id=pk) for pk in involved)
    return record


# --- rules -------------------------------------------------------------------------------


def _check(
    effects: Effects,
    organisation: Organisation,
    objects: dict[str, TraceableObject],
    *,
    site: Site | None,
    alloy: AlloySpecification | None,
) -> None:
    operation = effects.operation
    spec = operation_for({OPERATION_FIELD: operation})
    if organisation.role not in spec.roles:
        raise ApplicationError(
            "role_not_allowed",
            f"{operation} is recorded by {', '.join(sorted(spec.roles))}, not by a {organisation.role}",
            status=403,
        )
    if effects.event_time > timezone.now() + MAX_CLOCK_SKEW:
        raise ApplicationError("event_time_in_future", "the event time lies in the future")
    if effects.site_id is not None and (site is None or site.organisation_id != organisation.pk):
        raise ApplicationError("site_not_yours", "the site is not one of the recording organisation's sites")
    for output in effects.outputs:
        if output.identifier in objects:
            raise ApplicationError("identifier_taken", f"{output.identifier} already exists")
    seen_outputs = [o.identifier for o in effects.outputs]
    if len(set(seen_outputs)) != len(seen_outputs):
        raise ApplicationError("identifier_repeated", "an output identifier appears twice")
    for identifier in effects.touched:
        obj = objects.get(identifier)
        if obj is None:
            raise ApplicationError("object_unknown", f"{identifier} is not known to Looptrace", status=404)
        if obj.status in ENDED_STATUSES:
            raise ApplicationError(
                "object_ended", f"{obj.label} was {obj.status} (entry {obj.ended_seq}) and cannot be used again"
            )
        if effects.event_time < obj.created_at:
            raise ApplicationError(
                "input_not_yet_existing", f"{obj.label} did not exist yet at {effects.event_time.isoformat()}"
            )
        if obj.custodian_id != organisation.pk:
            raise ApplicationError(
                "not_custodian", f"{obj.label} is in the custody of another organisation", status=403
            )
    consumed_kg = Decimal(0)
    for consumption, (obj, kg) in zip(effects.inputs, _consumed(effects, objects), strict=True):
        divided = consumption.kg is not None and consumption.kg != obj.remaining_kg
        if obj.kind in SERIALISED_KINDS and divided and effects.homogeneous:
            raise ApplicationError(
                "item_not_divisible", f"{obj.label} is a serialised item: it is used whole ({obj.remaining_kg} kg)"
            )
        if kg > obj.remaining_kg + MASS_EPSILON:
            raise ApplicationError(
                "lot_overconsumed",
                f"{obj.label}: {kg} kg requested but only {obj.remaining_kg} kg remain",
                extra={"identifier": obj.identifier, "remainingKg": str(obj.remaining_kg)},
            )
        consumed_kg += kg
    if effects.mass_balanced and effects.inputs:
        produced = effects.outputs_kg + effects.losses_kg
        tolerance = mass_balance_tolerance()
        if abs(consumed_kg - produced) > tolerance * consumed_kg:
            raise ApplicationError(
                "mass_unbalanced",
                f"inputs {consumed_kg} kg != outputs {effects.outputs_kg} kg + losses {effects.losses_kg} kg "
                f"(tolerance {tolerance * 100}%)",
                extra={
                    "inputsKg": str(consumed_kg),
                    "outputsKg": str(effects.outputs_kg),
                    "lossesKg": str(effects.losses_kg),
                },
            )
    if effects.metals_out:
        _check_metal_balance(effects, objects)
    if effects.new_custodian is not None and not Organisation.objects.filter(slug=effects.new_custodian).exists():
        raise ApplicationError("organisation_unknown", f"no organisation {effects.new_custodian!r}")
    if effects.destination_site_id is not None and not Site.objects.filter(pk=effects.destination_site_id).exists():
        raise ApplicationError("site_unknown", "the destination site does not exist")
    if effects.target_alloy is not None and alloy is None:
        raise ApplicationError("alloy_unknown", f"no alloy specification {effects.target_alloy!r}")


def _consumed(effects: Effects, objects: dict[str, TraceableObject]) -> list[tuple[TraceableObject, Decimal]]:
    """Each input with the kg this event takes from it (a serialised item: all that remains)."""
    return [
        (objects[c.identifier], c.kg if c.kg is not None else objects[c.identifier].remaining_kg)
        for c in effects.inputs
    ]


def metal_inputs(consumed: list[tuple[TraceableObject, Decimal]]) -> dict[str, Decimal]:
    """kg of each element contained in the inputs, from their assays (mass %)."""
    contained: dict[str, Decimal] = {}
    for obj, kg in consumed:
        for element, pct in (obj.attributes.get("composition") or {}).items():
            contained[element] = contained.get(element, Decimal(0)) + kg * Decimal(str(pct)) / 100
    return contained


def _check_metal_balance(effects: Effects, objects: dict[str, TraceableObject]) -> None:
    contained = metal_inputs(_consumed(effects, objects))
    tolerance = mass_balance_tolerance()
    for metal, kg_out in effects.metals_out.items():
        kg_in = contained.get(metal, Decimal(0))
        if kg_out > kg_in * (1 + tolerance):
            raise ApplicationError(
                "recovery_exceeds_input",
                f"{kg_out:.3f} kg of {metal} leave in salts but the inputs contain {kg_in:.3f} kg",
            )


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


def _apply(
    effects: Effects,
    entry: LedgerEntry,
    organisation: Organisation,
    objects: dict[str, TraceableObject],
    *,
    site: Site | None,
    alloy: AlloySpecification | None,
) -> list[str]:
    warnings: list[str] = []
    consumed = _consumed(effects, objects)
    contained = metal_inputs(consumed) if effects.metals_out else {}

    composition = None
    if effects.mixes_composition:
        composition = mixed_composition([(kg, obj.attributes.get("composition") or {}) for obj, kg in consumed])
        if alloy is not None:
            misses = specification_misses(composition, alloy)
            if misses and site is not None and site.composition_policy == CompositionPolicy.REFUSE:
                raise ApplicationError("composition_out_of_spec", "; ".join(misses), extra={"composition": composition})
            warnings.extend(misses)

    for obj, kg in consumed:
        obj.remaining_kg -= kg
        if obj.remaining_kg <= MASS_EPSILON or effects.input_end_status:
            obj.remaining_kg = max(obj.remaining_kg, Decimal(0))
            _end(obj, effects.input_end_status or ObjectStatus.CONSUMED, entry.seq, effects.event_time)
    for identifier, attributes in effects.observed.items():
        obj = objects[identifier]
        obj.attributes = {**obj.attributes, **attributes}
    if effects.moved:
        custodian = None
        if effects.new_custodian:
            custodian = Organisation.objects.get(slug=effects.new_custodian)
        elif effects.destination_site_id is not None:
            custodian = Site.objects.select_related("organisation").get(pk=effects.destination_site_id).organisation
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
            created_by=organisation,
            custodian=organisation,
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
