"""The web admin's server-side SVG: a line chart over time and a genealogy graph with kg on its edges."""

from datetime import date
from decimal import Decimal
from xml.etree import ElementTree

from traceability.web.svg import MAX_NODES_PER_COLUMN, GraphEdge, GraphNode, Series, genealogy_graph, line_chart

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


def test_the_genealogy_graph_labels_edges_with_kg_and_links_readable_nodes():
    nodes = [
        GraphNode(1, "M-1", "melt_batch", Decimal("690.6"), 0),
        GraphNode(2, "P-1", "primary_ingot", Decimal("487.977"), -1, "/app/lots/2/"),
        GraphNode(3, "PC-1", "scrap_lot", Decimal("163.575"), -1),
        GraphNode(4, "TRAY-1", "part", Decimal("55"), 1, "/app/lots/4/"),
    ]
    edges = [GraphEdge(2, 1, Decimal("487.977")), GraphEdge(3, 1, Decimal("163.575")), GraphEdge(1, 4, Decimal("55"))]

    graph = genealogy_graph(nodes, edges, title="Genealogy of M-1")

    tree = ElementTree.fromstring(graph)
    kg_labels = [t.text for t in tree.iter(f"{SVG}text") if t.get("class") == "edge-kg"]
    assert sorted(kg_labels) == ["163.575 kg", "487.977 kg", "55.000 kg"]
    assert [a.get("href") for a in tree.iter(f"{SVG}a")] == ["/app/lots/2/", "/app/lots/4/"]
    # inputs left of the melt, castings right of it
    x = {t.text: float(t.get("x")) for t in tree.iter(f"{SVG}text") if t.get("font-weight") == "600"}
    assert x["P-1"] < x["M-1"] < x["TRAY-1"]


def test_a_crowded_column_folds_its_lightest_nodes_and_their_kg_into_one():
    sources = [GraphNode(10 + n, f"V-{n}", "vehicle", Decimal(n + 1), -1) for n in range(MAX_NODES_PER_COLUMN + 5)]
    root = GraphNode(1, "S-1", "scrap_lot", Decimal("100"), 0)
    edges = [GraphEdge(node.id, 1, node.kg) for node in sources]

    graph = genealogy_graph([root, *sources], edges, title="Genealogy of S-1")

    assert "5 more" in graph and "V-0<" not in graph and f"V-{MAX_NODES_PER_COLUMN + 4}<" in graph
    # the folded vehicles carried 1 + 2 + 3 + 4 + 5 kg into the lot, drawn as one edge
    assert 'class="edge-kg">15.000 kg</text>' in graph
