"""``carbon_factor_change``: a factor that about 1% of the nodes depend on is superseded, and the
product's own path brings their footprints up to date.

The graph is ``carbon_full``'s (``bench.carbon_graph.Generator``: the same cells of 47 objects,
26 events and 134 flows, each linked to the one before), at ``CELLS`` cells instead of 21,276,
and this time every event is in the ledger: a ``LedgerEntry`` (the event document with its
energy and losses, as the operations write it) and an ``EventRecord`` (operation, site, kg
consumed of each input, objects involved), all written by COPY, untimed. The product's paths
read those: ``carbon.services.footprints_recompute`` builds the engine's inputs from the event
records through the ORM and stores six results per node (three methods under two chains of
custody) through the ORM, which would not fit the budget at 1,000,000 objects (at 400 cells a
full recomputation takes about a minute on 2 cores, more when they are shared).

The workload: the die-casting of the last ``cast_cells`` cells runs at a site of its own whose
grid region (``REGION``) has an electricity factor of its own, registered before anything is
computed; every other event runs on the German grid. What depends on that factor is the castings
and run-around scrap of those cells (19 + 1 per cell) and, through the run-around scrap, the
first remelt's two ingot lots of each cell after the first of them (which feed the next
castings): ``20 n + 2 (n - 1)`` nodes for ``n`` cells, ``n`` chosen so that this is about 1% of
the objects (printed, and checked against the nodes the service marked dirty). Those ingot
lots are melts: under mass balance the refresh replays the melts of their site's yearly account
before them (the graph's 800 remelts all run at one site in one year, and these are the last
ones), which is most of its cost.

carbon_factor_change (s, target ratio <= 0.05)
    Subject: a new version of that factor through ``carbon.services.factor_add`` (the service
    the API's ``POST /api/v1/factors`` calls: it stores the version and marks its dependents
    dirty), then ``carbon.services.footprints_refresh`` until it refreshes nothing, as the
    catch-up task does (the task's nudge is switched off here so that it is timed in this
    process, whatever broker is configured; so is PACT's publishing, a task of its own).
    Baseline: ``carbon.services.footprints_recompute`` (``manage.py recompute_footprints``) of
    the same ledger. ``ROUNDS`` alternating rounds after
    one untimed full recomputation; medians. Checked every round: the nodes marked dirty are
    exactly the expected dependents, nothing is left dirty, every result the refresh left (all
    nodes, all methods and chains) equals what the full recomputation that follows gives, and a
    casting's footprint moved with the factor.

In a full run the 1,000,000-object graph of ``carbon_full`` is removed first (its objects have
no events, but a full recomputation would still read their masses and delete their results);
at the end this graph, its ledger rows and its results are removed too, so later benchmarks
append to the ledger they had.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from time import perf_counter
from typing import Any

from django.db import connection
from django.test import override_settings
from tqdm import tqdm

from bench import footprints
from bench.carbon_graph import (
    COLUMNS_FLOW,
    COLUMNS_OBJECT,
    DIE_CASTING_KWH_PER_KG,
    EVENTS_PER_CELL,
    NODES_PER_CELL,
    REMELTING_GAS_M3_PER_KG,
    REMELTING_KWH_PER_KG,
    SHREDDING_KWH_PER_KG,
    Cell,
    Generator,
    Prices,
    _grams,
    _Node,
    _time,
)
from bench.database import BenchDatabase
from bench.report import BenchError, Result
from carbon import services as carbon
from carbon.factors import FactorBook
from carbon.models import DirtyNode, FootprintResult, LedgerCursor
from traceability import services
from traceability.choices import Operation
from traceability.models import MassFlow, Site, TraceableObject
from traceability.selectors import ledger_size

TARGET = "<=0.05"
CELLS = 400
ROUNDS = 3
DEPENDENT_SHARE = 0.01
COUNTRY = "DE"
# The grid region of the one die-casting site whose electricity factor is superseded.
REGION = "BENCH-FACTOR-CHANGE"
REGION_KG_PER_KWH = Decimal("0.45")
# Castings and run-around scrap of each cell cast at that site, and the two ingot lots of the
# first remelt of each cell after the first such cell (they take the run-around scrap in).
CAST_OUTPUTS_PER_CELL = 20
RUN_AROUND_INGOTS_PER_CELL = 2
OPERATION_OF = {"scrap_lot": Operation.SCRAP_SORTING, "ingot_lot": Operation.REMELTING, "part": Operation.DIE_CASTING}
EVENT_COLUMNS = (
    "entry_id", "operation", "event_type", "biz_step", "event_time", "organisation_id", "site_id",
    "warnings", "consumed",
)  # fmt: skip
ENTRY_COLUMNS = (
    "seq", "kind", "organisation_id", "document", "digest", "key_id", "signature", "prev_hash", "entry_hash",
    "recorded_at",
)  # fmt: skip
INVOLVED_COLUMNS = ("eventrecord_id", "traceableobject_id")
CHUNK = 20_000


def _log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr)


def cast_cells_for(cells: int) -> int:
    """Cells cast at the superseded factor's site so that about ``DEPENDENT_SHARE`` of the objects depend on it."""
    per_cell = CAST_OUTPUTS_PER_CELL + RUN_AROUND_INGOTS_PER_CELL
    return max(1, round((DEPENDENT_SHARE * cells * NODES_PER_CELL + RUN_AROUND_INGOTS_PER_CELL) / per_cell))


