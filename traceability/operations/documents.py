"""Pieces every operation's event document is built from and read back into ``Effects``.

Each operation's module (``traceability.operations.<operation>``) builds its document from
its typed input and parses documents into ``Effects``; the parsers are the only readers,
for documents built by Looptrace and documents a partner built and signed itself alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from traceability.choices import ObjectKind
from traceability.errors import ApplicationError
from traceability.identifiers import GBT_PRODUCT_TYPES, battery_uri, local_uri, validate_uri
from traceability.models import Organisation, Site
from traceability.operations import epcis
from traceability.operations.effects import Consumption, Effects, NewObject
from traceability.operations.inputs import BatteryOut, Energy, LotIn, LotOut, PartOut

# --- building ----------------------------------------------------------------------------


def event(
    event_type: str, operation: str, *, site: Site, event_time: datetime | None, **fields: object
) -> dict[str, object]:
    return {
        "@context": epcis.CONTEXT,
        "type": event_type,
        "eventTime": epcis.event_time_text(event_time or timezone.now()),
        "eventTimeZoneOffset": "+00:00",
        **fields,
        "readPoint": epcis.location(site),
        "bizLocation": epcis.location(site),
        epcis.OPERATION_FIELD: str(operation),
    }


def describe(kind: str, label: str, kg: Decimal, attributes: dict[str, object]) -> dict[str, object]:
    return {"kind": kind, "label": label, "massKg": epcis.kg_number(kg), **attributes}


def lot_outputs(organisation: Organisation, lots: Sequence[LotOut]) -> tuple[list[dict[str, object]], dict]:
    quantities, described = [], {}
    for lot in lots:
        uri = lot.uri(organisation)
        quantities.append(epcis.quantity(uri, lot.kg))
        described[uri] = describe(lot.kind, lot.label(), lot.kg, lot.attributes)
    return quantities, described


def part_outputs(organisation: Organisation, parts: Sequence[PartOut]) -> dict[str, dict[str, object]]:
    described = {}
    for part in parts:
        uri = local_uri("part", organisation.slug, part.serial)
        facts = {"partType": part.part_type, **part.attributes}
        described[uri] = describe(ObjectKind.PART, part.serial, part.kg, facts)
    return described


def battery(battery: BatteryOut) -> tuple[str, dict[str, object]]:
    uri = battery_uri(battery.code)
    level = battery.code[3] if uri.startswith("urn:looptrace:battery:") else "P"
    facts = {"chemistry": battery.chemistry, "ratedEnergyKWh": float(battery.rated_energy_kwh), **battery.attributes}
    return uri, describe(GBT_PRODUCT_TYPES[level], battery.code, battery.kg, facts)


def lot_inputs(lots: Sequence[LotIn]) -> list[dict[str, object]]:
    return [epcis.quantity(validate_uri(lot.identifier), lot.kg) for lot in lots]


def energy(energy: Energy | None) -> dict[str, object]:
    """The ``lt:energy`` extension: the metered energy of the event (none when nothing was metered)."""
    if energy is None:
        return {}
    return {
        "lt:energy": {
            epcis.NATURAL_GAS_FIELD: float(energy.natural_gas_m3),
            epcis.ELECTRICITY_FIELD: float(energy.electricity_kwh),
        }
    }


def losses(losses: dict[str, Decimal]) -> dict[str, object]:
    return {"lt:lossesKg": {k: epcis.kg_number(v) for k, v in losses.items() if v}} if any(losses.values()) else {}


# --- parsing -----------------------------------------------------------------------------


def effects(document: dict[str, object], **kwargs: object) -> Effects:
    return Effects(
        operation=str(document[epcis.OPERATION_FIELD]),
        event_time=epcis.parse_event_time(document),
        site_id=epcis.parse_site(document),
        **kwargs,  # type: ignore[arg-type]
    )


def new_objects(document: dict[str, object], identifiers: list[str], *, kinds: frozenset[str]) -> list[NewObject]:
    described = epcis.read_objects(document)
    outputs = []
    for identifier in identifiers:
        validate_uri(identifier)
        facts = dict(described.get(identifier) or {})
        if not facts:
            raise ApplicationError("document_malformed", f"lt:objects has no description of {identifier}")
        kind = str(facts.pop("kind", ""))
        if kind not in kinds:
            raise ApplicationError("object_kind_invalid", f"{identifier}: kind must be one of {sorted(kinds)}")
        kg = epcis.read_kg(facts.pop("massKg", None), what=f"{identifier} massKg")
        label = str(facts.pop("label", identifier.rsplit(":", 1)[-1]))
        outputs.append(NewObject(identifier=identifier, kind=kind, label=label, kg=kg, attributes=facts))
    return outputs


def output_ids(document: dict[str, object]) -> list[str]:
    quantities = epcis.read_quantities(document, "outputQuantityList")
    return epcis.read_list(document, "outputEPCList") + [identifier for identifier, _ in quantities]


def check_quantity_masses(outputs: list[NewObject], document: dict[str, object], field: str) -> None:
    """A lot's mass is its quantity element; its description must agree."""
    for identifier, kg in epcis.read_quantities(document, field):
        for output in outputs:
            if output.identifier == identifier and output.kg != kg:
                raise ApplicationError("document_malformed", f"{identifier}: quantity and massKg disagree")


def transformation_inputs(document: dict[str, object]) -> list[Consumption]:
    whole = [Consumption(identifier) for identifier in epcis.read_list(document, "inputEPCList")]
    partial = [Consumption(i, kg) for i, kg in epcis.read_quantities(document, "inputQuantityList")]
    return whole + partial
