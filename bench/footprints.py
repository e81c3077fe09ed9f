"""``carbon_full`` and ``carbon_incremental``: the carbon engine over a graph of 1,000,000 objects.

Both work on one synthetic graph (``bench.carbon_graph``: ``CELLS`` cells of 47 objects,
26 events and 134 flows; 999,972 objects of which 404,244 roots, 2,850,942 mass flows,
553,176 events of which 148,932 consume inputs), written once per run with COPY into
``traceability_traceableobject`` and ``traceability_massflow`` and vacuumed before any
timing. Method ``cut_off``, chain of custody ``physical``. The full size runs within
budget on 2 cores: about 35 s to write the graph, 10 s per full recomputation end to
end (reading included), 30 s to store the footprints, about 3 minutes for both.

carbon_full (s, target ratio <= 1)
    The issue's yardstick is "computing must cost no more than reading": the subject is
    the computation of a full recomputation once its rows are in memory, the baseline is
    reading the graph's edges. Each round streams the graph's objects and flows with raw
    psycopg server-side cursors (``CHUNK`` rows per fetch, binary), makes a ``Source`` of
    every root (``carbon.graph.root_source`` with the current factor book) and groups the
    flows by event (reading, untimed in the subject), then - the subject - builds the
    engine's arrays (``carbon.engine.linear.Network``: roots grouped into kinds, every
    event that consumed inputs with its inputs' consumed kg from its flows, its outputs
    from the objects it created, its process burdens from its energy) and solves them
    (``carbon.engine.linear.solve``, what ``carbon.engine.compute`` runs under physical
    custody). Baseline: the flow query through the same kind of cursor with the same
    chunking, rows fetched and dropped. Each of ``ROUNDS`` rounds runs the subject, then
    the baseline (after one warm-up baseline); the medians count. Lower is better. The
    end-to-end time (reading objects and flows, building, computing) and its ratio to the
    baseline go to standard error with the per-part times.

carbon_incremental (s/event, target ratio <= 0.01)
    The last full recomputation's footprints (``carbon_full``'s, or one run here when
    it runs alone) are stored in ``carbon_footprintresult``, every object, by COPY,
    untimed. Subject: what the catch-up does for one new event (a melt of three ingot
    lots and a silicon lot into one melt batch, after the graph's last event): fetch
    its inputs' footprints from the database (``carbon.selectors.footprints_known``, the
    catch-up's own query) and ``compute([], [activity], known=...)`` (the linear
    solution of that one event). Median over
    ``INCREMENTAL_EVENTS`` events on different inputs. Baseline: the median seconds of
    the full recomputation (the ratio is incremental time over full time). Checked:
    each result is what the in-memory footprints give, and one of the graph's own
    castings replayed the same way gives the full recomputation's results. Not timed,
    logged for reference: how long ``carbon.graph.build``'s lookups of one event by
    ``created_seq`` and ``seq`` take at this size (no index covers them).
"""

from __future__ import annotations

import json
import math
import random
import statistics
import sys
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import repeat
from time import perf_counter
from typing import Any

import numpy as np
import psycopg
from django.db import connection
from tqdm import tqdm

from bench.carbon_graph import (
    COLUMNS_FLOW,
    COLUMNS_OBJECT,
    DIE_CASTING_KWH_PER_KG,
    LOSS_SHARE,
    NODES_PER_CELL,
    REMELTING_GAS_M3_PER_KG,
    REMELTING_KWH_PER_KG,
    SHREDDING_KWH_PER_KG,
    Expected,
    Generator,
    Prices,
)
from bench.database import BenchDatabase
from bench.report import BenchError, Result
from carbon.engine import (
    CUT_OFF,
    MAIN_PRODUCTION,
    PHYSICAL,
    RAW_MATERIAL,
    STAGES,
    Activity,
    Footprint,
    Source,
    collector_paused,
    compute,
)
from carbon.engine.linear import Network, root_kinds, solve
from carbon.factors import FactorBook
from carbon.graph import root_source
from carbon.selectors import footprints_known
from carbon.services import parameters
from traceability import services
from traceability.models import MassFlow, Site, TraceableObject
from traceability.selectors import ledger_size

