"""Reads of PACT footprints: what a partner may see, filtered as PACT's ListFootprints says."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from carbon.models import PactPartner, ProductFootprint
from carbon.pact import documents
from carbon.pact.errors import PactError
from traceability import visibility
from traceability.models import Organisation, TraceableObject
from traceability.tlog.proofs import Anchors, ledger_proof

STATUSES = ("Active", "Deprecated")
FILTERS = ("productId", "companyId", "geography", "classification", "validOn", "validAfter", "validBefore", "status")


@dataclass(frozen=True)
class Criteria:
    """PACT filter criteria: OR within one criterion, AND between criteria; text matches ignore case."""

    product_ids: tuple[str, ...] = ()
    company_ids: tuple[str, ...] = ()
    geographies: tuple[str, ...] = ()
    classifications: tuple[str, ...] = ()
    valid_on: datetime | None = None
    valid_after: datetime | None = None
    valid_before: datetime | None = None
    statuses: tuple[str, ...] = ()


def parse_moment(value: str, *, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip())
        # In UTC: the database takes no odd offsets (+21:01 is valid ISO 8601).
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise PactError("BadRequest", f"{name} must be an RFC 3339 date-time, not {value!r}") from exc


def parse_statuses(values: list[str]) -> tuple[str, ...]:
    """Known statuses in their spelling; any other value is kept as given and matches no footprint
    (PACT 3.0: a filter value no footprint has gives an empty list, not an error)."""
    by_lower = {status.lower(): status for status in STATUSES}
    return tuple(by_lower.get(v.strip().lower(), v) for v in values)


def criteria_from(values: dict[str, list[str]]) -> Criteria:
    """Criteria from query parameters or a RequestCreatedEvent's data (lists of strings)."""

    def one(name: str) -> datetime | None:
        given = values.get(name) or []
        if len(given) > 1:
            raise PactError("BadRequest", f"{name} takes one value")
        return parse_moment(given[0], name=name) if given else None

    if any("\x00" in value for given in values.values() for value in given):
        raise PactError("BadRequest", "filter values must not contain NUL characters")
    return Criteria(
        product_ids=tuple(values.get("productId") or ()),
        company_ids=tuple(values.get("companyId") or ()),
        geographies=tuple(values.get("geography") or ()),
        classifications=tuple(values.get("classification") or ()),
        valid_on=one("validOn"),
        valid_after=one("validAfter"),
        valid_before=one("validBefore"),
        statuses=parse_statuses(values.get("status") or []),
    )


def keys(values: list[str]) -> str:
    """How a list is stored for matching: each value lower-cased on its own line."""
    return "\n" + "\n".join(v.lower() for v in values) + "\n"


def _any_of(field: str, values: tuple[str, ...]) -> Q:
    match = Q()
    for value in values:
        match |= Q(**{f"{field}__contains": keys([value.strip()])})
    return match


def footprints_all() -> QuerySet[ProductFootprint]:
    deprecated = Exists(ProductFootprint.objects.filter(supersedes=OuterRef("pk")))
    return ProductFootprint.objects.annotate(deprecated=deprecated).order_by("created", "id")


def footprints_visible_to(*, organisation: Organisation) -> QuerySet[ProductFootprint]:
    """Footprints of the objects the organisation may read (made, holds or held, or every one for
    regulators and the operator): a partner's access to a product is its access to the footprint."""
    visible = visibility.objects_visible_to(organisation=organisation).values("identifier")
    return footprints_all().filter(node_id__in=visible)


def footprints_matching(footprints: QuerySet[ProductFootprint], criteria: Criteria) -> QuerySet[ProductFootprint]:
    if criteria.product_ids:
        footprints = footprints.filter(_any_of("product_keys", criteria.product_ids))
    if criteria.company_ids:
        footprints = footprints.filter(_any_of("company_keys", criteria.company_ids))
    if criteria.geographies:
        footprints = footprints.filter(_any_of("geography_keys", criteria.geographies))
    if criteria.classifications:
        footprints = footprints.filter(_any_of("classification_keys", criteria.classifications))
    if criteria.valid_on is not None:
        footprints = footprints.filter(validity_start__lte=criteria.valid_on, validity_end__gte=criteria.valid_on)
    if criteria.valid_after is not None:
        footprints = footprints.filter(validity_start__gt=criteria.valid_after)
    if criteria.valid_before is not None:
        footprints = footprints.filter(validity_end__lt=criteria.valid_before)
    if criteria.statuses:
        wanted = set(criteria.statuses) & set(STATUSES)
        if not wanted:
            footprints = footprints.none()
        elif wanted != set(STATUSES):
            footprints = footprints.filter(deprecated="Deprecated" in wanted)
    return footprints


def footprint_get(*, pf_id: str, organisation: Organisation) -> ProductFootprint:
    """One footprint the caller may read. A footprint of a product it may not read answers exactly as
    one never issued (404 NotFound, PACT 2's NoSuchFootprint), so ids reveal nothing to outsiders."""
    try:
        key = uuid.UUID(pf_id)
    except ValueError as exc:
        raise PactError("BadRequest", f"{pf_id!r} is not a footprint id (a UUID)") from exc
    footprint = footprints_visible_to(organisation=organisation).filter(pk=key).first()
    if footprint is None:
        raise PactError("NotFound", "The requested footprint could not be found.", status=404)
    return footprint


def status_of(footprint: ProductFootprint) -> str:
    deprecated = getattr(footprint, "deprecated", None)
    if deprecated is None:
        deprecated = ProductFootprint.objects.filter(supersedes=footprint).exists()
    return "Deprecated" if deprecated else "Active"


def footprint_document(
    *, footprint: ProductFootprint, spec: str, anchors: Anchors | None = None, proof: bool = True
) -> dict[str, Any]:
    """The PACT ProductFootprint of version ``spec`` ("2" or "3").

    A 3.x document also carries, as a second extension, the C2SP tlog-proof of the ledger entry
    that created the footprint's product (its casting or dismantling event), see README;
    ``proof=False`` leaves it out (for documents only tested by a filter, most never shown).
    """
    common = {
        "pf_id": str(footprint.pk),
        "created": footprint.created,
        "status": status_of(footprint),
        "preceding_ids": footprint.preceding_ids,
        "content": footprint.content,
    }
    if spec == "2":
        return documents.product_footprint_v2(version=footprint.version, **common)
    document = documents.product_footprint_v3(**common)
    if proof:
        document["extensions"].append(footprint_proof_extension(footprint=footprint, anchors=anchors))
    return document


def footprint_proof_extension(*, footprint: ProductFootprint, anchors: Anchors | None = None) -> dict[str, Any]:
    """The ledger-proof extension: one inclusion proof, O(log n) Merkle node reads."""
    seq = TraceableObject.objects.filter(identifier=footprint.node_id).values_list("created_seq", flat=True).first()
    if not seq:
        return documents.ledger_proof_extension(None, {"ledgerProof": None, "ledgerProofReason": "no ledger entry"})
    return documents.ledger_proof_extension(seq, ledger_proof(seq=seq, anchors=anchors))


def partners_list() -> QuerySet[PactPartner]:
    """Every registered partner PACT host, by organisation (an operator's view: no secrets)."""
    return PactPartner.objects.select_related("organisation").order_by("organisation__slug")
