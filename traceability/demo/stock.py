"""Lots as the demo's planner sees them: masses to the gram, assays mixed by mass, pools used first in,
first out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_UP, Decimal

from traceability.operations import services as ops

from .facts import GRAM, Composition


def grams(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(GRAM)


def round_up(kg: Decimal, unit: Decimal) -> Decimal:
    return (kg / unit).to_integral_value(rounding=ROUND_UP) * unit


def mix(parts: Sequence[tuple[Decimal | float, Composition]]) -> Composition:
    total = sum(float(kg) for kg, _ in parts)
    if total <= 0:
        return {}
    elements = sorted({element for _, composition in parts for element in composition})
    return {e: round(sum(float(kg) * c.get(e, 0.0) for kg, c in parts) / total, 4) for e in elements}


@dataclass
class Stock:
    """A lot the planner may draw from, as the engine sees it (what remains, its assay)."""

    identifier: str
    kg: Decimal
    composition: Composition


@dataclass
class Pool:
    """Lots of one material held by one organisation, used first in, first out."""

    lots: list[Stock] = field(default_factory=list)

    @property
    def kg(self) -> Decimal:
        return sum((lot.kg for lot in self.lots), Decimal(0))

    def plan(self, kg: Decimal) -> list[tuple[Stock, Decimal]]:
        taken, left = [], kg
        for lot in self.lots:
            if left <= 0:
                break
            used = min(lot.kg, left)
            taken.append((lot, used))
            left -= used
        if left > 0:
            raise ValueError(f"the pool holds {self.kg} kg, {kg} kg wanted")
        return taken

    def take(self, kg: Decimal) -> list[ops.LotIn]:
        taken = self.plan(kg)
        for lot, used in taken:
            lot.kg -= used
        self.lots = [lot for lot in self.lots if lot.kg > 0]
        return [ops.LotIn(lot.identifier, used) for lot, used in taken]
