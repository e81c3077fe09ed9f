"""Scrap sorting: parts and lots are sorted into scrap lots of a category."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from traceability.choices import ObjectKind, Operation, OrganisationRole, ScrapCategory
from traceability.errors import ApplicationError
from traceability.identifiers import validate_uri
from traceability.models import Organisation, Site
from traceability.operations import documents, epcis, rules
from traceability.operations.definition import OperationDefinition
from traceability.operations.effects import Effects
from traceability.operations.inputs import Energy, LotIn, LotOut


@dataclass(frozen=True, kw_only=True)
class ScrapSortingInput:
    site: Site
    parts: Sequence[str]
    lots: Sequence[LotIn]
    outputs: Sequence[LotOut]
    losses: dict[str, Decimal]
    # Metered process energy (none: not metered, and the carbon graph adds no process energy).
    energy: Energy | None = None
    event_time: datetime | None = None


def build(organisation: Organisation, data: ScrapSortingInput) -> dict[str, object]:
    quantities, described = documents.lot_outputs(organisation, data.outputs)
    fields: dict[str, object] = {"outputQuantityList": quantities}
    if data.parts:
        fields["inputEPCList"] = [validate_uri(p) for p in data.parts]
    if data.lots:
        fields["inputQuantityList"] = documents.lot_inputs(data.lots)
    return documents.event(
        "TransformationEvent",
        Operation.SCRAP_SORTING,
        site=data.site,
        event_time=data.event_time,
        bizStep="commissioning",
        **fields,
        **{"lt:objects": described},
        **documents.energy(data.energy),
        **documents.losses(data.losses),
    )


def parse(document: dict[str, object]) -> Effects:
    epcis.read_energy(document)
    outputs = documents.new_objects(document, documents.output_ids(document), kinds=frozenset({ObjectKind.SCRAP_LOT}))
    documents.check_quantity_masses(outputs, document, "outputQuantityList")
    for output in outputs:
        if output.attributes.get("scrapCategory") not in ScrapCategory.values:
            raise ApplicationError(
                "scrap_category_invalid", f"{output.label}: scrapCategory must be one of {ScrapCategory.values}"
            )
    return documents.effects(
        document, inputs=documents.transformation_inputs(document), outputs=outputs, losses=epcis.read_losses(document)
    )


OPERATION = OperationDefinition(
    name=Operation.SCRAP_SORTING,
    roles=frozenset({OrganisationRole.DISMANTLER, OrganisationRole.REMELTER}),
    input_type=ScrapSortingInput,
    build=build,
    parse=parse,
    rules=(rules.outputs_are_new, rules.touched_objects_usable, rules.inputs_available, rules.mass_balanced),
)
