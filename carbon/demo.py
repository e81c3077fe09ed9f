"""The demo's recycled-content lines (printed by ``seed_demo`` after ``traceability.demo.summary``):
the engine's own figures, as the footprint API and the console's pages give them, for the
remelter's melts and the die-cast parts."""

from __future__ import annotations

from carbon.selectors import recycled_shares_weighted
from traceability.choices import ObjectKind, OrganisationRole
from traceability.figures import percent
from traceability.models import TraceableObject
from traceability.selectors import MELT_KINDS


def recycled_content_lines() -> list[str]:
    groups = [
        (
            "the remelter's melts",
            TraceableObject.objects.filter(kind__in=MELT_KINDS, created_by__role=OrganisationRole.REMELTER),
        ),
        (
            "the die-cast parts",
            TraceableObject.objects.filter(kind=ObjectKind.PART, created_by__role=OrganisationRole.DIE_CASTER),
        ),
    ]
    lines = [
        "recycled content (the footprints' shares, as the API and the pages give them: pre- plus "
        "post-consumer scrap in an object's mass, run-around scrap none (ISO 14021); physical chain of "
        "custody; weighted by mass):"
    ]
    for name, nodes in groups:
        shares = recycled_shares_weighted(nodes=nodes)
        if shares is None:
            lines.append(f"  {name}: not computed yet (the carbon workers have not caught up with the ledger)")
            continue
        lines.append(
            f"  {name} ({shares.objects}, {shares.kg:,.1f} kg): recycled {percent(shares.recycled)} "
            f"(pre-consumer {percent(shares.pre_consumer)}, post-consumer {percent(shares.post_consumer)})"
        )
    return lines
