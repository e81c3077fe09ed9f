"""Molten transfer: liquid metal delivered hot to a nearby die-caster, who becomes its custodian."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from traceability.choices import Operation, OrganisationRole
from traceability.errors import ApplicationError
from traceability.models import Organisation, Site
from traceability.operations import documents, epcis, rules
from traceability.operations.definition import OperationDefinition
from traceability.operations.effects import Effects
from traceability.operations.inputs import LotIn


@dataclass(frozen=True, kw_only=True)
class MoltenTransferInput:
    site: Site
    lot: LotIn
    destination: Site
    temperature_c: Decimal
    distance_km: Decimal
    event_time: datetime | None = None


def build(organisation: Organisation, data: MoltenTransferInput) -> dict[str, object]:
    return documents.event(
        "ObjectEvent",
        Operation.MOLTEN_TRANSFER,
        site=data.site,
        event_time=data.event_time,
        quantityList=documents.lot_inputs([data.lot]),
        action="OBSERVE",
        bizStep="shipping",
        disposition="in_transit",
        destinationList=[{"type": "location", "destination": epcis.site_uri(data.destination)}],
        **{"lt:temperatureC": float(data.temperature_c), "lt:distanceKm": float(data.distance_km)},
    )


def parse(document: dict[str, object]) -> Effects:
    lots = [i for i, _ in epcis.read_quantities(document, "quantityList")]
    destinations = document.get("destinationList") or []
    if len(lots) != 1 or not destinations:
        raise ApplicationError("document_malformed", "a molten transfer moves one lot to one destination")
    destination = destinations[0]
    if not isinstance(destination, dict) or destination.get("type") != "location":
        raise ApplicationError("document_malformed", "the destination is a location (the receiving site)")
    site_id = epcis.site_id_of(str(destination.get("destination", "")))
    delivery = {
        "deliveredTemperatureC": float(str(document.get("lt:temperatureC", "nan"))),
        "transportDistanceKm": float(str(document.get("lt:distanceKm", "nan"))),
    }
    if not all(value >= 0 for value in delivery.values()):
        raise ApplicationError("delivery_invalid", "give lt:temperatureC and lt:distanceKm (non-negative numbers)")
    return documents.effects(document, moved=lots, destination_site_id=site_id, observed={lots[0]: delivery})


OPERATION = OperationDefinition(
    name=Operation.MOLTEN_TRANSFER,
    roles=frozenset({OrganisationRole.REMELTER}),
    input_type=MoltenTransferInput,
    build=build,
    parse=parse,
    rules=(rules.touched_objects_usable, rules.destination_site_known, rules.custody_goes_to_a_holder),
)
