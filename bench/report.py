"""Benchmark results: the ratio to an in-run baseline, ``bench/results.json`` and the printed table."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

RESULTS_PATH = Path(__file__).resolve().parent / "results.json"

_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


class BenchError(Exception):
    """A benchmark could not produce a valid result (a failed check, not a slow one)."""


@dataclass(frozen=True)
class Result:
    value: float
    unit: str
    baseline: float
    ratio: float
    target: str

    @classmethod
    def of(cls, *, value: float, baseline: float, unit: str, target: str) -> Result:
        if baseline <= 0:
            raise BenchError(f"the baseline measured {baseline} {unit}: no ratio can be taken")
        return cls(value=value, unit=unit, baseline=baseline, ratio=value / baseline, target=target)

    @property
    def met(self) -> bool:
        return target_met(self.ratio, self.target)


def target_met(ratio: float, target: str) -> bool:
    """Whether ``ratio`` meets a target written as a comparison with a number, e.g. ``>=0.5``."""
    for symbol in sorted(_COMPARISONS, key=len, reverse=True):
        if target.startswith(symbol):
            return _COMPARISONS[symbol](ratio, float(target[len(symbol) :]))
    raise ValueError(f"target {target!r} is not a comparison such as '>=0.5'")


def write_results(results: Mapping[str, Result], *, merge: bool, path: Path = RESULTS_PATH) -> Path:
    """Write ``results`` keyed by benchmark name; with ``merge`` keep the other benchmarks already there."""
    stored: dict[str, object] = {}
    if merge and path.exists():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            loaded = {}
        if isinstance(loaded, dict):
            stored.update(loaded)
    stored.update({name: asdict(result) for name, result in results.items()})
    path.write_text(json.dumps(stored, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def _number(value: float) -> str:
    """One decimal for large values (events/s), four significant digits for small ones (seconds)."""
    return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.4g}"


def _ratio(value: float) -> str:
    """Three decimals, or three significant digits for ratios too small to show that way."""
    return f"{value:.3f}" if value == 0 or abs(value) >= 0.001 else f"{value:.3g}"


def format_table(results: Mapping[str, Result]) -> str:
    header = ("name", "value", "unit", "baseline", "ratio", "target", "met")
    rows = [
        (
            name,
            _number(result.value),
            result.unit,
            _number(result.baseline),
            _ratio(result.ratio),
            result.target,
            "yes" if result.met else "NO",
        )
        for name, result in results.items()
    ]
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    numeric = {1, 3, 4}

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            cell.rjust(width) if column in numeric else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(header), "  ".join("-" * width for width in widths), *(line(row) for row in rows)])
