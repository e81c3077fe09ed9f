"""What both solutions of the engine are built from: a node's state, how roots and known
results start, and the terms of the PEF Circular Footprint Formula.

The walk (``carbon.engine.walk``) and the linear solution (``carbon.engine.linear``)
import this module and ``carbon.engine.model`` alone, so each rule has one home. It needs
the standard library only: the CFF terms take plain floats or numpy arrays alike, and
their arithmetic is written once for both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeVar

from carbon.engine.model import (
    ALLOCATION,
    DISTRIBUTION,
    END_OF_LIFE,
    MAIN_PRODUCTION,
    METHODS,
    POST_CONSUMER,
    PRE_CONSUMER,
    RAW_MATERIAL,
    STAGES,
    CarbonError,
    Footprint,
    Material,
    Shares,
    Source,
)

if TYPE_CHECKING:
    import numpy as np

# Kilograms: one input's (a float, in the walk) or every input's at once (an array, in the linear solution).
Kilograms = TypeVar("Kilograms", float, "np.ndarray")

RECYCLED_ORIGINS = frozenset({"vehicle", POST_CONSUMER, PRE_CONSUMER})

# Stages are held as 4-tuples in ``STAGES`` order while the engine works; END_OF_LIFE is last.
RAW_INDEX = STAGES.index(RAW_MATERIAL)
END_OF_LIFE_INDEX = STAGES.index(END_OF_LIFE)
assert STAGES == (RAW_MATERIAL, MAIN_PRODUCTION, DISTRIBUTION, END_OF_LIFE), "unrolled loops follow it"
NO_SHARES = Shares()


def method_checked(method: str) -> str:
    if method not in METHODS:
        raise CarbonError("method_unknown", f"method must be one of {METHODS}")
    return method


def outputs_empty_error(seq: int) -> CarbonError:
    return CarbonError("outputs_empty", f"activity {seq} has no output mass")


def input_unknown_error(seq: int, node: int) -> CarbonError:
    return CarbonError("input_unknown", f"activity {seq} consumes node {node}, which has no footprint")


def stage_values(values: Mapping[str, float]) -> tuple[float, float, float, float]:
    """kg CO2e by stage as a tuple in ``STAGES`` order (a missing stage is zero)."""
    get = values.get
    return (get(RAW_MATERIAL, 0.0), get(MAIN_PRODUCTION, 0.0), get(DISTRIBUTION, 0.0), get(END_OF_LIFE, 0.0))


def footprint_of(per_kg: tuple[float, ...], shares: Shares, primary_kg: float, pending_recycled: bool) -> Footprint:
    """The result of a node from its numbers (``per_kg`` in ``STAGES`` order, primary kg CO2e per kg)."""
    total = sum(per_kg)
    return Footprint(
        per_kg=dict(zip(STAGES, per_kg, strict=True)),
        shares=shares,
        primary_data_share=(primary_kg / total) if total > 0 else 1.0,
        pending_recycled=pending_recycled,
    )


class State:
    """What the engine knows of a node: per kg by stage (a tuple in ``STAGES`` order),
    shares, primary kg CO2e per kg, and whether its whole mass is recycled material not yet
    substituted (remelted). Nodes with equal inputs share one state, and one result."""

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
            self._footprint = footprint_of(self.per_kg, self.shares, self.primary_kg, self.pending_recycled)
        return self._footprint


def root_kind(source: Source) -> tuple[object, ...]:
    """What makes roots alike: equal kinds start in one state, whatever their node and mass."""
    return (
        source.origin,
        tuple(source.burden_per_kg.items()),
        source.generator_per_kg,
        source.vehicle_make,
        source.primary_data,
    )


def known_state(footprint: Footprint) -> State:
    """The state of a node whose result was computed before (the incremental case)."""
    return State(
        stage_values(footprint.per_kg),
        footprint.shares,
        footprint.primary_data_share * footprint.total_per_kg,
        footprint.pending_recycled,
    )


def root_state(source: Source, method: str) -> State:
    """The state a root starts in (conventions 3 and 4 of ``carbon.engine.compute``)."""
    per_kg = list(stage_values(source.burden_per_kg))
    primary = sum(per_kg) if source.primary_data else 0.0
    if method == ALLOCATION and source.origin == PRE_CONSUMER:
        per_kg[RAW_INDEX] += source.generator_per_kg
    if source.origin == "vehicle" or source.origin == POST_CONSUMER:
        make = ((source.vehicle_make, 1.0),) if source.vehicle_make else ()
        shares = Shares(post_consumer=1.0, by_make=make)
    elif source.origin == PRE_CONSUMER:
        shares = Shares(pre_consumer=1.0)
    else:
        shares = NO_SHARES
    return State(tuple(per_kg), shares, primary, pending_recycled=source.origin in RECYCLED_ORIGINS)


def cff_process_kept(a: Kilograms, recycled_share: Kilograms) -> Kilograms:
    """The share of a substituting activity's own process burden its outputs keep under the CFF
    (convention 5): the part that processes the recycled inputs (their kg share of the inputs,
    ``R1``) belongs to E_recycled and is weighted by ``A``; the rest stays whole:
    ``1 - (1 - A) R1``."""
    kept: Kilograms = 1 - (1 - a) * recycled_share
    return kept


def cff_replaced(
    a: Kilograms, e_virgin: Kilograms, qs_in_over_qp: Kilograms, content: Kilograms, recycled_share: Kilograms
) -> Kilograms:
    """kg CO2e per kg of an output of a substituting activity for the virgin material its recycled
    content replaces (convention 5): ``(1 - A) E_v Qs_in/Qp R1``, per kg of the output's material
    (``content`` kg of it in each kg of the output)."""
    replaced: Kilograms = (1 - a) * e_virgin * qs_in_over_qp * content * recycled_share
    return replaced


def cff_end_of_life(material: Material, content: float = 1.0) -> float:
    """kg CO2e per kg a product's own end of life adds under the CFF (convention 5), per kg of
    its material (``content`` kg of it in each kg of the product):
    ``(1 - A) R2 (E_recyclingEoL - E*_v Qs_out/Qp)
    + (1 - B) R3 (E_ER - LHV X_ER,heat E_SE,heat - LHV X_ER,elec E_SE,elec) + (1 - R2 - R3) E_D``."""
    m = material
    recycling = (1 - m.a) * m.r2 * (m.erec_eol_per_kg - m.e_virgin_star_per_kg * m.qs_out_over_qp)
    recovery = (
        (1 - m.b)
        * m.r3
        * (
            m.e_er_per_kg
            - m.lhv_mj_per_kg * m.x_er_heat * m.e_se_heat_per_mj
            - m.lhv_mj_per_kg * m.x_er_elec * m.e_se_elec_per_mj
        )
    )
    disposal = (1 - m.r2 - m.r3) * m.ed_per_kg
    return content * (recycling + recovery + disposal)
