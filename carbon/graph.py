"""Turn the traceability projections into the carbon engine's inputs.

Roots are the objects that enter the graph with no inputs (vehicles at intake, bought
lots at material receipt); activities are the recorded events that consumed inputs or
moved hot metal. Process burdens come from what the events recorded (energy, distance)
times the current emission factors; what an event did not record adds nothing.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from carbon.engine import DISTRIBUTION, MAIN_PRODUCTION, RAW_MATERIAL, Activity, Claim, Source
from carbon.factors import FactorBook
from traceability.choices import BLENDING_OPERATIONS, Operation
from traceability.models import EventRecord, MassFlow, TraceableObject
from traceability.operations import epcis
from traceability.operations.material_receipt import GENERATOR_FOOTPRINT
from traceability.operations.recycled_content_claim import read_claim

# The registry's footprint of the product that generated bought pre-consumer scrap, for a lot
# whose supplier states none (its ``GENERATOR_FOOTPRINT`` attribute).
GENERATOR_DEFAULT = "pre_consumer_generator"

ROOT_OPERATIONS = frozenset({Operation.VEHICLE_INTAKE, Operation.MATERIAL_RECEIPT})
SUBSTITUTING = BLENDING_OPERATIONS
UNMIXED = frozenset({Operation.DISMANTLING, Operation.REPURPOSING})
# One activity in memory per event while building: bounded by the events of one run.
TONNE = 1000.0
# The CFF material of what an operation makes (the region of the ``cff_*`` registry rows):
# remelting and die-casting make aluminium; black-mass refining makes salts, each counted as
# the metal it names at its metal content (``metal``, ``metalContentPct``).
ALUMINIUM = "aluminium"
METALS = {"Al": ALUMINIUM, "Co": "cobalt", "Ni": "nickel", "Li": "lithium", "Mn": "manganese", "Cu": "copper"}


def _material(obj: TraceableObject) -> tuple[int, str, float]:
    """An output's CFF material and the kg of it per kg of the output."""
    attributes = obj.attributes or {}
    if obj.kind == "salt":
        metal = str(attributes.get("metal", ""))
        return obj.pk, METALS.get(metal, metal), float(Decimal(str(attributes.get("metalContentPct", 0)))) / 100
    return obj.pk, ALUMINIUM, 1.0


def root_source(obj: TraceableObject, book: FactorBook) -> Source:
    """How an object that enters the loop from outside starts, per its kind and supplier data."""
    attributes = obj.attributes or {}
    bound = book.for_lot("supplier_footprint", obj.pk)
    if obj.kind == "vehicle":
        return Source(obj.pk, float(obj.initial_kg), "vehicle", vehicle_make=attributes.get("make"))
    if obj.kind == "primary_ingot":
        per_kg = (
            bound
            if bound is not None
            else book.value("primary_aluminium", str(attributes.get("powerSource", "global")))
            or book.value("primary_aluminium", "global")
        )
        return Source(obj.pk, float(obj.initial_kg), "primary", {RAW_MATERIAL: per_kg}, primary_data=bound is not None)
    if obj.kind == "alloying":
        composition = attributes.get("composition") or {}
        element = max(composition, key=composition.get) if composition else ""
        per_kg = bound if bound is not None else book.value("alloying_element", element)
        return Source(obj.pk, float(obj.initial_kg), "alloying", {RAW_MATERIAL: per_kg}, primary_data=bound is not None)
    category = attributes.get("scrapCategory", "")
    own = bound if bound is not None else book.value("scrap_collection_sorting")
    if category == "pre_consumer":
        generator = attributes.get(GENERATOR_FOOTPRINT)
        generator_per_kg = float(generator) if generator is not None else book.value(GENERATOR_DEFAULT)
        return Source(
            obj.pk,
            float(obj.initial_kg),
            "pre_consumer",
            {RAW_MATERIAL: own},
            generator_per_kg=generator_per_kg,
            primary_data=bound is not None,
        )
    origin = "post_consumer" if category == "post_consumer" else "internal" if category == "internal" else "other"
    return Source(obj.pk, float(obj.initial_kg), origin, {RAW_MATERIAL: own}, primary_data=bound is not None)


