"""The lot page's panels: each a function of the page (request, reader, lot, the lot's history) that
returns a section of HTML, shown in the order ``settings.LOT_PAGE_PANELS`` names them.

The page lives here, in the lowest app, and shows figures the apps built on it compute (footprints,
passports); naming their panels in settings, not importing them, keeps traceability from
importing carbon or passport.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.module_loading import import_string

from traceability.genealogy import genealogy
from traceability.models import Organisation, TraceableObject
from traceability.operations.selectors import Balance
from traceability.visibility import may_read_documents_of, objects_visible_to

from .svg import GraphEdge, GraphNode, genealogy_graph


@dataclass(frozen=True)
class LotPage:
    """What every panel of one lot page may use, read once for all of them."""

    request: HttpRequest
    organisation: Organisation
    lot: TraceableObject
    history: list[Balance]  # every event about the lot, oldest first, with its mass balance
    _checked: set[int] = field(default_factory=set)
    _readable: set[int] = field(default_factory=set)

    def readable(self, ids: set[int]) -> set[int]:
        """Which of ``ids`` the reader may read. The objects of the lot's history are checked along
        with the first ask, so the page's panels share one query."""
        wanted = set(ids) | {obj.pk for b in self.history for obj in [*(o for o, _ in b.inputs), *b.outputs]}
        unchecked = wanted - self._checked
        if unchecked:
            visible = objects_visible_to(organisation=self.organisation).filter(pk__in=unchecked)
            self._readable.update(visible.values_list("pk", flat=True))
            self._checked.update(unchecked)
        return self._readable & set(ids)


LotPanel = Callable[[LotPage], str]
# What a page shows in place of the label of an object the reader may not read.
FOLDED_LABEL = "another organisation's"


def lot_panels() -> list[LotPanel]:
    return [import_string(path) for path in settings.LOT_PAGE_PANELS]


def genealogy_graph_data(*, page: LotPage, href: str) -> tuple[list[GraphNode], list[GraphEdge]]:
    """Ancestors and descendants of the page's lot with the kg each holds of it, as graph columns;
    nodes the reader may open link to their page (``href`` holds ``{pk}``)."""
    lot = page.lot
    backward = genealogy(root=lot, direction="backward")
    forward = genealogy(root=lot, direction="forward")
    readable = page.readable({n.id for n in backward.nodes} | {n.id for n in forward.nodes})

    def link(pk: int) -> str | None:
        return href.format(pk=pk) if pk in readable else None

    def label(node) -> str:  # type: ignore[no-untyped-def]
        # Another organisation's object shows its kind and kg, never its identifier or label.
        return node.label if node.id in readable else FOLDED_LABEL

    nodes = [GraphNode(lot.pk, lot.label, lot.kind, lot.initial_kg, 0)]
    seen = {lot.pk}
    for node in backward.nodes:
        nodes.append(GraphNode(node.id, label(node), node.kind, node.kg, -node.depth, link(node.id)))
        seen.add(node.id)
    for node in forward.nodes:
        if node.id not in seen:
            nodes.append(GraphNode(node.id, label(node), node.kind, node.kg, node.depth, link(node.id)))
    edges = [GraphEdge(e.source, e.target, e.kg) for e in [*backward.edges, *forward.edges]]
    return nodes, edges


def genealogy_panel(page: LotPage) -> str:
    lot = page.lot
    nodes, edges = genealogy_graph_data(page=page, href=reverse("web:lot", kwargs={"pk": 0}).replace("/0/", "/{pk}/"))
    context = {
        "lot": lot,
        "graph": genealogy_graph(nodes, edges, title=f"Genealogy of {lot.label}") if len(nodes) > 1 else None,
        "ancestors": sorted((n for n in nodes if n.column < 0), key=lambda n: (n.column, -n.kg)),
        "descendants": sorted((n for n in nodes if n.column > 0), key=lambda n: (n.column, -n.kg)),
    }
    return render_to_string("web/_genealogy_panel.html", context, request=page.request)


def mass_balance_panel(page: LotPage) -> str:
    """The lot's events with their mass balance. Of an event whose document is another
    organisation's, the reader sees what happened and the kg, not the site, losses or warnings;
    objects it may not read show their kind, never their label."""
    visible = page.readable({obj.pk for b in page.history for obj in [*(o for o, _ in b.inputs), *b.outputs]})
    rows = [
        {
            "b": b,
            "readable": may_read_documents_of(reader=page.organisation, owner_id=b.event.organisation_id),
            "inputs": [(obj, kg, obj.pk in visible) for obj, kg in b.inputs],
            "outputs": [(obj, obj.pk in visible) for obj in b.outputs],
        }
        for b in page.history
    ]
    context = {"lot": page.lot, "history": rows, "folded": FOLDED_LABEL}
    return render_to_string("web/_mass_balance_panel.html", context, request=page.request)
