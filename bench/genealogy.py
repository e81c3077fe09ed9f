"""``genealogy_backward``: seconds per backward genealogy of a casting with about 10,000 ancestors.

The ancestry (only the query is timed, so its rows are written in bulk, straight
into ``TraceableObject`` and ``MassFlow``, with the kilograms the engine would
give them; no ledger entries back them):

    VEHICLES vehicles, each dismantled (explicit flows) into a battery pack, four
    wheels and a motor housing; the parts of PARTS_PER_LOT parts each sorted into
    a post-consumer scrap lot (a mix, with a sorting loss); each scrap lot split in
    halves between two neighbouring remelts (a ring, so the graph has diamonds and
    every part is reached along two paths), each remelt also taking primary ingot
    and silicon from lots received for it, into an ingot lot; all ingot lots and an
    alloying addition melted at the die-caster into one melt batch, cast into
    CASTINGS castings plus run-around scrap. The subject is casting 0.

Mixed flows are ``kg in * kg out / (outputs + losses)`` rounded to the gram, and
every object's ``inflow_kg`` is the sum of the flows into it, as the engine sets
them; both are checked in SQL before timing, and so is that the root ancestors'
contributions add up to the casting's mass.

Subject: ``traceability.genealogy.genealogy(root=casting, direction="backward")``.
Baseline: one hand-written ``WITH RECURSIVE`` query over the same tables giving each
ancestor's contributed kilograms (``GROUP BY source_id``), executed and fetched
with a raw psycopg cursor on the same connection. Both must find the same ancestors
with the same kilograms. Both are read-only: after a warm-up each, they alternate
for ``REPETITIONS`` rounds on the vacuumed and analysed tables and the median counts.
"""

from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from time import perf_counter
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from bench.report import BenchError, Result
from traceability import services
from traceability.choices import ObjectKind, ObjectStatus, ScrapCategory
from traceability.genealogy import genealogy
from traceability.identifiers import local_uri, vehicle_uri, vin_check_digit
from traceability.models import MassFlow, Organisation, Site, TraceableObject
from traceability.selectors import ledger_size

TARGET = "<=2"
REPETITIONS = 7
VEHICLES = 1600
PARTS_PER_LOT = 50
LOTS_PER_REMELT = 5
CASTINGS = 1000
# 1,600 vehicles + 8,000 parts + 160 scrap lots + 32 ingot lots + 32 primary + 32 silicon
# + 1 alloying + 1 melt = 9,858 ancestors of the casting.
EXPECTED_ANCESTORS = 9858
INSERT_BATCH = 2000
# The baseline walks paths, so it needs a stop; the graph is seven layers deep.
BASELINE_DEPTH = 64

GRAM = Decimal("0.001")
PACK_KG = Decimal("452.0")
WHEEL_KG = Decimal("10.5")
HOUSING_KG = Decimal("14.2")
SORTING_LOSS_SHARE = Decimal("0.002")
PRIMARY_KG, PRIMARY_USED_KG = Decimal("1000"), Decimal("500")
SILICON_KG, SILICON_USED_KG = Decimal("100"), Decimal("40")
MELT_LOSS_SHARE, DROSS_SHARE = Decimal("0.02"), Decimal("0.01")
ALLOYING_KG, ALLOYING_USED_KG = Decimal("200"), Decimal("150")
CASTING_KG = Decimal("80")
CASTING_LOSS_SHARE = Decimal("0.015")
SCRAP_COMPOSITION = {"Si": 7.1, "Fe": 0.11, "Mg": 0.32, "Cu": 0.02, "Zn": 0.03}
PRIMARY_COMPOSITION = {"Si": 0.04, "Fe": 0.07}
MELT_COMPOSITION = {"Si": 6.9, "Fe": 0.1, "Mg": 0.3, "Cu": 0.02, "Mn": 0.55, "Zn": 0.03}