def dependents_of(cast_cells: int) -> int:
    return CAST_OUTPUTS_PER_CELL * cast_cells + RUN_AROUND_INGOTS_PER_CELL * (cast_cells - 1)


class LedgerGenerator(Generator):
    """``carbon_graph.Generator`` that also writes each event as the ledger holds it (entry and
    record, untimed here): roots as intakes and receipts, mixing events as scrap sorting,
    remelting and die-casting, with the energy the ``carbon_full`` reader prices."""

    def __init__(
        self, *, organisations: tuple[int, int, int], region_site: int, cast_cells: int, **kwargs: Any
    ) -> None:
        super().__init__(organisations=organisations, **kwargs)
        self.region_site = region_site
        self.first_region_cell = self.cells - cast_cells
        self.events: list[tuple[int, str, int, int, dict[str, str], list[int], dict[str, Any]]] = []
        self.casting_in_region: int | None = None

    def _mix(
        self,
        inputs: list[tuple[_Node, int]],
        outputs: list[_Node],
        made: str,
        seq: int,
        cell: Cell,
        remainder: _Node | None = None,
    ) -> None:
        super()._mix(inputs, outputs, made, seq, cell, remainder)
        consumed_g = sum(grams for _, grams in inputs)
        made_g = sum(output.grams for output in outputs)
        made_kg = made_g / 1000
        operation = OPERATION_OF[made]
        owner = outputs[0].owner
        site = self.sites[owner]
        if operation == Operation.SCRAP_SORTING:
            energy = {"electricityKWh": round(made_kg * SHREDDING_KWH_PER_KG, 6)}
        elif operation == Operation.REMELTING:
            energy = {
                "electricityKWh": round(made_kg * REMELTING_KWH_PER_KG, 6),
                "naturalGasM3": round(made_kg * REMELTING_GAS_M3_PER_KG, 6),
            }
        else:
            energy = {"electricityKWh": round(made_kg * DIE_CASTING_KWH_PER_KG, 6)}
            if (seq - self.first_seq) // EVENTS_PER_CELL >= self.first_region_cell:
                site = self.region_site
                self.casting_in_region = outputs[0].id
        document = {
            "type": "TransformationEvent",
            "lt:operation": str(operation),
            "lt:energy": energy,
            "lt:lossesKg": {"processLoss": _grams(consumed_g - made_g)},
        }
        consumed = {str(node.id): _grams(grams) for node, grams in inputs}
        involved = [node.id for node, _ in inputs] + [node.id for node in outputs]
        self.events.append((seq, str(operation), owner, site, consumed, involved, document))

    def _row(self, node: _Node) -> str:
        if node.inflow == 0:
            operation = Operation.VEHICLE_INTAKE if node.kind == "vehicle" else Operation.MATERIAL_RECEIPT
            document = {"type": "ObjectEvent", "lt:operation": str(operation)}
            self.events.append((node.seq, str(operation), node.owner, self.sites[node.owner], {}, [node.id], document))
        return super()._row(node)

    def take_events(self) -> list[tuple[int, str, int, int, dict[str, str], list[int], dict[str, Any]]]:
        events, self.events = self.events, []
        return events


