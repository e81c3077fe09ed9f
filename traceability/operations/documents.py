"""Every lifecycle operation: how its EPCIS event reads as ``Effects``, and who records it.

Builders (``traceability.operations.services``) write these documents; the parsers
here are the only readers, for documents built by Looptrace and documents a partner
built and signed itself alike.
"""

from __future__ import annotations

from decimal import Decimal

from traceability.choices import BATTERY_KINDS, ObjectKind, ObjectStatus, ScrapCategory
from traceability.errors import ApplicationError
from traceability.identifiers import validate_uri
from traceability.operations import epcis
from traceability.operations.effects import Consumption, Effects, Flow, NewObject
from traceability.operations.registry import OPERATION_FIELD, register

DISMANTLER, REMELTER, DIE_CASTER = "dismantler", "remelter", "die_caster"
BATTERY_RECYCLER, BATTERY_MAKER, OEM = "battery_recycler", "battery_maker", "oem"
PARTNER_ROLES = (DISMANTLER, REMELTER, DIE_CASTER, BATTERY_RECYCLER, BATTERY_MAKER, OEM)


def _effects(document: dict[str, object], **kwargs: object) -> Effects:
    return Effects(
        operation=str(document[OPERATION_FIELD]),
        event_time=epcis.parse_event_time(document),
        site_id=epcis.parse_site(document),
        **kwargs,  # type: ignore[arg-type]
    )


def _new_objects(document: dict[str, object], identifiers: list[str], *, kinds: frozenset[str]) -> list[NewObject]:
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


def _output_ids(document: dict[str, object]) -> list[str]:
    quantities = epcis.read_quantities(document, "outputQuantityList")
    return epcis.read_list(document, "outputEPCList") + [identifier for identifier, _ in quantities]


def _with_quantity_masses(outputs: list[NewObject], document: dict[str, object], field: str) -> None:
    """A lot's mass is its quantity element; its description must agree."""
    for identifier, kg in epcis.read_quantities(document, field):
        for output in outputs:
            if output.identifier == identifier and output.kg != kg:
                raise ApplicationError("document_malformed", f"{identifier}: quantity and massKg disagree")


def _transformation_inputs(document: dict[str, object]) -> list[Consumption]:
    whole = [Consumption(identifier) for identifier in epcis.read_list(document, "inputEPCList")]
    partial = [Consumption(i, kg) for i, kg in epcis.read_quantities(document, "inputQuantityList")]
    return whole + partial


ALL_KINDS = frozenset(ObjectKind.values)
LOT_KINDS = ALL_KINDS - {ObjectKind.VEHICLE, ObjectKind.PART} - BATTERY_KINDS


@register("vehicle_intake", DISMANTLER, OEM)
def vehicle_intake(document: dict[str, object]) -> Effects:
    outputs = _new_objects(document, epcis.read_list(document, "epcList"), kinds=frozenset({ObjectKind.VEHICLE}))
    return _effects(document, outputs=outputs, mass_balanced=False)


@register("material_receipt", REMELTER, DIE_CASTER, BATTERY_RECYCLER, DISMANTLER)
def material_receipt(document: dict[str, object]) -> Effects:
    """External inputs enter the loop: primary ingot, alloying additions, bought scrap."""
    identifiers = [i for i, _ in epcis.read_quantities(document, "quantityList")]
    outputs = _new_objects(
        document,
        identifiers,
        kinds=frozenset({ObjectKind.PRIMARY_INGOT, ObjectKind.ALLOYING, ObjectKind.SCRAP_LOT}),
    )
    _with_quantity_masses(outputs, document, "quantityList")
    return _effects(document, outputs=outputs, mass_balanced=False)


