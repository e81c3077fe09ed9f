"""Regulator reports: reads of the ledger's projections, written out as CSV or XLSX.

Recycled content (Art. 8 of Regulation (EU) 2023/1542), one row per battery model,
manufacturing plant and year of manufacture:

- Batteries are the battery packs the ledger registered (at dismantling), each counted once:
  a repurposed pack (one with a ``previousIdentity``) is the same battery under a new
  identity and is left out. Modules and cells are not counted.
- A battery model is its maker (``manufacturerInformation.identifier``), its GTIN (the GS1
  key of the model, when it has one), its chemistry and rated energy; the plant is its
  ``manufacturingPlace`` and the year that of its ``manufacturingDate``, all read from the
  Battery Pass data sheet it was registered with. Batteries without them form their own
  rows with those cells empty, so gaps in the data show.
- Per metal (Co, Pb, Li, Ni): the plain mean, over the batteries of the row that contain
  the metal, of the declared pre-consumer and post-consumer shares (``Circularity.
  recycledContent``, percent of the metal). A battery contains a metal when it declares
  its recycled content or lists it in ``MaterialComposition.batteryMaterials``; one that
  contains it without declaring a share counts as 0 %. Within one model every battery
  holds the same mass of the metal, so the plain mean equals the mass-weighted one.
  The total is pre- plus post-consumer: Art. 8 counts both manufacturing and
  post-consumer waste.
- The minimums are the carbon registry's ``recycled_content_minimum_<year>`` rows (Art.
  8(2) from 18 August 2031, Art. 8(3) from 18 August 2036). Simplification: a year is held
  to the newest set in force on its last day, so batteries made from 1 January to 17
  August 2031 are held to the 2031 minimums (the strict side). Years before any set
  applies are compared with the first set and marked "not in force".

Recycling efficiency and material recovery (Annex XII), one row per recycler and year:

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

Years are calendar years in UTC: of manufacture for recycled content, of the event for
recycling. Percentages are rounded to 0.01, masses to 0.001 kg.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, TextIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from carbon.factors import FactorBook
from passport.choices import ARTICLE_8_METALS
from traceability.choices import ObjectKind, Operation
from traceability.errors import ApplicationError
from traceability.models import EventRecord, TraceableObject
from traceability.operations.engine import metal_inputs

TARGETS_FILE = Path(__file__).resolve().parent / "data" / "recycling_targets.json"
# Art. 8(2)(a)-(d) order; Battery Pass 1.2.0 names the materials in full.
MINIMUM_CODE = "recycled_content_minimum_"
# (month, day): Art. 8(2) and 8(3) apply from 18 August of the year their registry code names.
ARTICLE_8_DAY = (8, 18)
# Annex XII Part C, points (a)-(e).
RECOVERY_METALS = ("Co", "Cu", "Pb", "Li", "Ni")
RECYCLING, REFINING = Operation.BATTERY_RECYCLING, Operation.BLACK_MASS_REFINING
PREVIOUS_IDENTITY = "previousIdentity"
FIRST_YEAR, LAST_YEAR = 1, 9999  # what a date can hold
# Rows read per database round trip: attributes of a pack are a few kB, so memory stays small.
CHUNK = 2000
PCT, KG = Decimal("0.01"), Decimal("0.001")
YES, NO = "yes", "no"


@dataclass(frozen=True)
class Column:
    key: str
    header: str


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


def pct(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part / whole * 100).quantize(PCT) if whole else None


def met(value: Decimal | None, target: Decimal | None) -> str | None:
    if value is None or target is None:
        return None
    return YES if value >= target else NO


# --- recycled content (Art. 8) -----------------------------------------------------------


def _article_8_minimums() -> tuple[dict[date, dict[str, Decimal]], list[tuple[str, str, str]]]:
    """Minimum recycled content in percent, by the day each set applies from: every current
    ``recycled_content_minimum_<year>`` row of the carbon registry."""
    book = FactorBook.load()
    codes = sorted({code for code, _ in book.general if code.startswith(MINIMUM_CODE)})
    minimums: dict[date, dict[str, Decimal]] = {}
    sources = []
    for code in codes:
        applies = date(int(code.removeprefix(MINIMUM_CODE)), *ARTICLE_8_DAY)
        minimums[applies] = {
            metal: (Decimal(str(value)) * 100).quantize(PCT) for metal, value in book.by_region(code).items()
        }
        for metal in ARTICLE_8_METALS:
            factor = book.general.get((code, metal))
            if factor is not None:
                sources.append((f"{code} {metal}", f"{minimums[applies][metal]} %", factor.source))
    return minimums, sources


def _plant(place: object) -> str:
    if not isinstance(place, dict):
        return ""
    parts = [place.get("streetAddress"), place.get("postalCode"), place.get("addressCountry")]
    return ", ".join(str(p) for p in parts if p)


def _year_of(text: object) -> int | None:
    match = re.match(r"^(\d{4})-", str(text or ""))
    return int(match.group(1)) if match else None


def _shares(recycled: object, materials: object) -> dict[str, tuple[Decimal, Decimal]]:
    """(pre-consumer %, post-consumer %) of each Art. 8 metal the battery contains."""
    names = (
        {m.get("batteryMaterialName") for m in materials if isinstance(m, dict)}
        if isinstance(materials, list)
        else set()
    )
    declared = (
        {c.get("recycledMaterial"): c for c in recycled if isinstance(c, dict)} if isinstance(recycled, list) else {}
    )
    shares = {}
    for metal, name in ARTICLE_8_METALS.items():
        if name in declared:
            content = declared[name]
            shares[metal] = (
                Decimal(str(content.get("preConsumerShare") or 0)),
                Decimal(str(content.get("postConsumerShare") or 0)),
            )
        elif name in names:
            shares[metal] = (Decimal(0), Decimal(0))
    return shares


@dataclass
class _Model:
    batteries: int = 0
    pre: dict[str, Decimal] = field(default_factory=dict)
    post: dict[str, Decimal] = field(default_factory=dict)
    containing: dict[str, int] = field(default_factory=dict)


def recycled_content_report(*, year: int | None = None) -> Report:
    """Recycled content per battery model, plant and year against the Art. 8 minimums."""
    year = checked_year(year)
    general = "attributes__batteryPass__GeneralProductInformation__"
    packs = TraceableObject.objects.filter(kind=ObjectKind.BATTERY_PACK).exclude(attributes__has_key=PREVIOUS_IDENTITY)
    if year is not None:
        packs = packs.filter(**{f"{general}manufacturingDate__startswith": f"{year:04d}-"})
    rows = packs.order_by("pk").values_list(
        f"{general}manufacturerInformation__identifier",
        "attributes__gtin",
        "attributes__chemistry",
        "attributes__ratedEnergyKWh",
        f"{general}manufacturingPlace",
        f"{general}manufacturingDate",
        "attributes__batteryPass__Circularity__recycledContent",
        "attributes__batteryPass__MaterialComposition__batteryMaterials",
    )
    models: dict[tuple[str, str, str, str, str, int | None], _Model] = {}
    for maker, gtin, chemistry, kwh, place, made, recycled, materials in rows.iterator(chunk_size=CHUNK):
        energy = "" if kwh is None else f"{Decimal(str(kwh)).normalize():f}"
        key = (str(maker or ""), str(gtin or ""), str(chemistry or ""), energy, _plant(place), _year_of(made))
        model = models.setdefault(key, _Model())
        model.batteries += 1
        for metal, (pre, post) in _shares(recycled, materials).items():
            model.pre[metal] = model.pre.get(metal, Decimal(0)) + pre
            model.post[metal] = model.post.get(metal, Decimal(0)) + post
            model.containing[metal] = model.containing.get(metal, 0) + 1

    minimums, sources = _article_8_minimums()
    result = []
    for key in sorted(models, key=lambda k: (k[5] is None, k[5] or 0, *k[:5])):
        maker, gtin, chemistry, energy, plant, made_in = key
        model = models[key]
        applied, in_force = target_set(minimums, made_in)
        row: dict[str, object] = {
            "manufacturer": maker or None,
            "gtin": gtin or None,
            "chemistry": chemistry or None,
            "rated_energy_kwh": Decimal(energy) if energy else None,
            "plant": plant or None,
            "year": made_in,
            "batteries": model.batteries,
            "minimums_of": applied.year if applied else None,
            "minimums_in_force": (YES if in_force else NO) if applied else None,
        }
        for metal in ARTICLE_8_METALS:
            count = model.containing.get(metal, 0)
            pre = (model.pre[metal] / count).quantize(PCT) if count else None
            post = (model.post[metal] / count).quantize(PCT) if count else None
            total = pre + post if pre is not None and post is not None else None
            minimum = minimums[applied].get(metal) if applied and count else None
            row |= {
                f"{metal}_pre_pct": pre,
                f"{metal}_post_pct": post,
                f"{metal}_total_pct": total,
                f"{metal}_minimum_pct": minimum,
                f"{metal}_met": met(total, minimum),
            }
        result.append(row)

    columns = [
        Column("manufacturer", "manufacturer"),
        Column("gtin", "battery model (GTIN)"),
        Column("chemistry", "chemistry"),
        Column("rated_energy_kwh", "rated energy (kWh)"),
        Column("plant", "manufacturing plant"),
        Column("year", "year of manufacture"),
        Column("batteries", "batteries (count)"),
        Column("minimums_of", "Art. 8 minimums applying from (year)"),
        Column("minimums_in_force", "minimums in force (yes/no)"),
    ]
    for metal in ARTICLE_8_METALS:
        columns += [
            Column(f"{metal}_pre_pct", f"{metal} pre-consumer (%)"),
            Column(f"{metal}_post_pct", f"{metal} post-consumer (%)"),
            Column(f"{metal}_total_pct", f"{metal} recycled total (%)"),
            Column(f"{metal}_minimum_pct", f"{metal} Art. 8 minimum (%)"),
            Column(f"{metal}_met", f"{metal} minimum met (yes/no)"),
        ]
    return Report(
        name="recycled-content",
        title="Recycled content per battery model, plant and year (Regulation (EU) 2023/1542, Art. 8)",
        year=year,
        columns=columns,
        rows=result,
        sources=sources,
    )


# --- recycling efficiency and material recovery (Annex XII) ------------------------------


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
        efficiency = pct(recycler.output_kg, recycler.input_kg)
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
            "efficiency_pct": efficiency,
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
            recovery = pct(recovered, contained)
            target = next(
                (t.target_pct for t in recovery_targets if t.material == metal and t.by == recovery_due), None
            )
            seen = bool(contained or recovered)
            row |= {
                f"{metal}_contained_kg": contained.quantize(KG) if seen else None,
                f"{metal}_recovered_kg": recovered.quantize(KG) if seen else None,
                f"{metal}_recovery_pct": recovery,
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


# --- files ----------------------------------------------------------------------------------

REPORTS = {"recycled-content": recycled_content_report, "recycling": recycling_report}
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def checked_format(file_format: str) -> str:
    if file_format not in MEDIA_TYPES:
        raise ApplicationError(
            "format_unknown", f"no format {file_format!r}: choose one of {', '.join(MEDIA_TYPES)}", status=404
        )
    return file_format


def report_build(*, name: str, year: int | None = None) -> Report:
    if name not in REPORTS:
        raise ApplicationError("report_unknown", f"no report {name!r}: choose one of {', '.join(REPORTS)}", status=404)
    return REPORTS[name](year=year)


def _cell(value: object) -> object:
    return "" if value is None else value


def write_csv(report: Report, stream: TextIO) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow([c.header for c in report.columns])
    for row in report.rows:
        writer.writerow([_cell(row.get(c.key)) for c in report.columns])


def _header(sheet, titles: list[str]) -> None:  # type: ignore[no-untyped-def]
    bold = Font(bold=True)
    cells = []
    for title in titles:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        cells.append(cell)
    sheet.append(cells)


def write_xlsx(report: Report, stream: BinaryIO) -> None:
    """The rows on one sheet; the minimums and targets they were compared with, and their sources, on another."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Report")
    sheet.freeze_panes = "A2"
    _header(sheet, [c.header for c in report.columns])
    for row in report.rows:
        sheet.append([row.get(c.key) for c in report.columns])
    sources = workbook.create_sheet("Sources")
    _header(sources, ["rule", "value", "source"])
    for rule in report.sources:
        sources.append(list(rule))
    sources.append([])
    sources.append([report.title])
    workbook.save(stream)


def report_bytes(report: Report, *, file_format: str) -> bytes:
    if checked_format(file_format) == "csv":
        text = io.StringIO()
        write_csv(report, text)
        return text.getvalue().encode("utf-8")
    data = io.BytesIO()
    write_xlsx(report, data)
    return data.getvalue()