# The Art. 7 lifecycle stage (Regulation (EU) 2023/1542, Annex II) each operation's process
# burdens fall in, for the outputs the operation makes: a footprint is that of the outputs, and
# it is followed into everything made from them.
# - Die-casting makes the part: main product production.
# - Dismantling, scrap sorting (shredding is a step of it), battery recycling, black-mass
#   refining and remelting turn end-of-life products into secondary raw material: for what is
#   made from it they are raw material acquisition and pre-processing, as bought scrap's
#   collection and sorting already are (and as the PEF CFF's E_recycled counts them on the
#   input side). They are the end of life of the *inputs'* products, whose footprints the
#   ledger does not compute: a product's own end of life is the CFF term the engine adds to
#   its end-of-life stage (``carbon.engine.compute`` convention 5), never a recorded process.
# - Molten transfer is freight between sites, which the ledger's published boundary
#   (``carbon.pact.documents.BOUNDARY``) counts as distribution wherever the leg is.
# An operation not named here records no process energy.
PROCESS_STAGE: dict[str, str] = {
    Operation.DISMANTLING: RAW_MATERIAL,
    Operation.SCRAP_SORTING: RAW_MATERIAL,
    Operation.BATTERY_RECYCLING: RAW_MATERIAL,
    Operation.BLACK_MASS_REFINING: RAW_MATERIAL,
    Operation.REMELTING: RAW_MATERIAL,
    Operation.MOLTEN_TRANSFER: DISTRIBUTION,
    Operation.DIE_CASTING: MAIN_PRODUCTION,
}
# Where the recorder metered no energy, a modelled burden per kg stands in (secondary data),
# on the kg consumed (mechanical treatment) or made (hydrometallurgy).
MODELLED_PROCESS = {
    Operation.BATTERY_RECYCLING: ("battery_mechanical_treatment", "consumed"),
    Operation.BLACK_MASS_REFINING: ("hydrometallurgy", "made"),
}


def _burdens(record: EventRecord, document: dict, consumed_kg: float, out_kg: float, book: FactorBook) -> dict:
    """Process burdens of an event, in its operation's ``PROCESS_STAGE``: metered energy times
    the site's factors, or the operation's ``MODELLED_PROCESS`` where nothing was metered."""
    stage = PROCESS_STAGE.get(record.operation)
    if stage is None:
        return {}
    grid = record.site.electricity_region if record.site else ""
    energy = epcis.read_energy(document)
    electricity, gas = float(energy[epcis.ELECTRICITY_FIELD]), float(energy[epcis.NATURAL_GAS_FIELD])
    modelled = MODELLED_PROCESS.get(record.operation)
    if not (electricity or gas) and modelled is not None:
        factor, basis = modelled
        return {stage: (consumed_kg if basis == "consumed" else out_kg) * book.value(factor)}
    burden = 0.0
    if electricity:
        burden += electricity * book.value("electricity_grid", grid)
    if gas:
        burden += gas * book.value("natural_gas_combustion")
    return {stage: burden}