@register("dismantling", DISMANTLER)
def dismantling(document: dict[str, object]) -> Effects:
    """Pack and parts leave the vehicle; what stays is the hulk (the vehicle's remaining mass)."""
    vehicle = validate_uri(str(document.get("parentID", "")))
    children = _new_objects(
        document,
        epcis.read_list(document, "childEPCs"),
        kinds=frozenset({ObjectKind.PART, *BATTERY_KINDS}),
    )
    if not children:
        raise ApplicationError("document_malformed", "dismantling removes at least one part or battery")
    removed = sum((c.kg for c in children), Decimal(0))
    return _effects(
        document,
        inputs=[Consumption(vehicle, removed)],
        outputs=children,
        homogeneous=False,
        flows=[Flow(vehicle, c.identifier, c.kg) for c in children],
        mass_balanced=False,
    )


@register("battery_grading", DISMANTLER, BATTERY_RECYCLER, BATTERY_MAKER)
def battery_grading(document: dict[str, object]) -> Effects:
    (battery,) = epcis.read_list(document, "epcList") or [None]
    if battery is None:
        raise ApplicationError("document_malformed", "grading observes one battery")
    readings: dict[str, object] = {}
    for element in document.get("sensorElementList") or []:
        for report in element.get("sensorReport", []) if isinstance(element, dict) else []:
            if report.get("type") == "lt:StateOfHealth":
                readings["stateOfHealthPct"] = float(report["value"])
            elif report.get("type") == "lt:Capacity":
                readings["capacityKWh"] = float(report["value"])
    route = document.get("lt:route")
    if route not in {"second_life", "recycling"}:
        raise ApplicationError("route_invalid", "lt:route must be second_life or recycling")
    if not 0 <= float(readings.get("stateOfHealthPct", -1)) <= 100:
        raise ApplicationError("state_of_health_invalid", "state of health is a percentage between 0 and 100")
    readings.update(route=route, gradedAt=document["eventTime"])
    return _effects(document, observed={battery: readings}, mass_balanced=False)


@register("repurposing", BATTERY_RECYCLER, BATTERY_MAKER, DISMANTLER)
def repurposing(document: dict[str, object]) -> Effects:
    """Second life: the battery continues under a new identity linked to the old one."""
    previous = validate_uri(str(document.get("lt:previousIdentity", "")))
    (new,) = _new_objects(document, epcis.read_list(document, "epcList"), kinds=frozenset(BATTERY_KINDS))
    return _effects(
        document,
        inputs=[Consumption(previous)],
        outputs=[new],
        input_end_status=ObjectStatus.REPURPOSED,
        homogeneous=False,
        flows=[Flow(previous, new.identifier, new.kg)],
        mass_balanced=False,
    )


@register("battery_recycling", BATTERY_RECYCLER)
def battery_recycling(document: dict[str, object]) -> Effects:
    """Discharged packs are shredded into black mass and fractions (Cu, Al, steel, plastics)."""
    outputs = _new_objects(
        document, _output_ids(document), kinds=frozenset({ObjectKind.BLACK_MASS, ObjectKind.BATTERY_FRACTION})
    )
    _with_quantity_masses(outputs, document, "outputQuantityList")
    return _effects(
        document,
        inputs=_transformation_inputs(document),
        outputs=outputs,
        losses=epcis.read_losses(document),
        input_end_status=ObjectStatus.RECYCLED,
    )


@register("black_mass_refining", BATTERY_RECYCLER)
def black_mass_refining(document: dict[str, object]) -> Effects:
    """Hydrometallurgy: black mass to battery-grade salts. Balanced on contained metal, not on mass."""
    outputs = _new_objects(document, _output_ids(document), kinds=frozenset({ObjectKind.SALT}))
    _with_quantity_masses(outputs, document, "outputQuantityList")
    metals: dict[str, Decimal] = {}
    for output in outputs:
        metal = str(output.attributes.get("metal", ""))
        content = Decimal(str(output.attributes.get("metalContentPct", "0")))
        if not metal or not 0 < content <= 100:
            raise ApplicationError("salt_invalid", f"{output.label}: give metal and metalContentPct (0-100]")
        metals[metal] = metals.get(metal, Decimal(0)) + output.kg * content / 100
    return _effects(
        document,
        inputs=_transformation_inputs(document),
        outputs=outputs,
        losses=epcis.read_losses(document),
        mass_balanced=False,
        metals_out=metals,
    )