_RAW, _MAIN = STAGES.index(RAW_MATERIAL), STAGES.index(MAIN_PRODUCTION)
TARGET_FULL = "<=1"
TARGET_INCREMENTAL = "<=0.01"
# The size asked for: 1,000,000 objects (21,276 cells of 47), which fits the budget (see above).
NODES = 1_000_000
CELLS = NODES // NODES_PER_CELL
CHUNK = 50_000
ROUNDS = 3
INCREMENTAL_EVENTS = 31
SEQ_OFFSET = 1_000_000_000
METHOD, CHAIN = CUT_OFF, PHYSICAL
COUNTRY = "DE"
# Cells whose second remelt's first ingot lot is checked against the generator's figures.
CHECK_CELLS = frozenset({0, 1, CELLS // 2, CELLS - 1})

OBJECTS_QUERY = """
SELECT id, kind, initial_kg::float8, created_seq, inflow_kg = 0, CASE WHEN inflow_kg = 0 THEN attributes END
FROM traceability_traceableobject
WHERE created_seq BETWEEN %(first)s AND %(last)s
"""
FLOWS_QUERY = """
SELECT source_id, target_id, kg::float8, seq
FROM traceability_massflow
WHERE seq BETWEEN %(first)s AND %(last)s
"""
RESULT_COLUMNS = (
    "node_id", "method", "chain", "per_kg", "total_per_kg", "total_kg", "pre_consumer_share",
    "post_consumer_share", "post_consumer_by_make", "primary_data_share", "pending_recycled",
    "factors", "ledger_size", "computed_at",
)  # fmt: skip


@dataclass
class Graph:
    """The graph written for this run, and what the full recomputation left for the incremental one."""

    first_seq: int
    last_seq: int
    objects: int
    flows: int
    events: int
    sites: tuple[int, int, int]
    expected: list[Expected]
    book: FactorBook
    prices: Prices
    full_seconds: float | None = None
    results: Mapping[int, Footprint] | None = None
    network: Network | None = None
    output_kg: np.ndarray | None = None

    @property
    def bounds(self) -> dict[str, int]:
        return {"first": self.first_seq, "last": self.last_seq}


_GRAPH: Graph | None = None


def _graph(database: BenchDatabase) -> Graph:
    global _GRAPH
    if _GRAPH is None:
        _GRAPH = _build(database)
    return _GRAPH


def _log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr)


# --- carbon_full ---------------------------------------------------------------------


def run_full(database: BenchDatabase) -> Result:
    graph = _graph(database)
    subjects: list[float] = []
    baselines: list[float] = []
    ends: list[float] = []
    with database.connect() as conn:
        _read_flows_only(conn, graph, desc="carbon_full: baseline warm-up")
        for number in range(1, ROUNDS + 1):
            # Only the last round's results are kept: drop the previous ones first.
            graph.results, graph.network = None, None
            seconds, results, parts = _full(conn, graph, desc=f"carbon_full: subject {number}/{ROUNDS}")
            graph.results = results
            del results
            baseline = _read_flows_only(conn, graph, desc=f"carbon_full: baseline {number}/{ROUNDS}")
            computing = parts[2] + parts[3]
            subjects.append(computing)
            baselines.append(baseline)
            ends.append(seconds)
            _log(
                f"carbon_full: round {number}: end to end {seconds:.2f} s = {_parts(parts)}; "
                f"baseline (read flows) {baseline:.2f} s; "
                f"computing (build + compute) / baseline = {computing / baseline:.2f}, "
                f"end to end / baseline = {seconds / baseline:.2f}"
            )
    assert graph.results is not None
    _check_full(graph, graph.results)
    subject, baseline = statistics.median(subjects), statistics.median(baselines)
    end_to_end = statistics.median(ends)
    graph.full_seconds = end_to_end
    _log(
        f"carbon_full: median computing {subject:.2f} s, baseline {baseline:.2f} s; end to end "
        f"{end_to_end:.2f} s (ratio {end_to_end / baseline:.2f}): {graph.objects / end_to_end:,.0f} objects/s, "
        f"{graph.flows / end_to_end:,.0f} flows/s ({NODES / (graph.objects / end_to_end):.1f} s per 1,000,000 objects)"
    )
    return Result.of(value=subject, baseline=baseline, unit="s", target=TARGET_FULL)


def _parts(parts: tuple[float, float, float, float]) -> str:
    return (
        f"read objects and make roots {parts[0]:.2f} s + read flows and group them {parts[1]:.2f} s "
        f"+ build arrays {parts[2]:.2f} s + compute {parts[3]:.2f} s"
    )


def _full(
    conn: psycopg.Connection[Any], graph: Graph, *, desc: str
) -> tuple[float, Mapping[int, Footprint], tuple[float, float, float, float]]:
    """Seconds of one full recomputation, its results and the time of each part (its network
    stays in ``graph.network``)."""
    started = perf_counter()
    sources, outputs, products, made = _read_objects(conn, graph, desc=desc)
    read_objects = perf_counter()
    consumed = _read_flows(conn, graph, desc=desc)
    read_flows = perf_counter()
    with collector_paused():  # as carbon.services.footprints_recompute does
        net = _network(graph, sources, consumed, outputs, products, made)
        built = perf_counter()
        results = solve(net, method=METHOD, params=parameters(graph.book))
    finished = perf_counter()
    graph.network = net
    breakdown = (read_objects - started, read_flows - read_objects, built - read_flows, finished - built)
    return finished - started, results, breakdown


def _read_objects(
    conn: psycopg.Connection[Any], graph: Graph, *, desc: str
) -> tuple[list[Source], dict[int, list[tuple[int, float]]], dict[int, list[int]], dict[int, str]]:
    """Roots as sources; the other objects by the event that made them (and its kind)."""
    sources: list[Source] = []
    outputs: dict[int, list[tuple[int, float]]] = defaultdict(list)
    products: dict[int, list[int]] = defaultdict(list)
    made: dict[int, str] = {}
    book = graph.book
    with (
        conn.cursor(name="carbon_objects", binary=True) as cursor,
        tqdm(total=graph.objects, desc=f"{desc} (objects)", unit="row", leave=False) as bar,
    ):
        cursor.execute(OBJECTS_QUERY, graph.bounds)
        while rows := cursor.fetchmany(CHUNK):
            for pk, kind, kg, seq, root, attributes in rows:
                if root:
                    sources.append(root_source(_Object(pk, kind, kg, attributes), book))
                    continue
                outputs[seq].append((pk, kg))
                if kind == "part":
                    products[seq].append(pk)
                    made[seq] = kind
                elif seq not in made:
                    made[seq] = kind
            bar.update(len(rows))
    conn.rollback()
    return sources, outputs, products, made


class _Object:
    """What ``carbon.graph.root_source`` reads of a ``TraceableObject``."""

    __slots__ = ("attributes", "initial_kg", "kind", "pk")

    def __init__(self, pk: int, kind: str, initial_kg: float, attributes: dict[str, Any]) -> None:
        self.pk, self.kind, self.initial_kg, self.attributes = pk, kind, initial_kg, attributes


def _read_flows(conn: psycopg.Connection[Any], graph: Graph, *, desc: str) -> dict[int, dict[int, float]]:
    """kg of each source that reached the outputs, by event."""
    consumed: dict[int, dict[int, float]] = {}
    with (
        conn.cursor(name="carbon_flows", binary=True) as cursor,
        tqdm(total=graph.flows, desc=f"{desc} (flows)", unit="row", leave=False) as bar,
    ):
        cursor.execute(FLOWS_QUERY, graph.bounds)
        while rows := cursor.fetchmany(CHUNK):
            for source, _target, kg, seq in rows:
                into = consumed.get(seq)
                if into is None:
                    into = consumed[seq] = {}
                into[source] = into.get(source, 0.0) + kg
            bar.update(len(rows))
    conn.rollback()
    return consumed


def _read_flows_only(conn: psycopg.Connection[Any], graph: Graph, *, desc: str) -> float:
    """The baseline: seconds to fetch the same flow rows the same way, doing nothing with them."""
    count = 0
    started = perf_counter()
    with (
        conn.cursor(name="carbon_flows", binary=True) as cursor,
        tqdm(total=graph.flows, desc=desc, unit="row", leave=False) as bar,
    ):
        cursor.execute(FLOWS_QUERY, graph.bounds)
        while rows := cursor.fetchmany(CHUNK):
            count += len(rows)
            bar.update(len(rows))
    conn.rollback()
    seconds = perf_counter() - started
    if count != graph.flows:
        raise BenchError(f"the baseline read {count} flows, the graph has {graph.flows}")
    return seconds


def _network(
    graph: Graph,
    sources: list[Source],
    consumed: dict[int, dict[int, float]],
    outputs: dict[int, list[tuple[int, float]]],
    products: dict[int, list[int]],
    made: dict[int, str],
) -> Network:
    """The engine's arrays: inputs back from the flows (losses are a fixed share), energy priced."""
    prices = graph.prices
    remelting = REMELTING_KWH_PER_KG * prices.electricity + REMELTING_GAS_M3_PER_KG * prices.gas
    # Per kind of event: the share of its inputs that came out, process burden per kg made,
    # the stage it goes to, and whether it substitutes (remelting).
    kinds = {
        "part": (1.0 - LOSS_SHARE["part"], DIE_CASTING_KWH_PER_KG * prices.electricity, _MAIN, False),
        "ingot_lot": (1.0 - LOSS_SHARE["ingot_lot"], remelting, _RAW, True),
        "scrap_lot": (1.0 - LOSS_SHARE["scrap_lot"], SHREDDING_KWH_PER_KG * prices.electricity, _RAW, False),
    }
    root_nodes, root_kinds_of, root_prototypes = root_kinds(sources)
    seqs = sorted(consumed)
    input_activity: list[int] = []
    input_node: list[int] = []
    input_kg: list[float] = []
    output_activity: list[int] = []
    output_node: list[int] = []
    output_kg: list[float] = []
    output_product: list[bool] = []
    kept: list[float] = []
    per_kg: list[float] = []
    stage: list[int] = []
    substitutes: list[bool] = []
    none: frozenset[int] = frozenset()
    for index, seq in enumerate(seqs):
        share, price, at, substituting = kinds[made[seq]]
        kept.append(share)
        per_kg.append(price)
        stage.append(at)
        substitutes.append(substituting)
        reached = consumed[seq]
        input_activity.extend(repeat(index, len(reached)))
        input_node.extend(reached)
        input_kg.extend(reached.values())
        out = outputs[seq]
        parts = frozenset(products[seq]) if seq in products else none
        for node, kg in out:
            output_activity.append(index)
            output_node.append(node)
            output_kg.append(kg)
            output_product.append(node in parts)
    activities = len(seqs)
    inputs_of = np.array(input_activity, dtype=np.int64)
    outputs_of = np.array(output_activity, dtype=np.int64)
    out_kg = np.bincount(outputs_of, weights=np.array(output_kg), minlength=activities)
    process = np.zeros((activities, len(STAGES)))
    process[np.arange(activities), np.array(stage, dtype=np.int64)] = out_kg * np.array(per_kg)
    no_ids = np.zeros(0, dtype=np.int64)
    graph.output_kg = np.array(output_kg)
    return Network(
        root_nodes=root_nodes,
        root_kinds=root_kinds_of,
        kinds=root_prototypes,
        known_nodes=no_ids,
        known=[],
        seqs=np.array(seqs, dtype=np.int64),
        out_kg=out_kg,
        process=process,
        substitutes=np.array(substitutes, dtype=bool),
        unmixed=np.zeros(activities, dtype=bool),
        input_activity=inputs_of,
        input_node=np.array(input_node, dtype=np.int64),
        input_kg=np.array(input_kg) / np.array(kept)[inputs_of],
        output_activity=outputs_of,
        output_node=np.array(output_node, dtype=np.int64),
        output_product=np.array(output_product, dtype=bool),
        # Every output is aluminium (the default material, whole): one group per activity.
        output_key=np.zeros(len(output_node), dtype=np.int64),
        output_group=np.zeros(len(output_node), dtype=np.int64),
        group_count=np.ones(activities, dtype=np.int64),
        group_key=np.zeros(activities, dtype=np.int64),
        keys=[(None, 1.0)],
        flow_activity=no_ids,
        flow_source=no_ids,
        flow_target=no_ids,
    )


def _activity(graph: Graph, index: int) -> Activity:
    """One activity of the network back as the engine's plain value (for the incremental checks)."""
    net = graph.network
    assert net is not None and graph.output_kg is not None
    inputs = np.flatnonzero(net.input_activity == index)
    outputs = np.flatnonzero(net.output_activity == index)
    return Activity(
        seq=int(net.seqs[index]),
        inputs=tuple(zip(net.input_node[inputs].tolist(), net.input_kg[inputs].tolist(), strict=True)),
        outputs=tuple(zip(net.output_node[outputs].tolist(), graph.output_kg[outputs].tolist(), strict=True)),
        burdens=dict(zip(STAGES, net.process[index].tolist(), strict=True)),
        period="2026",
        substitutes=bool(net.substitutes[index]),
        products=frozenset(net.output_node[outputs][net.output_product[outputs]].tolist()),
    )


def _compute(
    graph: Graph, sources: list[Source], activities: list[Activity], known: dict[int, Footprint] | None = None
) -> dict[int, Footprint]:
    return compute(
        sources,
        activities,
        method=METHOD,
        chain=CHAIN,
        params=parameters(graph.book),
        known=known,
    )


def _last_casting(graph: Graph) -> int:
    """Index of the graph's last die-casting activity (the last one that made products)."""
    assert graph.network is not None
    return int(graph.network.output_activity[graph.network.output_product].max())


def _check_full(graph: Graph, results: Mapping[int, Footprint]) -> None:
    if len(results) != graph.objects:
        raise BenchError(f"the full recomputation gave {len(results)} footprints for {graph.objects} objects")
    if len(graph.expected) != len(CHECK_CELLS):
        raise BenchError(f"{len(graph.expected)} expected footprints for {len(CHECK_CELLS)} checked cells")
    for expected in graph.expected:
        footprint = results[expected.node]
        got = (
            footprint.shares.post_consumer,
            footprint.shares.pre_consumer,
            footprint.per_kg[RAW_MATERIAL],
        )
        want = (expected.post_consumer, expected.pre_consumer, expected.raw_material_per_kg)
        if any(not math.isclose(g, w, rel_tol=1e-5, abs_tol=1e-6) for g, w in zip(got, want, strict=True)):
            raise BenchError(f"ingot lot {expected.node}: engine gives {got}, the masses give {want}")
    bad = [node for node, footprint in results.items() if not math.isfinite(footprint.total_per_kg)]
    if bad:
        raise BenchError(f"{len(bad)} footprints are not finite, e.g. object {bad[0]}")


# --- carbon_incremental --------------------------------------------------------------


def run_incremental(database: BenchDatabase) -> Result:
    graph = _graph(database)
    if graph.results is None:
        with database.connect() as conn:
            seconds, results, breakdown = _full(conn, graph, desc="carbon_incremental: full")
        _check_full(graph, results)
        graph.full_seconds, graph.results = seconds, results
        _log(f"carbon_incremental: full recomputation {seconds:.2f} s = {_parts(breakdown)}")
    assert graph.results is not None and graph.full_seconds is not None
    _store(database, graph)

    connection.ensure_connection()
    _check_replay(graph)
    events = _new_events(graph)
    times: list[float] = []
    for activity in tqdm(events, desc="carbon_incremental: events", unit="event", leave=False):
        started = perf_counter()
        known = footprints_known(node_ids={node for node, _ in activity.inputs}).get((METHOD, CHAIN), {})
        footprints = _compute(graph, [], [activity], known)
        times.append(perf_counter() - started)
        in_memory = _compute(graph, [], [activity], {node: graph.results[node] for node, _ in activity.inputs})
        if len(footprints) != 1 or not all(_same(f, in_memory[n]) for n, f in footprints.items()):
            raise BenchError(f"event {activity.seq}: the stored footprints give {footprints}, memory {in_memory}")
    value = statistics.median(times)
    _log(
        f"carbon_incremental: median {value * 1000:.2f} ms per event (min {min(times) * 1000:.2f}, "
        f"max {max(times) * 1000:.2f}) against {graph.full_seconds:.2f} s for the full recomputation"
    )
    _log_catch_up_lookups(graph)
    return Result.of(value=value, baseline=graph.full_seconds, unit="s/event", target=TARGET_INCREMENTAL)


def _store(database: BenchDatabase, graph: Graph) -> None:
    """Every footprint of the full recomputation into ``carbon_footprintresult``, by COPY."""
    assert graph.results is not None
    started = perf_counter()
    references = json.dumps(graph.book.references())
    with database.connect() as conn:
        # Skips the per-row foreign-key trigger (superuser only): the nodes were just read from the table.
        conn.execute("SET session_replication_role = replica")
        masses = dict(conn.execute(OBJECTS_MASS_QUERY, graph.bounds).fetchall())
        columns = ", ".join(RESULT_COLUMNS)
        with (
            conn.cursor() as cursor,
            cursor.copy(f"COPY carbon_footprintresult ({columns}) FROM STDIN") as copy,
            tqdm(total=len(graph.results), desc="carbon_incremental: store", unit="row", leave=False) as bar,
        ):
            lines = []
            for node, footprint in graph.results.items():
                total = footprint.total_per_kg
                shares = footprint.shares
                lines.append(
                    f"{node}\t{METHOD}\t{CHAIN}\t{json.dumps(footprint.per_kg)}\t{total!r}\t{total * masses[node]!r}\t"
                    f"{shares.pre_consumer!r}\t{shares.post_consumer!r}\t{json.dumps(dict(shares.by_make))}\t"
                    f"{footprint.primary_data_share!r}\t{'t' if footprint.pending_recycled else 'f'}\t"
                    f"{references}\t{graph.last_seq}\tnow\n"
                )
                if len(lines) == CHUNK:
                    copy.write("".join(lines))
                    bar.update(len(lines))
                    lines = []
            copy.write("".join(lines))
            bar.update(len(lines))
        conn.commit()
    with database.connect(autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE carbon_footprintresult")
    _log(f"carbon_incremental: stored {len(graph.results):,} footprints in {perf_counter() - started:.1f} s")


OBJECTS_MASS_QUERY = """
SELECT id, initial_kg::float8 FROM traceability_traceableobject WHERE created_seq BETWEEN %(first)s AND %(last)s
"""


def _check_replay(graph: Graph) -> None:
    """A casting of the graph, recomputed from its stored inputs, is what the full recomputation gave."""
    assert graph.results is not None
    activity = _activity(graph, _last_casting(graph))
    known = footprints_known(node_ids={node for node, _ in activity.inputs}).get((METHOD, CHAIN), {})
    replayed = _compute(graph, [], [activity], known)
    differing = [node for node, footprint in replayed.items() if not _same(footprint, graph.results[node])]
    if len(replayed) != len(activity.outputs) or differing:
        raise BenchError(f"replaying event {activity.seq} incrementally changes {len(differing)} footprints")


def _log_catch_up_lookups(graph: Graph) -> None:
    """For reference, not in the ratio: ``carbon.graph.build`` finds an event's outputs by ``created_seq``
    (and the flows of an unmixed event by ``seq``), columns no index covers at this size."""
    seq = int(graph.network.seqs[_last_casting(graph)]) if graph.network is not None else graph.last_seq
    outputs, flows = [], []
    for _ in range(5):
        started = perf_counter()
        list(TraceableObject.objects.filter(created_seq__in=[seq]).order_by("pk"))
        outputs.append(perf_counter() - started)
        started = perf_counter()
        list(MassFlow.objects.filter(seq__in=[seq]).values_list("source_id", "target_id", "kg", "seq"))
        flows.append(perf_counter() - started)
    _log(
        "carbon_incremental: for reference (not timed above), the catch-up's lookups of one event in "
        f"carbon.graph.build: objects by created_seq {statistics.median(outputs) * 1000:.1f} ms, "
        f"flows by seq {statistics.median(flows) * 1000:.1f} ms (median of 5)"
    )


def _same(a: Footprint, b: Footprint) -> bool:
    """Equal but for rounding: the stored primary-data share is a ratio, so it comes back to the last bit or so."""
    numbers_a = [*a.per_kg.values(), a.shares.pre_consumer, a.shares.post_consumer, a.primary_data_share]
    numbers_b = [*b.per_kg.values(), b.shares.pre_consumer, b.shares.post_consumer, b.primary_data_share]
    return (
        a.per_kg.keys() == b.per_kg.keys()
        and a.pending_recycled == b.pending_recycled
        and dict(a.shares.by_make).keys() == dict(b.shares.by_make).keys()
        and all(math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-15) for x, y in zip(numbers_a, numbers_b, strict=True))
        and all(math.isclose(v, dict(b.shares.by_make)[k], rel_tol=1e-12) for k, v in a.shares.by_make)
    )


def _new_events(graph: Graph) -> list[Activity]:
    """Melts of three ingot lots and a silicon lot, each on inputs of its own, after the graph's last event."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT id, kind, remaining_kg::float8 FROM traceability_traceableobject
            WHERE created_seq BETWEEN %s AND %s AND kind IN ('ingot_lot', 'alloying') AND remaining_kg >= 40
            ORDER BY id
            """,
            [graph.first_seq, graph.last_seq],
        )
        rows = cursor.fetchall()
        cursor.execute("SELECT max(id) FROM traceability_traceableobject")
        (last_id,) = cursor.fetchone()
    chooser = random.Random(20261101)
    ingots = chooser.sample([(pk, kg) for pk, kind, kg in rows if kind == "ingot_lot"], 3 * INCREMENTAL_EVENTS)
    silicon = chooser.sample([pk for pk, kind, kg in rows if kind == "alloying" and kg < 100], INCREMENTAL_EVENTS)
    prices = graph.prices
    events = []
    for number in range(INCREMENTAL_EVENTS):
        inputs = (*((pk, min(kg, 500.0)) for pk, kg in ingots[3 * number : 3 * number + 3]), (silicon[number], 40.0))
        consumed = sum(kg for _, kg in inputs)
        out_kg = consumed * (1 - LOSS_SHARE["ingot_lot"])
        events.append(
            Activity(
                seq=graph.last_seq + 1 + number,
                inputs=inputs,
                outputs=((last_id + 1 + number, out_kg),),
                losses_kg=consumed - out_kg,
                burdens={RAW_MATERIAL: out_kg * REMELTING_KWH_PER_KG * prices.electricity},
                site=graph.sites[2],
                period="2026",
            )
        )
    return events


