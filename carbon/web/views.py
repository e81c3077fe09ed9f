"""The recycler console's dashboard: the organisation's work counted from the ledger, and its
recycled-content share and footprint by week from the carbon results; it lives in carbon, which
reads traceability, so the page needs no upward import."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from carbon import accounts
from carbon.selectors import dashboard_series
from traceability import figures
from traceability.errors import ApplicationError
from traceability.models import Organisation
from traceability.selectors import dashboard_counts
from traceability.visibility import sites_visible_to
from traceability.web import svg
from traceability.web.next_actions import next_actions
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
            "next_actions": next_actions(organisation=organisation),
        },
    )


@member_required
def site_account(request: HttpRequest, organisation: Organisation, pk: int, period: str | None = None) -> HttpResponse:
    """A site's mass-balance account for a year (the latest, when none is named): its entries,
    balance and credits against claims over the year; the very figures the API states."""
    site = sites_visible_to(organisation=organisation).filter(pk=pk).first()
    if site is None:
        raise Http404("no such site among those you may read")
    periods = accounts.account_periods(site=site)
    if period is None:
        chosen = periods[0] if periods else None
    else:
        try:
            chosen = accounts.account_statement(site=site, period=period)
        except ApplicationError as error:
            raise Http404(error.message) from error
    plot = None
    if chosen is not None and chosen.entries:
        credited, claimed = [], []
        credited_kg = claimed_kg = 0.0
        for entry in chosen.entries:
            kg = entry.amount.pre_kg + entry.amount.post_kg
            credited_kg += kg if entry.kind == "credit" else 0.0
            claimed_kg += kg if entry.kind == "claim" else 0.0
            credited.append((entry.event_time.date(), credited_kg))
            claimed.append((entry.event_time.date(), claimed_kg))
        plot = svg.line_chart(
            [svg.Series("credited", credited), svg.Series("claimed", claimed)],
            title=f"Mass-balance account of {site.name}, {chosen.period}",
            unit="kg",
            value_format="{:.1f}".format,
        )
    return render(
        request,
        "web/site_account.html",
        {
            "site": site,
            "periods": [p.period for p in periods],
            "statement": chosen and accounts.statement_json(chosen, entries=True),
            "plot": plot,
            "may_claim": site.organisation_id == organisation.pk,
        },
    )
