"""Carbon's panel of the lot page (named in ``settings.LOT_PAGE_PANELS``)."""

from __future__ import annotations

from django.template.loader import render_to_string

from carbon.choices import CHAIN_NAMES, METHOD_NAMES
from carbon.engine.model import CHAINS_OF_CUSTODY, METHODS, STAGES, assessed_stages
from carbon.selectors import generator_footprint_of, recycled_shares_of
from carbon.web import charts
from traceability import figures
from traceability.web.panels import LotPage

# Chart labels: short enough for the chart's label column.
METHOD_SHORT_NAMES = {"cut_off": "Cut-off", "allocation": "Allocation", "cff": "CFF"}
STAGE_SHORT_NAMES = {
    "raw_material_acquisition": "raw material",
    "main_production": "production",
    "distribution": "distribution",
    "end_of_life_and_recycling": "end of life",
}


def stage_rows(per_kg: list[dict[str, float]]) -> list[tuple[str, list[float | None]]]:
    """A row per lifecycle stage, a value per method: None where the stage is not assessed
    (``carbon.engine.model.assessed_stages``), so a page never writes a zero nobody measured."""
    assessed = [assessed_stages(each) for each in per_kg]
    rows: list[tuple[str, list[float | None]]] = []
    for stage in STAGES:
        values = [
            each.get(stage, 0.0) if stage in known else None for each, known in zip(per_kg, assessed, strict=True)
        ]
        rows.append((stage.replace("_", " "), values))
    return rows


def footprint_panel(page: LotPage) -> str:
    """The lot's footprint per method and lifecycle stage, and its recycled content per chain of custody."""
    lot = page.lot
    results = list(lot.footprints.all())  # type: ignore[attr-defined]
    physical = {r.method: r for r in results if r.chain == "physical"}
    methods = [m for m in METHODS if m in physical]
    cut_off = {r.chain: r for r in results if r.method == "cut_off"}
    # Physical custody first, then mass balance, always in that order (the table's and the chart's).
    by_chain = {chain: cut_off[chain] for chain in CHAINS_OF_CUSTODY if chain in cut_off}
    context: dict[str, object] = {"lot": lot, "footprints": results}
    if methods:
        context["footprint_chart"] = charts.bar_chart(
            [
                (
                    f"{METHOD_SHORT_NAMES.get(m, m)} · {STAGE_SHORT_NAMES.get(stage, stage)}",
                    physical[m].per_kg.get(stage, 0.0),
                )
                for m in methods
                for stage in STAGES
                if physical[m].per_kg.get(stage)
            ]
            or [(METHOD_NAMES.get(m, m), physical[m].total_per_kg) for m in methods],
            unit="kg CO2e/kg",
            title="Carbon footprint per kg, by method and lifecycle stage",
            value_format=figures.intensity,
        )
        context["methods"] = [METHOD_NAMES.get(m, m) for m in methods]
        stages = stage_rows([physical[m].per_kg for m in methods])
        context["stages"] = stages
        context["unassessed"] = any(value is None for _, values in stages for value in values)
        context["totals"] = [(physical[m].total_per_kg, physical[m].total_kg) for m in methods]
        if "allocation" in physical:
            context["generator"] = generator_footprint_of(result=physical["allocation"])
    if by_chain:
        shares = {chain: recycled_shares_of(result=result) for chain, result in by_chain.items()}
        context["recycled_chart"] = charts.recycled_chart(
            [
                charts.RecycledBar(
                    material=CHAIN_NAMES.get(chain, chain),
                    pre_consumer_pct=each.pre_consumer * 100,
                    post_consumer_pct=each.post_consumer * 100,
                    minimums_pct={},
                    recycled_pct=each.recycled * 100,
                )
                for chain, each in shares.items()
            ],
            title="Recycled content by chain of custody",
        )
        context["recycled"] = [
            (CHAIN_NAMES.get(chain, chain), each, by_chain[chain].pending_recycled) for chain, each in shares.items()
        ]
    return render_to_string("web/_footprint_panel.html", context, request=page.request)
