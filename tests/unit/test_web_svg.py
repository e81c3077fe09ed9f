"""The web admin's server-side SVG: a line chart over time and a Sankey-style flow of kg into a lot."""

from datetime import date
from decimal import Decimal
from xml.etree import ElementTree

from traceability.web.svg import (
    FLOW_BARS_HEIGHT,
    FLOW_WIDTH,
    MAX_BANDS,
    SOURCE_X,
    FlowSource,
    Series,
    kg_flow,
    line_chart,
)

SVG = "{http://www.w3.org/2000/svg}"


def test_a_line_chart_draws_a_line_per_series_with_each_points_value_and_escapes_names():
    chart = line_chart(
        [Series("<recycled>", [(date(2026, 1, 5), 20.0), (date(2026, 1, 12), 35.5), (date(2026, 1, 19), 50.0)])],
        title="Recycled share",
        unit="%",
    )

    tree = ElementTree.fromstring(chart)
    assert tree.find(f"{SVG}polyline") is not None
    titles = [t.text for t in tree.iter(f"{SVG}title")]
    assert "&lt;recycled&gt; 2026-01-12: 35.5 %" in chart and "<recycled>" not in chart
    assert len([t for t in titles if t and t.startswith("<recycled> 2026")]) == 3
    assert "2026-01-05" in chart and "2026-01-19" in chart


def test_a_single_week_is_a_dot_and_no_data_still_draws_an_empty_frame():
    single = line_chart([Series("cut-off", [(date(2026, 1, 5), 1.5)])], title="Footprint", unit="kg CO2e/kg")
    empty = line_chart([], title="Footprint", unit="kg CO2e/kg")

    assert "<polyline" not in single and single.count("<circle") == 1
    assert ElementTree.fromstring(empty).find(f"{SVG}circle") is None


def test_the_kg_flow_draws_a_band_per_source_group_as_thick_as_its_share_into_the_subject():
    sources = [
        FlowSource("Vehicle, <yard>", 3, Decimal("150")),
        FlowSource("Primary ingot, Smelter", 1, Decimal("450")),
    ]

    drawing = kg_flow(sources, subject="M-1", subject_kg=Decimal("600"), title="Where M-1 came from")

    tree = ElementTree.fromstring(drawing)
    assert tree.get("viewBox").split()[2] == str(FLOW_WIDTH) and tree.get("width") == "100%"
    bars = [r for r in tree.iter(f"{SVG}rect") if float(r.get("x")) == SOURCE_X]
    # heaviest first, three times as thick as the other, together as tall as the subject's bar
    assert [float(r.get("height")) for r in bars] == [FLOW_BARS_HEIGHT * 0.75, FLOW_BARS_HEIGHT * 0.25]
    titles = [t.text for t in tree.iter(f"{SVG}title")]
    assert "Vehicle, <yard>: 3 objects, 150.000 kg (25.0 %)" in titles and "<yard>" not in drawing
    assert [t.text for t in tree.iter(f"{SVG}text") if t.get("class") == "band-kg"] == ["450.000 kg", "150.000 kg"]
    subject = [t for t in tree.iter(f"{SVG}text") if t.get("class") == "subject"]
    assert [t.text for t in subject] == ["M-1"] and float(subject[0].get("x")) < FLOW_WIDTH


def test_many_source_groups_draw_the_heaviest_and_one_band_for_the_rest():
    sources = [FlowSource(f"Scrap lot, Yard {n}", 10, Decimal(1000 + n)) for n in range(MAX_BANDS + 4)]

    drawing = kg_flow(sources, subject="M-2", subject_kg=Decimal("1"), title="Where M-2 came from")

    tree = ElementTree.fromstring(drawing)
    assert len([p for p in tree.iter(f"{SVG}path") if p.get("class") == "band"]) == MAX_BANDS
    # the five lightest (Yard 0 to 4: 1,000 to 1,004 kg) share the last band
    assert "5 more groups: 50 objects, 5,010.000 kg" in drawing and ">Scrap lot, Yard 4<" not in drawing
    assert tree.get("viewBox").split()[2] == str(FLOW_WIDTH)
