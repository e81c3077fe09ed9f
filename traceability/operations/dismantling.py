"""Dismantling: pack and parts leave the vehicle; what stays is the hulk (the vehicle's remaining mass)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from traceability.choices import BATTERY_KINDS, ObjectKind, Operation, OrganisationRole
from traceability.errors import ApplicationError
from traceability.identifiers import validate_uri
from traceability.models import Organisation, Site
from traceability.operations import documents, epcis, rules
from traceability.operations.definition import OperationDefinition
from traceability.operations.effects import Consumption, Effects, Flow
from traceability.operations.inputs import BatteryOut, Energy, PartOut


@dataclass(frozen=True, kw_only=True)
class DismantlingInput:
    site: Site
    vehicle: str
    batteries: Sequence[BatteryOut] = ()
    parts: Sequence[PartOut] = ()
    # Metered process energy (none: not metered, and the carbon graph adds no process energy).
    energy: Energy | None = None
    event_time: datetime | None = None


def build(organisation: Organisation, data: DismantlingInput) -> dict[str, object]:
    described = dict(documents.battery(b) for b in data.batteries)
    described.update(documents.part_outputs(organisation, data.parts))
    return documents.event(
        "AggregationEvent",
        Operation.DISMANTLING,
        site=data.site,
        event_time=data.event_time,
        parentID=validate_uri(data.vehicle),
        childEPCs=list(described),
        action="DELETE",
        bizStep="disassembling",
        **{"lt:objects": described},
        **documents.energy(data.energy),
    )


def parse(document: dict[str, object]) -> Effects:
    epcis.read_energy(document)
    vehicle = validate_uri(str(document.get("parentID", "")))
    children = documents.new_objects(
        document,
        epcis.read_list(document, "childEPCs"),
        kinds=frozenset({ObjectKind.PART, *BATTERY_KINDS}),
    )
    if not children:
        raise ApplicationError("document_malformed", "dismantling removes at least one part or battery")
    removed = sum((c.kg for c in children), Decimal(0))
    return documents.effects(
        document,
        inputs=[Consumption(vehicle, removed)],
        outputs=children,
        homogeneous=False,
        flows=[Flow(vehicle, c.identifier, c.kg) for c in children],
    )


OPERATION = OperationDefinition(
    name=Operation.DISMANTLING,
    roles=frozenset({OrganisationRole.DISMANTLER}),
    input_type=DismantlingInput,
    build=build,
    parse=parse,
    rules=(rules.outputs_are_new, rules.touched_objects_usable, rules.inputs_available),
)