def build(
    records: Iterable[EventRecord], book: FactorBook, uses: dict[tuple[str, int], set[str]] | None = None
) -> tuple[list[Source], list[Activity]]:
    """Sources and activities of ``records`` (with ``entry``, ``site`` and ``involved`` loaded).

    ``uses``, when given, receives the factor versions each source (by node) and each activity
    (by seq) read itself, keyed ("node", pk) and ("event", seq): what a result depends on besides its inputs.
    """
    uses = {} if uses is None else uses
    records = list(records)
    seqs = [r.entry_id for r in records]
    created: dict[int, list[TraceableObject]] = defaultdict(list)
    # Only what the sources and activities read (a replay of an account builds hundreds of events).
    made = TraceableObject.objects.filter(created_seq__in=seqs).only("kind", "initial_kg", "attributes", "created_seq")
    for obj in made.order_by("pk"):
        created[obj.created_seq].append(obj)
    flows: dict[int, list[tuple[int, int, float]]] = defaultdict(list)
    for source, target, kg, seq in MassFlow.objects.filter(
        seq__in=[r.entry_id for r in records if r.operation in UNMIXED]
    ).values_list("source_id", "target_id", "kg", "seq"):
        flows[seq].append((source, target, float(kg)))
    claims = _claims_of_lots(r for r in records if r.operation == Operation.RECYCLED_CONTENT_CLAIM)
    # The lot each molten transfer hauled (the objects it involves), in one query for them all.
    hauled: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for seq, pk, kg in EventRecord.involved.through.objects.filter(
        eventrecord_id__in=[r.entry_id for r in records if r.operation == Operation.MOLTEN_TRANSFER]
    ).values_list("eventrecord_id", "traceableobject_id", "traceableobject__initial_kg"):
        hauled[seq].append((pk, float(kg)))
    sources: list[Source] = []
    activities: list[Activity] = []
    for record in records:
        outputs = created.get(record.entry_id, [])
        if record.operation in ROOT_OPERATIONS:
            for obj in outputs:
                with book.tracking() as used:
                    sources.append(root_source(obj, book))
                uses[("node", obj.pk)] = used
            continue
        document = json.loads(record.entry.document)
        period = str(record.event_time.year)
        if record.operation == Operation.MOLTEN_TRANSFER:
            with book.tracking() as used:
                activities.append(_transport(record, document, book, period, hauled[record.entry_id]))
            uses[("event", record.entry_id)] = used
            continue
        if record.operation == Operation.RECYCLED_CONTENT_CLAIM:
            activities.append(claims[record.entry_id])
            continue
        inputs = tuple((int(pk), float(Decimal(kg))) for pk, kg in (record.consumed or {}).items())
        if not inputs or not outputs:
            continue
        out = tuple((obj.pk, float(obj.initial_kg)) for obj in outputs)
        out_kg = sum(kg for _, kg in out)
        consumed_kg = sum(kg for _, kg in inputs)
        losses = float(sum(Decimal(str(v)) for v in (document.get("lt:lossesKg") or {}).values()))
        with book.tracking() as used:
            burdens = _burdens(record, document, consumed_kg, out_kg, book)
        uses[("event", record.entry_id)] = used
        products = frozenset(
            obj.pk for obj in outputs if obj.kind == "part" and record.operation == Operation.DIE_CASTING
        )
        activities.append(
            Activity(
                seq=record.entry_id,
                inputs=inputs,
                outputs=out,
                losses_kg=losses,
                burdens=burdens,
                flows=tuple(flows.get(record.entry_id, ())),
                site=record.site_id,
                period=period,
                substitutes=record.operation in SUBSTITUTING,
                products=products,
                materials=tuple(
                    _material(obj) for obj in outputs if record.operation in SUBSTITUTING or obj.pk in products
                ),
            )
        )
    return sources, activities


def _transport(
    record: EventRecord, document: dict, book: FactorBook, period: str, involved: list[tuple[int, float]]
) -> Activity:
    """Hot metal on the road: the lot (``involved``: its id and kg) keeps its identity and takes the haul's burden."""
    ((lot, kg),) = involved
    haul = kg / TONNE * float(document.get("lt:distanceKm", 0)) * book.value("road_freight")
    return Activity(
        seq=record.entry_id,
        inputs=((lot, kg),),
        outputs=((lot, kg),),
        burdens={PROCESS_STAGE[Operation.MOLTEN_TRANSFER]: haul},
        flows=((lot, lot, kg),),
        site=record.site_id,
        period=period,
    )


def _claims_of_lots(records: Iterable[EventRecord]) -> dict[int, Activity]:
    """The claim activities of ``records``, by seq. Each carries the kg claimed on its lot up to
    it (``Claim.lot_*``), read from every claim recorded on the lot before."""
    records = list(records)
    if not records:
        return {}
    lots = {record.entry_id: record.involved.all()[0] for record in records}
    earlier = (
        EventRecord.objects.filter(
            operation=Operation.RECYCLED_CONTENT_CLAIM,
            involved__in=set(lots.values()),
            entry_id__lte=max(lots),
        )
        .select_related("entry")
        .prefetch_related("involved")
        .order_by("entry_id")
    )
    totals: dict[int, tuple[float, float, dict[str, float]]] = {}
    made: dict[int, Activity] = {}
    for record in earlier:
        lot = record.involved.all()[0]
        stated = read_claim(json.loads(record.entry.document))
        pre, post, makes = totals.get(lot.pk, (0.0, 0.0, {}))
        kg = float(stated.kg)
        if stated.category == "pre_consumer":
            pre += kg
        else:
            post += kg
            if stated.vehicle_make:
                makes = {**makes, stated.vehicle_make: makes.get(stated.vehicle_make, 0.0) + kg}
        totals[lot.pk] = (pre, post, makes)
        if record.entry_id in lots:
            mass = float(lot.initial_kg)
            made[record.entry_id] = Activity(
                seq=record.entry_id,
                inputs=((lot.pk, mass),),
                outputs=((lot.pk, mass),),
                site=record.site_id,
                period=str(record.event_time.year),
                claim=Claim(
                    category=stated.category,
                    kg=kg,
                    vehicle_make=stated.vehicle_make,
                    lot_pre_kg=pre,
                    lot_post_kg=post,
                    lot_by_make=tuple(sorted(makes.items())),
                ),
            )
    return made
