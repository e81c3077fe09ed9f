"""Die-casting: a melt is cast into serialised parts, run-around scrap and rejects, all of its composition."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from traceability.choices import ObjectKind, Operation, OrganisationRole, ScrapCategory
from traceability.errors import ApplicationError
from traceability.models import Organisation, Site
from traceability.operations import documents, epcis, rules
from traceability.operations.definition import OperationDefinition
from traceability.operations.effects import Effects
from traceability.operations.inputs import Energy, LotIn, LotOut, PartOut


@dataclass(frozen=True, kw_only=True)
class DieCastingInput:
    site: Site
    melt: LotIn
    castings: Sequence[PartOut]
    scrap: Sequence[LotOut]
    losses: dict[str, Decimal]
    # Metered process energy (none: not metered, and the carbon graph adds no process energy).
    energy: Energy | None = None
    event_time: datetime | None = None


def build(organisation: Organisation, data: DieCastingInput) -> dict[str, object]:
    internal = [
        LotOut(
            ObjectKind.SCRAP_LOT, s.kg, s.code, s.identifier, {"scrapCategory": ScrapCategory.INTERNAL, **s.attributes}
        )
        for s in data.scrap
    ]
    quantities, described = documents.lot_outputs(organisation, internal)
    castings = documents.part_outputs(organisation, data.castings)
    described.update(castings)
    return documents.event(
        "TransformationEvent",
        Operation.DIE_CASTING,
        site=data.site,
        event_time=data.event_time,
        inputQuantityList=documents.lot_inputs([data.melt]),
        outputEPCList=list(castings),
        outputQuantityList=quantities,
        bizStep="commissioning",
        **{"lt:objects": described},
        **documents.energy(data.energy),
        **documents.losses(data.losses),
    )


def parse(document: dict[str, object]) -> Effects:
    epcis.read_energy(document)
    outputs = documents.new_objects(
        document, documents.output_ids(document), kinds=frozenset({ObjectKind.PART, ObjectKind.SCRAP_LOT})
    )
    documents.check_quantity_masses(outputs, document, "outputQuantityList")
    for output in outputs:
        if output.kind == ObjectKind.SCRAP_LOT and output.attributes.get("scrapCategory") != ScrapCategory.INTERNAL:
            raise ApplicationError("scrap_category_invalid", "die-casting scrap is internal (run-around) scrap")
    return documents.effects(
        document,
        inputs=documents.transformation_inputs(document),
        outputs=outputs,
        losses=epcis.read_losses(document),
        mixes_composition=True,
    )


OPERATION = OperationDefinition(
    name=Operation.DIE_CASTING,
    roles=frozenset({OrganisationRole.DIE_CASTER}),
    input_type=DieCastingInput,
    build=build,
    parse=parse,
    rules=(rules.outputs_are_new, rules.touched_objects_usable, rules.inputs_available, rules.mass_balanced),
)
