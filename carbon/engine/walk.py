"""The walk: ``compute`` by taking the activities one by one in ledger order, with the
standard library alone. It is how mass balance is computed (its accounts are sequential)
and an independent second solution of physical custody, the one the offline verifier
runs. The conventions it follows are ``carbon.engine.compute``'s.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from carbon.engine.account import Account, claimed_shares, credit_of
from carbon.engine.model import (
    CFF,
    CHAINS_OF_CUSTODY,
    MASS_BALANCE,
    STAGES,
    Activity,
    CarbonError,
    Claim,
    Footprint,
    Parameters,
    Shares,
    Source,
)
from carbon.engine.terms import (
    END_OF_LIFE_INDEX,
    NO_SHARES,
    State,
    cff_end_of_life,
    cff_process_kept,
    cff_replaced,
    input_unknown_error,
    known_state,
    method_checked,
    outputs_empty_error,
    root_kind,
    root_state,
    stage_values,
)


def walk(
    sources: Iterable[Source],
    activities: Iterable[Activity],
    *,
    method: str,
    chain: str,
    params: Parameters,
    known: Mapping[int, Footprint] | None = None,
) -> dict[int, Footprint]:
    """Footprints of every root and every activity output, walked in ledger order.
    The walk makes millions of small objects and no reference cycles, so the cyclic garbage
    collector is paused while it runs (it would otherwise take half the time)."""
    with collector_paused():
        return _compute(sources, activities, method, chain, params, known)


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
    known: Mapping[int, Footprint] | None,
) -> dict[int, Footprint]:
    method_checked(method)
    if chain not in CHAINS_OF_CUSTODY:
        raise CarbonError("chain_of_custody_unknown", f"chain of custody must be one of {CHAINS_OF_CUSTODY}")
    known = known or {}
    states: dict[int, State] = {}
    for node, footprint in known.items():
        states[node] = known_state(footprint)
    # Roots alike (same origin, burdens, make) share one state: a graph has few kinds of roots.
    roots: dict[tuple[object, ...], State] = {}
    results: dict[int, Footprint] = {}
    for source in sources:
        kind = root_kind(source)
        state = roots.get(kind)
        if state is None:
            state = roots[kind] = root_state(source, method)
        states[source.node] = state
        results[source.node] = state.footprint()
    accounts = _Accounts()
    for activity in sorted(activities, key=lambda a: a.seq):
        _run(activity, states, results, method, chain, params, accounts)
    return results


class _Accounts:
    """Mass balance as the walk keeps it: an ``Account`` per (site, period), the last claim on
    each lot, and the lots this walk made in a substituting activity (it saw all their claims)."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[int | None, str | None], Account] = {}
        self.last_claim: dict[int, Claim] = {}
        self.made: set[int] = set()

    def of(self, activity: Activity) -> Account:
        return self.by_key.setdefault((activity.site, activity.period), Account())