# --- writing the graph ----------------------------------------------------------------


def _build(database: BenchDatabase) -> Graph:
    started = perf_counter()
    shredder = services.organisation_create(
        slug="bench-carbon-shredder", name="Bench Carbon Shredder", role="dismantler"
    )
    remelter = services.organisation_create(slug="bench-carbon-remelter", name="Bench Carbon Remelter", role="remelter")
    caster = services.organisation_create(slug="bench-carbon-caster", name="Bench Carbon Caster", role="die_caster")
    organisations = (shredder, remelter, caster)
    shredder_site, remelter_site, caster_site = (
        Site.objects.create(organisation=o, name=f"{o.name} site", country=COUNTRY).pk for o in organisations
    )
    sites = (shredder_site, remelter_site, caster_site)
    book = FactorBook.load()
    prices = Prices(
        scrap_sorting=book.value("scrap_collection_sorting"),
        primary={p: book.value("primary_aluminium", p) for p in ("hydro", "coal", "global")},
        silicon=book.value("alloying_element", "Si"),
        electricity=book.value("electricity_grid", COUNTRY),
        gas=book.value("natural_gas_combustion"),
    )
    # The graph has no ledger entries: its seqs start far beyond any the later benchmarks
    # append, or their catch-ups would take its objects and flows for their events' own.
    first_seq = SEQ_OFFSET + max(
        ledger_size(),
        TraceableObject.objects.order_by("-created_seq").values_list("created_seq", flat=True).first() or 0,
        MassFlow.objects.order_by("-seq").values_list("seq", flat=True).first() or 0,
    )
    first_id = 1 + (TraceableObject.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)
    generator = Generator(
        cells=CELLS,
        first_id=first_id,
        first_seq=first_seq,
        organisations=(shredder.pk, remelter.pk, caster.pk),
        sites=sites,
        prices=prices,
        check_cells=CHECK_CELLS,
    )
    _write(database, generator)
    graph = Graph(
        first_seq=first_seq,
        last_seq=generator.last_seq,
        objects=generator.object_count,
        flows=generator.flow_count,
        events=generator.last_seq - first_seq + 1,
        sites=sites,
        expected=generator.expected,
        book=book,
        prices=prices,
    )
    _log(
        f"carbon: wrote {graph.objects:,} objects and {graph.flows:,} flows ({graph.events:,} events, "
        f"seq {graph.first_seq}..{graph.last_seq}) in {perf_counter() - started:.1f} s"
    )
    return graph


