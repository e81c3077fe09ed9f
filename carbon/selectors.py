"""Reads of the carbon app."""

from django.db.models import QuerySet

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