BASELINE = """
WITH RECURSIVE walk(source_id, contributed, depth) AS (
    SELECT f.source_id,
           o.initial_kg * f.kg / CASE WHEN o.inflow_kg > 0 THEN o.inflow_kg ELSE o.initial_kg END, 1
    FROM traceability_massflow f JOIN traceability_traceableobject o ON o.id = f.target_id
    WHERE f.target_id = %(start)s
  UNION ALL
    SELECT f.source_id,
           w.contributed * f.kg / CASE WHEN o.inflow_kg > 0 THEN o.inflow_kg ELSE o.initial_kg END, w.depth + 1
    FROM walk w
    JOIN traceability_massflow f ON f.target_id = w.source_id
    JOIN traceability_traceableobject o ON o.id = f.target_id
    WHERE w.depth < %(depth)s
)
SELECT source_id, sum(contributed) FROM walk GROUP BY source_id
"""


def vin(number: int) -> str:
    body = f"LFVBA24H0LV{number:06d}"
    return body[:8] + vin_check_digit(body) + body[9:]


def run() -> Result:
    casting, _ = _build_ancestry()
    _settle()

    subject_kg = _subject_once(casting)
    baseline_kg = _baseline_once(casting)
    _compare(casting, subject_kg, baseline_kg)
    subject_times, baseline_times = [], []
    with tqdm(total=2 * REPETITIONS, desc="genealogy_backward: queries", unit="query", leave=False) as bar:
        for _ in range(REPETITIONS):
            started = perf_counter()
            _subject_once(casting)
            subject_times.append(perf_counter() - started)
            bar.update()
            started = perf_counter()
            _baseline_once(casting)
            baseline_times.append(perf_counter() - started)
            bar.update()
    subject, baseline = statistics.median(subject_times), statistics.median(baseline_times)
    # Seconds per query: lower is better, so the ratio is subject time over baseline time.
    return Result.of(value=subject, baseline=baseline, unit="s/query", target=TARGET)


def _subject_once(casting: TraceableObject) -> dict[int, Decimal]:
    result = genealogy(root=casting, direction="backward")
    return {node.id: node.kg for node in result.nodes}


def _baseline_once(casting: TraceableObject) -> dict[int, Decimal]:
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        cursor.execute(BASELINE, {"start": casting.pk, "depth": BASELINE_DEPTH})
        rows = cursor.fetchall()
    return dict(rows)


def _compare(casting: TraceableObject, subject: dict[int, Decimal], baseline: dict[int, Decimal]) -> None:
    if len(subject) != len(baseline):
        raise BenchError(f"genealogy found {len(subject)} ancestors, the baseline query {len(baseline)}")
    if subject.keys() != baseline.keys():
        raise BenchError("genealogy and the baseline query found different ancestors")
    if len(subject) != EXPECTED_ANCESTORS:
        raise BenchError(f"the casting has {len(subject)} ancestors, the build made {EXPECTED_ANCESTORS}")
    differing = [pk for pk, kg in subject.items() if abs(kg - baseline[pk]) > GRAM]
    if differing:
        pk = differing[0]
        raise BenchError(f"{len(differing)} ancestors differ in kg, e.g. object {pk}: {subject[pk]} vs {baseline[pk]}")
    roots = TraceableObject.objects.filter(pk__in=list(subject), inflow_kg=0).values_list("pk", flat=True)
    from_roots = sum((baseline[pk] for pk in roots), Decimal(0))
    if abs(from_roots - casting.initial_kg) > Decimal("0.01"):
        raise BenchError(f"the root ancestors contribute {from_roots} kg to a casting of {casting.initial_kg} kg")


def _settle() -> None:
    with connection.cursor() as cursor:
        for table in ("traceability_traceableobject", "traceability_massflow"):
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(table)}")


# --- building the ancestry -------------------------------------------------------------


