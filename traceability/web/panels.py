"""The lot page's panels: each a function of the page (request, reader, lot, the lot's history) that
returns a section of HTML, shown in the order ``settings.LOT_PAGE_PANELS`` names them.

The page lives here, in the lowest app, and shows figures the apps built on it compute (footprints,
passports); naming their panels in settings, not importing them, keeps traceability from
importing carbon or passport.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from django.conf import settings
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.module_loading import import_string

from traceability import visibility
from traceability.choices import Operation
from traceability.genealogy import Genealogy, genealogy
from traceability.models import Organisation, TraceableObject
from traceability.operations.selectors import Balance

from .facts import words
from .svg import GraphEdge, GraphNode, genealogy_graph


@dataclass(frozen=True)
class LotPage:
    """What every panel of one lot page may use, read once for all of them."""

    request: HttpRequest
    organisation: Organisation
    lot: TraceableObject
    history: list[Balance]  # every event about the lot, oldest first, with its mass balance

    @cached_property
    def walks(self) -> list[Genealogy]:
        """The lot's genealogy backward, then forward."""
        return [genealogy(root=self.lot, direction=direction) for direction in ("backward", "forward")]

    @cached_property
    def visible_ids(self) -> frozenset[int]:
        """Which objects on the page (genealogy, the history's inputs and outputs) the reader can see:
        one query for every panel."""
        shown = {obj.pk for b in self.history for obj, _ in b.inputs} | {o.pk for b in self.history for o in b.outputs}
        ids = shown | visibility.genealogy_object_ids(self.walks)
        return visibility.object_ids_visible_to(organisation=self.organisation, ids=ids)


LotPanel = Callable[[LotPage], str]
# How a folded node (another organisation's object the reader cannot see) is labelled.
FOLDED_LABEL = "another organisation's"


def lot_panels() -> list[LotPanel]:
    return [import_string(path) for path in settings.LOT_PAGE_PANELS]


def genealogy_graph_data(page: LotPage, *, href: str) -> tuple[list[GraphNode], list[GraphEdge]]:
    """Ancestors and descendants of the lot with the kg each holds of it, as graph columns; nodes the
    reader may open link to their page (``href`` holds ``{pk}``), other organisations' are folded."""
    lot = page.lot
    backward, forward = visibility.fold_genealogies(walks=page.walks, visible=page.visible_ids)

    def node(seen: visibility.NodeView, column: int) -> GraphNode:
        if seen.folded:
            return GraphNode(seen.id, FOLDED_LABEL, seen.kind, seen.kg, column)
        return GraphNode(seen.id, seen.label or "", seen.kind, seen.kg, column, href.format(pk=seen.id))

    nodes = [GraphNode(lot.pk, lot.label, lot.kind, lot.initial_kg, 0)]
    seen = {lot.pk}
    for each in backward.nodes:
        nodes.append(node(each, -each.depth))
        seen.add(each.id)
    nodes += [node(each, each.depth) for each in forward.nodes if each.id not in seen]
    edges = [GraphEdge(e.source, e.target, e.kg) for e in [*backward.edges, *forward.edges]]
    return nodes, edges


def genealogy_panel(page: LotPage) -> str:
    lot = page.lot
    nodes, edges = genealogy_graph_data(page, href=reverse("web:lot", kwargs={"pk": 0}).replace("/0/", "/{pk}/"))
    context = {
        "lot": lot,
        "graph": genealogy_graph(nodes, edges, title=f"Genealogy of {lot.label}") if len(nodes) > 1 else None,
        "ancestors": sorted((n for n in nodes if n.column < 0), key=lambda n: (n.column, -n.kg)),
        "descendants": sorted((n for n in nodes if n.column > 0), key=lambda n: (n.column, -n.kg)),
    }
    return render_to_string("web/_genealogy_panel.html", context, request=page.request)


@dataclass(frozen=True)
class Flow:
    """One input or output row of a transformation; ``obj`` is None when it is folded."""

    obj: TraceableObject | None
    kind: str  # in words, as the page shows it
    kg: object


@dataclass(frozen=True)
class BalanceView:
    """An event of the lot's history as the reader sees it: the mass balance, site, losses and
    warnings are the recorder's document; other organisations' objects are folded."""

    balance: Balance
    readable: bool
    inputs: list[Flow]
    outputs: list[Flow]

    @property
    def title(self) -> str:
        """The operation's name, as the forms name it."""
        operation = self.balance.event.operation
        return str(Operation(operation).label) if operation in Operation.values else words(operation)

    @property
    def losses(self) -> list[tuple[str, object]]:
        """The declared losses, named in words ("Melt loss", not ``meltLoss``)."""
        return [(words(name), kg) for name, kg in self.balance.losses.items()]

    @property
    def entered(self) -> bool:
        """Mass entered the ledger here (an intake, a receipt): it has outputs and nothing consumed,
        so there is nothing to balance them against."""
        return bool(self.balance.outputs) and not self.balance.inputs and not self.balance.balanced


def balance_views(page: LotPage) -> list[BalanceView]:
    visible, organisation = page.visible_ids, page.organisation

    def flow(obj: TraceableObject, kg: object) -> Flow:
        return Flow(obj if obj.pk in visible else None, obj.get_kind_display(), kg)

    return [
        BalanceView(
            b,
            visibility.may_read_documents_of(reader=organisation, owner_id=b.event.organisation_id),
            [flow(obj, kg) for obj, kg in b.inputs],
            [flow(obj, obj.initial_kg) for obj in b.outputs],
        )
        for b in page.history
    ]


def mass_balance_panel(page: LotPage) -> str:
    context = {"lot": page.lot, "history": balance_views(page), "folded": FOLDED_LABEL}
    return render_to_string("web/_mass_balance_panel.html", context, request=page.request)
