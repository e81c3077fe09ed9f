"""Genealogy in the database: the mass flows reached from an object, either way.

Backward from an object, every ancestor gets the kilograms of it that ended up in
the object (summed over every path); forward from an object, every descendant gets
the kilograms of the object it contains. Along an edge the share is the edge's kg
over the total mass flowing through the node (its inflow, or its own mass for a
root such as a vehicle), which is exact for mixes and for disassembly alike.

The work is bounded by the nodes and edges reached, never by the paths between them:
a lot split and remerged 30 times has 2**30 paths but only 90 flows. One recursive
query collects the reached objects as a set (``UNION``: each object once) and returns
the flows of that subgraph; the kilograms are then summed per node in one pass over
those flows in topological order. Flows are written with the seq of the event that
created their target, and an event only consumes objects that existed before it, so
every flow into an object has a smaller seq than every flow out of it: seq order is a
topological order (and the set walk would end even if the data held a cycle).

No depth cap: the walk's cost is the subgraph's size whatever its depth, and a cap
would silently cut a real history short (a foundry remelting its own run-around scrap
every day makes ancestries hundreds of generations deep). The request's statement
timeout (``DB_STATEMENT_TIMEOUT_MS``) bounds what one request may spend.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from traceability.errors import ApplicationError
from traceability.models import TraceableObject

# The set of objects reached (each once), then the flows of that subgraph with the far
# end's columns, in the order the kilograms propagate: for a backward walk each node's
# outgoing flows come before its incoming ones (seq descending), forward the reverse.
WALK = """
WITH RECURSIVE reached(id) AS (
    SELECT CAST(%(start)s AS BIGINT)
  UNION
    SELECT f.{far} FROM traceability_massflow f JOIN reached r ON f.{near} = r.id
)
SELECT f.source_id, f.target_id, CAST(f.kg AS DOUBLE PRECISION), o.identifier, o.kind, o.label,
       CAST(o.initial_kg AS DOUBLE PRECISION), CAST(o.inflow_kg AS DOUBLE PRECISION)
FROM reached r
JOIN traceability_massflow f ON f.{near} = r.id
JOIN traceability_traceableobject o ON o.id = f.{far}
ORDER BY f.seq {order}, f.id
"""
# Backward the walk follows flows from target to source, forward from source to target.
WALKS = {
    "backward": WALK.format(near="target_id", far="source_id", order="DESC"),
    "forward": WALK.format(near="source_id", far="target_id", order="ASC"),
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


def genealogy(*, root: TraceableObject, direction: str) -> Genealogy:
    """Every ancestor (backward) or descendant (forward) of ``root`` with its kg, and the edges between them."""
    if direction not in WALKS:
        raise ApplicationError("direction_invalid", "direction is backward or forward")
    backward = direction == "backward"
    with connection.cursor() as cursor:
        cursor.execute(WALKS[direction], {"start": root.pk})
        rows = cursor.fetchall()

    # Kilograms are floating point in the walk: they are reported to the gram, far above a
    # double's precision (flows are numeric(16, 3), exact in a double), and exact decimal
    # arithmetic would grow its scale at every step.
    # Per object: its columns, the kilograms flowing through it (the share's basis), its
    # kilograms in the answer and its shortest distance from the root. Backward, the root's
    # kilograms are its own mass; forward, an edge out of the root carries its own kilograms.
    root_basis = _basis(float(root.initial_kg), float(root.inflow_kg))
    found: dict[int, tuple[str, str, str]] = {}
    basis = {root.pk: root_basis}
    kg = {root.pk: float(root.initial_kg) if backward else root_basis}
    depth = {root.pk: 0}
    edge_kg: dict[tuple[int, int], float] = {}
    for source, target, flow_kg, identifier, kind, label, initial_kg, inflow_kg in rows:
        near, far = (target, source) if backward else (source, target)
        if far not in found:
            found[far] = (identifier, kind, label)
            basis[far] = _basis(initial_kg, inflow_kg)
            kg[far] = 0.0
            depth[far] = depth[near] + 1
        elif depth[near] + 1 < depth[far]:
            depth[far] = depth[near] + 1
        if basis[near]:
            kg[far] += kg[near] * flow_kg / basis[near]
        edge_kg[source, target] = edge_kg.get((source, target), 0.0) + flow_kg

    nodes = sorted(
        (Node(pk, *columns, _kg(kg[pk]), depth[pk]) for pk, columns in found.items() if pk != root.pk),
        key=lambda node: (node.depth, node.id),
    )
    edges = [Edge(source, target, _kg(value)) for (source, target), value in edge_kg.items()]
    return Genealogy(root=root, direction=direction, nodes=nodes, edges=edges)


def _basis(initial_kg: float, inflow_kg: float) -> float:
    """The kilograms a node's mass is shared over: what flowed in, or its own mass for a root."""
    return inflow_kg if inflow_kg > 0 else initial_kg


def _kg(value: float) -> Decimal:
    return Decimal(f"{value:.3f}")
