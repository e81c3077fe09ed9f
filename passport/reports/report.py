"""The table every regulator report is, and what both reports share: the year asked for, the set of
targets in force in it, percentages and verdicts.

Years are calendar years in UTC: of manufacture for recycled content, of the event for
recycling. Percentages are rounded to 0.01, masses to 0.001 kg.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from traceability.errors import ApplicationError
from traceability.tables import Column

PREVIOUS_IDENTITY = "previousIdentity"
FIRST_YEAR, LAST_YEAR = 1, 9999  # what a date can hold
# Rows read per database round trip: attributes of a pack are a few kB, so memory stays small.
CHUNK = 2000
PCT, KG = Decimal("0.01"), Decimal("0.001")
YES, NO = "yes", "no"


@dataclass
class Report:
    name: str
    title: str
    year: int | None
    columns: list[Column]
    rows: list[dict[str, object]]
    # (rule, value, citation) of every minimum or target the report compares with
    sources: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def filename_stem(self) -> str:
        return f"looptrace-{self.name}-{self.year if self.year is not None else 'all-years'}"


def checked_year(year: int | None) -> int | None:
    if year is not None and not (isinstance(year, int) and FIRST_YEAR <= year <= LAST_YEAR):
        raise ApplicationError("year_invalid", f"year must be a whole number from {FIRST_YEAR} to {LAST_YEAR}")
    return year


def target_set(dates: Iterable[date], year: int | None) -> tuple[date | None, bool]:
    """The newest date in force on the year's last day, else the first one (not in force)."""
    ordered = sorted(set(dates))
    if year is None or not ordered:
        return None, False
    in_force = [d for d in ordered if d <= date(year, 12, 31)]
    return (in_force[-1], True) if in_force else (ordered[0], False)


def percentage(part: Decimal, whole: Decimal) -> Decimal | None:
    """``part`` in percent of ``whole``, unrounded: what a target is compared with."""
    return part / whole * 100 if whole else None


def rounded(value: Decimal | None) -> Decimal | None:
    """A percentage as the report writes it (two decimals), from its unrounded value."""
    return value.quantize(PCT) if value is not None else None


def met(value: Decimal | None, target: Decimal | None) -> str | None:
    """Whether the unrounded ``value`` reaches ``target``: 89.996 % does not meet 90 %, though it
    is written 90.00."""
    if value is None or target is None:
        return None
    return YES if value >= target else NO
