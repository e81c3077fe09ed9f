"""Part passports for die-cast aluminium parts: what a die-caster shows its customer.

Assembled on read from the ledger's projections and the stored carbon results (no state of
its own): alloy and composition, mass, recycled-content shares under each chain-of-custody
model, footprint under each method, and provenance back to end-of-life vehicles and scrap
lots. Everyone sees the part's figures and its provenance summed by vehicle make and scrap
category; organisations that may read the part (and regulators) also see each source, by its
identifier where they can see the source too, else folded (kind, origin and kg; see
``traceability.visibility``).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.core.cache import cache

from carbon.engine.model import CHAINS_OF_CUSTODY, CUT_OFF, METHODS, PHYSICAL, STAGES
from carbon.models import FootprintResult
from carbon.selectors import factor_references_seen_by, recycled_shares_of
from traceability import visibility
from traceability.choices import ObjectKind, Operation
from traceability.errors import ApplicationError
from traceability.genealogy import genealogy
from traceability.models import EventRecord, Organisation, TraceableObject
from traceability.selectors import ledger_version

CAST_BY = Operation.DIE_CASTING
# Kinds of the roots a part's metal comes from, as provenance names them.
SOURCE_KINDS = {
    ObjectKind.VEHICLE: "vehicle",
    ObjectKind.PRIMARY_INGOT: "primary",
    ObjectKind.ALLOYING: "alloying",
}


def cast_part_get(*, pk: int) -> TraceableObject:
    """A part made by die casting (a dismantled vehicle's part has no part passport)."""
    part = TraceableObject.objects.filter(pk=pk, kind=ObjectKind.PART).first()
    if part is None or not EventRecord.objects.filter(entry_id=part.created_seq, operation=CAST_BY).exists():
        raise ApplicationError("part_not_found", f"no die-cast part {pk}", status=404)
    return part


def may_see_sources(*, organisation: Organisation | None, part: TraceableObject) -> bool:
    return bool(visibility.object_ids_visible_to(organisation=organisation, ids=[part.pk]))


# A part's provenance (its whole backward genealogy) is what its public passport costs: it is
# cached under the ledger's head, which moves with every event, so an entry is never
# served once an event may have changed what is under it (objects change only by events).
# Seconds an entry lives: only bounds the cache's memory, since a grown ledger never reads it.
PROVENANCE_CACHE_SECONDS = 600


def _round(value: float) -> float:
    return round(value, 12)


def _footprints(results: list[FootprintResult], reader: Organisation | None) -> dict[str, object]:
    """Per method: kg CO2e per kg by stage, per kg and for the whole part (custody does not change it)."""
    by_method = {r.method: r for r in results if r.chain == PHYSICAL}
    return {
        method: {
            "perKg": {stage: _round(by_method[method].per_kg.get(stage, 0.0)) for stage in STAGES},
            "totalPerKg": _round(by_method[method].total_per_kg),
            "totalKg": _round(by_method[method].total_kg),
            "primaryDataShare": _round(by_method[method].primary_data_share),
            "factors": factor_references_seen_by(organisation=reader, references=by_method[method].factors),
        }
        for method in METHODS
        if method in by_method
    }


def _recycled(results: list[FootprintResult]) -> dict[str, object]:
    """Per chain of custody: pre-consumer, post-consumer, recycled and closed-loop shares (method does
    not change them), as ``carbon.selectors.recycled_shares_of`` gives them to the footprint API."""
    by_chain = {r.chain: r for r in results if r.method == CUT_OFF}
    shares = {}
    for chain in CHAINS_OF_CUSTODY:
        result = by_chain.get(chain)
        if result is None:
            continue
        each = recycled_shares_of(result=result)
        shares[chain] = {
            "preConsumer": _round(each.pre_consumer),
            "postConsumer": _round(each.post_consumer),
            "recycled": _round(each.recycled),
            "closedLoop": _round(each.closed_loop) if each.closed_loop is not None else None,
            "postConsumerByMake": {make: _round(v) for make, v in sorted(each.post_consumer_by_make.items())},
        }
    return shares


def _provenance(part: TraceableObject, reader: Organisation | None, detailed: bool) -> dict[str, object]:
    """Where the part's metal came from: kg of each root in it (genealogy follows mass)."""
    found = genealogy(root=part, direction="backward")
    made = {edge.target for edge in found.edges}
    leaves = [node for node in found.nodes if node.id not in made]
    (seen,) = visibility.genealogies_seen_by(organisation=reader if detailed else None, walks=[found])
    shown = {node.id: view for node, view in zip(found.nodes, seen.nodes, strict=True)}
    objects = TraceableObject.objects.in_bulk([node.id for node in leaves])
    by_make: dict[str, Decimal] = defaultdict(Decimal)
    by_origin: dict[str, Decimal] = defaultdict(Decimal)
    listed = []
    for node in leaves:
        obj = objects[node.id]
        attributes = obj.attributes or {}
        origin = str(attributes.get("scrapCategory") or SOURCE_KINDS.get(obj.kind, obj.kind))
        by_origin[origin] += node.kg
        if obj.kind == ObjectKind.VEHICLE:
            by_make[str(attributes.get("make", "unknown"))] += node.kg
        if detailed:
            listed.append(
                {"identifier": shown[node.id].identifier, "kind": obj.kind, "origin": origin, "kg": float(node.kg)}
            )
    summary: dict[str, object] = {
        "vehicles": sum(1 for node in leaves if objects[node.id].kind == ObjectKind.VEHICLE),
        "kgByVehicleMake": {make: float(kg) for make, kg in sorted(by_make.items())},
        "kgByOrigin": {origin: float(kg) for origin, kg in sorted(by_origin.items())},
        "scrapLots": sum(1 for node in found.nodes if node.kind == ObjectKind.SCRAP_LOT),
    }
    if detailed:
        summary["sources"] = sorted(listed, key=lambda row: (-row["kg"], row["identifier"] or ""))  # type: ignore[operator]
    return summary


def _provenance_cached(part: TraceableObject) -> dict[str, object]:
    """The public provenance (the same for every reader who may not see the sources), cached."""
    key = f"part:provenance:public:{part.pk}:{ledger_version()}"
    summary = cache.get(key)
    if summary is None:
        summary = _provenance(part, None, detailed=False)
        cache.set(key, summary, PROVENANCE_CACHE_SECONDS)
    return summary


def part_passport(*, part: TraceableObject, reader: Organisation | None) -> dict[str, object]:
    """The part's passport as ``reader`` (None: the public) sees it."""
    detailed = may_see_sources(organisation=reader, part=part)
    attributes = part.attributes or {}
    results = list(part.footprints.all())  # type: ignore[attr-defined]
    oem = attributes.get("oem")
    return {
        "part": part.identifier,
        "label": part.label,
        "partType": attributes.get("partType"),
        "alloy": attributes.get("alloy"),
        "compositionPct": attributes.get("composition", {}),
        "massKg": float(part.initial_kg),
        "oem": oem,
        "madeBy": part.created_by.name if part.created_by_id else None,
        "castAt": part.created_at.isoformat() if part.created_at else None,
        "ledgerSeq": part.created_seq,
        "footprint": _footprints(results, reader),
        "recycledContent": _recycled(results),
        "provenance": _provenance(part, reader, detailed) if detailed else _provenance_cached(part),
        "computedAtLedgerSize": max((r.ledger_size for r in results), default=None),
    }
