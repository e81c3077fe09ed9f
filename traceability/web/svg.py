"""Server-side SVG for the web admin: a line chart over time and a genealogy graph.

Plain functions of plain values (no Django, no database), like ``carbon.web.charts``: every
text is escaped and every number formatted here, so a template can include the result as is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html import escape

TEXT, AXIS, GRID = "#1c2430", "#9aa5b1", "#e6ebf0"
SERIES_COLOURS = ("#2f6f9f", "#2e7d32", "#c0392b", "#8e44ad")

LINE_WIDTH, LINE_HEIGHT = 560, 220
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 58, 16, 14, 46


def _frame(width: int, height: int, title: str, body: list[str], *, natural: bool = False) -> str:
    """``natural``: drawn at its own size (a wide graph scrolls) instead of scaled to the page's width."""
    size = f'width="{width}" height="{height}"' if natural else 'width="100%"'
    # A drawing with links in it is a group of them, not an image (an image's content is not
    # reachable by assistive technology, and its links would be controls nested in one).
    drawing = "".join(body)
    role = "group" if "<a " in drawing else "img"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" {size} '
        f'role="{role}" aria-label="{escape(title)}" font-family="system-ui, sans-serif" font-size="12">'
        f"<title>{escape(title)}</title>{drawing}</svg>"
    )


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[date, float]]


def line_chart(
    series: Sequence[Series], *, title: str, unit: str, value_format: Callable[[float], str] = "{:.3g}".format
) -> str:
    """Lines over time, one per series, on a shared date axis starting at zero; a dot (with its
    value as tooltip) per point, so a single point still shows."""
    days = sorted({day for s in series for day, _ in s.points})
    values = [value for s in series for _, value in s.points]
    plot_w = LINE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = LINE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    top = max(values, default=0.0) or 1.0
    first, last = (days[0], days[-1]) if days else (date.today(), date.today())
    span = (last - first).days or 1

    def x(day: date) -> float:
        return MARGIN_LEFT + (plot_w * (day - first).days / span if len(days) > 1 else plot_w / 2)

    def y(value: float) -> float:
        return MARGIN_TOP + plot_h * (1 - value / top)

    body = []
    for tick in range(5):
        value = top * tick / 4
        body.append(
            f'<line x1="{MARGIN_LEFT}" y1="{y(value):.1f}" x2="{LINE_WIDTH - MARGIN_RIGHT}" y2="{y(value):.1f}" '
            f'stroke="{GRID}"/><text x="{MARGIN_LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" '
            f'fill="{TEXT}">{escape(value_format(value))}</text>'
        )
    for day in (days[0], days[-1]) if days else ():
        body.append(
            f'<text x="{x(day):.1f}" y="{LINE_HEIGHT - MARGIN_BOTTOM + 16}" text-anchor="middle" '
            f'fill="{TEXT}">{day.isoformat()}</text>'
        )
    body.append(
        f'<text x="12" y="{MARGIN_TOP + plot_h / 2:.1f}" fill="{TEXT}" '
        f'transform="rotate(-90 12 {MARGIN_TOP + plot_h / 2:.1f})" text-anchor="middle">{escape(unit)}</text>'
    )
    legend_x = MARGIN_LEFT
    for index, each in enumerate(series):
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        points = sorted(each.points)
        if len(points) > 1:
            path = " ".join(f"{x(day):.1f},{y(value):.1f}" for day, value in points)
            body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for day, value in points:
            body.append(
                f'<circle cx="{x(day):.1f}" cy="{y(value):.1f}" r="3.5" fill="{colour}">'
                f"<title>{escape(each.name)} {day.isoformat()}: {escape(value_format(value))} {escape(unit)}"
                f"</title></circle>"
            )
        legend_y = LINE_HEIGHT - 10
        body.append(
            f'<rect x="{legend_x}" y="{legend_y - 9}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{legend_x + 14}" y="{legend_y}" fill="{TEXT}">{escape(each.name)}</text>'
        )
        legend_x += 14 + 7 * len(each.name) + 20
    body.append(
        f'<line x1="{MARGIN_LEFT}" y1="{MARGIN_TOP}" x2="{MARGIN_LEFT}" y2="{MARGIN_TOP + plot_h}" stroke="{AXIS}"/>'
    )
    return _frame(LINE_WIDTH, LINE_HEIGHT, title, body)


# --- genealogy graph -------------------------------------------------------------------------

# The gap between columns (column width less node width) holds the edges' kg labels.
COLUMN_WIDTH, NODE_WIDTH, NODE_HEIGHT, ROW_GAP = 270, 170, 44, 14
# A column shows its heaviest nodes; the rest are folded into one "n more" node, so a casting
# whose metal comes from hundreds of vehicles still draws as a readable graph.
MAX_NODES_PER_COLUMN = 8


