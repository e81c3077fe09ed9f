"""Reads of the carbon app."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import F, FloatField, Q, QuerySet, Sum, TextField
from django.db.models.functions import Cast, JSONArray, TruncWeek

from carbon.engine import Footprint, Shares
from carbon.engine.model import CUT_OFF, PHYSICAL
from carbon.factors import canonical_value
from carbon.graph import GENERATOR_DEFAULT
from carbon.models import EmissionFactor, FootprintResult
from carbon.models.factors import LOT_IN_REFERENCE
from traceability.choices import ObjectKind, Operation, OrganisationRole, ScrapCategory
from traceability.errors import ApplicationError
from traceability.models import EventRecord, Organisation, TraceableObject
from traceability.operations.material_receipt import GENERATOR_FOOTPRINT
from traceability.selectors import MELT_KINDS
from traceability.visibility import documents_readable_by, object_ids_visible_to, objects_visible_to, reads_all

# Parts a die-caster made (a dismantled vehicle's parts are scrap-to-be, not products).
CASTINGS = Q(node__kind=ObjectKind.PART, node__created_by__role=OrganisationRole.DIE_CASTER)


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


def grid_regions() -> frozenset[str]:
    """The regions with a current ``electricity_grid`` factor: what a site's grid region may name
    (``settings.GRID_REGIONS``; the blank region, the registry's default, is not one)."""
    regions = factors_current().filter(code="electricity_grid", lot__isnull=True).exclude(region="")
    return frozenset(regions.values_list("region", flat=True))


def factors_visible_to(*, organisation: Organisation | None, every_version: bool = False) -> QuerySet[EmissionFactor]:
    """The registry as a partner sees it: platform-wide factors (bound to no lot) are every member's;
    a supplier footprint bound to a lot is as visible as the lot (every one, for regulators and the
    operator)."""
    if every_version:
        factors = EmissionFactor.objects.order_by("code", "region", "-version")
    else:
        factors = factors_current()
    if organisation is None:
        return factors.none()
    if reads_all(organisation):
        return factors
    return factors.filter(Q(lot__isnull=True) | Q(lot__in=objects_visible_to(organisation=organisation).values("pk")))


def factor_references_seen_by(*, organisation: Organisation | None, references: Iterable[str]) -> list[str]:
    """The factor versions behind a result as ``organisation`` (None: the public) sees them: a
    supplier footprint bound to a lot it cannot see is named without its lot (``...@lot:v1``)."""
    references = list(references)
    bound = {int(m.group(1)) for r in references for m in LOT_IN_REFERENCE.finditer(r)}
    visible = object_ids_visible_to(organisation=organisation, ids=bound) if bound else frozenset()

    def seen(match: re.Match[str]) -> str:
        return match.group(0) if int(match.group(1)) in visible else "@lot"

    return [LOT_IN_REFERENCE.sub(seen, reference) for reference in references]


@dataclass(frozen=True)
class GeneratorFootprint:
    """The footprint per kg of the product whose process generated a bought pre-consumer scrap lot,
    which the allocation method charges the lot with, and where it came from: the supplier's
    figure recorded with the receipt, or the registry's default (``factor``, the version used)."""

    kg_per_kg: float
    source: str  # "supplier" or "registry_default"
    factor: str | None


def generator_footprint_of(*, result: FootprintResult) -> GeneratorFootprint | None:
    """What ``result`` charged its object as generator footprint; None unless the object is a
    pre-consumer scrap lot that entered the loop by a material receipt."""
    node = result.node
    attributes = node.attributes or {}
    if node.kind != ObjectKind.SCRAP_LOT or attributes.get("scrapCategory") != ScrapCategory.PRE_CONSUMER:
        return None
    if not EventRecord.objects.filter(entry_id=node.created_seq, operation=Operation.MATERIAL_RECEIPT).exists():
        return None
    stated = attributes.get(GENERATOR_FOOTPRINT)
    if stated is not None:
        return GeneratorFootprint(float(stated), "supplier", None)
    prefix = f"{GENERATOR_DEFAULT}:"
    reference = next((r for r in result.factors if r.startswith(prefix)), None)
    version = int(reference.rsplit(":v", 1)[1]) if reference else None
    factor = EmissionFactor.objects.filter(code=GENERATOR_DEFAULT, region="", lot__isnull=True, version=version).first()
    return GeneratorFootprint(canonical_value(factor) if factor else 0.0, "registry_default", reference)


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


@dataclass(frozen=True)
class RecycledShares:
    """A result's recycled content as every reader is given it (the API, the console's pages, part
    passports, the demo's summary): mass fractions of the object, unrounded."""

    pre_consumer: float
    post_consumer: float
    # Pre- plus post-consumer, the engine's own sum (``Shares.recycled``): run-around scrap is none.
    recycled: float
    # Post-consumer from end-of-life vehicles of the make the object is for (its ``oem``); None without one.
    closed_loop: float | None
    post_consumer_by_make: dict[str, float]


def recycled_shares_of(*, result: FootprintResult) -> RecycledShares:
    """The one computation of a result's recycled, and closed-loop, shares."""
    shares = footprint_from_result(result).shares
    by_make = dict(shares.by_make)
    make = (result.node.attributes or {}).get("oem")
    return RecycledShares(
        pre_consumer=shares.pre_consumer,
        post_consumer=shares.post_consumer,
        recycled=shares.recycled,
        closed_loop=by_make.get(str(make), 0.0) if make else None,
        post_consumer_by_make=by_make,
    )


@dataclass(frozen=True)
class WeightedShares:
    """Recycled content of several objects together: each share weighted by the object's mass."""

    objects: int
    kg: float
    pre_consumer: float
    post_consumer: float
    recycled: float


def recycled_shares_weighted(*, nodes: QuerySet[TraceableObject], chain: str = PHYSICAL) -> WeightedShares | None:
    """The mass-weighted shares of ``nodes`` (sum of share x kg over sum of kg) under ``chain``,
    from their stored results as ``recycled_shares_of`` reads each; None when none is computed."""
    results = FootprintResult.objects.filter(node__in=nodes, method=CUT_OFF, chain=chain).select_related("node")
    count, total, pre, post, recycled = 0, 0.0, 0.0, 0.0, 0.0
    for result in results.iterator(chunk_size=2000):
        kg, shares = float(result.node.initial_kg), recycled_shares_of(result=result)
        count, total = count + 1, total + kg
        pre += shares.pre_consumer * kg
        post += shares.post_consumer * kg
        recycled += shares.recycled * kg
    if not total:
        return None
    return WeightedShares(count, total, pre / total, post / total, recycled / total)


def footprints_known(
    *, node_ids: Iterable[int], chains: Iterable[str] | None = None
) -> dict[tuple[str, str], dict[int, Footprint]]:
    """The stored results of these nodes by (method, chain) (of ``chains`` only, when given): the
    known inputs of an incremental computation. Only the columns the engine reads are fetched."""
    results = FootprintResult.objects.filter(node_id__in=node_ids)
    if chains is not None:
        results = results.filter(chain__in=list(chains))
    known: dict[tuple[str, str], dict[int, Footprint]] = {}
    # The two JSON columns as one text, decoded once per row (JSON decoding is most of the cost).
    # SQLite's json_array() writes JSON columns as strings inside the array: they are decoded again.
    both = Cast(JSONArray("per_kg", "post_consumer_by_make"), TextField())
    for node, method, chain, pre, post, primary, pending, text in results.values_list(
        "node_id", "method", "chain", "pre_consumer_share", "post_consumer_share", "primary_data_share",
        "pending_recycled", both,
    ):  # fmt: skip
        per_kg, by_make = (json.loads(value) if isinstance(value, str) else value for value in json.loads(text))
        known.setdefault((method, chain), {})[node] = Footprint(
            per_kg=per_kg,
            shares=Shares(pre_consumer=pre, post_consumer=post, by_make=tuple(sorted(by_make.items()))),
            primary_data_share=primary,
            pending_recycled=pending,
        )
    return known


@dataclass(frozen=True)
class WeekPoint:
    week: date  # the Monday of the week
    kg: float  # mass of the melts and castings made that week
    recycled_share: float  # mass-weighted recycled share (pre- plus post-consumer) of those
    footprint_per_kg: float  # their kg CO2e over their kg


def dashboard_series(*, organisation: Organisation) -> list[WeekPoint]:
    """Per week of production: the mass-weighted recycled-content share and footprint per kg of the
    melts and castings the organisation made (cut-off method, physical chain of custody). The
    dashboard's plots and ``GET /api/v1/footprints/weekly`` both serve this."""
    results = FootprintResult.objects.filter(Q(node__kind__in=MELT_KINDS) | CASTINGS, method=CUT_OFF, chain=PHYSICAL)
    results = results.filter(documents_readable_by(organisation=organisation, recorder="node__created_by"))
    kg = Cast("node__initial_kg", FloatField())
    rows = (
        results.annotate(week=TruncWeek("node__created_at"))
        .values("week")
        .annotate(
            mass=Sum(kg),
            recycled=Sum((F("pre_consumer_share") + F("post_consumer_share")) * kg, output_field=FloatField()),
            footprint=Sum("total_kg"),
        )
        .order_by("week")
    )
    return [
        WeekPoint(row["week"].date(), row["mass"], row["recycled"] / row["mass"], row["footprint"] / row["mass"])
        for row in rows
        if row["mass"]
    ]
