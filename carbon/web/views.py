"""The recycler console's dashboard: the organisation's work counted from the ledger, and its
recycled-content share and footprint by week from the carbon results; it lives in carbon, which
reads traceability, so the page needs no upward import."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from carbon.selectors import dashboard_series
from traceability import figures
from traceability.models import Organisation
from traceability.selectors import dashboard_counts
from traceability.web import svg
from traceability.web.views import DASHBOARD_OPERATIONS, allowed_forms, member_required

SCRAP_NAMES = {"post_consumer": "Post-consumer", "pre_consumer": "Pre-consumer", "internal": "Internal (run-around)"}


@member_required
def dashboard(request: HttpRequest, organisation: Organisation) -> HttpResponse:
    counts = dashboard_counts(organisation=organisation)
    series = dashboard_series(organisation=organisation)
    recycled_plot = footprint_plot = None
    if series:
        recycled_plot = svg.line_chart(
            [svg.Series("recycled content", [(p.week, p.recycled_share * 100) for p in series])],
            title="Recycled-content share of melts and castings, by week",
            unit="%",
            value_format=figures.percentage,
        )
        footprint_plot = svg.line_chart(
            [svg.Series("cut-off", [(p.week, p.footprint_per_kg) for p in series])],
            title="Carbon footprint of melts and castings, by week",
            unit="kg CO2e/kg",
            value_format=figures.intensity,
        )
    return render(
        request,
        "web/dashboard.html",
        {
            "organisation": organisation,
            "tiles": [(label, counts.operations.get(op, 0)) for op, label in DASHBOARD_OPERATIONS],
            "routes": [
                (name, counts.routes.get(key, 0))
                for key, name in (("second_life", "Second life"), ("recycling", "Recycling"))
            ],
            "scrap": [
                {**row, "name": SCRAP_NAMES.get(str(row["category"]), row["category"] or "uncategorised")}
                for row in counts.scrap
            ],
            "castings": counts.castings,
            "series": series,
            "recycled_plot": recycled_plot,
            "footprint_plot": footprint_plot,
            "forms": allowed_forms(organisation),
        },
    )
