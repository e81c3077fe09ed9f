"""Remelting: scrap, primary ingot and alloying additions are melted into one batch, ladle or ingot lot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from traceability.choices import ObjectKind, Operation, OrganisationRole
from traceability.models import Organisation, Site
from traceability.operations import documents, epcis, rules
from traceability.operations.definition import OperationDefinition
from traceability.operations.effects import Effects
from traceability.operations.inputs import Energy, LotIn, LotOut


@dataclass(frozen=True, kw_only=True)
class RemeltingInput:
    site: Site
    inputs: Sequence[LotIn]
    output: LotOut
    melt_loss_kg: Decimal
    dross_kg: Decimal
    natural_gas_m3: Decimal
    electricity_kwh: Decimal
    target_alloy: str | None = None
    event_time: datetime | None = None


def build(organisation: Organisation, data: RemeltingInput) -> dict[str, object]:
    quantities, described = documents.lot_outputs(organisation, [data.output])
    energy = Energy(electricity_kwh=data.electricity_kwh, natural_gas_m3=data.natural_gas_m3)
    extensions: dict[str, object] = {"lt:objects": described, **documents.energy(energy)}
    if data.target_alloy:
        extensions["lt:targetAlloy"] = data.target_alloy
    return documents.event(
        "TransformationEvent",
        Operation.REMELTING,
        site=data.site,
        event_time=data.event_time,
        inputQuantityList=documents.lot_inputs(data.inputs),
        outputQuantityList=quantities,
        bizStep="commissioning",
        **extensions,
        **documents.losses({"meltLoss": data.melt_loss_kg, "dross": data.dross_kg}),
    )


def parse(document: dict[str, object]) -> Effects:
    epcis.read_energy(document)
    outputs = documents.new_objects(
        document,
        documents.output_ids(document),
        kinds=frozenset({ObjectKind.MELT_BATCH, ObjectKind.INGOT_LOT, ObjectKind.MOLTEN_LADLE}),
    )
    documents.check_quantity_masses(outputs, document, "outputQuantityList")
    target = document.get("lt:targetAlloy")
    return documents.effects(
        document,
        inputs=documents.transformation_inputs(document),
        outputs=outputs,
        losses=epcis.read_losses(document),
        target_alloy=str(target) if target else None,
        mixes_composition=True,
    )


OPERATION = OperationDefinition(
    name=Operation.REMELTING,
    roles=frozenset({OrganisationRole.REMELTER, OrganisationRole.DIE_CASTER}),
    input_type=RemeltingInput,
    build=build,
    parse=parse,
    rules=(
        rules.outputs_are_new,
        rules.touched_objects_usable,
        rules.inputs_available,
        rules.mass_balanced,
        rules.target_alloy_known,
    ),
)
