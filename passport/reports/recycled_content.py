"""Recycled content (Art. 8 of Regulation (EU) 2023/1542), one row per battery model,
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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from carbon.factors import FactorBook
from passport.choices import ARTICLE_8_METALS
from traceability.choices import ObjectKind
from traceability.models import TraceableObject

from .report import CHUNK, NO, PCT, PREVIOUS_IDENTITY, YES, Column, Report, checked_year, met, rounded, target_set

# Art. 8(2)(a)-(d) order; Battery Pass 1.2.0 names the materials in full.
MINIMUM_CODE = "recycled_content_minimum_"
# (month, day): Art. 8(2) and 8(3) apply from 18 August of the year their registry code names.
ARTICLE_8_DAY = (8, 18)


def article_8_minimums() -> tuple[dict[date, dict[str, Decimal]], list[tuple[str, str, str]]]:
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


def year_of(text: object) -> int | None:
    match = re.match(r"^(\d{4})-", str(text or ""))
    return int(match.group(1)) if match else None


def declared_shares(recycled: object, materials: object) -> dict[str, tuple[Decimal, Decimal]]:
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
        key = (str(maker or ""), str(gtin or ""), str(chemistry or ""), energy, _plant(place), year_of(made))
        model = models.setdefault(key, _Model())
        model.batteries += 1
        for metal, (pre, post) in declared_shares(recycled, materials).items():
            model.pre[metal] = model.pre.get(metal, Decimal(0)) + pre
            model.post[metal] = model.post.get(metal, Decimal(0)) + post
            model.containing[metal] = model.containing.get(metal, 0) + 1

    minimums, sources = article_8_minimums()
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
            pre = model.pre[metal] / count if count else None
            post = model.post[metal] / count if count else None
            # Summed, and compared with the minimum, before rounding.
            total = pre + post if pre is not None and post is not None else None
            minimum = minimums[applied].get(metal) if applied and count else None
            row |= {
                f"{metal}_pre_pct": rounded(pre),
                f"{metal}_post_pct": rounded(post),
                f"{metal}_total_pct": rounded(total),
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
