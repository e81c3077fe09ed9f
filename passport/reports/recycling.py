"""Recycling efficiency and material recovery (Annex XII), one row per recycler and year:

- Recycling efficiency (Part A's idea: output fractions counted as recycling over the
  input fraction of waste batteries) is the mass of the outputs of the recycler's
  ``battery_recycling`` events (black mass and fractions) over the kg of batteries those
  events consumed. Simplifications: every output lot of mechanical treatment is counted as
  going to recycling (plastics included); declared losses (electrolyte, moisture) are not
  recycled; losses in later refining are not deducted, since only part of the black mass
  is refined in the same year.
- The Part B target applies when every input battery's chemistry is one the target row
  covers (LFP and NMC: lithium-based); otherwise the row has no target.
- Material recovery (Part C) per metal (Co, Cu, Pb, Li, Ni) is measured on the
  recycler's ``black_mass_refining`` events: metal in the products (salt kg x
  ``metalContentPct``) over metal contained in the inputs (kg consumed x assay), as the
  engine computes each salt's ``recoveryPct``. Simplification: Part C divides by the metal
  in the waste batteries; metal lost in mechanical treatment before refining is not seen,
  which makes the figure an upper bound.
- Targets come from ``passport/data/recycling_targets.json``, each with its source. A
  target "by 31 December Y" applies to year Y and later; earlier years are compared with
  the first target and marked "not in force".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from traceability.choices import Operation
from traceability.models import EventRecord, TraceableObject
from traceability.operations.engine import metal_inputs

from .report import CHUNK, KG, NO, PCT, YES, Column, Report, checked_year, met, percentage, rounded, target_set

TARGETS_FILE = Path(__file__).resolve().parent.parent / "data" / "recycling_targets.json"
# Annex XII Part C, points (a)-(e).
RECOVERY_METALS = ("Co", "Cu", "Pb", "Li", "Ni")
RECYCLING, REFINING = Operation.BATTERY_RECYCLING, Operation.BLACK_MASS_REFINING


@dataclass(frozen=True)
class Target:
    measure: str
    target_pct: Decimal
    by: date
    source: str
    material: str = ""
    chemistries: frozenset[str] = frozenset()


@lru_cache(maxsize=1)
def recycling_targets() -> tuple[Target, ...]:
    rows = json.loads(TARGETS_FILE.read_text(encoding="utf-8"))["targets"]
    return tuple(
        Target(
            measure=row["measure"],
            target_pct=Decimal(str(row["targetPct"])).quantize(PCT),
            by=date.fromisoformat(row["by"]),
            source=row["source"],
            material=row.get("material", ""),
            chemistries=frozenset(row.get("chemistries", [])),
        )
        for row in rows
    )


@dataclass
class _Recycler:
    slug: str
    name: str
    input_kg: Decimal = Decimal(0)
    output_kg: Decimal = Decimal(0)
    chemistries: set[str] = field(default_factory=set)
    contained: dict[str, Decimal] = field(default_factory=dict)
    recovered: dict[str, Decimal] = field(default_factory=dict)


def _consumed(records: list[EventRecord]) -> dict[int, TraceableObject]:
    pks = {int(pk) for record in records for pk in record.consumed}
    return TraceableObject.objects.only("pk", "attributes").in_bulk(pks)


def recycling_report(*, year: int | None = None) -> Report:
    """Recycling efficiency and material recovery per recycler and year against Annex XII."""
    year = checked_year(year)
    events = EventRecord.objects.filter(operation__in=(RECYCLING, REFINING)).select_related("organisation")
    if year is not None:
        events = events.filter(event_time__year=year)
    recyclers: dict[tuple[int, int], _Recycler] = {}
    batch: list[EventRecord] = []
    for record in events.order_by("entry_id").iterator(chunk_size=CHUNK):
        batch.append(record)
        if len(batch) == CHUNK:
            _tally(batch, recyclers)
            batch = []
    _tally(batch, recyclers)

    targets = recycling_targets()
    recovery_targets = [t for t in targets if t.measure == "material_recovery"]
    result = []
    for (_, event_year), recycler in sorted(recyclers.items(), key=lambda item: (item[1].slug, item[0][1])):
        efficiency = percentage(recycler.output_kg, recycler.input_kg)
        covering = [
            t
            for t in targets
            if t.measure == "recycling_efficiency" and recycler.chemistries and recycler.chemistries <= t.chemistries
        ]
        due, in_force = target_set((t.by for t in covering), event_year)
        efficiency_target = next((t.target_pct for t in covering if t.by == due), None)
        recovery_due, recovery_in_force = target_set((t.by for t in recovery_targets), event_year)
        row: dict[str, object] = {
            "recycler": recycler.slug,
            "recycler_name": recycler.name,
            "year": event_year,
            "chemistries": ", ".join(sorted(recycler.chemistries)) or None,
            "input_kg": recycler.input_kg.quantize(KG),
            "output_kg": recycler.output_kg.quantize(KG),
            "efficiency_pct": rounded(efficiency),
            "efficiency_target_by": due.isoformat() if due else None,
            "efficiency_target_in_force": (YES if in_force else NO) if due else None,
            "efficiency_target_pct": efficiency_target,
            "efficiency_met": met(efficiency, efficiency_target),
            "recovery_targets_by": recovery_due.isoformat() if recovery_due else None,
            "recovery_targets_in_force": (YES if recovery_in_force else NO) if recovery_due else None,
        }
        for metal in RECOVERY_METALS:
            contained = recycler.contained.get(metal, Decimal(0))
            recovered = recycler.recovered.get(metal, Decimal(0))
            recovery = percentage(recovered, contained)
            target = next(
                (t.target_pct for t in recovery_targets if t.material == metal and t.by == recovery_due), None
            )
            seen = bool(contained or recovered)
            row |= {
                f"{metal}_contained_kg": contained.quantize(KG) if seen else None,
                f"{metal}_recovered_kg": recovered.quantize(KG) if seen else None,
                f"{metal}_recovery_pct": rounded(recovery),
                f"{metal}_target_pct": target if seen else None,
                f"{metal}_met": met(recovery, target),
            }
        result.append(row)

    columns = [
        Column("recycler", "recycler"),
        Column("recycler_name", "recycler name"),
        Column("year", "year"),
        Column("chemistries", "input battery chemistries"),
        Column("input_kg", "input batteries (kg)"),
        Column("output_kg", "recycling outputs (kg)"),
        Column("efficiency_pct", "recycling efficiency (%)"),
        Column("efficiency_target_by", "efficiency target due by (date)"),
        Column("efficiency_target_in_force", "efficiency target in force (yes/no)"),
        Column("efficiency_target_pct", "efficiency target (%)"),
        Column("efficiency_met", "efficiency target met (yes/no)"),
        Column("recovery_targets_by", "recovery targets due by (date)"),
        Column("recovery_targets_in_force", "recovery targets in force (yes/no)"),
    ]
    for metal in RECOVERY_METALS:
        columns += [
            Column(f"{metal}_contained_kg", f"{metal} in refining inputs (kg)"),
            Column(f"{metal}_recovered_kg", f"{metal} recovered (kg)"),
            Column(f"{metal}_recovery_pct", f"{metal} material recovery (%)"),
            Column(f"{metal}_target_pct", f"{metal} recovery target (%)"),
            Column(f"{metal}_met", f"{metal} target met (yes/no)"),
        ]
    sources = [
        (
            f"{t.measure} {t.material or ', '.join(sorted(t.chemistries))} by {t.by.isoformat()}",
            f"{t.target_pct} %",
            t.source,
        )
        for t in targets
    ]
    return Report(
        name="recycling",
        title="Recycling efficiency and material recovery per recycler and year (Regulation (EU) 2023/1542, Annex XII)",
        year=year,
        columns=columns,
        rows=result,
        sources=sources,
    )


def _tally(records: list[EventRecord], recyclers: dict[tuple[int, int], _Recycler]) -> None:
    """Add a batch of recycling and refining events to their recycler's year."""
    if not records:
        return
    inputs = _consumed(records)
    outputs: dict[int, list[TraceableObject]] = {}
    for obj in TraceableObject.objects.filter(created_seq__in=[r.entry_id for r in records]).only(
        "created_seq", "initial_kg", "attributes"
    ):
        outputs.setdefault(obj.created_seq, []).append(obj)
    for record in records:
        organisation = record.organisation
        recycler = recyclers.setdefault(
            (organisation.pk, record.event_time.year), _Recycler(slug=organisation.slug, name=organisation.name)
        )
        consumed = [(inputs[int(pk)], Decimal(kg)) for pk, kg in record.consumed.items()]
        made = outputs.get(record.entry_id, [])
        if record.operation == RECYCLING:
            recycler.input_kg += sum((kg for _, kg in consumed), Decimal(0))
            recycler.output_kg += sum((obj.initial_kg for obj in made), Decimal(0))
            recycler.chemistries |= {str(obj.attributes.get("chemistry") or "unknown") for obj, _ in consumed}
            continue
        for metal, kg in metal_inputs(consumed).items():
            if metal in RECOVERY_METALS:
                recycler.contained[metal] = recycler.contained.get(metal, Decimal(0)) + kg
        for obj in made:
            metal = str(obj.attributes.get("metal") or "")
            if metal in RECOVERY_METALS:
                content = Decimal(str(obj.attributes.get("metalContentPct") or 0))
                recycler.recovered[metal] = recycler.recovered.get(metal, Decimal(0)) + obj.initial_kg * content / 100
