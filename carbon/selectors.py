"""Reads of the carbon app."""

from collections.abc import Iterable

from django.db.models import QuerySet

from carbon.engine import Footprint, Shares
from carbon.models import EmissionFactor, FootprintResult
from traceability.errors import ApplicationError
from traceability.models import TraceableObject


def footprints_of(*, node: TraceableObject) -> QuerySet[FootprintResult]:
    return FootprintResult.objects.filter(node=node).order_by("method", "chain")


def footprint_get(*, node: TraceableObject, method: str, chain: str) -> FootprintResult:
    result = FootprintResult.objects.filter(node=node, method=method, chain=chain).first()
    if result is None:
        raise ApplicationError(
            "footprint_not_computed", "no footprint yet: the workers have not caught up with this object", status=404
        )
    return result


def factors_current() -> QuerySet[EmissionFactor]:
    return EmissionFactor.objects.filter(superseded_by__isnull=True).order_by("code", "region", "lot_id")


def footprint_from_result(result: FootprintResult) -> Footprint:
    """The engine's value of a stored result."""
    return Footprint(
        per_kg=result.per_kg,
        shares=Shares(
            pre_consumer=result.pre_consumer_share,
            post_consumer=result.post_consumer_share,
            by_make=tuple(sorted(result.post_consumer_by_make.items())),
        ),
        primary_data_share=result.primary_data_share,
        pending_recycled=result.pending_recycled,
    )


def footprints_known(*, node_ids: Iterable[int]) -> dict[tuple[str, str], dict[int, Footprint]]:
    """The stored results of these nodes by (method, chain): the known inputs of an incremental computation."""
    known: dict[tuple[str, str], dict[int, Footprint]] = {}
    for result in FootprintResult.objects.filter(node_id__in=node_ids):
        known.setdefault((result.method, result.chain), {})[result.node_id] = footprint_from_result(result)
    return known
