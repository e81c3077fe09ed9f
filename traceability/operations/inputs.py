"""One service per lifecycle operation: build the EPCIS 2.0 event and append it.

Each service takes validated, unit-converted input (kilograms as Decimal), writes
exactly one ledger entry, signed custodially for the organisation, and returns the
``EventRecord`` the projection made of it. The rules run inside the append (see
``engine``): when one fails, nothing is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from traceability.choices import ObjectKind, ScrapCategory
from traceability.identifiers import GBT_PRODUCT_TYPES, battery_uri, local_uri, validate_uri, validate_vin, vehicle_uri
from traceability.models import EventRecord, Organisation, Site
from traceability.operations import epcis
from traceability.operations.registry import OPERATION_FIELD
from traceability.services import ledger_append


@dataclass(frozen=True)
class LotOut:
    """A new mass lot: ``code`` is numbered by the organisation, or ``identifier`` is an EPC of its own."""

    kind: str
    kg: Decimal
    code: str = ""
    identifier: str = ""
    attributes: dict[str, object] = field(default_factory=dict)

    def uri(self, organisation: Organisation) -> str:
        return validate_uri(self.identifier) if self.identifier else local_uri("lot", organisation.slug, self.code)

    def label(self) -> str:
        return self.code or self.identifier.rsplit(":", 1)[-1]


@dataclass(frozen=True)
class PartOut:
    serial: str
    part_type: str
    kg: Decimal
    attributes: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class BatteryOut:
    code: str
    chemistry: str
    rated_energy_kwh: Decimal
    kg: Decimal
    attributes: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class LotIn:
    identifier: str
    kg: Decimal


def _event(
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
        OPERATION_FIELD: operation,
    }


def _describe(kind: str, label: str, kg: Decimal, attributes: dict[str, object]) -> dict[str, object]:
    return {"kind": kind, "label": label, "massKg": epcis.kg_number(kg), **attributes}


def _lot_outputs(organisation: Organisation, lots: Sequence[LotOut]) -> tuple[list[dict[str, object]], dict]:
    quantities, described = [], {}
    for lot in lots:
        uri = lot.uri(organisation)
        quantities.append(epcis.quantity(uri, lot.kg))
        described[uri] = _describe(lot.kind, lot.label(), lot.kg, lot.attributes)
    return quantities, described


def _losses(losses: dict[str, Decimal]) -> dict[str, object]:
    return {"lt:lossesKg": {k: epcis.kg_number(v) for k, v in losses.items() if v}} if any(losses.values()) else {}


def _record(organisation: Organisation, document: dict[str, object]) -> EventRecord:
    entry = ledger_append(organisation=organisation, document=document)
    # The projection created the record in the same transaction and cached it on the entry.
    return entry.event_record


def vehicle_intake(
    *,
    organisation: Organisation,
    site: Site,
    vin: str,
    kg: Decimal,
    make: str,
    model: str,
    model_year: int | None = None,
    event_time: datetime | None = None,
) -> EventRecord:
    vin = validate_vin(vin)
    uri = vehicle_uri(vin)
    facts = {"make": make, "model": model, **({"modelYear": model_year} if model_year else {})}
    return _record(
        organisation,
        _event(
            "ObjectEvent",
            "vehicle_intake",
            site=site,
            event_time=event_time,
            epcList=[uri],
            action="ADD",
            bizStep="receiving",
            disposition="in_progress",
            **{"lt:objects": {uri: _describe(ObjectKind.VEHICLE, vin, kg, facts)}},
        ),
    )


def material_receipt(
    *, organisation: Organisation, site: Site, lots: Sequence[LotOut], event_time: datetime | None = None
) -> EventRecord:
    quantities, described = _lot_outputs(organisation, lots)
    return _record(
        organisation,
        _event(
            "ObjectEvent",
            "material_receipt",
            site=site,
            event_time=event_time,
            quantityList=quantities,
            action="ADD",
            bizStep="receiving",
            disposition="in_progress",
            **{"lt:objects": described},
        ),
    )


def _battery(battery: BatteryOut) -> tuple[str, dict[str, object]]:
    uri = battery_uri(battery.code)
    level = battery.code[3] if uri.startswith("urn:looptrace:battery:") else "P"
    facts = {"chemistry": battery.chemistry, "ratedEnergyKWh": float(battery.rated_energy_kwh), **battery.attributes}
    return uri, _describe(GBT_PRODUCT_TYPES[level], battery.code, battery.kg, facts)


def dismantling(
    *,
    organisation: Organisation,
    site: Site,
    vehicle: str,
    batteries: Sequence[BatteryOut] = (),
    parts: Sequence[PartOut] = (),
    event_time: datetime | None = None,
) -> EventRecord:
    described = dict(_battery(b) for b in batteries)
    for part in parts:
        uri = local_uri("part", organisation.slug, part.serial)
        described[uri] = _describe(
            ObjectKind.PART, part.serial, part.kg, {"partType": part.part_type, **part.attributes}
        )
    return _record(
        organisation,
        _event(
            "AggregationEvent",
            "dismantling",
            site=site,
            event_time=event_time,
            parentID=validate_uri(vehicle),
            childEPCs=list(described),
            action="DELETE",
            bizStep="disassembling",
            **{"lt:objects": described},
        ),
    )


def battery_grading(
    *,
    organisation: Organisation,
    site: Site,
    battery: str,
    state_of_health_pct: Decimal,
    capacity_kwh: Decimal,
    route: str,
    event_time: datetime | None = None,
) -> EventRecord:
    moment = epcis.event_time_text(event_time or timezone.now())
    reports = [
        {"type": "lt:StateOfHealth", "value": float(state_of_health_pct), "uom": "P1"},
        {"type": "lt:Capacity", "value": float(capacity_kwh), "uom": "KWH"},
    ]
    return _record(
        organisation,
        _event(
            "ObjectEvent",
            "battery_grading",
            site=site,
            event_time=event_time,
            epcList=[validate_uri(battery)],
            action="OBSERVE",
            bizStep="inspecting",
            sensorElementList=[{"sensorMetadata": {"time": moment}, "sensorReport": reports}],
            **{"lt:route": route},
        ),
    )


def repurposing(
    *,
    organisation: Organisation,
    site: Site,
    battery: str,
    new_battery: BatteryOut,
    application: str,
    event_time: datetime | None = None,
) -> EventRecord:
    uri, facts = _battery(new_battery)
    facts["application"] = application
    facts["previousIdentity"] = battery
    return _record(
        organisation,
        _event(
            "ObjectEvent",
            "repurposing",
            site=site,
            event_time=event_time,
            epcList=[uri],
            action="ADD",
            bizStep="repairing",
            disposition="active",
            **{"lt:previousIdentity": validate_uri(battery), "lt:objects": {uri: facts}},
        ),
    )


def battery_recycling(
    *,
    organisation: Organisation,
    site: Site,
    batteries: Sequence[str],
    outputs: Sequence[LotOut],
    losses: dict[str, Decimal],
    event_time: datetime | None = None,
) -> EventRecord:
    quantities, described = _lot_outputs(organisation, outputs)
    return _record(
        organisation,
        _event(
            "TransformationEvent",
            "battery_recycling",
            site=site,
            event_time=event_time,
            inputEPCList=[validate_uri(b) for b in batteries],
            outputQuantityList=quantities,
            bizStep="commissioning",
            **{"lt:step": "mechanical_treatment", "lt:objects": described},
            **_losses(losses),
        ),
    )


def _inputs(lots: Sequence[LotIn]) -> list[dict[str, object]]:
    return [epcis.quantity(validate_uri(lot.identifier), lot.kg) for lot in lots]


def black_mass_refining(
    *,
    organisation: Organisation,
    site: Site,
    inputs: Sequence[LotIn],
    salts: Sequence[LotOut],
    losses: dict[str, Decimal],
    event_time: datetime | None = None,
) -> EventRecord:
    quantities, described = _lot_outputs(organisation, salts)
    return _record(
        organisation,
        _event(
            "TransformationEvent",
            "black_mass_refining",
            site=site,
            event_time=event_time,
            inputQuantityList=_inputs(inputs),
            outputQuantityList=quantities,
            bizStep="commissioning",
            **{"lt:step": "hydrometallurgy", "lt:objects": described},
            **_losses(losses),
        ),
    )


def scrap_sorting(
    *,
    organisation: Organisation,
    site: Site,
    parts: Sequence[str],
    lots: Sequence[LotIn],
    outputs: Sequence[LotOut],
    losses: dict[str, Decimal],
    event_time: datetime | None = None,
) -> EventRecord:
    quantities, described = _lot_outputs(organisation, outputs)
    fields: dict[str, object] = {"outputQuantityList": quantities}
    if parts:
        fields["inputEPCList"] = [validate_uri(p) for p in parts]
    if lots:
        fields["inputQuantityList"] = _inputs(lots)
    return _record(
        organisation,
        _event(
            "TransformationEvent",
            "scrap_sorting",
            site=site,
            event_time=event_time,
            bizStep="commissioning",
            **fields,
            **{"lt:objects": described},
            **_losses(losses),
        ),
    )


def remelting(
    *,
    organisation: Organisation,
    site: Site,
    inputs: Sequence[LotIn],
    output: LotOut,
    melt_loss_kg: Decimal,
    dross_kg: Decimal,
    natural_gas_m3: Decimal,
    electricity_kwh: Decimal,
    target_alloy: str | None = None,
    event_time: datetime | None = None,
) -> EventRecord:
    quantities, described = _lot_outputs(organisation, [output])
    energy = {"naturalGasM3": float(natural_gas_m3), "electricityKWh": float(electricity_kwh)}
    extensions: dict[str, object] = {"lt:objects": described, "lt:energy": energy}
    if target_alloy:
        extensions["lt:targetAlloy"] = target_alloy
    return _record(
        organisation,
        _event(
            "TransformationEvent",
            "remelting",
            site=site,
            event_time=event_time,
            inputQuantityList=_inputs(inputs),
            outputQuantityList=quantities,
            bizStep="commissioning",
            **extensions,
            **_losses({"meltLoss": melt_loss_kg, "dross": dross_kg}),
        ),
    )


def molten_transfer(
    *,
    organisation: Organisation,
    site: Site,
    lot: LotIn,
    destination: Site,
    temperature_c: Decimal,
    distance_km: Decimal,
    event_time: datetime | None = None,
) -> EventRecord:
    return _record(
        organisation,
        _event(
            "ObjectEvent",
            "molten_transfer",
            site=site,
            event_time=event_time,
            quantityList=_inputs([lot]),
            action="OBSERVE",
            bizStep="shipping",
            disposition="in_transit",
            destinationList=[{"type": "location", "destination": epcis.site_uri(destination)}],
            **{"lt:temperatureC": float(temperature_c), "lt:distanceKm": float(distance_km)},
        ),
    )


def die_casting(
    *,
    organisation: Organisation,
    site: Site,
    melt: LotIn,
    castings: Sequence[PartOut],
    scrap: Sequence[LotOut],
    losses: dict[str, Decimal],
    event_time: datetime | None = None,
) -> EventRecord:
    quantities, described = _lot_outputs(
        organisation,
        [
            LotOut(
                ObjectKind.SCRAP_LOT,
                s.kg,
                s.code,
                s.identifier,
                {"scrapCategory": ScrapCategory.INTERNAL, **s.attributes},
            )
            for s in scrap
        ],
    )
    serials = []
    for casting in castings:
        uri = local_uri("part", organisation.slug, casting.serial)
        serials.append(uri)
        described[uri] = _describe(
            ObjectKind.PART, casting.serial, casting.kg, {"partType": casting.part_type, **casting.attributes}
        )
    return _record(
        organisation,
        _event(
            "TransformationEvent",
            "die_casting",
            site=site,
            event_time=event_time,
            inputQuantityList=_inputs([melt]),
            outputEPCList=serials,
            outputQuantityList=quantities,
            bizStep="commissioning",
            **{"lt:objects": described},
            **_losses(losses),
        ),
    )


def custody_transfer(
    *,
    organisation: Organisation,
    site: Site,
    items: Sequence[str],
    lots: Sequence[LotIn],
    receiver: Organisation,
    event_time: datetime | None = None,
) -> EventRecord:
    fields: dict[str, object] = {}
    if items:
        fields["epcList"] = [validate_uri(i) for i in items]
    if lots:
        fields["quantityList"] = _inputs(lots)
    return _record(
        organisation,
        _event(
            "TransactionEvent",
            "custody_transfer",
            site=site,
            event_time=event_time,
            action="ADD",
            bizStep="shipping",
            disposition="in_transit",
            bizTransactionList=[
                {"type": "desadv", "bizTransaction": f"urn:looptrace:desadv:{timezone.now():%Y%m%d%H%M%S%f}"}
            ],
            sourceList=[{"type": "owning_party", "source": epcis.party_uri(organisation)}],
            destinationList=[{"type": "owning_party", "destination": epcis.party_uri(receiver)}],
            **fields,
        ),
    )
