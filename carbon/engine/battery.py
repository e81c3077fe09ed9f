"""Battery carbon footprint per Art. 7 and recycled content per Art. 8 of Regulation (EU) 2023/1542.

The functional unit is one kWh of the total energy the battery provides over its
service life: usable energy at beginning of life x full-equivalent cycles per year x
years of service (the draft delegated act's method). The energy is the model's, as new:
a graded battery's measured (degraded) capacity describes its condition and is reported
beside the figure, never used as its denominator, so grading changes no Art. 7 figure.
Class bounds, cycles and years per vehicle category and Art. 8 minimums are data passed
in, never constants here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from carbon.engine.model import STAGES, CarbonError

# Where the beginning-of-life energy came from, in the order it is looked for.
DECLARED_USABLE_ENERGY = "declared_usable_energy"
RATED_ENERGY = "rated_energy"


def beginning_of_life_energy_kwh(*, declared_usable_kwh: float | None, rated_kwh: float | None) -> tuple[float, str]:
    """The model's usable energy at beginning of life, and its basis: the maker's declared usable
    energy when there is one, else the rated energy (rated capacity x nominal voltage)."""
    for value, basis in ((declared_usable_kwh, DECLARED_USABLE_ENERGY), (rated_kwh, RATED_ENERGY)):
        if value is not None and value > 0:
            return value, basis
    raise CarbonError("battery_energy_invalid", "no usable or rated energy at beginning of life is recorded")


def lifetime_energy_kwh(*, usable_kwh: float, cycles_per_year: float, years: float) -> float:
    if usable_kwh <= 0 or cycles_per_year <= 0 or years <= 0:
        raise CarbonError("battery_energy_invalid", "usable energy, cycles per year and years must be positive")
    return usable_kwh * cycles_per_year * years


def per_kwh(total_by_stage: Mapping[str, float], lifetime_kwh: float) -> dict[str, float]:
    """kg CO2e per kWh of lifetime energy, by lifecycle stage."""
    if lifetime_kwh <= 0:
        raise CarbonError("battery_energy_invalid", "lifetime energy must be positive")
    return {stage: total_by_stage.get(stage, 0.0) / lifetime_kwh for stage in STAGES}


def performance_class(total_per_kwh: float, bounds: Sequence[tuple[str, float]]) -> str:
    """The first class (best first) whose upper bound is not exceeded; the last class otherwise."""
    if not bounds:
        raise CarbonError("class_bounds_missing", "no performance class bounds configured")
    for name, upper in bounds:
        if total_per_kwh <= upper:
            return name
    return bounds[-1][0]


def recycled_content_against_minimums(
    shares: Mapping[str, float], minimums: Mapping[str, float]
) -> dict[str, dict[str, float | bool]]:
    """Each regulated metal's recycled share in active materials against its minimum."""
    return {
        metal: {"share": shares.get(metal, 0.0), "minimum": minimum, "met": shares.get(metal, 0.0) >= minimum}
        for metal, minimum in sorted(minimums.items())
    }