def _write(database: BenchDatabase, generator: Generator) -> None:
    """COPY both tables at once (two sessions), foreign keys checked afterwards in one query."""
    objects_copy = f"COPY traceability_traceableobject ({', '.join(COLUMNS_OBJECT)}) FROM STDIN"
    flows_copy = f"COPY traceability_massflow ({', '.join(COLUMNS_FLOW)}) FROM STDIN"
    with database.connect() as objects_conn, database.connect() as flows_conn:
        for conn in (objects_conn, flows_conn):
            # Skips the per-row foreign-key triggers of COPY (superuser only); checked below.
            conn.execute("SET session_replication_role = replica")
        with (
            objects_conn.cursor() as objects_cursor,
            flows_conn.cursor() as flows_cursor,
            objects_cursor.copy(objects_copy) as objects,
            flows_cursor.copy(flows_copy) as flows,
            tqdm(total=generator.cells, desc="carbon: writing the graph", unit="cell", leave=False) as bar,
        ):
            cells = 0
            objects_lines: list[str] = []
            flows_lines: list[str] = []
            for cell in generator:
                objects_lines += cell.objects
                flows_lines += cell.flows
                cells += 1
                if len(flows_lines) >= CHUNK:
                    objects.write("\n".join(objects_lines) + "\n")
                    flows.write("\n".join(flows_lines) + "\n")
                    objects_lines, flows_lines = [], []
                    bar.update(min(cells, generator.cells) - bar.n)
            if objects_lines:
                objects.write("\n".join(objects_lines) + "\n")
            if flows_lines:
                flows.write("\n".join(flows_lines) + "\n")
        objects_conn.commit()
        flows_conn.commit()
    with database.connect(autocommit=True) as conn:
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('traceability_traceableobject', 'id'), "
            "(SELECT max(id) FROM traceability_traceableobject))"
        )
        for table in ("traceability_traceableobject", "traceability_massflow"):
            conn.execute(f"VACUUM ANALYZE {table}")
        (dangling,) = conn.execute(
            """
            SELECT count(*) FROM traceability_massflow f
            WHERE f.seq >= %s
              AND (NOT EXISTS (SELECT 1 FROM traceability_traceableobject o WHERE o.id = f.source_id)
                   OR NOT EXISTS (SELECT 1 FROM traceability_traceableobject o WHERE o.id = f.target_id))
            """,
            [generator.first_seq],
        ).fetchone()
    if dangling:
        raise BenchError(f"{dangling} flows name an object that does not exist")


