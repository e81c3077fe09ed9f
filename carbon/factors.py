"""The current versions of emission factors, looked up by code and scope, with the
references of every version a computation used (so a result can be reproduced)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from carbon.models import EmissionFactor
from traceability.errors import ApplicationError
from traceability.units import registry

# The unit the engine computes in, per factor code; a factor recorded in another unit of the
# same dimension (g/kWh, t/t...) is converted with pint when it is read.
CANONICAL_UNITS = {
    "electricity_grid": "kg/kWh",
    "natural_gas_combustion": "kg/m**3",
    "road_freight": "kg/(t*km)",
    "battery_pcf_raw_material": "kg/kWh",
    "battery_pcf_main_production": "kg/kWh",
    "battery_pcf_distribution": "kg/kWh",
    "battery_pcf_end_of_life": "kg/kWh",
    "battery_cycles_per_year": "1/year",
    "battery_service_years": "year",
    "battery_class_upper_bound": "kg/kWh",
    "cff_lhv": "MJ/kg",
    "cff_e_se_heat": "kg/MJ",
    "cff_e_se_elec": "kg/MJ",
}
PER_KG = "kg/kg"


def canonical_value(factor: EmissionFactor) -> float:
    """The factor's value in the unit the engine expects for its code."""
    target = CANONICAL_UNITS.get(factor.code, PER_KG if "/" in factor.unit else factor.unit)
    try:
        return float(registry().Quantity(float(factor.value), factor.unit).to(target).magnitude)
    except Exception as exc:
        raise ApplicationError(
            "factor_unit_incompatible", f"{factor.reference}: {factor.unit} does not convert to {target}"
        ) from exc


@dataclass
class FactorBook:
    """All current factor versions, loaded once per computation."""

    general: dict[tuple[str, str], EmissionFactor] = field(default_factory=dict)
    bound: dict[tuple[str, int], EmissionFactor] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    # Converted values, once per factor: pint is too slow to call per object.
    converted: dict[int, float] = field(default_factory=dict)

    def _value_of(self, factor: EmissionFactor) -> float:
        self.used.add(factor.reference)
        if factor.pk not in self.converted:
            self.converted[factor.pk] = canonical_value(factor)
        return self.converted[factor.pk]

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
        return self._value_of(factor)

    def for_lot(self, code: str, lot_id: int) -> float | None:
        """A supplier's own figure bound to one lot, if any."""
        factor = self.bound.get((code, lot_id))
        if factor is None:
            return None
        return self._value_of(factor)

    def by_region(self, code: str) -> dict[str, float]:
        """Every current factor of ``code``, by region (class bounds, Art. 8 minimums by metal)."""
        return {region: self._value_of(f) for (each, region), f in self.general.items() if each == code}

    def regions(self, code: str) -> set[str]:
        """The scopes ``code`` has a current factor for, without marking any as used."""
        return {region for (each, region) in self.general if each == code}

    @contextmanager
    def tracking(self) -> Iterator[set[str]]:
        """The references of the versions read inside the block (they count as used overall too)."""
        outer, self.used = self.used, set()
        try:
            yield self.used
        finally:
            outer |= self.used
            self.used = outer

    def references(self) -> list[str]:
        return sorted(self.used)
