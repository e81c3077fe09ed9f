"""``genealogy_adversarial``: a genealogy through 30 split-and-merge loops against a plain one.

The ancestry of ``genealogy_backward`` (about 10,000 ancestors, written in bulk), built once
more under organisations of its own, with one 80 kg lot of the melt held back from the
castings, split in halves and remerged 30 times (a partner's doing: 2**30 paths through 90
lots) and cast whole into one more casting. Its ancestry is the plain casting's plus 91 lots.

Subject: ``genealogy(root=looped casting, direction="backward")``. Baseline: the same call on
a plain casting of the same melt (9,858 ancestors). Both must find their ancestors with the
roots' kilograms adding up to the casting's mass. Median of alternating repetitions after a
warm-up each; the ratio is subject time over baseline time, so 1 means the loops cost what
their 91 extra nodes cost, whatever their number of paths (a walk per path would not end).
"""

from __future__ import annotations

import statistics
from decimal import Decimal
from time import perf_counter

from tqdm import tqdm

from bench.genealogy import EXPECTED_ANCESTORS, VEHICLES, _build_ancestry, _settle
from bench.report import BenchError, Result
from traceability.genealogy import Genealogy, genealogy
from traceability.models import TraceableObject

TARGET = "<=1.5"
LOOPS = 30
REPETITIONS = 7


def run() -> Result:
    plain, looped = _build_ancestry(
        name="genealogy_adversarial", slug="bench-adv", first_vehicle=VEHICLES + 1, loops=LOOPS
    )
    assert looped is not None
    _settle()
    _check(plain, genealogy(root=plain, direction="backward"), EXPECTED_ANCESTORS)
    _check(looped, genealogy(root=looped, direction="backward"), EXPECTED_ANCESTORS + 1 + 3 * LOOPS)
    subject_times, baseline_times = [], []
    with tqdm(total=2 * REPETITIONS, desc="genealogy_adversarial: queries", unit="query", leave=False) as bar:
        for _ in range(REPETITIONS):
            started = perf_counter()
            genealogy(root=looped, direction="backward")
            subject_times.append(perf_counter() - started)
            bar.update()
            started = perf_counter()
            genealogy(root=plain, direction="backward")
            baseline_times.append(perf_counter() - started)
            bar.update()
    subject, baseline = statistics.median(subject_times), statistics.median(baseline_times)
    return Result.of(value=subject, baseline=baseline, unit="s/query", target=TARGET)


def _check(casting: TraceableObject, found: Genealogy, ancestors: int) -> None:
    if len(found.nodes) != ancestors:
        raise BenchError(f"{casting.identifier}: {len(found.nodes)} ancestors, the build made {ancestors}")
    made = {edge.target for edge in found.edges}
    roots = [node.kg for node in found.nodes if node.id not in made]
    # Each root's kilograms are rounded to the gram: half a gram each, at most.
    if abs(sum(roots, Decimal(0)) - casting.initial_kg) > Decimal("0.0005") * len(roots) + Decimal("0.01"):
        raise BenchError(f"{casting.identifier}: its roots contribute {sum(roots)} kg to {casting.initial_kg} kg")