@dataclass
class _Graph:
    """Objects and flows in creation order; a flow names its ends by position in ``objects``."""

    start_seq: int
    start_time: datetime
    objects: list[TraceableObject] = field(default_factory=list)
    layers: list[int] = field(default_factory=list)
    flows: list[tuple[int, int, Decimal, int]] = field(default_factory=list)
    events: int = 0

    def event(self) -> tuple[int, datetime]:
        """The seq and time of the next (synthetic) event, one minute apart."""
        self.events += 1
        return self.start_seq + self.events, self.start_time + timedelta(minutes=self.events)

    def add(self, layer: int, seq: int, at: datetime, *, organisation: Organisation, site: Site, **fields: Any) -> int:
        kg = fields.pop("kg")
        self.objects.append(
            TraceableObject(
                created_by=organisation,
                custodian=organisation,
                site=site,
                initial_kg=kg,
                remaining_kg=kg,
                created_seq=seq,
                created_at=at,
                **fields,
            )
        )
        self.layers.append(layer)
        return len(self.objects) - 1

    def consume(self, position: int, kg: Decimal, seq: int, at: datetime) -> None:
        obj = self.objects[position]
        obj.remaining_kg -= kg
        if obj.remaining_kg <= GRAM:
            obj.remaining_kg = max(obj.remaining_kg, Decimal(0))
            obj.status, obj.ended_seq, obj.ended_at = ObjectStatus.CONSUMED, seq, at

    def flow(self, source: int, target: int, kg: Decimal, seq: int) -> None:
        if self.layers[source] >= self.layers[target]:
            raise BenchError("a flow would not go from an earlier layer to a later one")
        self.flows.append((source, target, kg, seq))
        self.objects[target].inflow_kg += kg

    def mix(
        self, inputs: list[tuple[int, Decimal]], outputs: list[int], losses_kg: Decimal, seq: int, at: datetime
    ) -> None:
        """A homogeneous transformation, as the engine applies it: every input into every output."""
        leaving = sum((self.objects[o].initial_kg for o in outputs), Decimal(0)) + losses_kg
        consumed = sum((kg for _, kg in inputs), Decimal(0))
        if abs(consumed - leaving) > GRAM:
            raise BenchError(f"unbalanced transformation: {consumed} kg in, {leaving} kg out")
        for source, kg in inputs:
            self.consume(source, kg, seq, at)
            for output in outputs:
                self.flow(source, output, (kg * self.objects[output].initial_kg / leaving).quantize(GRAM), seq)


