"""Footprints and recycled-content shares over the traceability graph.

The graph is the ledger's: roots (``Source``: vehicles, bought scrap, primary ingot,
alloying) and activities (``Activity``: events with inputs, outputs, losses and process
burdens), taken in ledger order, which is a topological order (an input exists before
it is used). Every number is kg CO2e per kg of a node, split by lifecycle stage.

Conventions, followed exactly:

1. A melt is homogeneous: every output of an activity gets the same shares and the same
   footprint per kg. Process burdens and input burdens are spread over all outputs by
   mass; melt loss and dross carry none. Where mass does not mix (dismantling, explicit
   ``flows``) each output takes its own source's footprint per kg, plus its mass share of
   the process burdens.
2. Run-around (internal) scrap is not recycled content in itself: it carries the shares
   and the footprint per kg of the melt it came from (rule 1 does that, since it is an
   output of that melt like the castings).
3. Post-consumer scrap (and the vehicles it comes from) enters with only its own
   collection, sorting and transport burdens under ``cut_off``: an end-of-life vehicle
   brings no burden of its first life.
4. Pre-consumer scrap under ``allocation`` carries the footprint per kg of the product
   whose process generated it (``Source.generator_per_kg``), on top of its own burdens;
   under ``cut_off`` it enters like post-consumer scrap.
5. ``cff``: PEF Circular Footprint Formula. Recycled material is substituted where it is
   remelted (an activity with ``substitutes``): there, each wholly recycled input
   contributes ``A * E_recycled + (1 - A) * E_v * Qs_in/Qp`` per kg instead of its
   accumulated burden ``E_recycled``, with ``E_v`` the virgin burden it replaces. Virgin
   inputs contribute ``E_v``. So a product gets ``(1 - R1) E_v + R1 (A E_rec + (1 - A) E_v
   Qs/Qp)``. Its own end of life adds ``(1 - A) R2 (E_rec,EoL - E*_v Qs_out/Qp) + (1 -
   R2) E_D`` to the end-of-life stage of each product (``Activity.products``). A = 1 gives
   ``cut_off``.
6. End-of-life burdens of a node are its own and never flow into what is made from it.
7. Shares (pre-consumer, post-consumer, post-consumer by vehicle make for closed-loop)
   follow mass under ``physical`` custody. Under ``mass_balance`` every substitution
   activity credits a per-site account for its accounting period with the recycled kg of
   its inputs (in output-equivalent kg: losses take their share), and its outputs claim
   recycled content from that account, in ledger order, up to their ``claim_limit`` share
   of their mass (all of it unless the recorder declines):
   post-consumer credits first, then pre-consumer. A claim never exceeds the credits, so
   the account never goes negative.
8. The share of primary data is the fraction of a node's footprint computed from
   company-specific data (measured energy, supplier footprints bound to a lot).
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from carbon.engine.model import (
    ALLOCATION,
    CFF,
    CHAINS_OF_CUSTODY,
    CUT_OFF,
    DISTRIBUTION,
    END_OF_LIFE,
    MAIN_PRODUCTION,
    MASS_BALANCE,
    METHODS,
    PHYSICAL,
    POST_CONSUMER,
    PRE_CONSUMER,
    RAW_MATERIAL,
    STAGES,
    Activity,
    CarbonError,
    Footprint,
    Parameters,
    Shares,
    Source,
)

RECYCLED_ORIGINS = frozenset({"vehicle", POST_CONSUMER, PRE_CONSUMER})


# Stages are held as 4-tuples in ``STAGES`` order while the engine walks; END_OF_LIFE is last.
_EOL = STAGES.index(END_OF_LIFE)
_RAW = STAGES.index(RAW_MATERIAL)
assert STAGES == (RAW_MATERIAL, MAIN_PRODUCTION, DISTRIBUTION, END_OF_LIFE), "unrolled loops follow it"
_NO_SHARES = Shares()


class _State:
    """What the engine knows of a node while it walks: per kg by stage (a tuple in ``STAGES``
    order), shares, primary kg CO2e per kg, and whether its whole mass is recycled material
    not yet substituted (remelted). Nodes with equal inputs share one state, and one result."""

    __slots__ = ("_footprint", "pending_recycled", "per_kg", "primary_kg", "shares")

    def __init__(
        self, per_kg: tuple[float, ...], shares: Shares, primary_kg: float, pending_recycled: bool = False
    ) -> None:
        self.per_kg = per_kg
        self.shares = shares
        self.primary_kg = primary_kg
        self.pending_recycled = pending_recycled
        self._footprint: Footprint | None = None

    def footprint(self) -> Footprint:
        if self._footprint is None:
            total = sum(self.per_kg)
            self._footprint = Footprint(
                per_kg=dict(zip(STAGES, self.per_kg, strict=True)),
                shares=self.shares,
                primary_data_share=(self.primary_kg / total) if total > 0 else 1.0,
                pending_recycled=self.pending_recycled,
            )
        return self._footprint


@dataclass
class _Account:
    pre_kg: float = 0.0
    post_kg: float = 0.0
    by_make: dict[str, float] = field(default_factory=dict)


def _stages(values: Mapping[str, float]) -> tuple[float, ...]:
    get = values.get
    return (get(RAW_MATERIAL, 0.0), get(MAIN_PRODUCTION, 0.0), get(DISTRIBUTION, 0.0), get(END_OF_LIFE, 0.0))


def root_kind(source: Source) -> tuple[object, ...]:
    """What makes roots alike: equal kinds start in one state, whatever their node and mass."""
    return (
        source.origin,
        tuple(source.burden_per_kg.items()),
        source.generator_per_kg,
        source.vehicle_make,
        source.primary_data,
    )


def _known_state(footprint: Footprint) -> _State:
    """The state of a node whose result was computed before (the incremental case)."""
    return _State(
        _stages(footprint.per_kg),
        footprint.shares,
        footprint.primary_data_share * footprint.total_per_kg,
        footprint.pending_recycled,
    )


def _root_state(source: Source, method: str) -> _State:
    per_kg = list(_stages(source.burden_per_kg))
    primary = sum(per_kg) if source.primary_data else 0.0
    if method == ALLOCATION and source.origin == PRE_CONSUMER:
        per_kg[_RAW] += source.generator_per_kg
    if source.origin == "vehicle" or source.origin == POST_CONSUMER:
        make = ((source.vehicle_make, 1.0),) if source.vehicle_make else ()
        shares = Shares(post_consumer=1.0, by_make=make)
    elif source.origin == PRE_CONSUMER:
        shares = Shares(pre_consumer=1.0)
    else:
        shares = _NO_SHARES
    return _State(tuple(per_kg), shares, primary, pending_recycled=source.origin in RECYCLED_ORIGINS)


def compute(
    sources: Iterable[Source],
    activities: Iterable[Activity],
    *,
    method: str,
    chain: str,
    params: Parameters,
    virgin_per_kg: float = 0.0,
    known: Mapping[int, Footprint] | None = None,
) -> Mapping[int, Footprint]:
    """Footprints of every root and every activity output, in ledger order.

    Under physical custody the graph is solved as one sparse linear system
    (``carbon.engine.linear``); mass balance is walked in ledger order (``walk``).
    The walk makes millions of small objects and no reference cycles, so the cyclic garbage
    collector is paused while it runs (it would otherwise take half the time).

    ``known`` holds results of nodes that are inputs here but are not recomputed (the
    incremental case); ``virgin_per_kg`` is the CFF's ``E_v`` of the material substituted.
    """
    if chain == PHYSICAL and method in METHODS:
        # One sparse linear system (``carbon.engine.linear``), imported here so that the
        # ledger-order walk below needs nothing beyond the standard library.
        from carbon.engine.linear import network, solve

        return solve(network(sources, activities, known), method=method, params=params, virgin_per_kg=virgin_per_kg)
    return walk(
        sources, activities, method=method, chain=chain, params=params, virgin_per_kg=virgin_per_kg, known=known
    )


def walk(
    sources: Iterable[Source],
    activities: Iterable[Activity],
    *,
    method: str,
    chain: str,
    params: Parameters,
    virgin_per_kg: float = 0.0,
    known: Mapping[int, Footprint] | None = None,
) -> dict[int, Footprint]:
    """``compute`` by walking the activities one by one in ledger order, with the standard
    library alone: how mass balance is computed (its accounts are sequential), and an
    independent second solution of physical custody (the offline verifier uses it)."""
    with collector_paused():
        return _compute(sources, activities, method, chain, params, virgin_per_kg, known)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: building and walking a large graph makes millions
    of small acyclic objects, and the collector would scan them all again and again."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _compute(
    sources: Iterable[Source],
    activities: Iterable[Activity],
    method: str,
    chain: str,
    params: Parameters,
    virgin_per_kg: float,
    known: Mapping[int, Footprint] | None,
) -> dict[int, Footprint]:
    if method not in METHODS:
        raise CarbonError("method_unknown", f"method must be one of {METHODS}")
    if chain not in CHAINS_OF_CUSTODY:
        raise CarbonError("chain_of_custody_unknown", f"chain of custody must be one of {CHAINS_OF_CUSTODY}")
    known = known or {}
    states: dict[int, _State] = {}
    for node, footprint in known.items():
        states[node] = _known_state(footprint)
    # Roots alike (same origin, burdens, make) share one state: a graph has few kinds of roots.
    roots: dict[tuple[object, ...], _State] = {}
    results: dict[int, Footprint] = {}
    for source in sources:
        kind = root_kind(source)
        state = roots.get(kind)
        if state is None:
            state = roots[kind] = _root_state(source, method)
        states[source.node] = state
        results[source.node] = state._footprint or state.footprint()
    accounts: dict[tuple[int | None, str | None], _Account] = {}
    end_of_life = _cff_end_of_life(params) if method == CFF else 0.0
    for activity in sorted(activities, key=lambda a: a.seq):
        _run(activity, states, results, method, chain, params, virgin_per_kg, accounts, end_of_life)
    return results


def _unknown_input(seq: int, node: int) -> CarbonError:
    return CarbonError("input_unknown", f"activity {seq} consumes node {node}, which has no footprint")


def _run(
    activity: Activity,
    states: dict[int, _State],
    results: dict[int, Footprint],
    method: str,
    chain: str,
    params: Parameters,
    virgin_per_kg: float,
    accounts: dict[tuple[int | None, str | None], _Account],
    end_of_life: float,
) -> None:
    """Walk one activity: its outputs' states and results go into ``states`` and ``results``."""
    out_kg = sum(kg for _, kg in activity.outputs)
    if out_kg <= 0:
        raise CarbonError("outputs_empty", f"activity {activity.seq} has no output mass")
    process = _stages(activity.burdens)
    process_primary = sum(process)
    if activity.flows:
        for target, made in _run_unmixed(activity, states, process, process_primary, out_kg):
            states[target] = made
            results[target] = made.footprint()
        return

    # Input burdens add up by stage; an input's own end of life never flows on (convention 6).
    # This loop runs once per edge of the graph: the three stages are unrolled and the mix's
    # shares are summed in the same pass.
    raw, main, distribution, end = process
    primary = process_primary
    pending_all = bool(activity.inputs)
    substituting = method == CFF and activity.substitutes
    a = params.a
    first: Shares | None = None
    alike = True
    total = pre = post = 0.0
    makes: dict[str, float] = {}
    for node, kg in activity.inputs:
        state = states.get(node)
        if state is None:
            raise _unknown_input(activity.seq, node)
        r, m, d, _ = state.per_kg
        if substituting and state.pending_recycled:
            # The substituted virgin burden is a registry figure: secondary data.
            raw += a * (kg * r)
            raw += (1 - a) * virgin_per_kg * params.qs_in_over_qp * kg
            main += a * (kg * m)
            distribution += a * (kg * d)
            primary += state.primary_kg * kg * a
        else:
            raw += kg * r
            main += kg * m
            distribution += kg * d
            primary += state.primary_kg * kg
        pending_all = pending_all and state.pending_recycled
        shares = state.shares
        if first is None:
            first = shares
        elif shares is not first:
            alike = False
        total += kg
        if shares is not _NO_SHARES:  # virgin material adds mass, and nothing else
            pre += kg * shares.pre_consumer
            post += kg * shares.post_consumer
            for make, fraction in shares.by_make:
                makes[make] = makes.get(make, 0.0) + kg * fraction
    if total <= 0:
        mixed = _NO_SHARES  # inputs that weigh nothing bring no recycled content
    elif alike:
        mixed = first or _NO_SHARES  # one kind of material in: the mix has its shares
    else:
        by_make = tuple([(make, makes[make] / total) for make in sorted(makes)])
        mixed = Shares(pre_consumer=pre / total, post_consumer=post / total, by_make=by_make)
    if chain == MASS_BALANCE and activity.substitutes:
        mixed = _claim(mixed, out_kg, activity.claim_limit, accounts, (activity.site, activity.period))
    pending = pending_all and not activity.substitutes
    per_kg = (raw / out_kg, main / out_kg, distribution / out_kg, end / out_kg)
    # Outputs of a mix are identical (convention 1): one state serves them all, except
    # products that add their own end of life under the CFF.
    common = _State(per_kg, mixed, primary / out_kg, pending)
    footprint = common.footprint()
    products = activity.products if method == CFF else ()
    for node, _ in activity.outputs:
        if node in products:
            own = _State((*per_kg[:_EOL], per_kg[_EOL] + end_of_life), mixed, primary / out_kg, pending)
            states[node] = own
            results[node] = own.footprint()
        else:
            states[node] = common
            results[node] = footprint


