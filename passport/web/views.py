"""The recycler's web admin: pages for signed-in members of an organisation.

Views only read the request, call a selector or a form's service, and render; the figures come
from ``passport.web.selectors`` in a constant number of queries per page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from carbon.engine.model import METHODS, STAGES
from passport import charts
from passport.choices import TIER_ORDER, AccessTier
from passport.export import audit_export_lines, audit_export_plan, audit_selection
from passport.models import Passport
from passport.selectors import reader_tier
from passport.tiers import tier_rank
from passport.verify.format import MEDIA_TYPE
from passport.views import CHAIN_NAMES, METHOD_NAMES
from traceability.api.authentication import request_organisation
from traceability.choices import BATTERY_KINDS, ObjectKind, ObjectStatus, Operation, OrganisationRole
from traceability.errors import ApplicationError
from traceability.models import Organisation
from traceability.operations.registry import operation_for
from traceability.selectors import READ_ALL_ROLES, objects_visible_to
from traceability.services import ledger_checkpoint_create

from . import selectors, svg
from .forms import FORMS, first_output

PAGE_SIZE = 25
DASHBOARD_OPERATIONS = [
    (Operation.VEHICLE_INTAKE, "Vehicles received"),
    (Operation.DISMANTLING, "Vehicles dismantled"),
    (Operation.BATTERY_GRADING, "Packs graded"),
    (Operation.SCRAP_SORTING, "Scrap sortings"),
    (Operation.REMELTING, "Melts"),
    (Operation.MOLTEN_TRANSFER, "Molten deliveries"),
    (Operation.DIE_CASTING, "Casting runs"),
]
# Chart labels: short enough for the chart's label column.
METHOD_SHORT_NAMES = {"cut_off": "Cut-off", "allocation": "Allocation", "cff": "CFF"}
STAGE_SHORT_NAMES = {
    "raw_material_acquisition": "raw material",
    "main_production": "production",
    "distribution": "distribution",
    "end_of_life_and_recycling": "end of life",
}
SCRAP_NAMES = {"post_consumer": "Post-consumer", "pre_consumer": "Pre-consumer", "internal": "Internal (run-around)"}


def member_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in, and a member of an organisation: the organisation is passed to the view."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        organisation = request_organisation(request)
        if organisation is None:
            return render(request, "web/no_organisation.html", status=403)
        request.organisation = organisation  # type: ignore[attr-defined]
        return view(request, organisation, *args, **kwargs)

    return wrapper


def allowed_forms(organisation: Organisation) -> list[tuple[str, str, str]]:
    """(slug, title, summary) of the forms of the operations the organisation's role records."""
    return [
        (slug, form.title, form.summary)
        for slug, form in FORMS.items()
        if organisation.role in operation_for({"lt:operation": form.operation}).roles
    ]


def _paged(request: HttpRequest, queryset: object) -> dict[str, object]:
    """The requested page, and the query string that keeps the search on the other pages."""
    others = request.GET.copy()
    others.pop("page", None)
    return {
        "page": Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page")),
        "query_string": others.urlencode(),
    }


@member_required
def dashboard(request: HttpRequest, organisation: Organisation) -> HttpResponse:
    counts = selectors.dashboard_counts(organisation=organisation)
    series = selectors.dashboard_series(organisation=organisation)
    recycled_plot = footprint_plot = None
    if series:
        recycled_plot = svg.line_chart(
            [svg.Series("recycled content", [(p.week, p.recycled_share * 100) for p in series])],
            title="Recycled-content share of melts and castings, by week",
            unit="%",
            value_format="{:.1f}".format,
        )
        footprint_plot = svg.line_chart(
            [svg.Series("cut-off", [(p.week, p.footprint_per_kg) for p in series])],
            title="Carbon footprint of melts and castings, by week",
            unit="kg CO2e/kg",
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
            "recycled_plot": recycled_plot,
            "footprint_plot": footprint_plot,
            "forms": allowed_forms(organisation),
        },
    )