def _build_ancestry(
    *, name: str = "genealogy_backward", slug: str = "bench-gen", first_vehicle: int = 1, loops: int = 0
) -> tuple[TraceableObject, TraceableObject | None]:
    """The ancestry above; with ``loops``, also a lot of the melt split and remerged ``loops``
    times and cast into one more casting, which is returned second (else None)."""
    dismantler = services.organisation_create(slug=f"{slug}-dismantler", name=f"{slug} dismantler", role="dismantler")
    remelter = services.organisation_create(slug=f"{slug}-remelter", name=f"{slug} remelter", role="remelter")
    caster = services.organisation_create(slug=f"{slug}-caster", name=f"{slug} caster", role="die_caster")
    yard = Site.objects.create(organisation=dismantler, name=f"{slug} yard", country="DE")
    shop = Site.objects.create(organisation=remelter, name=f"{slug} remelt shop", country="DE")
    hall = Site.objects.create(organisation=caster, name=f"{slug} casting hall", country="DE")
    graph = _Graph(start_seq=ledger_size() + 1, start_time=timezone.now().replace(microsecond=0) - timedelta(days=60))

    # Vehicles, dismantled: explicit flows of each part's own mass.
    parts: list[int] = []
    vehicles = range(first_vehicle, first_vehicle + VEHICLES)
    for number in tqdm(vehicles, desc=f"{name}: vehicles", unit="vehicle", leave=False):
        code = vin(number)
        seq, at = graph.event()
        facts = {"make": "Volta", "model": "E-Compact", "modelYear": 2015 + number % 8}
        vehicle = graph.add(
            0,
            seq,
            at,
            organisation=dismantler,
            site=yard,
            identifier=vehicle_uri(code),
            kind=ObjectKind.VEHICLE,
            label=code,
            kg=Decimal(1700 + number % 300),
            attributes=facts,
        )
        seq, at = graph.event()
        children = [
            (
                f"urn:looptrace:battery:BGNPEA1{number:07d}N35{number:07d}",
                ObjectKind.BATTERY_PACK,
                PACK_KG,
                {"chemistry": "NMC", "ratedEnergyKWh": 75.0},
            ),
            *(
                (
                    local_uri("part", dismantler.slug, f"W{number:06d}-{w}"),
                    ObjectKind.PART,
                    WHEEL_KG,
                    {"partType": "wheel", "alloy": "A356"},
                )
                for w in range(4)
            ),
            (
                local_uri("part", dismantler.slug, f"H{number:06d}"),
                ObjectKind.PART,
                HOUSING_KG,
                {"partType": "motor_housing", "alloy": "A380"},
            ),
        ]
        for identifier, kind, kg, facts in children:
            child = graph.add(
                1,
                seq,
                at,
                organisation=dismantler,
                site=yard,
                identifier=identifier,
                kind=kind,
                label=identifier.rsplit(":", 1)[-1],
                kg=kg,
                attributes=facts,
            )
            graph.consume(vehicle, kg, seq, at)
            graph.flow(vehicle, child, kg, seq)
            if kind == ObjectKind.PART:
                parts.append(child)

    # Sorting: PARTS_PER_LOT whole parts into one post-consumer scrap lot.
    lots: list[int] = []
    for number, start in enumerate(range(0, len(parts), PARTS_PER_LOT)):
        group = [(p, graph.objects[p].remaining_kg) for p in parts[start : start + PARTS_PER_LOT]]
        total = sum((kg for _, kg in group), Decimal(0))
        loss = (total * SORTING_LOSS_SHARE).quantize(GRAM)
        seq, at = graph.event()
        lot = graph.add(
            2,
            seq,
            at,
            organisation=dismantler,
            site=yard,
            identifier=local_uri("lot", dismantler.slug, f"PC-{number:04d}"),
            kind=ObjectKind.SCRAP_LOT,
            label=f"PC-{number:04d}",
            kg=total - loss,
            attributes={
                "alloyFamily": "cast",
                "scrapCategory": ScrapCategory.POST_CONSUMER,
                "composition": SCRAP_COMPOSITION,
            },
        )
        graph.mix(group, [lot], loss, seq, at)
        lots.append(lot)
    # The remelter takes the lots over (a custody transfer moves them, no flows).
    for lot in lots:
        graph.objects[lot].custodian, graph.objects[lot].site = remelter, shop

    # Remelts: half of each of LOTS_PER_REMELT lots and half of each of the previous
    # remelt's lots (a ring), plus primary ingot and silicon received for it.
    remelts = len(lots) // LOTS_PER_REMELT
    ingots = []
    for number in range(remelts):
        seq, at = graph.event()
        primary = graph.add(
            3,
            seq,
            at,
            organisation=remelter,
            site=shop,
            identifier=local_uri("lot", remelter.slug, f"P-{number:04d}"),
            kind=ObjectKind.PRIMARY_INGOT,
            label=f"P-{number:04d}",
            kg=PRIMARY_KG,
            attributes={"supplier": "Hydro Smelter", "powerSource": "hydro", "composition": PRIMARY_COMPOSITION},
        )
        silicon = graph.add(
            3,
            seq,
            at,
            organisation=remelter,
            site=shop,
            identifier=local_uri("lot", remelter.slug, f"SI-{number:04d}"),
            kind=ObjectKind.ALLOYING,
            label=f"SI-{number:04d}",
            kg=SILICON_KG,
            attributes={"composition": {"Si": 99.0}},
        )
        own = lots[number * LOTS_PER_REMELT : (number + 1) * LOTS_PER_REMELT]
        previous = lots[(number - 1) % remelts * LOTS_PER_REMELT :][:LOTS_PER_REMELT]
        inputs = [(lot, _half(graph.objects[lot].initial_kg, first=True)) for lot in own]
        inputs += [(lot, _half(graph.objects[lot].initial_kg, first=False)) for lot in previous]
        inputs += [(primary, PRIMARY_USED_KG), (silicon, SILICON_USED_KG)]
        consumed = sum((kg for _, kg in inputs), Decimal(0))
        losses = (consumed * MELT_LOSS_SHARE).quantize(GRAM) + (consumed * DROSS_SHARE).quantize(GRAM)
        seq, at = graph.event()
        ingot = graph.add(
            4,
            seq,
            at,
            organisation=remelter,
            site=shop,
            identifier=local_uri("lot", remelter.slug, f"IL-{number:04d}"),
            kind=ObjectKind.INGOT_LOT,
            label=f"IL-{number:04d}",
            kg=consumed - losses,
            attributes={"composition": MELT_COMPOSITION},
        )
        graph.mix(inputs, [ingot], losses, seq, at)
        ingots.append(ingot)

    # The die-caster: every ingot lot and an alloying addition into one melt batch...
    seq, at = graph.event()
    alloying = graph.add(
        3,
        seq,
        at,
        organisation=caster,
        site=hall,
        identifier=local_uri("lot", caster.slug, "MN-0001"),
        kind=ObjectKind.ALLOYING,
        label="MN-0001",
        kg=ALLOYING_KG,
        attributes={"composition": {"Mn": 10.0}},
    )
    inputs = [(i, graph.objects[i].initial_kg) for i in ingots] + [(alloying, ALLOYING_USED_KG)]
    for i in ingots:
        graph.objects[i].custodian, graph.objects[i].site = caster, hall
    consumed = sum((kg for _, kg in inputs), Decimal(0))
    losses = (consumed * MELT_LOSS_SHARE).quantize(GRAM)
    seq, at = graph.event()
    melt = graph.add(
        5,
        seq,
        at,
        organisation=caster,
        site=hall,
        identifier=local_uri("lot", caster.slug, "M-0001"),
        kind=ObjectKind.MELT_BATCH,
        label="M-0001",
        kg=consumed - losses,
        attributes={"composition": MELT_COMPOSITION},
    )
    graph.mix(inputs, [melt], losses, seq, at)

    # ...cast into CASTINGS castings and run-around scrap.
    melt_kg = graph.objects[melt].initial_kg
    casting_loss = (melt_kg * CASTING_LOSS_SHARE).quantize(GRAM)
    held_back = CASTING_KG if loops else Decimal(0)
    run_around = melt_kg - CASTINGS * CASTING_KG - held_back - casting_loss
    if run_around <= 0:
        raise BenchError(f"the melt ({melt_kg} kg) is too small for {CASTINGS} castings")
    seq, at = graph.event()
    outputs = [
        graph.add(
            6,
            seq,
            at,
            organisation=caster,
            site=hall,
            identifier=local_uri("part", caster.slug, f"TRAY-{n:05d}"),
            kind=ObjectKind.PART,
            label=f"TRAY-{n:05d}",
            kg=CASTING_KG,
            attributes={"partType": "battery_tray", "composition": MELT_COMPOSITION},
        )
        for n in range(CASTINGS)
    ]
    outputs.append(
        graph.add(
            6,
            seq,
            at,
            organisation=caster,
            site=hall,
            identifier=local_uri("lot", caster.slug, "RA-0001"),
            kind=ObjectKind.SCRAP_LOT,
            label="RA-0001",
            kg=run_around,
            attributes={"scrapCategory": ScrapCategory.INTERNAL, "composition": MELT_COMPOSITION},
        )
    )
    looped = None
    if loops:
        lot = graph.add(
            6,
            seq,
            at,
            organisation=caster,
            site=hall,
            identifier=local_uri("lot", caster.slug, "HB-0001"),
            kind=ObjectKind.MELT_BATCH,
            label="HB-0001",
            kg=held_back,
            attributes={"composition": MELT_COMPOSITION},
        )
        outputs.append(lot)
    graph.mix([(melt, melt_kg)], outputs, casting_loss, seq, at)
    if loops:
        looped = _split_and_merge(graph, lot, loops, organisation=caster, site=hall)

    _insert(graph)
    casting = graph.objects[outputs[0]]
    _check_inflows([dismantler, remelter, caster])
    print(
        f"bench: {name}: {len(graph.objects)} objects, {len(graph.flows)} flows written; "
        f"subject casting {casting.identifier}",
        file=sys.stderr,
    )
    return casting, (graph.objects[looped] if looped is not None else None)


