"""The recycler console's traceability pages, for signed-in members of an organisation: lots
(list, and a page per lot with its genealogy and mass balance), events, and one form per operation.

Views only read the request, call a selector or a form's service, and render; the figures come
from ``traceability.selectors`` in a constant number of queries per page. The lot page's panels
are declared in ``settings.LOT_PAGE_PANELS`` (see ``traceability.web.panels``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from traceability import selectors, tables, visibility
from traceability.api.authentication import request_organisation
from traceability.choices import MATERIAL_HOLDING_ROLES, ObjectKind, ObjectStatus, Operation
from traceability.errors import ApplicationError
from traceability.models import EventRecord, Organisation, TraceableObject
from traceability.operations.registry import operation_for
from traceability.operations.selectors import lot_history
from traceability.services import ledger_checkpoint_create
from traceability.tables import Column

from .facts import object_facts
from .forms import FORMS, SiteForm, first_output
from .next_actions import next_actions
from .panels import LotPage, lot_panels

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
    """(slug, title, summary) of the forms of the operations the organisation's role records
    (narrowed, where a form says so, to the roles whose material the form offers)."""
    return [
        (slug, form.title, form.summary)
        for slug, form in FORMS.items()
        if organisation.role in operation_for({"lt:operation": form.operation}).roles
        and (form.roles is None or organisation.role in form.roles)
    ]


def paged(request: HttpRequest, queryset: object) -> dict[str, object]:
    """The requested page, and the query string that keeps the search on the other pages."""
    others = request.GET.copy()
    others.pop("page", None)
    return {
        "page": Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page")),
        "query_string": others.urlencode(),
    }


# Ledger sequence numbers are PostgreSQL bigints: a larger one names no event.
MAX_SEQ = 2**63 - 1
# Rows read per database round trip when a list is exported.
EXPORT_CHUNK = 2000
LOT_COLUMNS = [
    Column("identifier", "Identifier"),
    Column("label", "Label"),
    Column("kind", "Kind"),
    Column("status", "Status"),
    Column("remaining_kg", "Remaining kg"),
    Column("initial_kg", "Initial kg"),
    Column("site", "Site"),
    Column("since", "Since (UTC)"),
    Column("ledger_entry", "Ledger entry"),
]
EVENT_COLUMNS = [
    Column("ledger_entry", "Ledger entry"),
    Column("operation", "Operation"),
    Column("event_type", "EPCIS event type"),
    Column("organisation", "Organisation"),
    Column("site", "Site"),
    Column("event_time", "Event time (UTC)"),
    Column("warnings", "Warnings"),
]


def _utc(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def lot_row(lot: TraceableObject) -> dict[str, object]:
    return {
        "identifier": lot.identifier,
        "label": lot.label,
        "kind": lot.get_kind_display(),
        "status": lot.get_status_display(),
        "remaining_kg": lot.remaining_kg,
        "initial_kg": lot.initial_kg,
        "site": lot.site.name if lot.site else "",
        "since": _utc(lot.created_at),
        "ledger_entry": lot.created_seq,
    }


def event_row(event: EventRecord) -> dict[str, object]:
    """An event as the list shows it: another organisation's event without its document's site or warnings."""
    readable = getattr(event, "document_readable", False)
    return {
        "ledger_entry": event.entry_id,
        "operation": event.operation,
        "event_type": event.event_type,
        "organisation": event.organisation.name,
        "site": event.site.name if readable and event.site else "",
        "event_time": _utc(event.event_time),
        "warnings": "; ".join(event.warnings) if readable else "",
    }


def exported(request: HttpRequest, name: str, columns: list[Column], rows: Iterator[dict[str, object]]) -> HttpResponse:
    """``?format=csv`` (streamed) or ``xlsx``: the whole list as filtered, not just the page shown."""
    file_format = request.GET["format"]
    if file_format not in tables.MEDIA_TYPES:
        return HttpResponse(
            f"No format {file_format!r}: choose csv or xlsx.", status=400, content_type="text/plain; charset=utf-8"
        )
    stem = f"looptrace-{name}-{timezone.now():%Y-%m-%d}"
    if file_format == "csv":
        response: HttpResponse = StreamingHttpResponse(
            tables.csv_chunks(columns, rows), content_type=tables.MEDIA_TYPES["csv"]
        )
    else:
        response = HttpResponse(tables.xlsx_bytes(name.title(), columns, rows), content_type=tables.MEDIA_TYPES["xlsx"])
    response["Content-Disposition"] = f'attachment; filename="{stem}.{file_format}"'
    return response


@member_required
def lot_list(request: HttpRequest, organisation: Organisation) -> HttpResponse:
    query, kind, status = (request.GET.get(name, "").strip() for name in ("q", "kind", "status"))
    lots = selectors.lots_search(organisation=organisation, query=query, kind=kind, status=status)
    if request.GET.get("format"):
        return exported(request, "lots", LOT_COLUMNS, (lot_row(lot) for lot in lots.iterator(chunk_size=EXPORT_CHUNK)))
    return render(
        request,
        "web/lot_list.html",
        {
            **paged(request, lots),
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
    if request.GET.get("format"):
        rows = (event_row(event) for event in events.select_related("organisation").iterator(chunk_size=EXPORT_CHUNK))
        return exported(request, "events", EVENT_COLUMNS, rows)
    listing = paged(request, events)
    return render(
        request,
        "web/event_list.html",
        {
            **listing,
            "query": query,
            "operation": operation,
            "operations": [op for op, _ in DASHBOARD_OPERATIONS]
            + [
                Operation.MATERIAL_RECEIPT,
                Operation.REPURPOSING,
                Operation.BATTERY_RECYCLING,
                Operation.BLACK_MASS_REFINING,
                Operation.CUSTODY_TRANSFER,
            ],
            "filtered": bool(query or operation),
        },
    )


@member_required
def event_detail(request: HttpRequest, organisation: Organisation, seq: int) -> HttpResponse:
    """One event as its reader may see it: another organisation's without its document (its
    site, warnings and the objects the reader cannot see), as the API's event detail shows it."""
    record = (
        visibility.events_visible_to(organisation=organisation)
        .select_related("site", "entry")
        .prefetch_related("involved")
        .filter(entry_id=seq)
        .first()
        if 0 < seq <= MAX_SEQ
        else None
    )
    if record is None:
        raise Http404("no such event that you may see")
    involved = list(record.involved.all())
    reader = visibility.event_reader(organisation=organisation, identifiers=[o.identifier for o in involved])
    readable = reader.reads_document(owner_id=record.organisation_id)
    return render(
        request,
        "web/event_detail.html",
        {
            "event": record,
            "operation": dict(Operation.choices).get(record.operation, record.operation),
            "readable": readable,
            "objects": [o for o in involved if reader.shows(o.identifier)],
            "hidden": sum(1 for o in involved if not reader.shows(o.identifier)),
            "document": json.dumps(json.loads(record.entry.document), indent=2, ensure_ascii=False) if readable else "",
        },
    )


