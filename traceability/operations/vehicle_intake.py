"""Vehicle intake: an end-of-life vehicle arrives at the yard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from traceability.choices import ObjectKind, Operation, OrganisationRole
from traceability.identifiers import validate_vin, vehicle_uri
from traceability.models import Organisation, Site
from traceability.operations import documents, epcis, rules
from traceability.operations.definition import OperationDefinition
from traceability.operations.effects import Effects


@dataclass(frozen=True, kw_only=True)
class VehicleIntakeInput:
    site: Site
    vin: str
    kg: Decimal
    make: str
    model: str
    model_year: int | None = None
    event_time: datetime | None = None


def build(organisation: Organisation, data: VehicleIntakeInput) -> dict[str, object]:
    vin = validate_vin(data.vin)
    uri = vehicle_uri(vin)
    facts = {"make": data.make, "model": data.model, **({"modelYear": data.model_year} if data.model_year else {})}
    return documents.event(
        "ObjectEvent",
        Operation.VEHICLE_INTAKE,
        site=data.site,
        event_time=data.event_time,
        epcList=[uri],
        action="ADD",
        bizStep="receiving",
        disposition="in_progress",
        **{"lt:objects": {uri: documents.describe(ObjectKind.VEHICLE, vin, data.kg, facts)}},
    )


def parse(document: dict[str, object]) -> Effects:
    identifiers = epcis.read_list(document, "epcList")
    outputs = documents.new_objects(document, identifiers, kinds=frozenset({ObjectKind.VEHICLE}))
    return documents.effects(document, outputs=outputs)


OPERATION = OperationDefinition(
    name=Operation.VEHICLE_INTAKE,
    roles=frozenset({OrganisationRole.DISMANTLER, OrganisationRole.OEM}),
    input_type=VehicleIntakeInput,
    build=build,
    parse=parse,
    rules=(rules.outputs_are_new,),
)
