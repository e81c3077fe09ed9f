"""Server-side SVG for the web admin: a line chart over time and a genealogy's flow of kg.

Plain functions of plain values (no Django, no database), like ``carbon.web.charts``: every
text is escaped and every number formatted here, so a template can include the result as is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html import escape

from traceability import figures

TEXT, AXIS, GRID = "#1c2430", "#9aa5b1", "#e6ebf0"
SERIES_COLOURS = ("#2f6f9f", "#2e7d32", "#c0392b", "#8e44ad")

LINE_WIDTH, LINE_HEIGHT = 560, 220
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 58, 16, 14, 46


def _frame(width: int, height: int, title: str, body: list[str]) -> str:
    """Scaled to the page's width. An image without links: its text alternative is the page's table."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{escape(title)}" font-family="system-ui, sans-serif" font-size="12">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
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


# --- genealogy flow --------------------------------------------------------------------------

# A fixed drawing, scaled to the page's width: the sources' labels on the left, their bars, the
# bands, and the subject's bar with its label on the right, always in view however many sources.
FLOW_WIDTH, FLOW_BARS_HEIGHT, FLOW_GAP, FLOW_MARGIN = 720, 240, 30, 14
LABEL_RIGHT, SOURCE_X, BAR_WIDTH, SUBJECT_X = 262, 270, 12, 560
# The heaviest source groups get a band each; the rest share one, so a melt of 1,408 inputs
# draws as a handful of bands.
MAX_BANDS = 8
BAND_COLOURS = ("#2f6f9f", "#2e7d32", "#c0392b", "#8e44ad", "#b9770e", "#16a085", "#5d6d7e", "#a04000")
FOLDED_COLOUR = "#9aa5b1"
LABEL_CHARS = 36  # about what fits left of the bars at 12 px


@dataclass(frozen=True)
class FlowSource:
    """A group of sources (objects nothing went into) and the kg of the subject they account for."""

    name: str  # stage and organisation, in words
    count: int
    kg: Decimal


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\N{HORIZONTAL ELLIPSIS}"


def _bands(sources: Sequence[FlowSource]) -> tuple[list[FlowSource], bool]:
    """The heaviest groups, and the rest as one band (never a band of one group); whether the
    last band is that rest."""
    ordered = sorted(sources, key=lambda s: (-s.kg, s.name))
    if len(ordered) <= MAX_BANDS:
        return ordered, False
    kept, rest = ordered[: MAX_BANDS - 1], ordered[MAX_BANDS - 1 :]
    count = sum(s.count for s in rest)
    total = sum((s.kg for s in rest), Decimal(0))
    return [*kept, FlowSource(f"{len(rest)} more groups", count, total)], True


def kg_flow(sources: Sequence[FlowSource], *, subject: str, subject_kg: Decimal, title: str) -> str:
    """A Sankey-style drawing of where the subject's kilograms came from: a band per source group,
    as thick as its share of the kilograms, from its bar on the left into the subject's bar on the
    right. Each band and bar has a ``<title>`` with its figures; the page's table is the text."""
    bands, rest = _bands(sources)
    total = sum((band.kg for band in bands), Decimal(0))
    heights = [FLOW_BARS_HEIGHT * float(band.kg / total) if total else 0.0 for band in bands]
    height = 2 * FLOW_MARGIN + FLOW_BARS_HEIGHT + FLOW_GAP * max(len(bands) - 1, 0)
    subject_top = (height - FLOW_BARS_HEIGHT) / 2
    body = []
    left_top, right_top = float(FLOW_MARGIN), subject_top
    for index, (band, thickness) in enumerate(zip(bands, heights, strict=True)):
        colour = FOLDED_COLOUR if rest and index == len(bands) - 1 else BAND_COLOURS[index % len(BAND_COLOURS)]
        drawn = max(thickness, 1.0)
        share = figures.percent(band.kg / total) if total else "\N{EN DASH}"
        objects = f"{figures.grouped(band.count, 0)} object{'s' if band.count != 1 else ''}"
        words = f"{band.name}: {objects}, {figures.kg(band.kg)} kg ({share})"
        x1, x2, middle = SOURCE_X + BAR_WIDTH, SUBJECT_X, (SOURCE_X + BAR_WIDTH + SUBJECT_X) / 2
        y1, y2 = left_top, right_top
        body.append(
            f'<path class="band" d="M {x1} {y1:.1f} C {middle} {y1:.1f}, {middle} {y2:.1f}, {x2} {y2:.1f} '
            f"L {x2} {y2 + thickness:.1f} C {middle} {y2 + thickness:.1f}, {middle} {y1 + drawn:.1f}, "
            f'{x1} {y1 + drawn:.1f} Z" fill="{colour}" fill-opacity="0.35"><title>{escape(words)}</title></path>'
            f'<rect x="{SOURCE_X}" y="{y1:.1f}" width="{BAR_WIDTH}" height="{drawn:.1f}" fill="{colour}">'
            f"<title>{escape(words)}</title></rect>"
            f'<text x="{LABEL_RIGHT}" y="{y1 + drawn / 2 - 2:.1f}" text-anchor="end" fill="{TEXT}">'
            f"{escape(_short(band.name, LABEL_CHARS))}</text>"
            f'<text x="{LABEL_RIGHT}" y="{y1 + drawn / 2 + 12:.1f}" text-anchor="end" fill="#5b6675" '
            f'class="band-kg">{figures.kg(band.kg)} kg</text>'
        )
        left_top += drawn + FLOW_GAP
        right_top += thickness
    body.append(
        f'<rect x="{SUBJECT_X}" y="{subject_top:.1f}" width="{BAR_WIDTH}" height="{FLOW_BARS_HEIGHT}" '
        f'fill="#1c2430"><title>{escape(subject)}: {figures.kg(subject_kg)} kg</title></rect>'
        f'<text x="{SUBJECT_X + BAR_WIDTH + 8}" y="{height / 2 - 2:.1f}" fill="{TEXT}" font-weight="600" '
        f'class="subject">{escape(_short(subject, 20))}</text>'
        f'<text x="{SUBJECT_X + BAR_WIDTH + 8}" y="{height / 2 + 14:.1f}" fill="#5b6675">'
        f"{figures.kg(subject_kg)} kg</text>"
    )
    return _frame(FLOW_WIDTH, int(height), title, body)
