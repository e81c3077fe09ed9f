"""Small SVG charts of footprints and recycled content, drawn on the server: no script, nothing fetched.

Plain functions of plain values (no Django), so the page, a test and an export can share them.
Every text is escaped; every number is formatted here, never taken as markup.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

from traceability.figures import percent_of

WIDTH = 560
LABEL_WIDTH = 190
VALUE_WIDTH = 150
ROW_HEIGHT = 30
# About how wide a character of the 13 px labels is, to lay the legend out in one line.
LEGEND_CHARACTER_WIDTH = 7
BAR_HEIGHT = 18
COLOURS = {"bar": "#2f6f9f", "pre": "#7fb069", "post": "#2e7d32", "axis": "#9aa5b1", "text": "#1c2430"}
THRESHOLD_COLOURS = ("#c0392b", "#8e44ad")


def _number(value: float, digits: int = 3) -> str:
    return f"{value:,.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"


def _frame(height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'role="img" aria-label="{escape(title)}" font-family="system-ui, sans-serif" font-size="13">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def bar_chart(
    rows: Sequence[tuple[str, float]], *, unit: str, title: str, value_format: Callable[[float], str] = _number
) -> str:
    """Horizontal bars, one per row, scaled to the largest absolute value; negative values (credits)
    are drawn from the same origin in a lighter tone. Each bar's label and tooltip write its value
    with ``value_format`` (a rule of ``traceability.figures`` where the figure is the API's)."""
    plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    largest = max((abs(value) for _, value in rows), default=0.0) or 1.0
    body = []
    for index, (label, value) in enumerate(rows):
        y = 10 + index * ROW_HEIGHT
        length = plot * abs(value) / largest
        opacity = ' fill-opacity="0.45"' if value < 0 else ""
        body.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 13}" text-anchor="end" fill="{COLOURS["text"]}">'
            f"{escape(label)}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}" fill="{COLOURS["bar"]}"'
            f"{opacity}><title>{escape(label)}: {escape(value_format(value))} {escape(unit)}</title></rect>"
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + 13}" fill="{COLOURS["text"]}" class="value">'
            f"{escape(value_format(value))} {escape(unit)}</text>"
        )
    height = 20 + len(rows) * ROW_HEIGHT
    body.append(f'<line x1="{LABEL_WIDTH}" y1="6" x2="{LABEL_WIDTH}" y2="{height - 6}" stroke="{COLOURS["axis"]}"/>')
    return _frame(height, title, body)


@dataclass(frozen=True)
class RecycledBar:
    """One material's recycled content (percent of the material) and the minimums it is held to."""

    material: str
    pre_consumer_pct: float
    post_consumer_pct: float
    minimums_pct: Mapping[str, float]  # by the year the minimum applies from
    # The recycled share as the API serves it, where it does; else pre- plus post-consumer.
    recycled_pct: float | None = None


def recycled_chart(bars: Sequence[RecycledBar], *, title: str) -> str:
    """Stacked bars (pre-consumer, post-consumer) on a 0-100 % scale, with a tick for each minimum;
    the label is the recycled share, pre- plus post-consumer summed before rounding
    (``traceability.figures.percent_of``, as every share on a page)."""
    plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    years = sorted({year for bar in bars for year in bar.minimums_pct})
    body = []
    for index, bar in enumerate(bars):
        y = 10 + index * ROW_HEIGHT
        pre = plot * min(max(bar.pre_consumer_pct, 0.0), 100.0) / 100
        post = plot * min(max(bar.post_consumer_pct, 0.0), 100.0 - min(bar.pre_consumer_pct, 100.0)) / 100
        total = bar.recycled_pct if bar.recycled_pct is not None else bar.pre_consumer_pct + bar.post_consumer_pct
        body.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 13}" text-anchor="end" fill="{COLOURS["text"]}">'
            f"{escape(bar.material)}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{plot}" height="{BAR_HEIGHT}" fill="#eef2f5"/>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{pre:.1f}" height="{BAR_HEIGHT}" fill="{COLOURS["pre"]}">'
            f"<title>pre-consumer {percent_of(bar.pre_consumer_pct)}</title></rect>"
            f'<rect x="{LABEL_WIDTH + pre:.1f}" y="{y}" width="{post:.1f}" height="{BAR_HEIGHT}" '
            f'fill="{COLOURS["post"]}"><title>post-consumer {percent_of(bar.post_consumer_pct)}</title></rect>'
            f'<text x="{LABEL_WIDTH + plot + 6}" y="{y + 13}" fill="{COLOURS["text"]}" class="recycled">'
            f"{percent_of(total)}</text>"
        )
        for year_index, year in enumerate(years):
            if year not in bar.minimums_pct:
                continue
            x = LABEL_WIDTH + plot * bar.minimums_pct[year] / 100
            colour = THRESHOLD_COLOURS[year_index % len(THRESHOLD_COLOURS)]
            body.append(
                f'<line x1="{x:.1f}" y1="{y - 3}" x2="{x:.1f}" y2="{y + BAR_HEIGHT + 3}" stroke="{colour}" '
                f'stroke-width="2"><title>minimum from {escape(year)}: {percent_of(bar.minimums_pct[year])}'
                f"</title></line>"
            )
    legend_y = 22 + len(bars) * ROW_HEIGHT
    legend = [("pre-consumer", COLOURS["pre"]), ("post-consumer", COLOURS["post"])] + [
        (f"minimum from {year}", THRESHOLD_COLOURS[i % len(THRESHOLD_COLOURS)]) for i, year in enumerate(years)
    ]
    x = 10
    for label, colour in legend:
        body.append(
            f'<rect x="{x}" y="{legend_y - 10}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 16}" y="{legend_y}" fill="{COLOURS["text"]}">{escape(label)}</text>'
        )
        x += 16 + LEGEND_CHARACTER_WIDTH * len(label) + 18
    return _frame(legend_y + 12, title, body)