def _split_and_merge(graph: _Graph, lot: int, loops: int, *, organisation: Organisation, site: Site) -> int:
    """``lot`` split in halves and remerged ``loops`` times (2**loops paths through 3 * loops
    lots), then cast whole into one casting; returns the casting."""
    layer = graph.layers[lot]
    kg = graph.objects[lot].initial_kg

    def new(kind: str, code: str, kg: Decimal, seq: int, at: datetime, **attributes: object) -> int:
        return graph.add(
            layer,
            seq,
            at,
            organisation=organisation,
            site=site,
            identifier=local_uri("part" if kind == ObjectKind.PART else "lot", organisation.slug, code),
            kind=kind,
            label=code,
            kg=kg,
            attributes={"composition": MELT_COMPOSITION, **attributes},
        )

    for number in range(loops):
        seq, at = graph.event()
        layer += 1
        halves = [
            new(ObjectKind.MELT_BATCH, f"{half}-{number:04d}", _half(kg, first=half == "A"), seq, at)
            for half in ("A", "B")
        ]
        graph.mix([(lot, kg)], halves, Decimal(0), seq, at)
        seq, at = graph.event()
        layer += 1
        lot = new(ObjectKind.MELT_BATCH, f"L-{number:04d}", kg, seq, at)
        graph.mix([(h, graph.objects[h].initial_kg) for h in halves], [lot], Decimal(0), seq, at)
    seq, at = graph.event()
    layer += 1
    casting = new(ObjectKind.PART, "LOOPED-TRAY", kg, seq, at, partType="battery_tray")
    graph.mix([(lot, kg)], [casting], Decimal(0), seq, at)
    return casting


