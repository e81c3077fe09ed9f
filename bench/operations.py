"""``operations_record``: events/s of lifecycle operations through the service layer.

The workload is ``CYCLES`` loops of a dismantler and a remelter, each loop
``VEHICLES_PER_CYCLE`` vehicle intakes and dismantlings (pack, four wheels and a
motor housing per vehicle), one scrap sorting of the loop's aluminium parts, a
custody transfer of the scrap lot to the remelter, a material receipt (primary ingot
and silicon) and a remelting of all three into a melt aimed at an alloy
specification. Every call's arguments are built beforehand (untimed); the timed
part is the call of ``traceability.operations.services``: build the EPCIS event,
canonicalise, sign custodially, chain, store and project (rules, objects, flows,
event record). Every service appends one event per call.

The baseline appends the same number of plain EPCIS ObjectEvents (no
``lt:operation``, hence no projection), also signed custodially, one per
``ledger_append`` call, each by the organisation that recorded the operation at the
same position: the foundation's append with exactly the subject's call pattern.

Subject and baseline alternate in ``ROUNDS`` blocks (baseline block, then the
matching subject block), so a burst of other load on the machine, or the growth
of the ledger, weighs on both alike.
"""

from __future__ import annotations

import itertools
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from time import perf_counter

from django.utils import timezone
from tqdm import tqdm

from bench.report import BenchError, Result
from bench.workload import object_event
from traceability import events, hooks, services
from traceability.choices import ObjectKind, Operation, ScrapCategory
from traceability.identifiers import local_uri, vehicle_uri, vin_check_digit
from traceability.ledger.chain import KIND_EVENT
from traceability.models import EventRecord, LedgerEntry, Organisation, Site, TraceableObject
from traceability.operations import services as ops

TARGET = ">=0.6"
VEHICLES_PER_CYCLE = 8
# 2 * VEHICLES_PER_CYCLE + 4 = 20 operations per cycle: 2,000 operations in all.
CYCLES = 100
ROUNDS = 10
# Plain ObjectEvents of the baseline are numbered from here (apart from the shared workload's).
BASELINE_NUMBERS = 1_000_000

DISMANTLER_SLUG = "bench-ops-dismantler"
REMELTER_SLUG = "bench-ops-remelter"
VEHICLE_KG = Decimal("1850")
PACK_KG = Decimal("452.0")
WHEEL_KG = Decimal("10.5")
HOUSING_KG = Decimal("14.2")
SORTING_LOSS_KG = Decimal("1.000")
PRIMARY_KG, PRIMARY_USED_KG = Decimal("1000"), Decimal("500")
SILICON_KG, SILICON_USED_KG = Decimal("100"), Decimal("40")
MELT_LOSS_KG, DROSS_KG = Decimal("12.000"), Decimal("5.000")
SCRAP_COMPOSITION = {"Si": 7.1, "Fe": 0.11, "Mg": 0.32, "Cu": 0.02, "Zn": 0.03}
PRIMARY_COMPOSITION = {"Si": 0.04, "Fe": 0.07}


@dataclass(frozen=True)
class Step:
    operation: str
    organisation: Organisation
    call: Callable[[], EventRecord]


def vin(number: int) -> str:
    """A Chinese VIN (check digit enforced) with a correct check digit, unique per ``number``."""
    body = f"LSGKB54H0KV{number:06d}"
    return body[:8] + vin_check_digit(body) + body[9:]


def battery_code(number: int) -> str:
    """A GB/T 34014-2017 pack code, unique per ``number``."""
    return f"BOPPEA1{number:07d}N35{number:07d}"


