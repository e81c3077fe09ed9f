"""The lot page's panels: each a function of the page (request, reader, lot, the lot's history) that
returns a section of HTML, shown in the order ``settings.LOT_PAGE_PANELS`` names them.

The page lives here, in the lowest app, and shows figures the apps built on it compute (footprints,
passports); naming their panels in settings, not importing them, keeps traceability from
importing carbon or passport.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.module_loading import import_string

from traceability import figures, visibility
from traceability.choices import ObjectKind, Operation
from traceability.genealogy import Genealogy, genealogy
from traceability.models import Organisation, TraceableObject
from traceability.operations.selectors import Balance

from .facts import words
from .svg import FlowSource, kg_flow


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


# Rows of one group's table per page: a group of a thousand vehicles is forty pages, not one.
GROUP_ROWS = 25
# Groups of at most this many objects open unfolded; larger ones open on a click.
OPEN_GROUP_ROWS = 10


@dataclass(frozen=True)
class GenealogyRow:
    """One object of a group as the reader sees it: a folded one has no label and no link."""

    label: str
    href: str | None
    kg: Decimal
    depth: int


@dataclass(frozen=True)
class GenealogyGroup:
    """The ancestors (or descendants) of one stage (kind) and organisation, with one page of them."""

    key: str  # the query parameter of its page, and its element id
    kind: str
    organisation: str
    count: int
    kg: Decimal
    rows: Page[GenealogyRow]
    previous_href: str | None
    next_href: str | None

    @property
    def name(self) -> str:
        return f"{self.kind}, {self.organisation}"

    @property
    def counted(self) -> str:
        return figures.grouped(self.count, 0)

    @property
    def shown_rows(self) -> str:
        """Which rows the page shows: ``1,001 to 1,025``, an en dash between."""
        first, last = (figures.grouped(n, 0) for n in (self.rows.start_index(), self.rows.end_index()))
        return f"{first}\N{EN DASH}{last}"

    @property
    def open(self) -> bool:
        return self.count <= OPEN_GROUP_ROWS or self.rows.number > 1


def _page_href(request: HttpRequest, key: str, number: int, anchor: str) -> str:
    query = request.GET.copy()
    query[key] = str(number)
    return f"?{query.urlencode()}#{anchor}"


def genealogy_groups(
    page: LotPage, nodes: list[visibility.NodeView], *, prefix: str, makers: dict[int, str]
) -> list[GenealogyGroup]:
    """``nodes`` grouped by kind and the organisation that made them (a folded node's is not
    named), the nearest stage first, each with the page of its rows its query parameter asks for."""
    href = reverse("web:lot", kwargs={"pk": 0}).replace("/0/", "/{pk}/")
    members: dict[tuple[str, str], list[GenealogyRow]] = defaultdict(list)
    for node in nodes:
        kind = str(ObjectKind(node.kind).label) if node.kind in ObjectKind.values else words(node.kind)
        if node.folded:
            members[kind, FOLDED_LABEL].append(GenealogyRow(FOLDED_LABEL, None, node.kg, node.depth))
        else:
            row = GenealogyRow(node.label or "", href.format(pk=node.id), node.kg, node.depth)
            members[kind, makers.get(node.id, "")].append(row)
    totals = {key: sum((row.kg for row in rows), Decimal(0)) for key, rows in members.items()}
    nearest = {key: min(row.depth for row in rows) for key, rows in members.items()}
    groups = []
    # Stage by stage from the lot outwards, the heaviest group of a stage first.
    for index, key in enumerate(sorted(members, key=lambda key: (nearest[key], -totals[key], key))):
        rows = sorted(members[key], key=lambda row: (row.depth, -row.kg, row.label))
        param = f"{prefix}{index + 1}"
        shown = Paginator(rows, GROUP_ROWS).get_page(page.request.GET.get(param))
        groups.append(
            GenealogyGroup(
                param,
                *key,
                len(rows),
                totals[key],
                shown,
                _page_href(page.request, param, shown.number - 1, param) if shown.has_previous() else None,
                _page_href(page.request, param, shown.number + 1, param) if shown.has_next() else None,
            )
        )
    return groups


def genealogy_panel(page: LotPage) -> str:
    """The lot's ancestors and descendants grouped by stage and organisation, and a drawing of the
    kilograms flowing from its sources (ancestors nothing went into) into it."""
    lot = page.lot
    backward, forward = visibility.fold_genealogies(walks=page.walks, visible=page.visible_ids)
    # Who made each object the reader sees (one query, the lot's own id keeps it constant).
    shown = {node.id for walk in (backward, forward) for node in walk.nodes if not node.folded}
    makers = dict(TraceableObject.objects.filter(pk__in=shown | {lot.pk}).values_list("pk", "created_by__name"))
    inputs = genealogy_groups(page, backward.nodes, prefix="in", makers=makers)
    outputs = genealogy_groups(page, forward.nodes, prefix="out", makers=makers)
    fed = {edge.target for edge in backward.edges}
    sources = [node for node in backward.nodes if node.id not in fed]
    source_groups = [
        FlowSource(group.name, group.count, group.kg)
        for group in genealogy_groups(page, sources, prefix="source", makers=makers)
    ]
    flow = (
        kg_flow(
            source_groups,
            subject=lot.label,
            subject_kg=lot.initial_kg,
            title=f"Where the kilograms of {lot.label} came from",
        )
        if source_groups
        else None
    )
    context = {"lot": lot, "flow": flow, "inputs": inputs, "outputs": outputs, "source_groups": source_groups}
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
