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

# Shares are floating point in the walk: kilograms are reported to the gram, far above a
# double's precision, and exact decimal arithmetic would grow its scale at every step.
BASIS = "CAST(CASE WHEN o.inflow_kg > 0 THEN o.inflow_kg ELSE o.initial_kg END AS DOUBLE PRECISION)"

WALKS = {
    "backward": f"""
WITH RECURSIVE walk(source_id, contributed, depth) AS (
    SELECT f.source_id, CAST(o.initial_kg AS DOUBLE PRECISION) * CAST(f.kg AS DOUBLE PRECISION) / {BASIS}, 1
    FROM traceability_massflow f JOIN traceability_traceableobject o ON o.id = f.target_id
    WHERE f.target_id = %(start)s
  UNION ALL
    SELECT f.source_id, w.contributed * CAST(f.kg AS DOUBLE PRECISION) / {BASIS}, w.depth + 1
    FROM walk w
    JOIN traceability_massflow f ON f.target_id = w.source_id
    JOIN traceability_traceableobject o ON o.id = f.target_id
    WHERE w.depth < %(depth)s
)""",  # noqa: S608 - only constants are interpolated; values are bound parameters
    "forward": f"""
WITH RECURSIVE walk(target_id, contributed, depth) AS (
    SELECT f.target_id, CAST(f.kg AS DOUBLE PRECISION), 1
    FROM traceability_massflow f
    WHERE f.source_id = %(start)s
  UNION ALL
    SELECT f.target_id, w.contributed * CAST(f.kg AS DOUBLE PRECISION) / {BASIS}, w.depth + 1
    FROM walk w
    JOIN traceability_massflow f ON f.source_id = w.target_id
    JOIN traceability_traceableobject o ON o.id = f.source_id
    WHERE w.depth < %(depth)s
)""",  # noqa: S608 - only constants are interpolated; values are bound parameters
}


@dataclass(frozen=True, slots=True)
class Node:
    id: int
    identifier: str
    kind: str
    label: str
    kg: Decimal
    depth: int


@dataclass(frozen=True, slots=True)
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


# The walk yields one row per path; the nodes are its rows summed per object, joined to
# the few columns a genealogy shows, all in the database.
NODES = """
{walk},
reached(id, kg, depth) AS (
    SELECT {end}, ROUND(CAST(SUM(contributed) AS NUMERIC), 3), MIN(depth) FROM walk GROUP BY {end}
)
SELECT o.id, o.identifier, o.kind, o.label, r.kg, r.depth
FROM reached r JOIN traceability_traceableobject o ON o.id = r.id
ORDER BY r.depth, o.id
"""
EDGES = """
SELECT source_id, target_id, SUM(kg) FROM traceability_massflow WHERE {end} IN ({ids}) GROUP BY source_id, target_id
"""
# SQLite binds at most 32,766 parameters in one statement; PostgreSQL takes one array.
SQLITE_CHUNK = 30_000
KG = Decimal("0.001")


def genealogy(*, root: TraceableObject, direction: str) -> Genealogy:
    """Every ancestor (backward) or descendant (forward) of ``root`` with its kg, and the edges between them."""
    if direction not in WALKS:
        raise ApplicationError("direction_invalid", "direction is backward or forward")
    backward = direction == "backward"
    with connection.cursor() as cursor:
        cursor.execute(
            NODES.format(walk=WALKS[direction], end="source_id" if backward else "target_id"),
            {"start": root.pk, "depth": MAX_DEPTH},
        )
        nodes = [
            Node(pk, identifier, kind, label, _kg(kg), depth)
            for pk, identifier, kind, label, kg, depth in cursor.fetchall()
        ]
        # Every flow into an ancestor comes from an ancestor (and out of a descendant goes
        # to one), so the subgraph's edges are the flows ending (starting) in it.
        ids = [root.pk, *(n.id for n in nodes)]
        end = "target_id" if backward else "source_id"
        rows = []
        if connection.vendor == "postgresql":
            cursor.execute(EDGES.format(end=end, ids="SELECT unnest(%s::bigint[])"), [ids])
            rows = cursor.fetchall()
        else:
            for start in range(0, len(ids), SQLITE_CHUNK):
                chunk = ids[start : start + SQLITE_CHUNK]
                cursor.execute(EDGES.format(end=end, ids=", ".join(["%s"] * len(chunk))), chunk)
                rows += cursor.fetchall()
    edges = [Edge(source, target, _kg(kg)) for source, target, kg in rows]
    return Genealogy(root=root, direction=direction, nodes=nodes, edges=edges)


def _kg(value: object) -> Decimal:
    """PostgreSQL returns Decimal already rounded in SQL; SQLite returns a float."""
    return value if isinstance(value, Decimal) else Decimal(str(value)).quantize(KG)
