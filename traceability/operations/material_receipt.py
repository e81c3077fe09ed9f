"""Material receipt: external inputs enter the loop (primary ingot, alloying additions, bought scrap)."""

from __future__ import annotations

import math
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
from traceability.operations.inputs import LotOut

# The supplier's footprint of the product whose process generated a bought pre-consumer scrap lot,
# in kg CO2e per kg of that product: the attribute of the lot (in ``lt:objects``) that the
# allocation method charges the scrap with (``carbon.graph.root_source``); a lot without it is
# charged the registry's default, the ``pre_consumer_generator`` factor.
GENERATOR_FOOTPRINT = "generatorFootprintKgPerKg"


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


def generator_footprint_valid(effects: Effects, known: rules.Known) -> None:
    """A generator footprint is stated only for pre-consumer scrap, as a finite non-negative number."""
    for output in effects.outputs:
        if GENERATOR_FOOTPRINT not in output.attributes:
            continue
        value = output.attributes[GENERATOR_FOOTPRINT]
        category = output.attributes.get("scrapCategory")
        if output.kind != ObjectKind.SCRAP_LOT or category != ScrapCategory.PRE_CONSUMER:
            raise ApplicationError(
                "generator_footprint_not_pre_consumer",
                f"{output.label}: a generator footprint (kg CO2e per kg of the product whose process made the "
                f"scrap) is only meaningful for pre-consumer scrap, not for "
                f"{category or output.kind}",
            )
        number = isinstance(value, int | float | Decimal) and not isinstance(value, bool)
        if not number or not math.isfinite(value) or value < 0:  # type: ignore[arg-type]
            raise ApplicationError(
                "generator_footprint_invalid",
                f"{output.label}: the generator footprint is a finite, non-negative number of kg CO2e per kg",
            )


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
    rules=(rules.outputs_are_new, generator_footprint_valid),
)
