"""Battery recycling: discharged packs are shredded into black mass and fractions (Cu, Al, steel, plastics)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from traceability.choices import ObjectKind, ObjectStatus, Operation, OrganisationRole
from traceability.identifiers import validate_uri
from traceability.models import Organisation, Site
from traceability.operations import documents, epcis, rules
from traceability.operations.definition import OperationDefinition
from traceability.operations.effects import Effects
from traceability.operations.inputs import Energy, LotOut


@dataclass(frozen=True, kw_only=True)
class BatteryRecyclingInput:
    site: Site
    batteries: Sequence[str]
    outputs: Sequence[LotOut]
    losses: dict[str, Decimal]
    # Metered process energy (none: not metered, and the carbon graph adds no process energy).
    energy: Energy | None = None
    event_time: datetime | None = None


def build(organisation: Organisation, data: BatteryRecyclingInput) -> dict[str, object]:
    quantities, described = documents.lot_outputs(organisation, data.outputs)
    return documents.event(
        "TransformationEvent",
        Operation.BATTERY_RECYCLING,
        site=data.site,
        event_time=data.event_time,
        inputEPCList=[validate_uri(b) for b in data.batteries],
        outputQuantityList=quantities,
        bizStep="commissioning",
        **{"lt:step": "mechanical_treatment", "lt:objects": described},
        **documents.energy(data.energy),
        **documents.losses(data.losses),
    )


def parse(document: dict[str, object]) -> Effects:
    epcis.read_energy(document)
    outputs = documents.new_objects(
        document,
        documents.output_ids(document),
        kinds=frozenset({ObjectKind.BLACK_MASS, ObjectKind.BATTERY_FRACTION}),
    )
    documents.check_quantity_masses(outputs, document, "outputQuantityList")
    return documents.effects(
        document,
        inputs=documents.transformation_inputs(document),
        outputs=outputs,
        losses=epcis.read_losses(document),
        input_end_status=ObjectStatus.RECYCLED,
    )


OPERATION = OperationDefinition(
    name=Operation.BATTERY_RECYCLING,
    roles=frozenset({OrganisationRole.BATTERY_RECYCLER}),
    input_type=BatteryRecyclingInput,
    build=build,
    parse=parse,
    rules=(rules.outputs_are_new, rules.touched_objects_usable, rules.inputs_available, rules.mass_balanced),
)