def run() -> Result:
    dismantler, remelter, plan = _build_plan()
    events = len(plan)
    kinds = Counter(step.operation for step in plan)
    print(
        f"bench: operations_record: {events} operations ("
        + ", ".join(f"{count} {name}" for name, count in kinds.items())
        + f"), baseline {events} plain ObjectEvents",
        file=sys.stderr,
    )
    documents = [object_event(BASELINE_NUMBERS + number) for number in range(events)]

    subject_seconds = baseline_seconds = 0.0
    block = -(-events // ROUNDS)
    # Recording is measured, not the footprint catch-up it nudges (with a broker that runs
    # on a worker; without one it would run inline after every commit, on both sides).
    with (
        hooks.paused(),
        tqdm(total=2 * events, desc="operations_record: baseline and subject", unit="event", leave=False) as bar,
    ):
        for start in range(0, events, block):
            steps = plan[start : start + block]
            baseline_seconds += _baseline_block(steps, documents[start : start + block])
            bar.update(len(steps))
            subject_seconds += _subject_block(steps)
            bar.update(len(steps))

    _check(events, dismantler, remelter)
    return Result.of(value=events / subject_seconds, baseline=events / baseline_seconds, unit="events/s", target=TARGET)


def _subject_block(steps: list[Step]) -> float:
    started = perf_counter()
    for step in steps:
        step.call()
    return perf_counter() - started


def _baseline_block(steps: list[Step], documents: list[dict[str, object]]) -> float:
    started = perf_counter()
    for step, document in zip(steps, documents, strict=True):
        events.ledger_append(organisation=step.organisation, document=document)
    return perf_counter() - started


def _check(events: int, dismantler: Organisation, remelter: Organisation) -> None:
    organisations = [dismantler, remelter]
    recorded = EventRecord.objects.filter(organisation__in=organisations).count()
    if recorded != events:
        raise BenchError(f"the services recorded {recorded} operations, expected {events}")
    appended = LedgerEntry.objects.filter(organisation__in=organisations, kind=KIND_EVENT).count()
    if appended != 2 * events:
        raise BenchError(f"the ledger holds {appended} events of the benchmark's partners, expected {2 * events}")
    melts = TraceableObject.objects.filter(created_by=remelter, kind=ObjectKind.MELT_BATCH).count()
    if melts != CYCLES:
        raise BenchError(f"the remelter made {melts} melts, expected {CYCLES}")


def _partner(slug: str, role: str) -> Organisation:
    organisation = services.organisation_create(slug=slug, name=slug.replace("-", " ").title(), role=role)
    services.signing_key_create_custodial(organisation=organisation)
    return organisation


def _build_plan() -> tuple[Organisation, Organisation, list[Step]]:
    """Both partners, their sites and custodial keys, and every service call with its arguments."""
    dismantler = _partner(DISMANTLER_SLUG, "dismantler")
    remelter = _partner(REMELTER_SLUG, "remelter")
    yard = Site.objects.create(organisation=dismantler, name="Bench yard", country="DE")
    shop = Site.objects.create(organisation=remelter, name="Bench remelt shop", country="DE")
    # Event times one minute apart, ending well before now (the rules refuse future events).
    start = timezone.now().replace(microsecond=0) - timedelta(days=3)
    times = (start + timedelta(minutes=minute) for minute in itertools.count())

    plan: list[Step] = []
    for cycle in tqdm(range(CYCLES), desc="operations_record: plan", unit="cycle", leave=False):
        plan += _cycle(cycle, dismantler, remelter, yard, shop, times)
    return dismantler, remelter, plan


def _cycle(
    cycle: int, dismantler: Organisation, remelter: Organisation, yard: Site, shop: Site, times: Iterator[datetime]
) -> list[Step]:
    def at() -> datetime:
        return next(times)

    steps: list[Step] = []
    parts: list[str] = []
    parts_kg = Decimal(0)
    for v in range(VEHICLES_PER_CYCLE):
        number = cycle * VEHICLES_PER_CYCLE + v + 1
        code = vin(number)
        steps.append(
            Step(
                Operation.VEHICLE_INTAKE,
                dismantler,
                partial(
                    ops.vehicle_intake,
                    organisation=dismantler,
                    site=yard,
                    vin=code,
                    kg=VEHICLE_KG,
                    make="Volta",
                    model="E-Compact",
                    model_year=2015 + number % 8,
                    event_time=at(),
                ),
            )
        )
        wheels = [ops.PartOut(f"W{number:06d}-{w}", "wheel", WHEEL_KG, {"alloy": "A356"}) for w in range(4)]
        housing = ops.PartOut(f"H{number:06d}", "motor_housing", HOUSING_KG, {"alloy": "A380"})
        steps.append(
            Step(
                Operation.DISMANTLING,
                dismantler,
                partial(
                    ops.dismantling,
                    organisation=dismantler,
                    site=yard,
                    vehicle=vehicle_uri(code),
                    batteries=[ops.BatteryOut(battery_code(number), "NMC", Decimal("75"), PACK_KG)],
                    parts=[*wheels, housing],
                    event_time=at(),
                ),
            )
        )
        parts += [local_uri("part", DISMANTLER_SLUG, p.serial) for p in (*wheels, housing)]
        parts_kg += 4 * WHEEL_KG + HOUSING_KG

    scrap_kg = parts_kg - SORTING_LOSS_KG
    scrap = local_uri("lot", DISMANTLER_SLUG, f"PC-{cycle:04d}")
    steps.append(
        Step(
            Operation.SCRAP_SORTING,
            dismantler,
            partial(
                ops.scrap_sorting,
                organisation=dismantler,
                site=yard,
                parts=parts,
                lots=[],
                outputs=[
                    ops.LotOut(
                        ObjectKind.SCRAP_LOT,
                        scrap_kg,
                        code=f"PC-{cycle:04d}",
                        attributes={
                            "alloyFamily": "cast",
                            "scrapCategory": ScrapCategory.POST_CONSUMER,
                            "composition": SCRAP_COMPOSITION,
                        },
                    )
                ],
                losses={"sortingLoss": SORTING_LOSS_KG},
                event_time=at(),
            ),
        )
    )
    steps.append(
        Step(
            Operation.CUSTODY_TRANSFER,
            dismantler,
            partial(
                ops.custody_transfer,
                organisation=dismantler,
                site=yard,
                items=[],
                lots=[ops.LotIn(scrap, scrap_kg)],
                receiver=remelter,
                event_time=at(),
            ),
        )
    )
    steps.append(
        Step(
            Operation.MATERIAL_RECEIPT,
            remelter,
            partial(
                ops.material_receipt,
                organisation=remelter,
                site=shop,
                lots=[
                    ops.LotOut(
                        ObjectKind.PRIMARY_INGOT,
                        PRIMARY_KG,
                        code=f"P-{cycle:04d}",
                        attributes={
                            "supplier": "Hydro Smelter",
                            "powerSource": "hydro",
                            "composition": PRIMARY_COMPOSITION,
                        },
                    ),
                    ops.LotOut(
                        ObjectKind.ALLOYING,
                        SILICON_KG,
                        code=f"SI-{cycle:04d}",
                        attributes={"composition": {"Si": 99.0}},
                    ),
                ],
                event_time=at(),
            ),
        )
    )
    inputs = [
        ops.LotIn(scrap, scrap_kg),
        ops.LotIn(local_uri("lot", REMELTER_SLUG, f"P-{cycle:04d}"), PRIMARY_USED_KG),
        ops.LotIn(local_uri("lot", REMELTER_SLUG, f"SI-{cycle:04d}"), SILICON_USED_KG),
    ]
    melt_kg = sum((i.kg for i in inputs), Decimal(0)) - MELT_LOSS_KG - DROSS_KG
    steps.append(
        Step(
            Operation.REMELTING,
            remelter,
            partial(
                ops.remelting,
                organisation=remelter,
                site=shop,
                inputs=inputs,
                output=ops.LotOut(ObjectKind.MELT_BATCH, melt_kg, code=f"M-{cycle:04d}"),
                melt_loss_kg=MELT_LOSS_KG,
                dross_kg=DROSS_KG,
                natural_gas_m3=Decimal("52"),
                electricity_kwh=Decimal("66"),
                target_alloy="thin-wall-structural",
                event_time=at(),
            ),
        )
    )
    return steps
