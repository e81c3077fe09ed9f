"""The lot page's panels: each a function of the page (request, reader, lot, the lot's history) that
returns a section of HTML, shown in the order ``settings.LOT_PAGE_PANELS`` names them.

The page lives here, in the lowest app, and shows figures the apps built on it compute (footprints,
passports); naming their panels in settings, not importing them, keeps traceability from
importing carbon or passport.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.module_loading import import_string

from traceability.genealogy import genealogy
from traceability.models import Organisation, TraceableObject
from traceability.operations.selectors import Balance
from traceability.visibility import objects_visible_to

from .svg import GraphEdge, GraphNode, genealogy_graph


@dataclass(frozen=True)
class LotPage:
    """What every panel of one lot page may use, read once for all of them."""

    request: HttpRequest
    organisation: Organisation
    lot: TraceableObject
    history: list[Balance]  # every event about the lot, oldest first, with its mass balance


LotPanel = Callable[[LotPage], str]


def lot_panels() -> list[LotPanel]:
    return [import_string(path) for path in settings.LOT_PAGE_PANELS]


def genealogy_graph_data(
    *, organisation: Organisation, lot: TraceableObject, href: str
) -> tuple[list[GraphNode], list[GraphEdge]]:
    """Ancestors and descendants of ``lot`` with the kg each holds of it, as graph columns; nodes the
    reader may open link to their page (``href`` holds ``{pk}``)."""
    backward = genealogy(root=lot, direction="backward")
    forward = genealogy(root=lot, direction="forward")
    ids = {n.id for n in backward.nodes} | {n.id for n in forward.nodes}
    readable = set(objects_visible_to(organisation=organisation).filter(pk__in=ids).values_list("pk", flat=True))

    def link(pk: int) -> str | None:
        return href.format(pk=pk) if pk in readable else None

    nodes = [GraphNode(lot.pk, lot.label, lot.kind, lot.initial_kg, 0)]
    seen = {lot.pk}
    for node in backward.nodes:
        nodes.append(GraphNode(node.id, node.label, node.kind, node.kg, -node.depth, link(node.id)))
        seen.add(node.id)
    for node in forward.nodes:
        if node.id not in seen:
            nodes.append(GraphNode(node.id, node.label, node.kind, node.kg, node.depth, link(node.id)))
    edges = [GraphEdge(e.source, e.target, e.kg) for e in [*backward.edges, *forward.edges]]
    return nodes, edges


def genealogy_panel(page: LotPage) -> str:
    lot = page.lot
    nodes, edges = genealogy_graph_data(
        organisation=page.organisation, lot=lot, href=reverse("web:lot", kwargs={"pk": 0}).replace("/0/", "/{pk}/")
    )
    context = {
        "lot": lot,
        "graph": genealogy_graph(nodes, edges, title=f"Genealogy of {lot.label}") if len(nodes) > 1 else None,
        "ancestors": sorted((n for n in nodes if n.column < 0), key=lambda n: (n.column, -n.kg)),
        "descendants": sorted((n for n in nodes if n.column > 0), key=lambda n: (n.column, -n.kg)),
    }
    return render_to_string("web/_genealogy_panel.html", context, request=page.request)


def mass_balance_panel(page: LotPage) -> str:
    context = {"lot": page.lot, "history": page.history}
    return render_to_string("web/_mass_balance_panel.html", context, request=page.request)