@dataclass
class LedgerGraph:
    first_id: int
    first_seq: int
    last_seq: int
    objects: int
    events: int
    cast_cells: int
    casting: int
    cursor_before: int | None


def run(database: BenchDatabase) -> Result:
    footprints.drop_graph(database)
    graph = _build(database)
    try:
        return _measure(graph)
    finally:
        _drop(database, graph)


def _measure(graph: LedgerGraph) -> Result:
    expected = dependents_of(graph.cast_cells)
    _log(
        f"carbon_factor_change: {expected:,} of {graph.objects:,} objects ({expected / graph.objects:.2%}) depend on "
        f"the electricity factor of {REGION} (castings of the last {graph.cast_cells} of {CELLS} cells)"
    )
    started = perf_counter()
    carbon.footprints_recompute()
    _log(f"carbon_factor_change: first full recomputation (untimed) {perf_counter() - started:.1f} s")
    subjects: list[float] = []
    baselines: list[float] = []
    with override_settings(FACTOR_FOLLOWERS=(), FOOTPRINT_FOLLOWERS=()):
        for number in range(1, ROUNDS + 1):
            before = _casting_total(graph)
            value = REGION_KG_PER_KWH * (1 + Decimal(number) / 10)
            started = perf_counter()
            factor = carbon.factor_add(
                code="electricity_grid",
                region=REGION,
                value=value,
                unit="kg/kWh",
                source="bench: a new version of the benchmark site's grid factor",
            )
            added = perf_counter() - started
            marked = DirtyNode.objects.count()  # not part of the path: counted aside
            counting = perf_counter() - started - added
            refreshed = 0
            while True:
                report = carbon.footprints_refresh()
                refreshed += report.results
                if report.results == 0:
                    break
            subject = perf_counter() - started - counting
            if marked != expected or DirtyNode.objects.exists():
                raise BenchError(
                    f"round {number}: {marked} nodes marked dirty (expected {expected}), "
                    f"{DirtyNode.objects.count()} left dirty"
                )
            incremental = _results()
            if math.isclose(_casting_total(graph), before, rel_tol=1e-12):
                raise BenchError(f"round {number}: the casting's footprint did not move with {factor.reference}")
            started = perf_counter()
            carbon.footprints_recompute()
            baseline = perf_counter() - started
            _compare(incremental, _results(), number)
            subjects.append(subject)
            baselines.append(baseline)
            _log(
                f"carbon_factor_change: round {number}: {factor.reference} marked {marked:,} nodes dirty; "
                f"factor_add {added:.3f} s + refresh {subject - added:.3f} s ({refreshed:,} results rewritten), "
                f"full recomputation {baseline:.2f} s, ratio {subject / baseline:.4f}"
            )
    subject, baseline = statistics.median(subjects), statistics.median(baselines)
    _log(
        f"carbon_factor_change: median {subject:.3f} s for {expected:,} nodes recomputed, "
        f"full recomputation {baseline:.2f} s for {graph.objects:,} objects"
    )
    return Result.of(value=subject, baseline=baseline, unit="s", target=TARGET)


def _casting_total(graph: LedgerGraph) -> float:
    return FootprintResult.objects.get(node_id=graph.casting, method="cut_off", chain="physical").total_per_kg


Snapshot = dict[tuple[int, str, str], tuple[Any, ...]]


def _results() -> Snapshot:
    rows = FootprintResult.objects.values_list(
        "node_id", "method", "chain", "total_per_kg", "total_kg", "pre_consumer_share", "post_consumer_share",
        "primary_data_share", "per_kg", "factors",
    )  # fmt: skip
    return {(node, method, chain): tuple(rest) for node, method, chain, *rest in rows.iterator(chunk_size=CHUNK)}


