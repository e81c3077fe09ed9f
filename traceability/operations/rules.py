"""The rules an operation's event must keep, each a named function, each raising the error that names it.

Rules read data and query nothing: the engine gathers what they read (``Known``) in one
place before any of them runs. Every event keeps ``RECORDING`` (after the recorder's role);
each operation lists the rules of its own that it keeps, in the order they are checked.

An object the recorder cannot see (``traceability.visibility``: it neither made, holds nor held
it) is answered about exactly as an identifier that names nothing: 404 ``object_unknown``, no
label, no custodian, no status. Only objects the recorder can see get the precise refusals
(ended, custody passed on, custody at the event's time), which tell it nothing new.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from traceability.choices import BLENDING_OPERATIONS, ENDED_STATUSES, MATERIAL_HOLDING_ROLES, SERIALISED_KINDS
from traceability.errors import ApplicationError
from traceability.models import AlloySpecification, Organisation, Site, TraceableObject
from traceability.operations.effects import Consumption, Effects

# How far in the future an event time may lie (clock skew between partners' systems).
MAX_CLOCK_SKEW = timedelta(minutes=5)
# The earliest plausible event time. Every EPCIS event names its objects by Electronic Product
# Code, which MIT's Auto-ID Center defined from its founding in 1999, and Looptrace's own events
# record dismantling and recycling of vehicles and traction batteries, done by partners
# recording as they work: an earlier time is a typing error (a year 1, a zero date), not history.
# GS1's own EPCIS 2.0 examples (dated 2005) stay capturable.
EARLIEST_EVENT_TIME = datetime(2000, 1, 1, tzinfo=UTC)
# Rounding slack when checking remaining mass: a gram.
MASS_EPSILON = Decimal("0.001")
# The attribute of a lot that holds the kg claimed on it so far as recycled content (a decimal string).
CLAIMED_ATTRIBUTE = "recycledContentClaimedKg"


@dataclass(frozen=True)
class Known:
    """What the rules of one event read: the recorder, the clock and the rows the event names."""

    organisation: Organisation
    now: datetime
    # When the current custodian of each touched object took it (its creation, or the last move to it).
    custody_since: dict[str, datetime]
    # Relative tolerance of a mass balance.
    tolerance: Decimal
    # The existing objects among the event's touched objects and outputs, by identifier.
    objects: dict[str, TraceableObject]
    site: Site | None
    alloy: AlloySpecification | None
    new_custodian: Organisation | None
    destination: Site | None
    # Identifiers the event names of existing objects the recorder cannot see: they are unknown to it.
    hidden: frozenset[str] = frozenset()
    # For a recycled-content claim: the operation and site of the event that made the claimed lot.
    made_by: dict[str, tuple[str, int | None]] = field(default_factory=dict)


Rule = Callable[[Effects, Known], None]


def consumed(effects: Effects, objects: dict[str, TraceableObject]) -> list[tuple[TraceableObject, Decimal]]:
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


# --- every event --------------------------------------------------------------------------


def recorder_role_allowed(operation: str, role: str, roles: Collection[str]) -> None:
    if role not in roles:
        raise ApplicationError(
            "role_not_allowed", f"{operation} is recorded by {', '.join(sorted(roles))}, not by a {role}", status=403
        )


def event_time_within_bounds(moment: datetime, now: datetime) -> None:
    """An event happened between ``EARLIEST_EVENT_TIME`` and now (give or take ``MAX_CLOCK_SKEW``)."""
    if moment < EARLIEST_EVENT_TIME:
        raise ApplicationError(
            "event_time_too_early",
            f"the event time {moment.isoformat()} is before {EARLIEST_EVENT_TIME.date().isoformat()}, "
            "the earliest plausible time of an event",
        )
    if moment > now + MAX_CLOCK_SKEW:
        raise ApplicationError("event_time_in_future", "the event time lies in the future")


def event_time_plausible(effects: Effects, known: Known) -> None:
    event_time_within_bounds(effects.event_time, known.now)


def site_is_recorders(effects: Effects, known: Known) -> None:
    if effects.site_id is not None and (known.site is None or known.site.organisation_id != known.organisation.pk):
        raise ApplicationError("site_not_yours", "the site is not one of the recording organisation's sites")


RECORDING: tuple[Rule, ...] = (event_time_plausible, site_is_recorders)


# --- events without an operation (any other EPCIS event) --------------------------------------


def objects_held_by_capturer(named: Mapping[str, Collection[TraceableObject]], held: set[int]) -> None:
    """An event about an object Looptrace tracks is captured only by an organisation that holds or held it.

    ``named``: each identifier as the event writes it, with the tracked objects it names (none: an
    identifier unknown to Looptrace is nobody's, and anyone may name it). ``held``: the ids among
    them that the capturer made, holds, or recorded an event about (which only its custodian can).
    The refusal repeats the identifier as written and nothing of the object (no label, no holder).
    """
    for identifier, objects in named.items():
        if any(obj.pk not in held for obj in objects):
            raise ApplicationError(
                "object_never_held",
                f"{identifier}: events about an object Looptrace tracks are recorded only by an organisation "
                "that holds or held it",
                status=403,
                extra={"identifier": identifier},
            )


# --- outputs ------------------------------------------------------------------------------


def outputs_are_new(effects: Effects, known: Known) -> None:
    for output in effects.outputs:
        if output.identifier in known.objects:
            raise ApplicationError("identifier_taken", f"{output.identifier} already exists")
    identifiers = [o.identifier for o in effects.outputs]
    if len(set(identifiers)) != len(identifiers):
        raise ApplicationError("identifier_repeated", "an output identifier appears twice")


# --- the existing objects an event uses -----------------------------------------------------


def object_exists(identifier: str, obj: TraceableObject | None) -> TraceableObject:
    if obj is None:
        raise ApplicationError("object_unknown", f"{identifier} is not known to Looptrace", status=404)
    return obj


def object_not_ended(obj: TraceableObject) -> None:
    if obj.status in ENDED_STATUSES:
        raise ApplicationError(
            "object_ended", f"{obj.label} was {obj.status} (entry {obj.ended_seq}) and cannot be used again"
        )


def object_existed_at(obj: TraceableObject, moment: datetime) -> None:
    """An input cannot be used before it exists."""
    if moment < obj.created_at:
        raise ApplicationError("input_not_yet_existing", f"{obj.label} did not exist yet at {moment.isoformat()}")


def object_in_custody_of(obj: TraceableObject, organisation: Organisation) -> None:
    if obj.custodian_id != organisation.pk:
        raise ApplicationError("not_custodian", f"{obj.label} is in the custody of another organisation", status=403)


def object_held_at(obj: TraceableObject, since: datetime, moment: datetime) -> None:
    """Custody is checked at the event's time: the recorder held the object then, not only now."""
    if moment < since:
        raise ApplicationError(
            "not_custodian_at_event_time",
            f"{obj.label} came into the recorder's custody at {since.isoformat()}, after the event time "
            f"{moment.isoformat()}",
            extra={"identifier": obj.identifier, "custodySince": since.isoformat()},
        )


def touched_objects_usable(effects: Effects, known: Known) -> None:
    """Every object the event reads or changes exists (for the recorder: one it cannot see does not),
    has not ended, existed then and was the recorder's then and still is."""
    for identifier in effects.touched:
        obj = object_exists(identifier, None if identifier in known.hidden else known.objects.get(identifier))
        object_not_ended(obj)
        object_existed_at(obj, effects.event_time)
        object_in_custody_of(obj, known.organisation)
        object_held_at(obj, known.custody_since[identifier], effects.event_time)


# --- inputs and mass ------------------------------------------------------------------------


def item_used_whole(consumption: Consumption, obj: TraceableObject, *, mixed: bool) -> None:
    """A serialised item goes whole into a mix; only where mass does not mix may a share of it leave."""
    divided = consumption.kg is not None and consumption.kg != obj.remaining_kg
    if obj.kind in SERIALISED_KINDS and divided and mixed:
        raise ApplicationError(
            "item_not_divisible", f"{obj.label} is a serialised item: it is used whole ({obj.remaining_kg} kg)"
        )


def within_remaining_mass(obj: TraceableObject, kg: Decimal) -> None:
    """A lot cannot be consumed beyond its remaining mass."""
    if kg > obj.remaining_kg + MASS_EPSILON:
        raise ApplicationError(
            "lot_overconsumed",
            f"{obj.label}: {kg} kg requested but only {obj.remaining_kg} kg remain",
            extra={"identifier": obj.identifier, "remainingKg": str(obj.remaining_kg)},
        )


def inputs_available(effects: Effects, known: Known) -> None:
    for consumption, (obj, kg) in zip(effects.inputs, consumed(effects, known.objects), strict=True):
        item_used_whole(consumption, obj, mixed=effects.homogeneous)
        within_remaining_mass(obj, kg)


def mass_balance_holds(*, inputs_kg: Decimal, outputs_kg: Decimal, losses_kg: Decimal, tolerance: Decimal) -> bool:
    """Inputs consumed = outputs + declared losses, within ``tolerance`` of the inputs."""
    return abs(inputs_kg - (outputs_kg + losses_kg)) <= tolerance * inputs_kg


def mass_balance(*, inputs_kg: Decimal, outputs_kg: Decimal, losses_kg: Decimal, tolerance: Decimal) -> None:
    """Refuse a transformation that does not balance (``mass_balance_holds``)."""
    if not mass_balance_holds(inputs_kg=inputs_kg, outputs_kg=outputs_kg, losses_kg=losses_kg, tolerance=tolerance):
        raise ApplicationError(
            "mass_unbalanced",
            f"inputs {inputs_kg} kg != outputs {outputs_kg} kg + losses {losses_kg} kg (tolerance {tolerance * 100}%)",
            extra={"inputsKg": str(inputs_kg), "outputsKg": str(outputs_kg), "lossesKg": str(losses_kg)},
        )


def mass_balanced(effects: Effects, known: Known) -> None:
    if effects.inputs:
        mass_balance(
            inputs_kg=sum((kg for _, kg in consumed(effects, known.objects)), Decimal(0)),
            outputs_kg=effects.outputs_kg,
            losses_kg=effects.losses_kg,
            tolerance=known.tolerance,
        )


def metals_recoverable(effects: Effects, known: Known) -> None:
    """A chemical conversion recovers no more of a metal than its inputs contain."""
    contained = metal_inputs(consumed(effects, known.objects))
    for metal, kg_out in effects.metals_out.items():
        kg_in = contained.get(metal, Decimal(0))
        if kg_out > kg_in * (1 + known.tolerance):
            raise ApplicationError(
                "recovery_exceeds_input",
                f"{kg_out:.3f} kg of {metal} leave in salts but the inputs contain {kg_in:.3f} kg",
            )


def composition_within_specification(composition: dict[str, float], misses: list[str]) -> None:
    """At a site that refuses off-specification melts, a melt meets its target alloy's limits."""
    if misses:
        raise ApplicationError("composition_out_of_spec", "; ".join(misses), extra={"composition": composition})


# --- what else the event names ----------------------------------------------------------------


def new_custodian_known(effects: Effects, known: Known) -> None:
    if effects.new_custodian is not None and known.new_custodian is None:
        raise ApplicationError("organisation_unknown", f"no organisation {effects.new_custodian!r}")


def custody_goes_to_a_holder(effects: Effects, known: Known) -> None:
    """Custody passes to another organisation that can hold material (``MATERIAL_HOLDING_ROLES``).

    A delivery to a site passes custody to the site's organisation, which may be the sender's own.
    """
    if known.new_custodian is not None:
        receiver = known.new_custodian
        if receiver.pk == known.organisation.pk:
            raise ApplicationError("custody_to_self", "custody passes to another organisation, not to its holder")
    elif known.destination is not None:
        receiver = known.destination.organisation
    else:
        return
    if receiver.role not in MATERIAL_HOLDING_ROLES:
        raise ApplicationError(
            "receiver_cannot_hold",
            f"{receiver.slug} is a {receiver.get_role_display().lower()}: it holds no material",
        )


def destination_site_known(effects: Effects, known: Known) -> None:
    if effects.destination_site_id is not None and known.destination is None:
        raise ApplicationError("site_unknown", "the destination site does not exist")


def target_alloy_known(effects: Effects, known: Known) -> None:
    if effects.target_alloy is not None and known.alloy is None:
        raise ApplicationError("alloy_unknown", f"no alloy specification {effects.target_alloy!r}")


# --- recycled-content claims (mass balance) ----------------------------------------------------


def claimed_kg(obj: TraceableObject) -> Decimal:
    """kg of ``obj`` claimed so far as recycled content."""
    return Decimal(str(obj.attributes.get(CLAIMED_ATTRIBUTE, "0")))


def lot_claimable(effects: Effects, known: Known) -> None:
    """A claim names a lot made by a blending operation (a remelting, a black-mass refining) at
    the claim's site, still at that site and whole: none of its mass used yet. So everything made
    from a lot is made after all its claims, and carries them."""
    assert effects.claim is not None
    obj = known.objects[effects.claim.lot]
    operation, site_id = known.made_by.get(effects.claim.lot, ("", None))
    if operation not in BLENDING_OPERATIONS or site_id != effects.site_id or obj.site_id != effects.site_id:
        raise ApplicationError(
            "lot_not_claimable",
            f"{obj.label}: a claim names a lot remelted or refined at the claim's site and still there",
            extra={"identifier": obj.identifier},
        )
    if obj.remaining_kg + MASS_EPSILON < obj.initial_kg:
        raise ApplicationError(
            "lot_not_claimable",
            f"{obj.label}: {obj.initial_kg - obj.remaining_kg} kg of it were used already; claims come first",
            extra={"identifier": obj.identifier},
        )


def claim_within_lot(effects: Effects, known: Known) -> None:
    """The kg claimed on one lot never exceed its mass."""
    assert effects.claim is not None
    obj = known.objects[effects.claim.lot]
    unclaimed = obj.initial_kg - claimed_kg(obj)
    if effects.claim.kg > unclaimed:
        raise ApplicationError(
            "claim_exceeds_lot",
            f"{obj.label}: {effects.claim.kg} kg claimed but only {unclaimed} kg of it are unclaimed",
            status=409,
            extra={"identifier": obj.identifier, "unclaimedKg": str(unclaimed)},
        )