@member_required
def lot_list(request: HttpRequest, organisation: Organisation) -> HttpResponse:
    query, kind, status = (request.GET.get(name, "").strip() for name in ("q", "kind", "status"))
    lots = selectors.lots_search(organisation=organisation, query=query, kind=kind, status=status)
    return render(
        request,
        "web/lot_list.html",
        {
            **_paged(request, lots),
            "query": query,
            "kind": kind,
            "status": status,
            "kinds": ObjectKind.choices,
            "statuses": ObjectStatus.choices,
            "filtered": bool(query or kind or status),
        },
    )


@member_required
def event_list(request: HttpRequest, organisation: Organisation) -> HttpResponse:
    query, operation = request.GET.get("q", "").strip(), request.GET.get("operation", "").strip()
    events = selectors.events_search(organisation=organisation, query=query, operation=operation)
    return render(
        request,
        "web/event_list.html",
        {
            **_paged(request, events),
            "query": query,
            "operation": operation,
            "operations": [op for op, _ in DASHBOARD_OPERATIONS]
            + [Operation.MATERIAL_RECEIPT, Operation.CUSTODY_TRANSFER],
            "filtered": bool(query or operation),
        },
    )


@member_required
def record_index(request: HttpRequest, organisation: Organisation) -> HttpResponse:
    return render(request, "web/record_index.html", {"forms": allowed_forms(organisation)})


@member_required
def record(request: HttpRequest, organisation: Organisation, operation: str) -> HttpResponse:
    form_class = FORMS.get(operation)
    if form_class is None:
        raise Http404("no such operation")
    form = form_class(request.POST or None, organisation=organisation)
    rule = None
    if request.method == "POST" and form.is_valid():
        try:
            event = form.save()
        except ApplicationError as error:
            rule = error
        else:
            made = first_output(event)
            messages.success(request, f"{form.title} recorded as ledger entry #{event.entry_id}.")
            if made is not None:
                return redirect("web:lot", pk=made.pk)
            return redirect(reverse("web:events") + f"?q={event.entry_id}")
    errors = form.errors.as_data()
    rows = [
        (field, [(error.code, message) for error in errors.get(field.name, []) for message in error.messages])
        for field in form
    ]
    general = [(error.code, message) for error in errors.get("__all__", []) for message in error.messages]
    return render(
        request,
        "web/record.html",
        {
            "form": form,
            "rows": rows,
            "general": general,
            "rule": rule,
            "allowed": organisation.role in operation_for({"lt:operation": form.operation}).roles,
        },
        status=422 if request.method == "POST" else 200,
    )


def _footprint_context(lot: object) -> dict[str, object]:
    results = list(lot.footprints.all())  # type: ignore[attr-defined]
    physical = {r.method: r for r in results if r.chain == "physical"}
    methods = [m for m in METHODS if m in physical]
    by_chain = {r.chain: r for r in results if r.method == "cut_off"}
    context: dict[str, object] = {"footprints": results}
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
        )
        context["methods"] = [METHOD_NAMES.get(m, m) for m in methods]
        context["stages"] = [
            (stage.replace("_", " "), [physical[m].per_kg.get(stage, 0.0) for m in methods]) for stage in STAGES
        ]
        context["totals"] = [(physical[m].total_per_kg, physical[m].total_kg) for m in methods]
    if by_chain:
        context["recycled_chart"] = charts.recycled_chart(
            [
                charts.RecycledBar(
                    material=CHAIN_NAMES.get(chain, chain),
                    pre_consumer_pct=result.pre_consumer_share * 100,
                    post_consumer_pct=result.post_consumer_share * 100,
                    minimums_pct={},
                )
                for chain, result in by_chain.items()
            ],
            title="Recycled content by chain of custody",
        )
        context["recycled"] = [
            (CHAIN_NAMES.get(chain, chain), r.pre_consumer_share, r.post_consumer_share, r.pending_recycled)
            for chain, r in by_chain.items()
        ]
    return context


