"""The engine's linear solution: every footprint of a graph at once, under physical custody.

Under physical custody each number of a node is a mass-weighted sum of its inputs' numbers
plus constants of its own activity (``compute``'s conventions 1-6 and 8), so the whole
graph is one sparse, lower-triangular linear system in ledger order. The unknowns are the
states of the graph: one per mixing activity (all its outputs share it, convention 1), or
one per material where a substituting activity makes outputs of several (black-mass refining:
salts of Co, Ni, Li...; each such group reads all the activity's inputs), and one per explicit
flow of an unmixed one; roots and ``known`` nodes are given. Three systems share the unknowns
and are solved with SciPy's sparse triangular solver:

- the burden system (raw material, main production, distribution per kg, and primary
  kg CO2e per kg): an input's weight is ``kg / out_kg``, times the group material's A where
  the CFF substitutes it; there the activity's own process burden is counted
  ``1 - (1 - A) R1`` times and ``(1 - A) E_v Qs_in/Qp content R1`` is added to raw material
  (convention 5);
- the shares system (pre-consumer, post-consumer, post-consumer per vehicle make): an
  input's weight is ``kg / kg in``; an activity whose inputs weigh nothing has none;
- whether a state is still wholly recycled material not yet remelted ("pending"): a count
  of the ways a state reaches material that is not (virgin material, a substitution, an
  activity without inputs), which is zero exactly when it is pending. The CFF needs it
  before the burden system is built.

End of life never flows on (convention 6): a state's end of life is its own activity's,
and a CFF product adds its own. Ledger order decides which state of a node an activity
reads: a node re-made by a later activity (hot metal hauled in a molten transfer) is
read in the state it had before the reader. The result is columnar (``Results``, a
mapping of node to ``Footprint`` that makes each footprint when it is asked for).

Mass balance is a sequential account (convention 7): ``carbon.engine.walk`` walks it in ledger order.
Its claims (``Activity.claim``) are left out here: under physical custody they change nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import ItemsView, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csc_array
from scipy.sparse.linalg import spsolve_triangular

from carbon.engine.model import (
    CFF,
    STAGES,
    Activity,
    Footprint,
    Parameters,
    Shares,
    Source,
)
from carbon.engine.terms import (
    END_OF_LIFE_INDEX,
    State,
    cff_end_of_life,
    cff_process_kept,
    cff_replaced,
    footprint_of,
    input_unknown_error,
    known_state,
    method_checked,
    outputs_empty_error,
    root_kind,
    root_state,
    stage_values,
)

_INT = np.int64


@dataclass(frozen=True)
class Network:
    """A graph as arrays, its activities in ledger order (index ``0..M-1`` by ``seq``).

    Roots: ``root_nodes[i]`` starts as ``kinds[root_kinds[i]]`` (roots alike share a kind;
    a kind's ``node`` and ``mass_kg`` are not read). ``known_nodes[i]`` has the result
    ``known[i]``. Per activity: ``seqs``, ``out_kg`` (kg of all its outputs), ``process``
    (kg CO2e by stage, ``STAGES`` order), ``substitutes`` and ``unmixed`` (it has explicit
    flows). Mixing activities list their inputs (``input_activity``, ``input_node``,
    ``input_kg``) and outputs (``output_activity``, ``output_node``, ``output_product``);
    unmixed ones list their flows (``flow_activity``, ``flow_source``, ``flow_target``),
    each of which makes one state. Every ``*_activity`` column is sorted.

    Materials (the CFF's): ``keys`` lists the (material, content) of outputs (``None``: the
    default material), ``output_key`` indexes it. A mixing activity's outputs fall in
    ``group_count`` groups, ``output_group`` each: one per material where it substitutes, one
    otherwise; ``group_key`` gives each group's key (all groups, in activity order).
    """

    root_nodes: np.ndarray
    root_kinds: np.ndarray
    kinds: Sequence[Source]
    known_nodes: np.ndarray
    known: Sequence[Footprint]
    seqs: np.ndarray
    out_kg: np.ndarray
    process: np.ndarray
    substitutes: np.ndarray
    unmixed: np.ndarray
    input_activity: np.ndarray
    input_node: np.ndarray
    input_kg: np.ndarray
    output_activity: np.ndarray
    output_node: np.ndarray
    output_product: np.ndarray
    output_key: np.ndarray
    output_group: np.ndarray
    group_count: np.ndarray
    group_key: np.ndarray
    keys: Sequence[tuple[str | None, float]]
    flow_activity: np.ndarray
    flow_source: np.ndarray
    flow_target: np.ndarray


def root_kinds(sources: Iterable[Source]) -> tuple[np.ndarray, np.ndarray, list[Source]]:
    """Root nodes, the kind of each, and one source per kind (a graph has few kinds of roots)."""
    index: dict[tuple[object, ...], int] = {}
    kinds: list[Source] = []
    nodes: list[int] = []
    of: list[int] = []
    for source in sources:
        key = root_kind(source)
        kind = index.get(key)
        if kind is None:
            kind = index[key] = len(kinds)
            kinds.append(source)
        nodes.append(source.node)
        of.append(kind)
    return np.array(nodes, dtype=_INT), np.array(of, dtype=_INT), kinds


def network(
    sources: Iterable[Source], activities: Iterable[Activity], known: Mapping[int, Footprint] | None = None
) -> Network:
    """The arrays of a graph given as the engine's plain values."""
    nodes, kinds_of, kinds = root_kinds(sources)
    # Recycled-content claims are mass-balance facts: physical custody has no use for them.
    ordered = sorted((a for a in activities if a.claim is None), key=lambda a: a.seq)
    inputs_a: list[int] = []
    inputs_n: list[int] = []
    inputs_kg: list[float] = []
    outputs_a: list[int] = []
    outputs_n: list[int] = []
    outputs_p: list[bool] = []
    outputs_k: list[int] = []
    outputs_g: list[int] = []
    group_count: list[int] = []
    groups_k: list[int] = []
    keys: dict[tuple[str | None, float], int] = {(None, 1.0): 0}
    flows_a: list[int] = []
    flows_s: list[int] = []
    flows_t: list[int] = []
    for index, activity in enumerate(ordered):
        if activity.flows:
            for source, target, _kg in activity.flows:
                flows_a.append(index)
                flows_s.append(source)
                flows_t.append(target)
            group_count.append(0)
            continue
        for node, kg in activity.inputs:
            inputs_a.append(index)
            inputs_n.append(node)
            inputs_kg.append(kg)
        named = {node: (material, content) for node, material, content in activity.materials}
        groups: dict[int, int] = {}
        for node, _kg in activity.outputs:
            key = keys.setdefault(named.get(node, (None, 1.0)), len(keys))
            group = groups.setdefault(key, len(groups)) if activity.substitutes else 0
            if not activity.substitutes and not groups:
                groups[key] = 0
            outputs_a.append(index)
            outputs_n.append(node)
            outputs_p.append(node in activity.products)
            outputs_k.append(key)
            outputs_g.append(group)
        if not groups:
            groups[0] = 0
        group_count.append(len(groups))
        groups_k.extend(groups)
    arrays = Network(
        root_nodes=nodes,
        root_kinds=kinds_of,
        kinds=kinds,
        known_nodes=np.zeros(0, dtype=_INT),
        known=[],
        seqs=np.array([a.seq for a in ordered], dtype=_INT),
        out_kg=np.array([sum(kg for _, kg in a.outputs) for a in ordered], dtype=float),
        process=np.array([stage_values(a.burdens) for a in ordered], dtype=float).reshape(len(ordered), len(STAGES)),
        substitutes=np.array([a.substitutes for a in ordered], dtype=bool),
        unmixed=np.array([bool(a.flows) for a in ordered], dtype=bool),
        input_activity=np.array(inputs_a, dtype=_INT),
        input_node=np.array(inputs_n, dtype=_INT),
        input_kg=np.array(inputs_kg, dtype=float),
        output_activity=np.array(outputs_a, dtype=_INT),
        output_node=np.array(outputs_n, dtype=_INT),
        output_product=np.array(outputs_p, dtype=bool),
        output_key=np.array(outputs_k, dtype=_INT),
        output_group=np.array(outputs_g, dtype=_INT),
        group_count=np.array(group_count, dtype=_INT),
        group_key=np.array(groups_k, dtype=_INT),
        keys=list(keys),
        flow_activity=np.array(flows_a, dtype=_INT),
        flow_source=np.array(flows_s, dtype=_INT),
        flow_target=np.array(flows_t, dtype=_INT),
    )
    return with_known(arrays, known or {})


def with_known(net: Network, known: Mapping[int, Footprint]) -> Network:
    """``net`` with ``known`` as the results of inputs computed before (the rest is shared)."""
    return dataclasses.replace(
        net, known_nodes=np.fromiter(known, dtype=_INT, count=len(known)), known=list(known.values())
    )


def solve(net: Network, *, method: str, params: Parameters) -> Results:
    """Footprints of every root, known node and activity output of ``net`` under physical custody."""
    method_checked(method)
    activities = len(net.seqs)
    empty = np.flatnonzero(~(net.out_kg > 0))
    if empty.size:
        raise outputs_empty_error(int(net.seqs[empty[0]]))

    # Given states: root kinds, then known nodes.
    given = [root_state(kind, method) for kind in net.kinds]
    given += [known_state(footprint) for footprint in net.known]
    makes = sorted({make for state in given for make, _ in state.shares.by_make})
    given_burden = np.array([(*s.per_kg[:END_OF_LIFE_INDEX], s.primary_kg) for s in given], dtype=float).reshape(
        len(given), 4
    )
    given_shares = np.array(
        [(s.shares.pre_consumer, s.shares.post_consumer, *_by_make(s.shares, makes)) for s in given], dtype=float
    ).reshape(len(given), 2 + len(makes))
    given_open = np.array([0.0 if s.pending_recycled else 1.0 for s in given], dtype=float)

    # Unknowns in ledger order: one per group of a mixing activity (one group unless it
    # substitutes outputs of several materials), one per flow of an unmixed one.
    mixing = ~net.unmixed
    groups_of = np.where(mixing, net.group_count, 0)
    per_activity = np.where(net.unmixed, np.bincount(net.flow_activity, minlength=activities), groups_of)
    first = np.concatenate(([0], np.cumsum(per_activity)[:-1])).astype(_INT)
    unknowns = int(per_activity.sum())
    flow_first = np.searchsorted(net.flow_activity, np.arange(activities))
    flow_unknown = first[net.flow_activity] + (np.arange(len(net.flow_activity)) - flow_first[net.flow_activity])
    group_activity = np.repeat(np.arange(activities, dtype=_INT), groups_of)
    group_first = np.concatenate(([0], np.cumsum(groups_of)[:-1])).astype(_INT)
    group_unknown = first[group_activity] + (np.arange(len(group_activity)) - group_first[group_activity])
    # Each group reads all its activity's inputs: an input edge is repeated once per group.
    repeats = net.group_count[net.input_activity]
    if repeats.size and int(repeats.max()) > 1:
        edge = np.repeat(np.arange(len(net.input_activity)), repeats)
        edge_group = np.arange(len(edge)) - np.repeat(np.cumsum(repeats) - repeats, repeats)
    else:
        edge = np.arange(len(net.input_activity))
        edge_group = np.zeros(len(edge), dtype=_INT)
    edge_activity = net.input_activity[edge]
    input_unknown = first[edge_activity] + edge_group

    # Every state a node takes, at the "time" it takes it: given ones before any activity
    # (time 0), activity outputs at their activity's index + 1. State references: given
    # state i is -1 - i, unknown u is u.
    kinds_count = len(net.kinds)
    made_node = np.concatenate((net.root_nodes, net.known_nodes, net.output_node, net.flow_target))
    made_time = np.concatenate(
        (
            np.zeros(len(net.root_nodes) + len(net.known_nodes), dtype=_INT),
            net.output_activity + 1,
            net.flow_activity + 1,
        )
    )
    made_ref = np.concatenate(
        (
            -1 - net.root_kinds,
            -1 - kinds_count - np.arange(len(net.known_nodes), dtype=_INT),
            first[net.output_activity] + net.output_group,
            flow_unknown,
        )
    )
    # A CFF product's own end of life, by its material (convention 5).
    materials = [params.of(material) for material, _ in net.keys]
    key_end_of_life = np.array(
        [cff_end_of_life(material, content) for material, (_, content) in zip(materials, net.keys, strict=True)]
    )
    made_end_of_life = np.concatenate(
        (
            np.zeros(len(net.root_nodes) + len(net.known_nodes)),
            np.where(net.output_product, key_end_of_life[net.output_key], 0.0)
            if method == CFF
            else np.zeros(len(net.output_node)),
            np.zeros(len(net.flow_target)),
        )
    )
    timeline = _Timeline(made_node, made_time)

    def state_before(node: np.ndarray, activity: np.ndarray, seq_of: np.ndarray) -> np.ndarray:
        """The state each ``node`` had when ``activity`` read it (the last one made before)."""
        made, found = timeline.before(node, activity)
        if not found.all():
            missing = int(np.flatnonzero(~found)[0])
            raise input_unknown_error(int(seq_of[missing]), int(node[missing]))
        refs: np.ndarray = made_ref[made]
        return refs

    input_ref = state_before(net.input_node, net.input_activity, net.seqs[net.input_activity])
    flow_ref = state_before(net.flow_source, net.flow_activity, net.seqs[net.flow_activity])

    # The pending system: count the ways a state reaches material that is not pending.
    rows = np.concatenate((input_unknown, flow_unknown))
    refs = np.concatenate((input_ref[edge], flow_ref))
    from_given = refs < 0
    given_of = -1 - refs[from_given]
    has_inputs = np.bincount(net.input_activity, minlength=activities) > 0
    opens = np.zeros(unknowns)
    opens[group_unknown] = (net.substitutes | ~has_inputs)[group_activity]
    np.add.at(opens, rows[from_given], given_open[given_of])
    ones = np.ones(int((~from_given).sum()))
    reaching = _solve(unknowns, rows[~from_given], refs[~from_given], ones, opens[:, None])[:, 0]
    pending = reaching == 0

    # The burden system.
    out_kg = net.out_kg
    kg_in = np.bincount(net.input_activity, weights=net.input_kg, minlength=activities)
    weight = np.concatenate((net.input_kg[edge] / out_kg[edge_activity], np.ones(len(net.flow_source))))
    kept = np.ones(len(group_unknown))
    extra = np.zeros(unknowns)
    if method == CFF:
        # Where the CFF substitutes, each group weighs the wholly recycled inputs' burdens and the
        # recycled share R1 of its own process burden by its material's A, and adds the virgin
        # material its recycled content replaces (convention 5).
        input_pending = np.zeros(len(input_ref), dtype=bool)
        given_input = input_ref < 0
        input_pending[given_input] = given_open[-1 - input_ref[given_input]] == 0
        input_pending[~given_input] = pending[input_ref[~given_input]]
        recycled = net.substitutes[net.input_activity] & input_pending
        recycled_in = np.where(recycled, net.input_kg, 0.0)
        recycled_kg = np.bincount(net.input_activity, weights=recycled_in, minlength=activities)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(kg_in > 0, recycled_kg / kg_in, 0.0)
        key_a = np.array([m.a for m in materials], dtype=float)
        key_virgin = np.array([m.e_virgin_per_kg for m in materials], dtype=float)
        key_qs_in = np.array([m.qs_in_over_qp for m in materials], dtype=float)
        key_content = np.array([content for _, content in net.keys], dtype=float)
        group_a = key_a[net.group_key]
        group_share = share[group_activity]
        kept = cff_process_kept(group_a, group_share)
        extra[group_unknown] = cff_replaced(
            group_a, key_virgin[net.group_key], key_qs_in[net.group_key], key_content[net.group_key], group_share
        )
        substituted = np.zeros(len(refs), dtype=bool)
        substituted[: len(edge)] = recycled[edge]
        edge_key = net.group_key[group_first[edge_activity] + edge_group]
        weight[substituted] *= key_a[edge_key[substituted[: len(edge)]]]
    own = net.process / out_kg[:, None]
    burden_rhs = np.zeros((unknowns, 4))
    burden_rhs[group_unknown, :END_OF_LIFE_INDEX] = own[group_activity, :END_OF_LIFE_INDEX] * kept[:, None]
    burden_rhs[group_unknown, 3] = own[group_activity].sum(axis=1) * kept
    burden_rhs[flow_unknown, :END_OF_LIFE_INDEX] = own[net.flow_activity, :END_OF_LIFE_INDEX]
    burden_rhs[flow_unknown, 3] = own[net.flow_activity].sum(axis=1)
    burden_rhs[:, 0] += extra
    np.add.at(burden_rhs, rows[from_given], given_burden[given_of] * weight[from_given, None])
    burdens = _solve(unknowns, rows[~from_given], refs[~from_given], weight[~from_given], burden_rhs)

    # The shares system.
    with np.errstate(divide="ignore", invalid="ignore"):
        mix_weight = np.where(kg_in[edge_activity] > 0, net.input_kg[edge] / kg_in[edge_activity], 0.0)
    share_weight = np.concatenate((mix_weight, np.ones(len(net.flow_source))))
    shares_rhs = np.zeros((unknowns, 2 + len(makes)))
    np.add.at(shares_rhs, rows[from_given], given_shares[given_of] * share_weight[from_given, None])
    shares = _solve(unknowns, rows[~from_given], refs[~from_given], share_weight[~from_given], shares_rhs)

    end_of_life = np.zeros(unknowns)
    end_of_life[group_unknown] = own[group_activity, END_OF_LIFE_INDEX] * kept
    end_of_life[flow_unknown] = own[net.flow_activity, END_OF_LIFE_INDEX]

    # Each node's result is its last state; a known node that nothing re-made has none.
    last = timeline.last()
    last = last[made_ref[last] >= -kinds_count]
    return Results(
        nodes=made_node[last],
        refs=made_ref[last],
        own_end_of_life=made_end_of_life[last],
        given=given,
        burdens=burdens,
        end_of_life=end_of_life,
        shares=shares,
        makes=makes,
        pending=pending,
    )


class _Timeline:
    """The states nodes take, in ledger order ("time" 0 for given ones, an activity's index
    + 1 for what it made): which one an activity reads, and which one each node ends with.

    Node ids are looked up in a table when they are dense (database keys are), by binary
    search otherwise; a node made once (nearly every node) needs no search in time.
    """

    def __init__(self, node: np.ndarray, time: np.ndarray) -> None:
        self._time = time
        self._stride = int(time.max()) + 2 if len(time) else 2
        self._lo = int(node.min()) if len(node) else 0
        span = int(node.max()) - self._lo + 1 if len(node) else 0
        self._dense = span <= 4 * len(node) + 1024
        self._span = span
        if self._dense:
            position = node - self._lo
            size = span
        else:
            self._ids, position = np.unique(node, return_inverse=True)
            size = len(self._ids)
        once = len(node) == 0 or int(np.bincount(position, minlength=size).max()) <= 1
        self._single: np.ndarray | None = None
        if once:
            self._single = np.full(size, -1, dtype=_INT)
            self._single[position] = np.arange(len(node), dtype=_INT)
        else:
            key = position.astype(_INT) * self._stride + time
            self._order = np.argsort(key, kind="stable")
            self._key = key[self._order]

    def _position(self, node: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._dense:
            position = node - self._lo
            found = (position >= 0) & (position < self._span)
            return np.where(found, position, 0), found
        at = np.minimum(np.searchsorted(self._ids, node), max(len(self._ids) - 1, 0))
        found = self._ids[at] == node if len(self._ids) else np.zeros(len(node), dtype=bool)
        return at, found

    def before(self, node: np.ndarray, activity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Index of the state each ``node`` had before ``activity`` (an activity index), and whether it had one."""
        if len(node) == 0 or len(self._time) == 0:
            return np.zeros(len(node), dtype=_INT), np.zeros(len(node), dtype=bool)
        position, found = self._position(node)
        if self._single is not None:
            made = self._single[position]
            found &= made >= 0
            made = np.maximum(made, 0)
            found &= self._time[made] <= activity
            return made, found
        latest = np.searchsorted(self._key, position * self._stride + activity, side="right") - 1
        found &= latest >= 0
        latest = np.maximum(latest, 0)
        found &= self._key[latest] // self._stride == position
        return self._order[latest], found

    def last(self) -> np.ndarray:
        """Index of each node's last state, in the order of node ids."""
        if self._single is not None:
            made = self._single[self._single >= 0]
            return made
        ends = np.append(self._key[1:] // self._stride != self._key[:-1] // self._stride, True)
        last: np.ndarray = self._order[np.flatnonzero(ends)] if len(self._key) else self._order
        return last


def _by_make(shares: Shares, makes: list[str]) -> list[float]:
    fractions = dict(shares.by_make)
    return [fractions.get(make, 0.0) for make in makes]


def _solve(size: int, rows: np.ndarray, columns: np.ndarray, weights: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``x = W x + rhs`` for strictly lower-triangular ``W`` (``W[rows, columns] += weights``)."""
    if size == 0:
        return rhs
    if rows.size == 0:
        return rhs.copy()
    diagonal = np.arange(size, dtype=_INT)
    matrix = csc_array(
        (
            np.concatenate((np.ones(size), -weights)),
            (np.concatenate((diagonal, rows)), np.concatenate((diagonal, columns))),
        ),
        shape=(size, size),
    )
    solution: np.ndarray = spsolve_triangular(matrix, rhs, lower=True)
    return solution


class Results(Mapping[int, Footprint]):
    """Footprints by node, made when asked for (each state's once)."""

    def __init__(
        self,
        *,
        nodes: np.ndarray,
        refs: np.ndarray,
        own_end_of_life: np.ndarray,
        given: list[State],
        burdens: np.ndarray,
        end_of_life: np.ndarray,
        shares: np.ndarray,
        makes: list[str],
        pending: np.ndarray,
    ) -> None:
        self._nodes = nodes
        self._index = {int(node): i for i, node in enumerate(nodes.tolist())} if len(nodes) < 4096 else None
        self._refs = refs
        self._own_end_of_life = own_end_of_life
        self._given = given
        self._burdens = burdens
        self._end_of_life = end_of_life
        self._shares = shares
        self._makes = makes
        self._pending = pending
        self._made: dict[tuple[int, float], Footprint] = {}

    def __len__(self) -> int:
        return len(self._nodes)

    def __iter__(self) -> Iterator[int]:
        return iter(self._nodes.tolist())

    def __contains__(self, node: object) -> bool:
        return self._find(node) is not None

    def __getitem__(self, node: int) -> Footprint:
        at = self._find(node)
        if at is None:
            raise KeyError(node)
        return self._footprint(int(self._refs[at]), float(self._own_end_of_life[at]))

    def items(self) -> ItemsView[int, Footprint]:
        return _Items(self)

    def _pairs(self) -> Iterator[tuple[int, Footprint]]:
        footprint = self._footprint
        columns = (self._nodes.tolist(), self._refs.tolist(), self._own_end_of_life.tolist())
        for node, ref, own_end_of_life in zip(*columns, strict=True):
            yield node, footprint(ref, own_end_of_life)

    def _find(self, node: object) -> int | None:
        if not isinstance(node, int | np.integer):
            return None
        if self._index is not None:
            return self._index.get(int(node))
        at = int(np.searchsorted(self._nodes, node))
        return at if at < len(self._nodes) and self._nodes[at] == node else None

    def _footprint(self, ref: int, own_end_of_life: float) -> Footprint:
        made = self._made.get((ref, own_end_of_life))
        if made is not None:
            return made
        if ref < 0:
            made = self._given[-1 - ref].footprint()
        else:
            raw, main, distribution, primary = self._burdens[ref].tolist()
            end = float(self._end_of_life[ref]) + own_end_of_life
            pre, post, *fractions = self._shares[ref].tolist()
            by_make = tuple((make, f) for make, f in zip(self._makes, fractions, strict=True) if f > 0)
            shares = Shares(pre_consumer=pre, post_consumer=post, by_make=by_make)
            made = footprint_of((raw, main, distribution, end), shares, primary, bool(self._pending[ref]))
        self._made[(ref, own_end_of_life)] = made
        return made


class _Items(ItemsView[int, Footprint]):
    """``Results.items()``: one pass over the columns, not a lookup per node."""

    _mapping: Results

    def __iter__(self) -> Iterator[tuple[int, Footprint]]:
        return self._mapping._pairs()
