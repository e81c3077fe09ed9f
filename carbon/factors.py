"""The current versions of emission factors, looked up by code and scope, with the
references of every version a computation used (so a result can be reproduced)."""

from __future__ import annotations

from dataclasses import dataclass, field

from carbon.models import EmissionFactor


@dataclass
class FactorBook:
    """All current factor versions, loaded once per computation."""

    general: dict[tuple[str, str], EmissionFactor] = field(default_factory=dict)
    bound: dict[tuple[str, int], EmissionFactor] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)

    @classmethod
    def load(cls) -> FactorBook:
        book = cls()
        for factor in EmissionFactor.objects.filter(superseded_by__isnull=True).order_by("code", "region", "version"):
            if factor.lot_id is None:
                book.general[(factor.code, factor.region)] = factor
            else:
                book.bound[(factor.code, factor.lot_id)] = factor
        return book

    def value(self, code: str, region: str = "", *, fallback: bool = True) -> float:
        """A factor for ``region``, else (``fallback``) the one for any region; 0 when none exists."""
        factor = self.general.get((code, region))
        if factor is None and fallback:
            factor = self.general.get((code, ""))
        if factor is None:
            return 0.0
        self.used.add(factor.reference)
        return float(factor.value)

    def for_lot(self, code: str, lot_id: int) -> float | None:
        """A supplier's own figure bound to one lot, if any."""
        factor = self.bound.get((code, lot_id))
        if factor is None:
            return None
        self.used.add(factor.reference)
        return float(factor.value)

    def references(self) -> list[str]:
        return sorted(self.used)
