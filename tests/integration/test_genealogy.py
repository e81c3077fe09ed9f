"""Genealogy costs what it reaches: nodes and edges, never paths; and it sums kg over every path."""

import json
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.factories import make_partner, make_site
from traceability.choices import ObjectKind, ScrapCategory
from traceability.genealogy import WALKS, genealogy
from traceability.identifiers import local_uri
from traceability.models import MassFlow, TraceableObject
from traceability.operations import services as ops

pytestmark = pytest.mark.django_db

LOOPS = 30
LOT_KG = Decimal("1000")
SCRAP = {"scrapCategory": ScrapCategory.POST_CONSUMER, "alloyFamily": "cast"}


def scrap_lot(code: str, kg: Decimal) -> ops.LotOut:
    return ops.LotOut(ObjectKind.SCRAP_LOT, kg, code=code, attributes=SCRAP)


def split_and_merge(partner, site, *, loops: int) -> list[str]:
    """A lot split in two halves and merged back ``loops`` times: 2**loops paths, 4 * loops flows."""
    slug = partner.organisation.slug
    ops.material_receipt(organisation=partner.organisation, site=site, lots=[scrap_lot("L-0", LOT_KG)])
    lots = [local_uri("lot", slug, "L-0")]
    half = LOT_KG / 2
    for n in range(loops):
        ops.scrap_sorting(
            organisation=partner.organisation,
            site=site,
            parts=[],
            lots=[ops.LotIn(lots[-1], LOT_KG)],
            outputs=[scrap_lot(f"A-{n}", half), scrap_lot(f"B-{n}", half)],
            losses={},
        )
        ops.scrap_sorting(
            organisation=partner.organisation,
            site=site,
            parts=[],
            lots=[ops.LotIn(local_uri("lot", slug, f"A-{n}"), half), ops.LotIn(local_uri("lot", slug, f"B-{n}"), half)],
            outputs=[scrap_lot(f"L-{n + 1}", LOT_KG)],
            losses={},
        )
        lots.append(local_uri("lot", slug, f"L-{n + 1}"))
    return lots


class RowCounter:
    """Counts the rows each genealogy walk returns (an execute wrapper sees every query)."""

    def __init__(self) -> None:
        self.walks: list[int] = []

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        result = execute(sql, params, many, context)
        if sql in WALKS.values():
            self.walks.append(context["cursor"].rowcount)  # psycopg counts the rows a SELECT returned
        return result


@pytest.mark.postgres
def test_thirty_split_and_merge_loops_cost_their_nodes_and_edges_not_their_paths():
    # given: a remelter's lot split and remerged 30 times (2**30 paths from the last lot to the first)
    remelter = make_partner("loop-remelt", role="remelter")
    site = make_site(remelter, "Shop")
    lots = split_and_merge(remelter, site, loops=LOOPS)
    last = TraceableObject.objects.get(identifier=lots[-1])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {remelter.api_key}")
    nodes, edges = 3 * LOOPS, 4 * LOOPS

    # when: its backward genealogy is asked for through the API
    counter = RowCounter()
    with connection.execute_wrapper(counter):
        response = client.get(f"/api/v1/objects/{last.pk}/genealogy", {"direction": "backward"})

    # then: one walk returned one row per flow reached, and every ancestor has its kg summed
    # over all paths (each lot holds the whole 1000 kg, each half 500 kg)
    assert response.status_code == 200, response.content
    assert counter.walks == [edges]
    body = response.json()
    assert len(body["nodes"]) == nodes and len(body["edges"]) == edges
    kg = {node["identifier"]: Decimal(node["kg"]) for node in body["nodes"]}
    assert {kg[lot] for lot in lots[:-1]} == {LOT_KG}
    assert kg[local_uri("lot", "loop-remelt", "A-0")] == LOT_KG / 2
    depth = {node["identifier"]: node["depth"] for node in body["nodes"]}
    assert depth[lots[0]] == 2 * LOOPS

    # and forward from the first lot: every descendant, each once
    first = TraceableObject.objects.get(identifier=lots[0])
    forward = genealogy(root=first, direction="forward")
    assert len(forward.nodes) == nodes and len(forward.edges) == edges
    assert {n.kg for n in forward.nodes if n.identifier in lots} == {LOT_KG}


@pytest.mark.postgres
def test_the_walk_visits_each_reached_object_once():
    # given: 30 split-and-merge loops
    remelter = make_partner("loop-remelt", role="remelter")
    lots = split_and_merge(remelter, make_site(remelter, "Shop"), loops=LOOPS)
    last = TraceableObject.objects.get(identifier=lots[-1])

    # when: the database explains the walk it ran
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + WALKS["backward"], {"start": last.pk})
        (plan,) = cursor.fetchone()
    plan = plan if isinstance(plan, list) else json.loads(plan)

    # then: the recursive part produced each of the 91 objects once (a path walk: 2**31 rows)
    recursive = [n for n in _plan_nodes(plan[0]["Plan"]) if n["Node Type"] == "Recursive Union"]
    assert [n["Actual Rows"] for n in recursive] == [3 * LOOPS + 1]