def _run_unmixed(
    activity: Activity, states: dict[int, _State], process: tuple[float, ...], process_primary: float, out_kg: float
) -> list[tuple[int, _State]]:
    made = []
    for source, target, _kg in activity.flows:
        state = states.get(source)
        if state is None:
            raise _unknown_input(activity.seq, source)
        per_kg = tuple(
            (state.per_kg[index] if index != _EOL else 0.0) + process[index] / out_kg for index in range(len(STAGES))
        )
        made.append(
            (target, _State(per_kg, state.shares, state.primary_kg + process_primary / out_kg, state.pending_recycled))
        )
    return made


def _cff_end_of_life(params: Parameters) -> float:
    return (1 - params.a) * params.r2 * (
        params.erec_eol_per_kg - params.e_virgin_star_per_kg * params.qs_out_over_qp
    ) + (1 - params.r2) * params.ed_per_kg


def _claim(
    physical: Shares,
    out_kg: float,
    limit: float,
    accounts: dict[tuple[int | None, str | None], _Account],
    key: tuple[int | None, str | None],
) -> Shares:
    """Credit the account with this activity's recycled inputs, then claim up to the output's mass.

    Credits are counted in output-equivalent kilograms (the recycled share of what came
    out): the melt loss takes its share of the recycled input too, so a claim can never
    turn lost metal into recycled content.
    """
    account = accounts.setdefault(key, _Account())
    account.pre_kg += physical.pre_consumer * out_kg
    account.post_kg += physical.post_consumer * out_kg
    for make, fraction in physical.by_make:
        account.by_make[make] = account.by_make.get(make, 0.0) + fraction * out_kg
    ceiling = max(0.0, min(1.0, limit)) * out_kg
    post = min(account.post_kg, ceiling)
    pre = min(account.pre_kg, ceiling - post)
    makes = []
    if account.post_kg > 0:
        for make, kg in account.by_make.items():
            claimed = post * kg / account.post_kg
            makes.append((make, claimed / out_kg))
            account.by_make[make] = kg - claimed
    account.post_kg -= post
    account.pre_kg -= pre
    return Shares(pre_consumer=pre / out_kg, post_consumer=post / out_kg, by_make=tuple(sorted(makes)))


__all__ = ["ALLOCATION", "CFF", "CUT_OFF", "collector_paused", "compute", "walk"]