def _compare(incremental: Snapshot, full: Snapshot, number: int) -> None:
    if incremental.keys() != full.keys():
        raise BenchError(f"round {number}: {len(incremental)} results after the refresh, {len(full)} after a full one")
    for key, want in full.items():
        got = incremental[key]
        numbers_ok = all(
            math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-12) for g, w in zip(got[:5], want[:5], strict=True)
        )
        stages_ok = got[5].keys() == want[5].keys() and all(
            math.isclose(got[5][stage], want[5][stage], rel_tol=1e-9, abs_tol=1e-12) for stage in want[5]
        )
        if not (numbers_ok and stages_ok and sorted(got[6]) == sorted(want[6])):
            raise BenchError(f"round {number}: result {key} is {got} after the refresh, {want} after a full one")


# --- writing the graph, with its ledger -------------------------------------------------


def _build(database: BenchDatabase) -> LedgerGraph:
    started = perf_counter()
    organisations = tuple(
        services.organisation_create(slug=f"bench-factor-{role}", name=f"Bench Factor {role.title()}", role=role)
        for role in ("dismantler", "remelter", "die_caster")
    )
    sites = tuple(Site.objects.create(organisation=o, name=f"{o.name} site", country=COUNTRY).pk for o in organisations)
    region_site = Site.objects.create(
        organisation=organisations[2], name="Bench Factor Die-Caster, second site", country=COUNTRY, grid_region=REGION
    ).pk
    # The region's first version, before anything is computed (a first version may replace a
    # fallback anywhere, so it would mark every node dirty).
    carbon.factor_add(
        code="electricity_grid",
        region=REGION,
        value=REGION_KG_PER_KWH,
        unit="kg/kWh",
        source="bench: assumption, the grid of the benchmark's second die-casting site",
    )
    book = FactorBook.load()
    prices = Prices(
        scrap_sorting=book.value("scrap_collection_sorting"),
        primary={p: book.value("primary_aluminium", p) for p in ("hydro", "coal", "global")},
        silicon=book.value("alloying_element", "Si"),
        electricity=book.value("electricity_grid", COUNTRY),
        gas=book.value("natural_gas_combustion"),
    )
    cursor = LedgerCursor.objects.filter(name=carbon.CURSOR).values_list("seq", flat=True).first()
    first_seq = 1 + max(
        ledger_size(),
        TraceableObject.objects.order_by("-created_seq").values_list("created_seq", flat=True).first() or 0,
        MassFlow.objects.order_by("-seq").values_list("seq", flat=True).first() or 0,
    )
    first_id = 1 + (TraceableObject.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)
    cast_cells = cast_cells_for(CELLS)
    generator = LedgerGenerator(
        cells=CELLS,
        first_id=first_id,
        first_seq=first_seq,
        organisations=tuple(o.pk for o in organisations),  # type: ignore[arg-type]
        sites=sites,  # type: ignore[arg-type]
        prices=prices,
        check_cells=frozenset(),
        region_site=region_site,
        cast_cells=cast_cells,
    )
    events = _write(database, generator, organisations=tuple(o.pk for o in organisations))
    if generator.casting_in_region is None:
        raise BenchError("no casting was made at the benchmark region's site")
    graph = LedgerGraph(
        first_id=first_id,
        first_seq=first_seq,
        last_seq=generator.last_seq,
        objects=generator.object_count,
        events=events,
        cast_cells=cast_cells,
        casting=generator.casting_in_region,
        cursor_before=cursor,
    )
    _log(
        f"carbon_factor_change: wrote {graph.objects:,} objects, {generator.flow_count:,} flows and "
        f"{graph.events:,} ledger events in {perf_counter() - started:.1f} s"
    )
    return graph


def _entry_lines(
    events: list[tuple[int, str, int, int, dict[str, str], list[int], dict[str, Any]]],
    organisations: tuple[int, ...],
    first_seq: int,
) -> Iterator[tuple[str, str, list[str]]]:
    for seq, operation, owner, site, consumed, involved, document in events:
        when = _time(seq, first_seq)
        text = json.dumps(document, separators=(",", ":"), sort_keys=True).replace("\\", "\\\\")
        marker = f"{seq:064x}"
        entry = "\t".join(
            (str(seq), "event", str(organisations[owner]), text, marker, "bench", "bench", marker, marker, when)
        )
        record = "\t".join(
            (
                str(seq),
                operation,
                str(document["type"]),
                "",
                when,
                str(organisations[owner]),
                str(site),
                "[]",
                json.dumps(consumed, separators=(",", ":")),
            )
        )
        yield entry, record, [f"{seq}\t{node}" for node in involved]


