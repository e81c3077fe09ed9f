"""Black mass refining (hydrometallurgy): black mass to battery-grade salts, balanced on contained metal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from traceability.choices import ObjectKind, Operation, OrganisationRole
from traceability.errors import ApplicationError
from traceability.models import Organisation, Site
from traceability.operations import documents, epcis, rules
from traceability.operations.definition import OperationDefinition
from traceability.operations.effects import Effects
from traceability.operations.inputs import Energy, LotIn, LotOut


@dataclass(frozen=True, kw_only=True)
class BlackMassRefiningInput:
    site: Site
    inputs: Sequence[LotIn]
    salts: Sequence[LotOut]
    losses: dict[str, Decimal]
    # Metered process energy (none: not metered, and the carbon graph adds no process energy).
    energy: Energy | None = None
    event_time: datetime | None = None


def build(organisation: Organisation, data: BlackMassRefiningInput) -> dict[str, object]:
    quantities, described = documents.lot_outputs(organisation, data.salts)
    return documents.event(
        "TransformationEvent",
        Operation.BLACK_MASS_REFINING,
        site=data.site,
        event_time=data.event_time,
        inputQuantityList=documents.lot_inputs(data.inputs),
        outputQuantityList=quantities,
        bizStep="commissioning",
        **{"lt:step": "hydrometallurgy", "lt:objects": described},
        **documents.energy(data.energy),
        **documents.losses(data.losses),
    )


def parse(document: dict[str, object]) -> Effects:
    epcis.read_energy(document)
    outputs = documents.new_objects(document, documents.output_ids(document), kinds=frozenset({ObjectKind.SALT}))
    documents.check_quantity_masses(outputs, document, "outputQuantityList")
    metals: dict[str, Decimal] = {}
    for output in outputs:
        metal = str(output.attributes.get("metal", ""))
        content = Decimal(str(output.attributes.get("metalContentPct", "0")))
        if not metal or not 0 < content <= 100:
            raise ApplicationError("salt_invalid", f"{output.label}: give metal and metalContentPct (0-100]")
        metals[metal] = metals.get(metal, Decimal(0)) + output.kg * content / 100
    return documents.effects(
        document,
        inputs=documents.transformation_inputs(document),
        outputs=outputs,
        losses=epcis.read_losses(document),
        metals_out=metals,
    )


OPERATION = OperationDefinition(
    name=Operation.BLACK_MASS_REFINING,
    roles=frozenset({OrganisationRole.BATTERY_RECYCLER}),
    input_type=BlackMassRefiningInput,
    build=build,
    parse=parse,
    rules=(rules.outputs_are_new, rules.touched_objects_usable, rules.inputs_available, rules.metals_recoverable),
)