def _run(
    activity: Activity,
    states: dict[int, State],
    results: dict[int, Footprint],
    method: str,
    chain: str,
    params: Parameters,
    accounts: _Accounts,
) -> None:
    """Walk one activity: its outputs' states and results go into ``states`` and ``results``."""
    if activity.claim is not None:
        if chain == MASS_BALANCE:
            _run_claim(activity, states, results, accounts)
        return
    out_kg = sum(kg for _, kg in activity.outputs)
    if out_kg <= 0:
        raise outputs_empty_error(activity.seq)
    process = stage_values(activity.burdens)
    process_primary = sum(process)
    if activity.flows:
        for target, made in _run_unmixed(activity, states, process, process_primary, out_kg):
            states[target] = made
            results[target] = made.footprint()
        return

    # Input burdens add up by stage; an input's own end of life never flows on (convention 6).
    # This loop runs once per edge of the graph: the three stages are unrolled and the mix's
    # shares are summed in the same pass. Where the CFF substitutes, the wholly recycled inputs'
    # burdens are summed apart (``recycled_*``): A weighs them per output material.
    substituting = method == CFF and activity.substitutes
    if substituting:
        raw = main = distribution = end = primary = 0.0
    else:
        raw, main, distribution, end = process
        primary = process_primary
    recycled_raw = recycled_main = recycled_distribution = recycled_primary = recycled_kg = 0.0
    pending_all = bool(activity.inputs)
    first: Shares | None = None
    alike = True
    total = pre = post = 0.0
    makes: dict[str, float] = {}
    for node, kg in activity.inputs:
        state = states.get(node)
        if state is None:
            raise input_unknown_error(activity.seq, node)
        r, m, d, _ = state.per_kg
        if substituting and state.pending_recycled:
            recycled_raw += kg * r
            recycled_main += kg * m
            recycled_distribution += kg * d
            recycled_primary += state.primary_kg * kg
            recycled_kg += kg
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
        if shares is not NO_SHARES:  # virgin material adds mass, and nothing else
            pre += kg * shares.pre_consumer
            post += kg * shares.post_consumer
            for make, fraction in shares.by_make:
                makes[make] = makes.get(make, 0.0) + kg * fraction
    if total <= 0:
        mixed = NO_SHARES  # inputs that weigh nothing bring no recycled content
    elif alike:
        mixed = first or NO_SHARES  # one kind of material in: the mix has its shares
    else:
        by_make = tuple([(make, makes[make] / total) for make in sorted(makes)])
        mixed = Shares(pre_consumer=pre / total, post_consumer=post / total, by_make=by_make)
    if chain == MASS_BALANCE and activity.substitutes:
        # Convention 7: the recycled inputs become credits; the outputs carry what is claimed of them.
        accounts.of(activity).add(credit_of(mixed, out_kg))
        accounts.made.update(node for node, _ in activity.outputs)
        mixed = NO_SHARES
    pending = pending_all and not activity.substitutes
    named = {node: (material, content) for node, material, content in activity.materials}
    # Outputs of a mix are identical (convention 1): one state serves all outputs of one
    # material, except products that add their own end of life under the CFF.
    by_material: dict[tuple[str | None, float], State] = {}
    for node, _ in activity.outputs:
        key = named.get(node, (None, 1.0))
        state = by_material.get(key)
        if state is None:
            if substituting:
                material = params.of(key[0])
                a = material.a
                share = recycled_kg / total if total > 0 else 0.0
                kept = cff_process_kept(a, share)
                replaced = cff_replaced(a, material.e_virgin_per_kg, material.qs_in_over_qp, key[1], share)
                per_kg = (
                    (raw + a * recycled_raw + kept * process[0]) / out_kg + replaced,
                    (main + a * recycled_main + kept * process[1]) / out_kg,
                    (distribution + a * recycled_distribution + kept * process[2]) / out_kg,
                    kept * process[3] / out_kg,
                )
                # The replaced virgin burden is a registry figure: secondary data.
                state_primary = (primary + a * recycled_primary + kept * process_primary) / out_kg
            else:
                per_kg = (raw / out_kg, main / out_kg, distribution / out_kg, end / out_kg)
                state_primary = primary / out_kg
            state = by_material[key] = State(per_kg, mixed, state_primary, pending)
        if method == CFF and node in activity.products:
            own_end = state.per_kg[END_OF_LIFE_INDEX] + cff_end_of_life(params.of(key[0]), key[1])
            product = State((*state.per_kg[:END_OF_LIFE_INDEX], own_end), mixed, state.primary_kg, pending)
            states[node] = product
            results[node] = product.footprint()
        else:
            states[node] = state
            results[node] = state.footprint()


def _run_unmixed(
    activity: Activity, states: dict[int, State], process: tuple[float, ...], process_primary: float, out_kg: float
) -> list[tuple[int, State]]:
    made = []
    for source, target, _kg in activity.flows:
        state = states.get(source)
        if state is None:
            raise input_unknown_error(activity.seq, source)
        per_kg = tuple(
            (state.per_kg[index] if index != END_OF_LIFE_INDEX else 0.0) + process[index] / out_kg
            for index in range(len(STAGES))
        )
        made.append(
            (target, State(per_kg, state.shares, state.primary_kg + process_primary / out_kg, state.pending_recycled))
        )
    return made


def _run_claim(
    activity: Activity,
    states: dict[int, State],
    results: dict[int, Footprint],
    accounts: _Accounts,
) -> None:
    """A claim (convention 7): draw its account, and set the lot's shares to its claims over its mass."""
    claim = activity.claim
    assert claim is not None
    ((lot, lot_kg),) = activity.outputs
    state = states.get(lot)
    if state is None:
        raise input_unknown_error(activity.seq, lot)
    try:
        before = accounts.last_claim.get(lot)
        shares = claimed_shares(claim, lot_kg, before, seen_all=lot in accounts.made)
        accounts.of(activity).draw(claim)
        accounts.last_claim[lot] = claim
    except CarbonError as exc:
        raise CarbonError(exc.code, f"claim {activity.seq} on node {lot}: {exc.message}") from exc
    states[lot] = claimed = State(state.per_kg, shares, state.primary_kg, state.pending_recycled)
    results[lot] = claimed.footprint()


__all__ = ["collector_paused", "walk"]