def _write(database: BenchDatabase, generator: LedgerGenerator, *, organisations: tuple[int, ...]) -> int:
    """Objects, flows, ledger entries, event records and the objects they involve, by COPY."""
    copies = {
        "objects": f"COPY traceability_traceableobject ({', '.join(COLUMNS_OBJECT)}) FROM STDIN",
        "flows": f"COPY traceability_massflow ({', '.join(COLUMNS_FLOW)}) FROM STDIN",
        "entries": f"COPY traceability_ledgerentry ({', '.join(ENTRY_COLUMNS)}) FROM STDIN",
        "records": f"COPY traceability_eventrecord ({', '.join(EVENT_COLUMNS)}) FROM STDIN",
        "involved": f"COPY traceability_eventrecord_involved ({', '.join(INVOLVED_COLUMNS)}) FROM STDIN",
    }
    lines: dict[str, list[str]] = {name: [] for name in copies}
    events = 0
    with database.connect() as conn:
        # Skips the per-row foreign-key triggers of COPY (superuser only); the rows refer to each other.
        conn.execute("SET session_replication_role = replica")
        for cell in tqdm(generator, total=generator.cells + 1, desc="carbon_factor_change: graph", leave=False):
            lines["objects"] += cell.objects
            lines["flows"] += cell.flows
            for entry, record, involved in _entry_lines(generator.take_events(), organisations, generator.first_seq):
                lines["entries"].append(entry)
                lines["records"].append(record)
                lines["involved"] += involved
                events += 1
        with conn.cursor() as cursor:
            for name, statement in copies.items():
                with cursor.copy(statement) as copy:
                    for start in range(0, len(lines[name]), CHUNK):
                        copy.write("\n".join(lines[name][start : start + CHUNK]) + "\n")
        conn.commit()
    with database.connect(autocommit=True) as conn:
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('traceability_traceableobject', 'id'), "
            "(SELECT max(id) FROM traceability_traceableobject))"
        )
        for table in (
            "traceability_traceableobject",
            "traceability_massflow",
            "traceability_ledgerentry",
            "traceability_eventrecord",
            "traceability_eventrecord_involved",
        ):
            conn.execute(f"VACUUM ANALYZE {table}")
    return events


def _drop(database: BenchDatabase, graph: LedgerGraph) -> None:
    """Remove the graph, its ledger rows, results and the region's factor versions; put the cursor back."""
    started = perf_counter()
    connection.close()
    bounds = {"first": graph.first_seq, "last": graph.last_seq, "first_id": graph.first_id, "region": REGION}
    with database.connect() as conn:
        # The ledger tables refuse DELETE by trigger; a replica session fires no triggers.
        conn.execute("SET session_replication_role = replica")
        for statement in (
            "DELETE FROM carbon_dirtynode WHERE node_id >= %(first_id)s",
            "DELETE FROM carbon_footprintresult WHERE node_id >= %(first_id)s",
            "DELETE FROM traceability_eventrecord_involved WHERE eventrecord_id BETWEEN %(first)s AND %(last)s",
            "DELETE FROM traceability_eventrecord WHERE entry_id BETWEEN %(first)s AND %(last)s",
            "DELETE FROM traceability_ledgerentry WHERE seq BETWEEN %(first)s AND %(last)s",
            "DELETE FROM traceability_massflow WHERE seq BETWEEN %(first)s AND %(last)s",
            "DELETE FROM traceability_traceableobject WHERE created_seq BETWEEN %(first)s AND %(last)s",
            # Factor rows are append-only by trigger too; the region is the benchmark's own.
            "DELETE FROM carbon_emissionfactor WHERE code = 'electricity_grid' AND region = %(region)s",
        ):
            conn.execute(statement, bounds)
        conn.commit()
    if graph.cursor_before is None:
        LedgerCursor.objects.filter(name=carbon.CURSOR).delete()
    else:
        LedgerCursor.objects.filter(name=carbon.CURSOR).update(seq=graph.cursor_before)
    _log(f"carbon_factor_change: removed the graph and its ledger rows in {perf_counter() - started:.1f} s")