@dataclass(frozen=True)
class GraphNode:
    id: int
    label: str
    kind: str
    kg: Decimal
    column: int  # negative: ancestors (inputs), 0: the object itself, positive: descendants
    href: str | None = None


@dataclass(frozen=True)
class GraphEdge:
    source: int
    target: int
    kg: Decimal


def _folded(nodes: Sequence[GraphNode]) -> tuple[list[GraphNode], dict[int, int]]:
    """Keep the heaviest nodes of each column; map every other node to its column's fold node."""
    by_column: dict[int, list[GraphNode]] = defaultdict(list)
    for node in nodes:
        by_column[node.column].append(node)
    shown: list[GraphNode] = []
    mapping: dict[int, int] = {}
    # Below every node id (folded nodes of other organisations have negative placeholders).
    fold_base = min(0, *(n.id for n in nodes)) - 1000
    for column, members in sorted(by_column.items()):
        members.sort(key=lambda n: (-n.kg, n.label))
        kept, rest = members[:MAX_NODES_PER_COLUMN], members[MAX_NODES_PER_COLUMN:]
        if len(rest) == 1:
            kept, rest = members, []
        shown.extend(kept)
        mapping.update({n.id: n.id for n in kept})
        if rest:
            fold_id = fold_base - column  # never a node's id
            total = sum((n.kg for n in rest), Decimal(0))
            shown.append(GraphNode(fold_id, f"{len(rest)} more", "folded", total, column))
            mapping.update({n.id: fold_id for n in rest})
    return shown, mapping


def genealogy_graph(nodes: Sequence[GraphNode], edges: Sequence[GraphEdge], *, title: str) -> str:
    """Columns left to right in the direction mass flows, each node a box (a link when it has an
    ``href``), each edge a curve labelled with the kilograms that flowed along it."""
    shown, mapping = _folded(nodes)
    columns = sorted({n.column for n in shown})
    rows_in: dict[int, int] = defaultdict(int)
    position: dict[int, tuple[float, float]] = {}
    for node in shown:
        row = rows_in[node.column]
        rows_in[node.column] += 1
        x = 10 + (columns.index(node.column)) * COLUMN_WIDTH
        position[node.id] = (x, 10 + row * (NODE_HEIGHT + ROW_GAP))
    width = 20 + max(len(columns) - 1, 0) * COLUMN_WIDTH + NODE_WIDTH
    height = 20 + max(rows_in.values(), default=1) * (NODE_HEIGHT + ROW_GAP)

    merged: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for edge in edges:
        source, target = mapping.get(edge.source), mapping.get(edge.target)
        if source is not None and target is not None and source != target:
            merged[(source, target)] += edge.kg
    body = [
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="{AXIS}"/></marker></defs>'
    ]
    for (source, target), kg in sorted(merged.items()):
        sx, sy = position[source]
        tx, ty = position[target]
        x1, y1, x2, y2 = sx + NODE_WIDTH, sy + NODE_HEIGHT / 2, tx, ty + NODE_HEIGHT / 2
        middle = (x1 + x2) / 2
        body.append(
            f'<path d="M {x1:.1f} {y1:.1f} C {middle:.1f} {y1:.1f}, {middle:.1f} {y2:.1f}, {x2:.1f} {y2:.1f}" '
            f'fill="none" stroke="{AXIS}" stroke-width="1.5" marker-end="url(#arrow)"/>'
            f'<text x="{middle:.1f}" y="{(y1 + y2) / 2 - 3:.1f}" text-anchor="middle" font-size="11" '
            f'fill="{TEXT}" class="edge-kg">{kg:,.3f} kg</text>'
        )
    for node in shown:
        x, y = position[node.id]
        fill = "#dcebf6" if node.column == 0 else ("#f4f6f8" if node.kind == "folded" else "#ffffff")
        label = node.label if len(node.label) <= 24 else node.label[:23] + "…"
        box = (
            f'<rect x="{x}" y="{y}" width="{NODE_WIDTH}" height="{NODE_HEIGHT}" rx="6" fill="{fill}" '
            f'stroke="#2f6f9f"/><text x="{x + 8}" y="{y + 17}" fill="{TEXT}" font-weight="600">{escape(label)}'
            f'</text><text x="{x + 8}" y="{y + 34}" fill="#5b6675">{escape(node.kind.replace("_", " "))} · '
            f"{node.kg:,.3f} kg</text><title>{escape(node.label)}: {node.kg:,.3f} kg</title>"
        )
        body.append(f'<a href="{escape(node.href)}">{box}</a>' if node.href else box)
    return _frame(width, height, title, body, natural=True)