@member_required
def lot_detail(request: HttpRequest, organisation: Organisation, pk: int) -> HttpResponse:
    try:
        lot = selectors.lot_get(organisation=organisation, pk=pk)
    except ApplicationError as error:
        raise Http404(error.message) from error
    history = selectors.lot_history(lot=lot)
    nodes, edges = selectors.genealogy_graph_data(
        organisation=organisation, lot=lot, href=reverse("web:lot", kwargs={"pk": 0}).replace("/0/", "/{pk}/")
    )
    passport = None
    tiers: list[AccessTier] = []
    if lot.kind in BATTERY_KINDS:
        passport = Passport.objects.filter(battery=lot).first()
        if passport is not None:
            allowed = reader_tier(organisation=organisation, passport=passport)
            tiers = [tier for tier in TIER_ORDER if tier_rank(tier) <= tier_rank(allowed)]
    cast = next((b.event for b in history if b.event.entry_id == lot.created_seq), None)
    return render(
        request,
        "web/lot_detail.html",
        {
            "lot": lot,
            "history": history,
            "graph": svg.genealogy_graph(nodes, edges, title=f"Genealogy of {lot.label}") if len(nodes) > 1 else None,
            "ancestors": sorted((n for n in nodes if n.column < 0), key=lambda n: (n.column, -n.kg)),
            "descendants": sorted((n for n in nodes if n.column > 0), key=lambda n: (n.column, -n.kg)),
            "verification": selectors.entry_verification(seq=lot.created_seq),
            "passport": passport,
            "tiers": tiers,
            "part_passport": lot.kind == ObjectKind.PART
            and cast is not None
            and cast.operation == Operation.DIE_CASTING,
            **_footprint_context(lot),
        },
    )


@require_POST
@member_required
def checkpoint_request(request: HttpRequest, organisation: Organisation, pk: int) -> HttpResponse:
    """Sign a checkpoint now, so an entry newer than the last one can be proven at once."""
    checkpoint = ledger_checkpoint_create()
    messages.success(request, f"Checkpoint of {checkpoint.tree_size} entries signed.")
    return redirect("web:lot", pk=pk)


@member_required
def passport_list(request: HttpRequest, organisation: Organisation) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    passports = Passport.objects.select_related("battery").order_by("-created_at")
    if organisation.role not in READ_ALL_ROLES:
        passports = passports.filter(battery__in=objects_visible_to(organisation=organisation).values("pk"))
    if query:
        passports = passports.filter(
            Q(battery__identifier__icontains=query)
            | Q(battery__label__icontains=query)
            | Q(battery__attributes__serialNumber=query)
        )
    return render(
        request,
        "web/passport_list.html",
        {**_paged(request, passports), "query": query, "tiers": TIER_ORDER},
    )


@member_required
def audit(request: HttpRequest, organisation: Organisation) -> HttpResponse:
    """The regulator's audit export: pick a selection, download the file ``export_audit`` writes."""
    regulator = organisation.role == OrganisationRole.REGULATOR
    if regulator and "download" in request.GET:
        values = {name: request.GET.get(name, "").strip() or None for name in ("organisation", "since", "until")}
        try:
            plan = audit_export_plan(selection=audit_selection(**values))
        except ApplicationError as error:
            messages.error(request, f"{error.code}: {error.message}")
            return redirect("web:audit")
        response = StreamingHttpResponse(audit_export_lines(plan), content_type=MEDIA_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{plan.filename}"'
        return response
    return render(
        request,
        "web/audit.html",
        {
            "regulator": regulator,
            "organisations": Organisation.objects.order_by("slug").values_list("slug", "name") if regulator else [],
        },
        status=200 if regulator else 403,
    )