def drop_graph(database: BenchDatabase) -> None:
    """Remove this run's graph and its stored results, if one was written (benchmarks after these
    two that recompute everything would otherwise read and delete a million rows they did not make)."""
    global _GRAPH
    if _GRAPH is None:
        return
    graph, _GRAPH = _GRAPH, None
    started = perf_counter()
    connection.close()
    with database.connect() as conn:
        # Skips the per-row foreign-key triggers (superuser only): only the graph refers to the graph.
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            "DELETE FROM carbon_footprintresult WHERE node_id IN "
            "(SELECT id FROM traceability_traceableobject WHERE created_seq BETWEEN %(first)s AND %(last)s)",
            graph.bounds,
        )
        conn.execute("DELETE FROM traceability_massflow WHERE seq BETWEEN %(first)s AND %(last)s", graph.bounds)
        conn.execute(
            "DELETE FROM traceability_traceableobject WHERE created_seq BETWEEN %(first)s AND %(last)s", graph.bounds
        )
        conn.commit()
    with database.connect(autocommit=True) as conn:
        for table in ("carbon_footprintresult", "traceability_massflow", "traceability_traceableobject"):
            conn.execute(f"VACUUM ANALYZE {table}")
    _log(f"carbon: removed the 1,000,000-object graph and its results in {perf_counter() - started:.1f} s")
