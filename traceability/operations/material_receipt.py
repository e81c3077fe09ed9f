"""Material receipt: external inputs enter the loop (primary ingot, alloying additions, bought scrap)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from traceability.choices import ObjectKind, Operation, OrganisationRole
from traceability.models import Organisation, Site
from traceability.operations import documents, epcis, rules
from traceability.operations.definition import OperationDefinition
from traceability.operations.effects import Effects
from traceability.operations.inputs import LotOut


@dataclass(frozen=True, kw_only=True)
class MaterialReceiptInput:
    site: Site
    lots: Sequence[LotOut]
    event_time: datetime | None = None


def build(organisation: Organisation, data: MaterialReceiptInput) -> dict[str, object]:
    quantities, described = documents.lot_outputs(organisation, data.lots)
    return documents.event(
        "ObjectEvent",
        Operation.MATERIAL_RECEIPT,
        site=data.site,
        event_time=data.event_time,
        quantityList=quantities,
        action="ADD",
        bizStep="receiving",
        disposition="in_progress",
        **{"lt:objects": described},
    )


def parse(document: dict[str, object]) -> Effects:
    identifiers = [i for i, _ in epcis.read_quantities(document, "quantityList")]
    outputs = documents.new_objects(
        document,
        identifiers,
        kinds=frozenset({ObjectKind.PRIMARY_INGOT, ObjectKind.ALLOYING, ObjectKind.SCRAP_LOT}),
    )
    documents.check_quantity_masses(outputs, document, "quantityList")
    return documents.effects(document, outputs=outputs)


OPERATION = OperationDefinition(
    name=Operation.MATERIAL_RECEIPT,
    roles=frozenset(
        {
            OrganisationRole.REMELTER,
            OrganisationRole.DIE_CASTER,
            OrganisationRole.BATTERY_RECYCLER,
            OrganisationRole.DISMANTLER,
        }
    ),
    input_type=MaterialReceiptInput,
    build=build,
    parse=parse,
    rules=(rules.outputs_are_new,),
)