@member_required
def record_index(request: HttpRequest, organisation: Organisation) -> HttpResponse:
    has_sites = selectors.sites_list(organisation=organisation, own=True).exists()
    forms = allowed_forms(organisation)
    return render(
        request,
        "web/record_index.html",
        {
            "forms": forms,
            "has_sites": has_sites,
            "next_actions": next_actions(organisation=organisation) if forms else [],
        },
    )


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


@member_required
def site_list(request: HttpRequest, organisation: Organisation) -> HttpResponse:
    """Your sites, and a form to add one."""
    form = SiteForm(request.POST or None, organisation=organisation)
    if request.method == "POST" and form.is_valid():
        site = form.save()
        if site is not None:
            messages.success(request, f"Site {site.name} added: pick it when you record.")
            return redirect("web:sites")
    sites = selectors.sites_list(organisation=organisation, own=True)
    return render(
        request,
        "web/site_list.html",
        {"sites": sites, "form": form, "may_add": organisation.role in MATERIAL_HOLDING_ROLES},
        status=422 if request.method == "POST" else 200,
    )


@member_required
def lot_detail(request: HttpRequest, organisation: Organisation, pk: int) -> HttpResponse:
    try:
        lot = selectors.lot_get(organisation=organisation, pk=pk)
    except ApplicationError as error:
        raise Http404(error.message) from error
    page = LotPage(request, organisation, lot, lot_history(lot=lot))
    return render(
        request,
        "web/lot_detail.html",
        {
            "lot": lot,
            "facts": object_facts(lot.attributes),
            "verification": selectors.entry_verification(seq=lot.created_seq),
            "may_sign_checkpoint": visibility.is_platform_operator(request.user),
            "panels": [panel(page) for panel in lot_panels()],
        },
    )


@require_POST
@member_required
def checkpoint_request(request: HttpRequest, organisation: Organisation, pk: int) -> HttpResponse:
    """Sign a checkpoint now, so an entry newer than the last one can be proven at once.

    The platform's key signs it, so only a platform operator may ask (as on the API)."""
    if not visibility.is_platform_operator(request.user):
        raise PermissionDenied("checkpoints are signed by the platform operator")
    checkpoint = ledger_checkpoint_create()
    messages.success(request, f"Checkpoint of {checkpoint.tree_size} entries signed.")
    return redirect("web:lot", pk=pk)
