"""Recycled-content claim: a stated quantity of a lot is claimed as recycled content under
the mass-balance chain of custody (ISO 22095), drawing on its site's credits for the year.

The event is an EPCIS ObjectEvent OBSERVE of the lot, whose ``quantityList`` holds the kg
claimed, with the ``lt:recycledContentClaim`` extension naming the category
(``pre_consumer`` or ``post_consumer``) and, for a closed-loop claim, the vehicle make. The
account is the event's site (``bizLocation``) for the calendar year of its ``eventTime``.

What may be claimed: a lot made by a remelting or a black-mass refining at the claim's
site, still there, held by the recorder, active and whole (none of its mass used yet);
claims on one lot never exceed its mass; and the site's account must hold the credits
(checked by carbon, through ``hooks.recycled_content_credits``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from traceability import hooks
from traceability.choices import CLAIM_CATEGORIES, Operation, OrganisationRole
from traceability.errors import ApplicationError
from traceability.identifiers import validate_uri
from traceability.models import Organisation, Site
from traceability.operations import documents, epcis, rules
from traceability.operations.definition import OperationDefinition
from traceability.operations.effects import Effects, RecycledClaim
from traceability.operations.rules import Known

CLAIM_FIELD = "lt:recycledContentClaim"
MAKE_MAX_LENGTH = 64


@dataclass(frozen=True, kw_only=True)
class RecycledContentClaimInput:
    site: Site
    lot: str
    kg: Decimal
    category: str
    vehicle_make: str | None = None
    event_time: datetime | None = None


def build(organisation: Organisation, data: RecycledContentClaimInput) -> dict[str, object]:
    claim: dict[str, object] = {"category": data.category}
    if data.vehicle_make:
        claim["vehicleMake"] = data.vehicle_make
    return documents.event(
        "ObjectEvent",
        Operation.RECYCLED_CONTENT_CLAIM,
        site=data.site,
        event_time=data.event_time,
        quantityList=[epcis.quantity(validate_uri(data.lot), data.kg)],
        action="OBSERVE",
        **{CLAIM_FIELD: claim},
    )


def read_claim(document: dict[str, object]) -> RecycledClaim:
    """The claim an event document states (also what carbon reads of it)."""
    quantities = epcis.read_quantities(document, "quantityList")
    facts = document.get(CLAIM_FIELD)
    if len(quantities) != 1 or not isinstance(facts, dict):
        raise ApplicationError("document_malformed", f"a claim names one lot and kg, and {CLAIM_FIELD}")
    ((lot, kg),) = quantities
    category = facts.get("category")
    if category not in CLAIM_CATEGORIES:
        raise ApplicationError("claim_category_unknown", f"a claim's category is one of {', '.join(CLAIM_CATEGORIES)}")
    make = facts.get("vehicleMake")
    if make is not None and (not isinstance(make, str) or not make.strip() or len(make) > MAKE_MAX_LENGTH):
        raise ApplicationError("vehicle_make_invalid", f"vehicleMake is a name of 1 to {MAKE_MAX_LENGTH} characters")
    if make is not None and category != "post_consumer":
        raise ApplicationError(
            "claim_make_not_post_consumer", "only a post-consumer claim names a vehicle make (closed loop)"
        )
    return RecycledClaim(lot=lot, category=str(category), kg=kg, vehicle_make=make)


def parse(document: dict[str, object]) -> Effects:
    effects = documents.effects(document, claim=read_claim(document))
    if effects.site_id is None:
        raise ApplicationError("document_malformed", "a claim names its site (bizLocation): its account is the site's")
    return effects


def claim_period(moment: datetime) -> str:
    """The accounting period of a claim at ``moment``: its calendar year (UTC)."""
    return str(moment.astimezone(UTC).year)


def credits_available(effects: Effects, known: Known) -> None:
    """The site's mass-balance account for the year holds the credits the claim draws."""
    assert effects.claim is not None and effects.site_id is not None
    hooks.recycled_content_credits()(
        site_id=effects.site_id,
        period=claim_period(effects.event_time),
        category=effects.claim.category,
        vehicle_make=effects.claim.vehicle_make,
        kg=effects.claim.kg,
    )


OPERATION = OperationDefinition(
    name=Operation.RECYCLED_CONTENT_CLAIM,
    roles=frozenset({OrganisationRole.REMELTER, OrganisationRole.DIE_CASTER, OrganisationRole.BATTERY_RECYCLER}),
    input_type=RecycledContentClaimInput,
    build=build,
    parse=parse,
    rules=(rules.touched_objects_usable, rules.lot_claimable, rules.claim_within_lot, credits_available),
)