def _plan_nodes(node: dict) -> list[dict]:
    return [node, *(child for sub in node.get("Plans", []) for child in _plan_nodes(sub))]


def test_a_diamond_genealogy_equals_the_sum_over_every_path():
    # given: a lot split unevenly and merged with primary ingot and losses, split again and
    # partly remerged: several paths of different shares between the same objects
    partner = make_partner("diamond-remelt", role="remelter")
    site = make_site(partner, "Shop")
    org, uri = partner.organisation, lambda code: local_uri("lot", "diamond-remelt", code)
    ops.material_receipt(
        organisation=org,
        site=site,
        lots=[
            scrap_lot("X", Decimal("1000")),
            ops.LotOut(ObjectKind.PRIMARY_INGOT, Decimal("700"), code="P", attributes={"supplier": "Smelter"}),
        ],
    )
    ops.scrap_sorting(
        organisation=org,
        site=site,
        parts=[],
        lots=[ops.LotIn(uri("X"), Decimal("990"))],
        outputs=[scrap_lot("A", Decimal("600")), scrap_lot("B", Decimal("383"))],
        losses={"sortingLoss": Decimal("7")},
    )
    ops.scrap_sorting(
        organisation=org,
        site=site,
        parts=[],
        lots=[ops.LotIn(uri("A"), Decimal("600")), ops.LotIn(uri("B"), Decimal("383"))],
        outputs=[scrap_lot("M", Decimal("975"))],
        losses={"sortingLoss": Decimal("8")},
    )
    ops.scrap_sorting(
        organisation=org,
        site=site,
        parts=[],
        lots=[ops.LotIn(uri("M"), Decimal("975")), ops.LotIn(uri("X"), Decimal("10"))],
        outputs=[scrap_lot("C", Decimal("311")), scrap_lot("D", Decimal("674"))],
        losses={},
    )
    ops.remelting(
        organisation=org,
        site=site,
        inputs=[
            ops.LotIn(uri("C"), Decimal("311")),
            ops.LotIn(uri("D"), Decimal("500")),
            ops.LotIn(uri("P"), Decimal("300")),
        ],
        output=ops.LotOut(ObjectKind.MELT_BATCH, Decimal("1090"), code="E"),
        melt_loss_kg=Decimal("21"),
        dross_kg=Decimal("0"),
        natural_gas_m3=Decimal("10"),
        electricity_kwh=Decimal("10"),
    )
    e, x = TraceableObject.objects.get(identifier=uri("E")), TraceableObject.objects.get(identifier=uri("X"))

    # when
    backward = genealogy(root=e, direction="backward")
    forward = genealogy(root=x, direction="forward")

    # then: each node's kg is the brute-force sum over every path, to the gram
    expected_backward, expected_forward = _path_sums(e, backward=True), _path_sums(x, backward=False)
    assert {n.id: n.kg for n in backward.nodes}.keys() == expected_backward.keys()
    assert {n.id: n.kg for n in forward.nodes}.keys() == expected_forward.keys()
    for found, expected in ((backward, expected_backward), (forward, expected_forward)):
        for node in found.nodes:
            assert abs(node.kg - expected[node.id]) <= Decimal("0.001"), node
    # X reaches E along X-A-M-C, X-A-M-D, X-B-M-C, X-B-M-D, X-C and X-D: six paths
    assert len(_paths(x.pk, e.pk)) == 6
    assert {n.kg for n in backward.nodes if n.id == x.pk} != {Decimal(0)}
    assert {(edge.source, edge.target) for edge in backward.edges} == {
        (f.source_id, f.target_id) for f in MassFlow.objects.filter(target_id__in=[e.pk, *expected_backward])
    }


def _flows() -> tuple[dict[int, list[MassFlow]], dict[int, list[MassFlow]]]:
    into, out = defaultdict(list), defaultdict(list)
    for flow in MassFlow.objects.all():
        into[flow.target_id].append(flow)
        out[flow.source_id].append(flow)
    return into, out


def _basis(pk: int) -> Fraction:
    obj = TraceableObject.objects.get(pk=pk)
    return Fraction(obj.inflow_kg if obj.inflow_kg > 0 else obj.initial_kg)


def _path_sums(root: TraceableObject, *, backward: bool) -> dict[int, Decimal]:
    """Every path enumerated, each contributing the product of its shares (the definition)."""
    into, out = _flows()
    sums: dict[int, Fraction] = defaultdict(Fraction)

    def walk(pk: int, carried: Fraction) -> None:
        for flow in into[pk] if backward else out[pk]:
            far = flow.source_id if backward else flow.target_id
            share = carried * Fraction(flow.kg) / _basis(pk)
            sums[far] += share
            walk(far, share)

    walk(root.pk, Fraction(root.initial_kg) if backward else _basis(root.pk))
    return {pk: Decimal(float(kg)).quantize(Decimal("0.001")) for pk, kg in sums.items()}


def _paths(source: int, target: int) -> list[list[int]]:
    _, out = _flows()
    if source == target:
        return [[target]]
    return [[source, *rest] for flow in out[source] for rest in _paths(flow.target_id, target)]
