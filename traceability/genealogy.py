"""Genealogy in the database: one recursive query walks the mass flows either way.

Backward from an object, every ancestor gets the kilograms of it that ended up in
the object (summed over every path); forward from an object, every descendant gets
the kilograms of the object it contains. Along an edge the share is the edge's kg
over the total mass flowing through the node (its inflow, or its own mass for a
root such as a vehicle), which is exact for mixes and for disassembly alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from traceability.errors import ApplicationError
from traceability.models import TraceableObject

# Deepest walk allowed: the loop has about ten steps, so this only stops a runaway.
MAX_DEPTH = 64

BACKWARD = """
WITH RECURSIVE walk(source_id, target_id, flow_kg, contributed, depth) AS (
    SELECT f.source_id, f.target_id, f.kg, CAST(o.initial_kg * f.kg /
           CASE WHEN o.inflow_kg > 0 THEN o.inflow_kg ELSE o.initial_kg END AS NUMERIC), 1
    FROM traceability_massflow f JOIN traceability_traceableobject o ON o.id = f.target_id
    WHERE f.target_id = %(start)s
  UNION ALL
    SELECT f.source_id, f.target_id, f.kg, CAST(w.contributed * f.kg /
           CASE WHEN o.inflow_kg > 0 THEN o.inflow_kg ELSE o.initial_kg END AS NUMERIC), w.depth + 1
    FROM walk w
    JOIN traceability_massflow f ON f.target_id = w.source_id
    JOIN traceability_traceableobject o ON o.id = f.target_id
    WHERE w.depth < %(depth)s
)
SELECT source_id, target_id, flow_kg, contributed, depth FROM walk
"""

FORWARD = """
WITH RECURSIVE walk(source_id, target_id, flow_kg, contributed, depth) AS (
    SELECT f.source_id, f.target_id, f.kg, CAST(f.kg AS NUMERIC), 1
    FROM traceability_massflow f
    WHERE f.source_id = %(start)s
  UNION ALL
    SELECT f.source_id, f.target_id, f.kg, CAST(w.contributed * f.kg /
           CASE WHEN o.inflow_kg > 0 THEN o.inflow_kg ELSE o.initial_kg END AS NUMERIC), w.depth + 1
    FROM walk w
    JOIN traceability_massflow f ON f.source_id = w.target_id
    JOIN traceability_traceableobject o ON o.id = f.source_id
    WHERE w.depth < %(depth)s
)
SELECT source_id, target_id, flow_kg, contributed, depth FROM walk
"""


@dataclass(frozen=True)
class Node:
    object: TraceableObject
    kg: Decimal
    depth: int


@dataclass(frozen=True)
class Edge:
    source: int
    target: int
    kg: Decimal


@dataclass(frozen=True)
class Genealogy:
    root: TraceableObject
    direction: str
    nodes: list[Node]
    edges: list[Edge]


def genealogy(*, root: TraceableObject, direction: str) -> Genealogy:
    if direction not in {"backward", "forward"}:
        raise ApplicationError("direction_invalid", "direction is backward or forward")
    with connection.cursor() as cursor:
        cursor.execute(BACKWARD if direction == "backward" else FORWARD, {"start": root.pk, "depth": MAX_DEPTH})
        rows = cursor.fetchall()
    reached: dict[int, tuple[Decimal, int]] = {}
    edges: dict[tuple[int, int], Decimal] = {}
    for source, target, flow_kg, contributed, depth in rows:
        node = source if direction == "backward" else target
        kg, shallowest = reached.get(node, (Decimal(0), depth))
        reached[node] = (kg + Decimal(str(contributed)), min(shallowest, depth))
        edges[(source, target)] = Decimal(str(flow_kg))
    objects = TraceableObject.objects.in_bulk(list(reached))
    nodes = [
        Node(objects[pk], kg.quantize(Decimal("0.001")), depth)
        for pk, (kg, depth) in sorted(reached.items(), key=lambda item: (item[1][1], item[0]))
    ]
    return Genealogy(
        root=root,
        direction=direction,
        nodes=nodes,
        edges=[Edge(s, t, kg.quantize(Decimal("0.001"))) for (s, t), kg in edges.items()],
    )