def _half(kg: Decimal, *, first: bool) -> Decimal:
    half = (kg / 2).quantize(GRAM)
    return half if first else kg - half


@transaction.atomic
def _insert(graph: _Graph) -> None:
    with tqdm(total=len(graph.objects) + len(graph.flows), desc="genealogy_backward: insert", leave=False) as bar:
        for start in range(0, len(graph.objects), INSERT_BATCH):
            batch = graph.objects[start : start + INSERT_BATCH]
            TraceableObject.objects.bulk_create(batch)
            bar.update(len(batch))
        flows = [
            MassFlow(source=graph.objects[s], target=graph.objects[t], kg=kg, seq=seq) for s, t, kg, seq in graph.flows
        ]
        for start in range(0, len(flows), INSERT_BATCH):
            MassFlow.objects.bulk_create(flows[start : start + INSERT_BATCH])
            bar.update(len(flows[start : start + INSERT_BATCH]))


def _check_inflows(organisations: list[Organisation]) -> None:
    """Every object's inflow_kg is the sum of the flows into it, as the engine keeps it."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM traceability_traceableobject o
            LEFT JOIN (SELECT target_id, sum(kg) AS kg FROM traceability_massflow GROUP BY target_id) f
                   ON f.target_id = o.id
            WHERE o.created_by_id = ANY(%s) AND o.inflow_kg <> coalesce(f.kg, 0)
            """,
            [[o.pk for o in organisations]],
        )
        (wrong,) = cursor.fetchone()
    if wrong:
        raise BenchError(f"{wrong} objects have an inflow_kg that is not the sum of their inflows")