@register("scrap_sorting", DISMANTLER, REMELTER)
def scrap_sorting(document: dict[str, object]) -> Effects:
    outputs = _new_objects(document, _output_ids(document), kinds=frozenset({ObjectKind.SCRAP_LOT}))
    _with_quantity_masses(outputs, document, "outputQuantityList")
    for output in outputs:
        if output.attributes.get("scrapCategory") not in ScrapCategory.values:
            raise ApplicationError(
                "scrap_category_invalid", f"{output.label}: scrapCategory must be one of {ScrapCategory.values}"
            )
    return _effects(
        document, inputs=_transformation_inputs(document), outputs=outputs, losses=epcis.read_losses(document)
    )


@register("remelting", REMELTER, DIE_CASTER)
def remelting(document: dict[str, object]) -> Effects:
    outputs = _new_objects(
        document,
        _output_ids(document),
        kinds=frozenset({ObjectKind.MELT_BATCH, ObjectKind.INGOT_LOT, ObjectKind.MOLTEN_LADLE}),
    )
    _with_quantity_masses(outputs, document, "outputQuantityList")
    target = document.get("lt:targetAlloy")
    return _effects(
        document,
        inputs=_transformation_inputs(document),
        outputs=outputs,
        losses=epcis.read_losses(document),
        target_alloy=str(target) if target else None,
        mixes_composition=True,
    )


@register("molten_transfer", REMELTER)
def molten_transfer(document: dict[str, object]) -> Effects:
    """Liquid metal delivered hot to a nearby die-caster, who becomes its custodian."""
    lots = [i for i, _ in epcis.read_quantities(document, "quantityList")]
    destinations = document.get("destinationList") or []
    if len(lots) != 1 or not destinations:
        raise ApplicationError("document_malformed", "a molten transfer moves one lot to one destination")
    destination = destinations[0]
    if not isinstance(destination, dict) or destination.get("type") != "location":
        raise ApplicationError("document_malformed", "the destination is a location (the receiving site)")
    site_id = epcis.site_id_of(str(destination.get("destination", "")))
    delivery = {
        "deliveredTemperatureC": float(str(document.get("lt:temperatureC", "nan"))),
        "transportDistanceKm": float(str(document.get("lt:distanceKm", "nan"))),
    }
    if not all(value >= 0 for value in delivery.values()):
        raise ApplicationError("delivery_invalid", "give lt:temperatureC and lt:distanceKm (non-negative numbers)")
    return _effects(
        document, moved=lots, destination_site_id=site_id, observed={lots[0]: delivery}, mass_balanced=False
    )


@register("die_casting", DIE_CASTER)
def die_casting(document: dict[str, object]) -> Effects:
    """Melt into serialised castings, run-around scrap and rejects; all carry the melt's composition."""
    outputs = _new_objects(document, _output_ids(document), kinds=frozenset({ObjectKind.PART, ObjectKind.SCRAP_LOT}))
    _with_quantity_masses(outputs, document, "outputQuantityList")
    for output in outputs:
        if output.kind == ObjectKind.SCRAP_LOT and output.attributes.get("scrapCategory") != ScrapCategory.INTERNAL:
            raise ApplicationError("scrap_category_invalid", "die-casting scrap is internal (run-around) scrap")
    return _effects(
        document,
        inputs=_transformation_inputs(document),
        outputs=outputs,
        losses=epcis.read_losses(document),
        mixes_composition=True,
    )


@register("custody_transfer", *PARTNER_ROLES)
def custody_transfer(document: dict[str, object]) -> Effects:
    items = epcis.read_list(document, "epcList") + [i for i, _ in epcis.read_quantities(document, "quantityList")]
    destinations = [d for d in document.get("destinationList") or [] if isinstance(d, dict)]
    owners = [d.get("destination") for d in destinations if str(d.get("type", "")).endswith("owning_party")]
    if not items or len(owners) != 1:
        raise ApplicationError("document_malformed", "a transfer ships objects to one owning party")
    return _effects(document, moved=items, new_custodian=epcis.parse_party(owners[0]), mass_balanced=False)
