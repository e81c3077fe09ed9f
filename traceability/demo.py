"""A realistic car-to-car demo loop, built only through the operation services.

End-of-life vehicles are taken in and dismantled; their packs are graded and either
repurposed for second life or shipped to a battery recycler, shredded into black mass
and fractions and partly refined into salts. Their aluminium wheels, motor housings and
subframes are sorted into post-consumer scrap lots and shipped to a remelter, who melts
them with run-around scrap returned by the die-caster, bought-in pre-consumer scrap,
primary ingot and silicon and magnesium. Most melts go hot to the nearby die-caster;
the others are cast into ingots, shipped, and remelted there. The die-caster casts
battery trays and returns its run-around scrap and rejects.

Every step is one signed ledger event written by ``traceability.operations.services``,
so every rule of the engine applies (mass balance, remaining mass, custody, event time
order, composition against the alloy specification). Numbers that are domain facts
carry their source as ``file:line`` in ``shared/seeds`` (see ``shared/docs/DOMAIN.md``);
the others are marked as assumptions of the demo.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from functools import lru_cache
from pathlib import Path

from django.db.models import Count, Sum

from traceability.choices import ObjectKind, ObjectStatus, Operation, OrganisationRole, ScrapCategory
from traceability.identifiers import (
    battery_uri,
    local_uri,
    validate_battery_code,
    validate_vin,
    vehicle_uri,
    vin_check_digit,
)
from traceability.models import EventRecord, Organisation, Site, TraceableObject
from traceability.operations import services as ops

GRAM = Decimal("0.001")
Composition = dict[str, float]

# --- domain facts, with their sources ------------------------------------------------------

# Service life of a traction battery: about 5-8 years (003:323); the vehicles scrapped now
# were built that long ago.
SERVICE_LIFE_YEARS = (5, 8)
# LFP suits reuse, NMC suits recycling (003:699-703). The SoH threshold is the demo's
# assumption of a usual second-life acceptance criterion.
SECOND_LIFE_CHEMISTRY = "LFP"
SECOND_LIFE_MIN_SOH_PCT = 80.0
# State of health at end of vehicle life: LFP capacity declines slowly (about 4,000 cycles),
# NMC lasts 2,000 cycles or fewer (003:717-723); the ranges are assumptions within 60-95 %.
STATE_OF_HEALTH_PCT = {"LFP": (70.0, 95.0), "NMC": (60.0, 88.0)}
# Brunp recovery rates: Ni/Co/Mn 99.3 %, Li 90 % (003:1409-1414).
RECOVERY = {"Ni": Decimal("0.993"), "Co": Decimal("0.993"), "Mn": Decimal("0.993"), "Li": Decimal("0.90")}

# Burn (melt) loss (004:354): about 2 % in secondary smelting (melts cast into ingots),
# about 0.9 % when the metal goes to the die-caster molten, 2-2.5 % when a die-caster
# remelts ingots.
MELT_LOSS_INGOT_ROUTE = Decimal("0.020")
MELT_LOSS_MOLTEN_ROUTE = Decimal("0.009")
MELT_LOSS_REMELTING_INGOTS = Decimal("0.0225")
# Energy per tonne melted: 70-90 m3 natural gas and 90-100 kWh electricity (004:354).
NATURAL_GAS_M3_PER_T = (70.0, 90.0)
ELECTRICITY_KWH_PER_T = (90.0, 100.0)
# Molten delivery: above 700 C (004:356), best over 30-50 km (004:384).
MOLTEN_TEMPERATURE_C = (715.0, 760.0)
MOLTEN_DISTANCE_KM = Decimal("38")
# Thin-wall integrated die-castings need Fe < 0.12 % (004:273; the "thin-wall-structural"
# alloy specification row). The remelter plans its charge for a little less, as margin.
TARGET_ALLOY = "thin-wall-structural"
CHARGE_TARGET = {"Fe": 0.110, "Si": 10.0, "Mg": 0.30}
# Primary ingot from coal-powered regions has about five times the carbon footprint of
# hydropower-based primary (002:590): the demo buys from one smelter of each.
PRIMARY_POWER_SOURCES = ("hydro", "coal")

# --- assumptions of the demo (typical values, not in the seeds) -----------------------------

DEMO_SEED = 34014
DEMO_DAYS = 60
# Typical assays in mass %: scrap 0.10-0.15 % Fe, primary about 0.07 % Fe.
ALLOYS: dict[str, Composition] = {
    "A356.2": {"Si": 7.0, "Fe": 0.10, "Mg": 0.35, "Cu": 0.02, "Mn": 0.03, "Zn": 0.03},
    "AlSi10MnMg": {"Si": 10.2, "Fe": 0.15, "Mg": 0.30, "Cu": 0.02, "Mn": 0.60, "Zn": 0.05},
    "AlSi7Mg0.3": {"Si": 7.0, "Fe": 0.12, "Mg": 0.32, "Cu": 0.02, "Mn": 0.05, "Zn": 0.04},
}
PRIMARY_INGOT: Composition = {"Si": 0.04, "Fe": 0.07}
PRE_CONSUMER_SCRAP: Composition = {"Si": 9.8, "Fe": 0.11, "Mg": 0.30, "Cu": 0.02, "Mn": 0.55, "Zn": 0.04}
SILICON_METAL: Composition = {"Si": 99.5, "Fe": 0.25}
MAGNESIUM_INGOT: Composition = {"Mg": 99.9}
PRIMARY_SUPPLIERS = [
    {"supplier": "Fjord Aluminium smelter", "powerSource": PRIMARY_POWER_SOURCES[0], "country": "NO"},
    {"supplier": "Inland Aluminium smelter", "powerSource": PRIMARY_POWER_SOURCES[1], "country": "CN"},
]
PRE_CONSUMER_SUPPLIER = "Rhine Precision Machining (trimmings and chips of structural castings)"
ALLOYING_SUPPLIER = "Alloying additions trader"
# Purchase units: primary ingot bundles, silicon in bags, magnesium ingots, scrap bales.
PRIMARY_BUNDLE_KG = Decimal("250")
SILICON_BAG_KG = Decimal("25")
MAGNESIUM_UNIT_KG = Decimal("5")
PRE_CONSUMER_BALE_KG = Decimal("50")
PRE_CONSUMER_SHARE = 0.10  # of the charge
DROSS_SHARE = Decimal("0.005")  # skimmed at every melt
SORTING_LOSS = {"wheel": Decimal("0.015"), "structural": Decimal("0.020")}  # valves, weights, steel inserts
SORTING_GROUP_VEHICLES = 8  # vehicles whose parts make one pair of scrap lots
# Die-casting: five trays per vehicle, 3 % rejected, runners/overflows/biscuits 35 % of
# the castings' mass, 0.5 % lost in the holding furnace. Run-around scrap and rejects are
# internal scrap (casting stage, 004:176) and go back to the remelter.
TRAYS_PER_VEHICLE = 5
REJECT_SHARE = 0.03
RUN_AROUND_SHARE = Decimal("0.35")
HOLDING_LOSS_SHARE = Decimal("0.005")
TRAY_DESIGNS = [("BT-C", Decimal("18.6")), ("BT-V", Decimal("21.4")), ("BT-S", Decimal("24.2"))]
TRAY_ALLOY = "AlSi10Mg (Fe < 0.12)"
# The castline casts its trays for this carmaker: the closed loop is scrap from its own vehicles.
TRAY_CUSTOMER = "Volta"
# Every third melt is cast into ingots at the Norwegian shop; the others go molten.
INGOT_ROUTE_EVERY = 3
# What a shredded pack becomes, as shares of its mass (the rest is electrolyte and
# moisture driven off); black mass assays in mass %.
PACK_SPLIT = {
    "NMC": {"black mass": "0.36", "aluminium": "0.20", "copper": "0.09", "steel": "0.12", "plastics": "0.13"},
    "LFP": {"black mass": "0.34", "aluminium": "0.21", "copper": "0.09", "steel": "0.13", "plastics": "0.13"},
}
BLACK_MASS: dict[str, Composition] = {
    "NMC": {"Ni": 20.5, "Co": 6.4, "Mn": 6.1, "Li": 3.7},
    "LFP": {"Li": 3.9, "Fe": 27.5, "P": 15.4},
}
# Share of each black mass lot refined right away (the rest waits in stock).
REFINED_SHARE = {"NMC": Decimal("1"), "LFP": Decimal("0.5")}
# Salts: compound and metal content in mass % from the molar masses.
SALTS = {
    "Ni": ("NiSO4.6H2O", Decimal("22.33")),
    "Co": ("CoSO4.7H2O", Decimal("20.97")),
    "Mn": ("MnSO4.H2O", Decimal("32.51")),
    "Li": ("Li2CO3", Decimal("18.79")),
}
SECOND_LIFE_APPLICATION = "stationary energy storage"
# Its Battery Pass category (GeneralProductInformation/batteryCategory).
SECOND_LIFE_CATEGORY = "stationary"


@dataclass(frozen=True)
class VehicleModel:
    make: str
    model: str
    wmi: str  # world manufacturer identifier; an "L" one (China) needs a VIN check digit
    vds: str
    kg: int
    chemistry: str
    kwh: Decimal
    pack_kg: Decimal
    battery_maker: str
    battery_spec: str
    wheel_kg: Decimal
    housing_kg: Decimal
    subframe_kg: Decimal | None


MODELS = [
    VehicleModel(
        make="Volta",
        model="E-Compact",
        wmi="LVT",
        vds="C5B1A",
        kg=1580,
        chemistry="LFP",
        kwh=Decimal("50"),
        pack_kg=Decimal("350"),
        battery_maker="VBT",
        battery_spec="50",
        wheel_kg=Decimal("9.6"),
        housing_kg=Decimal("14.5"),
        subframe_kg=None,
    ),
    VehicleModel(
        make="Nordwagen",
        model="Aurora SUV",
        wmi="WNW",
        vds="SU75E",
        kg=2350,
        chemistry="NMC",
        kwh=Decimal("75"),
        pack_kg=Decimal("450"),
        battery_maker="EUC",
        battery_spec="75",
        wheel_kg=Decimal("11.8"),
        housing_kg=Decimal("15.8"),
        subframe_kg=Decimal("18.4"),
    ),
    VehicleModel(
        make="Volta",
        model="E-Van",
        wmi="LVT",
        vds="V6L2B",
        kg=2150,
        chemistry="LFP",
        kwh=Decimal("60"),
        pack_kg=Decimal("400"),
        battery_maker="VBT",
        battery_spec="60",
        wheel_kg=Decimal("10.4"),
        housing_kg=Decimal("15.2"),
        subframe_kg=Decimal("17.6"),
    ),
]

# ISO 3779 model-year letters (position 10) and GB/T 34014-2017 date codes.
VIN_YEARS = {2016: "G", 2017: "H", 2018: "J", 2019: "K", 2020: "L", 2021: "M"}
GBT_DATE_CODES = "123456789ABCDEFGHJKLMNPRSTUVWXY"  # years from 2001, days from 1
GBT_MONTH_CODES = "123456789ABC"
GBT_BATTERY_TYPES = {"LFP": "B", "NMC": "E"}  # B lithium iron phosphate, E ternary (NCM)


def demo_vin(model: VehicleModel, number: int, model_year: int) -> str:
    """A VIN of the model: Chinese ones carry the ISO 3779 check digit, European ones a filler."""
    body = f"{model.wmi}{model.vds}0{VIN_YEARS[model_year]}S{number:06d}"
    check = vin_check_digit(body) if model.wmi.startswith("L") else "Z"
    return validate_vin(body[:8] + check + body[9:])


def gbt_battery_code(maker: str, chemistry: str, spec: str, trace: str, made: datetime, serial: int) -> str:
    """A GB/T 34014-2017 pack code: maker, P, type, spec, traceability, year/month/day, serial."""
    date = GBT_DATE_CODES[made.year - 2001] + GBT_MONTH_CODES[made.month - 1] + GBT_DATE_CODES[made.day - 1]
    return validate_battery_code(f"{maker}P{GBT_BATTERY_TYPES[chemistry]}{spec}{trace:0>7}{date}{serial:07d}")


# Where a GB/T 34014 code's unique part starts: traceability code, production date, serial.
GBT_SERIAL_FROM = 7
DATASHEETS_FILE = Path(__file__).resolve().parent / "data" / "demo_battery_datasheets.json"


@lru_cache(maxsize=1)
def _datasheets() -> dict:  # type: ignore[type-arg]
    return json.loads(DATASHEETS_FILE.read_text(encoding="utf-8"))


def battery_datasheet(  # type: ignore[type-arg]
    *, maker: str, chemistry: str, kwh: Decimal, made: datetime, read_at: datetime, code: str | None = None
) -> dict:
    """The attributes a pack is registered with: its maker's (invented) data sheet, shaped as the
    Battery Pass 1.2.0 aspects, with the maker's declared footprint; ``read_at`` is when its
    battery management system was read out. With its GB/T 34014 ``code``, it also gets its GS1
    keys for the passport's Digital Link: the model's GTIN and, as serial number (AI 21, at most
    20 characters), the code's traceability part, production date and serial (17 characters)."""
    sheets = _datasheets()
    maker_sheet, model, common = sheets["makers"][maker], sheets["chemistries"][chemistry], sheets["common"]
    gtins = maker_sheet["gtinByChemistry"]
    maker_sheet = {key: value for key, value in maker_sheet.items() if key != "gtinByChemistry"}
    keys = {"gtin": gtins[chemistry], "serialNumber": code[GBT_SERIAL_FROM:]} if code else {}
    energy = float(kwh)
    readout = read_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    power = common["power"]["ratedMaximumPowerKWPerKWh"] * energy
    technical = model["technical"]
    return {
        **keys,
        "makerFootprintKgCO2ePerKWh": model["makerFootprintKgCO2ePerKWh"],
        "batteryPass": {
            "GeneralProductInformation": {
                **maker_sheet,
                "batteryCategory": common["batteryCategory"],
                "manufacturingDate": made.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "puttingIntoService": (made + timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "warrentyPeriod": common["warrentyPeriod"],
            },
            "CarbonFootprintForBatteries": {"carbonFootprintStudy": common["carbonFootprintStudy"]},
            "Circularity": {
                "dismantlingAndRemovalInformation": [
                    {
                        "documentType": "DismantlingManual",
                        "mimeType": "application/pdf",
                        "documentURL": common["dismantlingManual"],
                    }
                ],
                "sparePartSources": [common["sparePartSupplier"]],
                "recycledContent": model["recycledContent"],
                "safetyMeasures": {
                    "safetyInstructions": common["safetyInstructions"],
                    "extinguishingAgent": common["extinguishingAgent"],
                },
                "endOfLifeInformation": common["endOfLife"],
                "renewableContent": common["renewableContent"],
            },
            "MaterialComposition": {
                "batteryMaterials": [
                    {
                        "batteryMaterialName": m["batteryMaterialName"],
                        "batteryMaterialIdentifier": m["batteryMaterialIdentifier"],
                        "batteryMaterialLocation": {"componentName": m["componentName"]},
                        "batteryMaterialMass": round(m["kgPerKWh"] * energy, 2),
                        "isCriticalRawMaterial": m["isCriticalRawMaterial"],
                    }
                    for m in model["materials"]
                ],
                "hazardousSubstances": [],
            },
            "PerformanceAndDurability": {
                "batteryTechicalProperties": {
                    "originalPowerCapability": [{"atSoC": 80, "powerCapabilityAt": power}],
                    "ratedMaximumPower": power,
                    "powerCapabilityRatio": common["power"]["ratedMaximumPowerKWPerKWh"],
                    "expectedNumberOfCycles": technical["expectedNumberOfCycles"],
                    "initialSelfDischarge": common["initialSelfDischarge"],
                    "roundtripEfficiency": technical["roundtripEfficiency"],
                    "ratedCapacity": round(common["power"]["ratedCapacityAhPerKWh"] * energy, 1),
                    "initialInternalResistance": [
                        {"ohmicResistance": common["ohmicResistance"], "batteryComponent": "pack"}
                    ],
                    "expectedLifetime": common["expectedLifetimeYears"],
                    "cRate": common["cRate"],
                    "nominalVoltage": technical["nominalVoltage"],
                    "minimumVoltage": technical["minimumVoltage"],
                    "maximumVoltage": technical["maximumVoltage"],
                    "capacityThresholdForExhaustion": common["capacityThresholdForExhaustion"],
                    "lifetimeReferenceTest": common["lifetimeReferenceTest"],
                    "cRateLifeCycleTest": common["cRateLifeCycleTest"],
                    "temperatureRangeIdleState": common["temperatureRangeIdleState"],
                },
                "batteryCondition": {
                    "energyThroughput": 0.0,
                    "capacityThroughput": {"capacityThroughputValue": 0.0, "lastUpdate": readout},
                    "numberOfFullCycles": {"numberOfFullCyclesValue": 0, "lastUpdate": readout},
                    "stateOfCertifiedEnergy": {"stateOfCertifiedEnergyValue": 100.0, "lastUpdate": readout},
                    "capacityFade": {"capacityFadeValue": 0.0, "lastUpdate": readout},
                    "remainingEnergy": {"remainingEnergyalue": energy, "lastUpdate": readout},
                    "remainingCapacity": {"remainingCapacityValue": 0.0, "lastUpdate": readout},
                    "negativeEvents": [],
                    "temperatureInformation": {
                        "timeExtremeHighTemp": 0.0,
                        "timeExtremeLowTemp": 0.0,
                        "timeExtremeHighTempCharging": 0.0,
                        "timeExtremeLowTempCharging": 0.0,
                        "lastUpdate": readout,
                    },
                    "remainingPowerCapability": [],
                    "powerFade": 0.0,
                    "roundTripEfficiencyFade": 0.0,
                    "evolutionOfSelfDischarge": {"evolutionOfSelfDischargeEntityValue": 0.0},
                    "currentSelfDischargingRate": {
                        "currentSelfDischargingRateEntity": common["initialSelfDischarge"],
                        "lastUpdate": readout,
                    },
                    "internalResistanceIncrease": [],
                    "roundTripEfficiencyat50PerCentCycleLife": technical["roundTripEfficiencyat50PerCentCycleLife"],
                    "remainingRoundTripEnergyEfficiency": {
                        "remainingRoundTripEnergyEfficiencyValue": technical["roundtripEfficiency"],
                        "lastUpdate": readout,
                    },
                    "stateOfCharge": {"stateOfChargeValue": 30.0, "lastUpdate": readout},
                },
            },
            "SupplyChainDueDiligence": {
                "supplyChainDueDiligenceReport": common["dueDiligenceReport"],
                "thirdPartyAussurances": common["thirdPartyAssurances"],
            },
            "Labeling": {
                "declarationOfConformity": common["declarationOfConformity"],
                "resultOfTestReport": common["resultOfTestReport"],
                "labels": common["labels"],
            },
        },
    }


def grams(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(GRAM)


def round_up(kg: Decimal, unit: Decimal) -> Decimal:
    return (kg / unit).to_integral_value(rounding=ROUND_UP) * unit


def mix(parts: Sequence[tuple[Decimal | float, Composition]]) -> Composition:
    total = sum(float(kg) for kg, _ in parts)
    if total <= 0:
        return {}
    elements = sorted({element for _, composition in parts for element in composition})
    return {e: round(sum(float(kg) * c.get(e, 0.0) for kg, c in parts) / total, 4) for e in elements}


@dataclass
class Stock:
    """A lot the planner may draw from, as the engine sees it (what remains, its assay)."""

    identifier: str
    kg: Decimal
    composition: Composition


@dataclass
class Pool:
    """Lots of one material held by one organisation, used first in, first out."""

    lots: list[Stock] = field(default_factory=list)

    @property
    def kg(self) -> Decimal:
        return sum((lot.kg for lot in self.lots), Decimal(0))

    def plan(self, kg: Decimal) -> list[tuple[Stock, Decimal]]:
        taken, left = [], kg
        for lot in self.lots:
            if left <= 0:
                break
            used = min(lot.kg, left)
            taken.append((lot, used))
            left -= used
        if left > 0:
            raise ValueError(f"the pool holds {self.kg} kg, {kg} kg wanted")
        return taken

    def take(self, kg: Decimal) -> list[ops.LotIn]:
        taken = self.plan(kg)
        for lot, used in taken:
            lot.kg -= used
        self.lots = [lot for lot in self.lots if lot.kg > 0]
        return [ops.LotIn(lot.identifier, used) for lot, used in taken]


@dataclass(frozen=True)
class Partners:
    dismantler: Organisation
    remelter: Organisation
    die_caster: Organisation
    battery_recycler: Organisation
    yard: Site
    hot_metal_plant: Site  # the remelter's plant near the die-caster (molten route)
    remelt_shop: Site  # the remelter's ingot shop (ingot route)
    casting_hall: Site
    pretreatment_plant: Site
    hydrometallurgy_plant: Site


@dataclass
class Wave:
    """One slice of the timeline: vehicles in, one melt, one casting run, scrap back."""

    index: int
    start: datetime
    length: timedelta

    def at(self, fraction: float) -> datetime:
        """The moment ``fraction`` of the way through the wave, to the minute."""
        return (self.start + fraction * self.length).replace(second=0, microsecond=0)

    def after(self, moment: datetime, fraction: float) -> datetime:
        return (moment + fraction * self.length).replace(second=0, microsecond=0)


class DemoLoop:
    def __init__(
        self, partners: Partners, *, vehicles: int, end: datetime, progress: Callable[[int], object] | None = None
    ) -> None:
        self.p = partners
        self.vehicles = vehicles
        self.end = end
        self.start = end - timedelta(days=DEMO_DAYS)
        self.progress = progress or (lambda n: None)
        self.rng = random.Random(DEMO_SEED)
        self.counters: Counter[str] = Counter()
        self.post_consumer = Pool()  # at the remelter
        self.internal = Pool()  # returned run-around scrap and rejects, at the remelter
        self.pre_consumer = Pool()
        self.primary = Pool()
        self.silicon = Pool()
        self.magnesium = Pool()
        self.primary_receipts = 0

    # --- helpers -------------------------------------------------------------------------

    def code(self, prefix: str) -> str:
        self.counters[prefix] += 1
        return f"{prefix}-{self.counters[prefix]:04d}"

    def record(self, operation: Callable[..., EventRecord], **arguments: object) -> EventRecord:
        record = operation(**arguments)
        self.progress(1)
        return record

    @staticmethod
    def composition_of(identifier: str) -> Composition:
        return dict(TraceableObject.objects.get(identifier=identifier).attributes.get("composition") or {})

    # --- the loop ------------------------------------------------------------------------

    def waves(self) -> list[tuple[Wave, range]]:
        count = min(self.vehicles, max(3, round(self.vehicles / 30)))
        length = (self.end - self.start) / count
        sizes = [self.vehicles // count + (1 if k < self.vehicles % count else 0) for k in range(count)]
        result, first = [], 0
        for k, size in enumerate(sizes):
            result.append((Wave(k, self.start + k * length, length), range(first, first + size)))
            first += size
        return result

    def run(self) -> None:
        for wave, numbers in self.waves():
            parts, packs = self.vehicles_in(wave, numbers)
            lots = self.sort_scrap(wave, parts)
            self.record(
                ops.custody_transfer,
                organisation=self.p.dismantler,
                site=self.p.yard,
                items=[],
                lots=[ops.LotIn(lot.identifier, lot.kg) for lot in lots],
                receiver=self.p.remelter,
                event_time=wave.at(0.52),
            )
            self.post_consumer.lots += lots
            if packs:
                self.recycle_batteries(wave, packs)
            self.melt_and_cast(wave, trays=TRAYS_PER_VEHICLE * len(numbers))

    def vehicles_in(
        self, wave: Wave, numbers: range
    ) -> tuple[list[list[tuple[str, str, Decimal]]], list[tuple[str, str, Decimal]]]:
        """Intake, dismantling and grading; LFP packs fit for reuse are repurposed at once."""
        groups: list[list[tuple[str, str, Decimal]]] = []
        recycle: list[tuple[str, str, Decimal]] = []
        for position, number in enumerate(numbers):
            model = MODELS[number % len(MODELS)]
            age = self.rng.randint(*SERVICE_LIFE_YEARS)
            model_year = self.end.year - age
            vin = demo_vin(model, number + 1, model_year)
            arrived = wave.at(0.40 * position / len(numbers))
            self.record(
                ops.vehicle_intake,
                organisation=self.p.dismantler,
                site=self.p.yard,
                vin=vin,
                kg=Decimal(model.kg + self.rng.randint(-40, 40)),
                make=model.make,
                model=model.model,
                model_year=model_year,
                event_time=arrived,
            )
            made = datetime(model_year - 1, self.rng.randint(1, 12), self.rng.randint(1, 28), tzinfo=self.end.tzinfo)
            code = gbt_battery_code(
                model.battery_maker, model.chemistry, model.battery_spec, f"T{number + 1}", made, number + 1
            )
            parts = [(f"{vin}-W{w}", "wheel", "A356.2", model.wheel_kg) for w in range(1, 5)]
            parts.append((f"{vin}-MH", "motor_housing", "AlSi10MnMg", model.housing_kg))
            if model.subframe_kg is not None:
                parts.append((f"{vin}-SF", "subframe", "AlSi7Mg0.3", model.subframe_kg))
            parts_out = [
                ops.PartOut(serial, kind, grams(kg + Decimal(self.rng.randint(-20, 20)) / 100), {"alloy": alloy})
                for serial, kind, alloy, kg in parts
            ]
            dismantled = wave.after(arrived, 0.05)
            self.record(
                ops.dismantling,
                organisation=self.p.dismantler,
                site=self.p.yard,
                vehicle=vehicle_uri(vin),
                batteries=[
                    ops.BatteryOut(
                        code,
                        model.chemistry,
                        model.kwh,
                        model.pack_kg,
                        battery_datasheet(
                            maker=model.battery_maker,
                            chemistry=model.chemistry,
                            kwh=model.kwh,
                            made=made,
                            read_at=dismantled,
                            code=code,
                        ),
                    )
                ],
                parts=parts_out,
                event_time=dismantled,
            )
            if position % SORTING_GROUP_VEHICLES == 0:
                groups.append([])
            groups[-1] += [
                (local_uri("part", self.p.dismantler.slug, part.serial), str(part.attributes["alloy"]), part.kg)
                for part in parts_out
            ]
            soh = round(self.rng.uniform(*STATE_OF_HEALTH_PCT[model.chemistry]), 1)
            second_life = model.chemistry == SECOND_LIFE_CHEMISTRY and soh >= SECOND_LIFE_MIN_SOH_PCT
            capacity = (model.kwh * Decimal(str(soh)) / 100).quantize(Decimal("0.1"))
            pack = battery_uri(code)
            self.record(
                ops.battery_grading,
                organisation=self.p.dismantler,
                site=self.p.yard,
                battery=pack,
                state_of_health_pct=Decimal(str(soh)),
                capacity_kwh=capacity,
                route="second_life" if second_life else "recycling",
                event_time=wave.after(dismantled, 0.01),
            )
            if second_life:
                repurposed = wave.at(0.50 + 0.001 * position)
                self.record(
                    ops.repurposing,
                    organisation=self.p.dismantler,
                    site=self.p.yard,
                    battery=pack,
                    new_battery=ops.BatteryOut(
                        gbt_battery_code("ACR", model.chemistry, model.battery_spec, "R2L", repurposed, number + 1),
                        model.chemistry,
                        capacity,
                        model.pack_kg,
                        {"batteryCategory": SECOND_LIFE_CATEGORY},
                    ),
                    application=SECOND_LIFE_APPLICATION,
                    event_time=repurposed,
                )
            else:
                recycle.append((pack, model.chemistry, model.pack_kg))
        return groups, recycle

    def sort_scrap(self, wave: Wave, groups: list[list[tuple[str, str, Decimal]]]) -> list[Stock]:
        """Each group of vehicles gives a lot of cast wheels and a lot of structural castings."""
        lots = []
        sorted_at = wave.at(0.47)
        for group in groups:
            for family, alloys in (("wheel", {"A356.2"}), ("structural", {"AlSi10MnMg", "AlSi7Mg0.3"})):
                parts = [(uri, alloy, kg) for uri, alloy, kg in group if alloy in alloys]
                if not parts:
                    continue
                parts_kg = sum((kg for _, _, kg in parts), Decimal(0))
                loss = grams(parts_kg * SORTING_LOSS[family])
                composition = mix([(kg, ALLOYS[alloy]) for _, alloy, kg in parts])
                code = self.code("PC-W" if family == "wheel" else "PC-S")
                self.record(
                    ops.scrap_sorting,
                    organisation=self.p.dismantler,
                    site=self.p.yard,
                    parts=[uri for uri, _, _ in parts],
                    lots=[],
                    outputs=[
                        ops.LotOut(
                            ObjectKind.SCRAP_LOT,
                            parts_kg - loss,
                            code=code,
                            attributes={
                                "scrapCategory": ScrapCategory.POST_CONSUMER,
                                "alloyFamily": "cast wheels" if family == "wheel" else "cast structural parts",
                                "composition": composition,
                            },
                        )
                    ],
                    losses={"sortingLoss": loss},
                    event_time=sorted_at,
                )
                lots.append(
                    Stock(
                        local_uri("lot", self.p.dismantler.slug, code),
                        parts_kg - loss,
                        composition,
                    )
                )
        return lots

    # --- batteries ------------------------------------------------------------------------

    def recycle_batteries(self, wave: Wave, packs: list[tuple[str, str, Decimal]]) -> None:
        self.record(
            ops.custody_transfer,
            organisation=self.p.dismantler,
            site=self.p.yard,
            items=[uri for uri, _, _ in packs],
            lots=[],
            receiver=self.p.battery_recycler,
            event_time=wave.at(0.52),
        )
        for chemistry in ("NMC", "LFP"):
            batch = [(uri, kg) for uri, chem, kg in packs if chem == chemistry]
            if not batch:
                continue
            total = sum((kg for _, kg in batch), Decimal(0))
            outputs = []
            black_mass = ""
            for fraction, share in PACK_SPLIT[chemistry].items():
                kg = grams(total * Decimal(share))
                if fraction == "black mass":
                    code = self.code("BM")
                    black_mass = local_uri("lot", self.p.battery_recycler.slug, code)
                    attributes: dict[str, object] = {"chemistry": chemistry, "composition": BLACK_MASS[chemistry]}
                    outputs.append(ops.LotOut(ObjectKind.BLACK_MASS, kg, code=code, attributes=attributes))
                else:
                    code = self.code(f"FR-{fraction[:2].upper()}")
                    attributes = {"fraction": fraction}
                    outputs.append(ops.LotOut(ObjectKind.BATTERY_FRACTION, kg, code=code, attributes=attributes))
            self.record(
                ops.battery_recycling,
                organisation=self.p.battery_recycler,
                site=self.p.pretreatment_plant,
                batteries=[uri for uri, _ in batch],
                outputs=outputs,
                losses={"processLoss": total - sum((o.kg for o in outputs), Decimal(0))},
                event_time=wave.at(0.56),
            )
            self.refine(wave, chemistry, black_mass, outputs[0].kg)

    def refine(self, wave: Wave, chemistry: str, black_mass: str, kg: Decimal) -> None:
        used = grams(kg * REFINED_SHARE[chemistry])
        assay = BLACK_MASS[chemistry]
        salts = []
        for metal, (compound, content) in SALTS.items():
            if metal not in assay:
                continue
            contained = used * Decimal(str(assay[metal])) / 100
            salt_kg = (contained * RECOVERY[metal] / content * 100).quantize(GRAM, rounding=ROUND_DOWN)
            salts.append(
                ops.LotOut(
                    ObjectKind.SALT,
                    salt_kg,
                    code=self.code(f"S-{metal.upper()}"),
                    attributes={"compound": compound, "metal": metal, "metalContentPct": float(content)},
                )
            )
        recovered = sum((s.kg * Decimal(str(s.attributes["metalContentPct"])) / 100 for s in salts), Decimal(0))
        self.record(
            ops.black_mass_refining,
            organisation=self.p.battery_recycler,
            site=self.p.hydrometallurgy_plant,
            inputs=[ops.LotIn(black_mass, used)],
            salts=salts,
            losses={"processLoss": grams(used - recovered)},
            event_time=wave.at(0.85),
        )

    # --- aluminium ------------------------------------------------------------------------

    def plan_charge(
        self, charge: float, fixed: list[tuple[Decimal, Composition]], post_consumer: Composition
    ) -> Callable[[float], tuple[float, float, float, float]]:
        """For p kg of post-consumer scrap: kg of primary, silicon, magnesium and the Fe % of the melt."""
        fixed_kg = sum(float(kg) for kg, _ in fixed)

        def content(element: str) -> float:
            return sum(float(kg) * c.get(element, 0.0) for kg, c in fixed) / 100

        def solve(p: float) -> tuple[float, float, float, float]:
            magnesium = (CHARGE_TARGET["Mg"] * charge / 100 - content("Mg") - p * post_consumer.get("Mg", 0) / 100) / (
                MAGNESIUM_INGOT["Mg"] / 100
            )
            magnesium = max(magnesium, 0.0)
            rest = charge - fixed_kg - p - magnesium
            silicon_needed = CHARGE_TARGET["Si"] * charge / 100 - content("Si") - p * post_consumer.get("Si", 0) / 100
            si_primary, si_metal = PRIMARY_INGOT["Si"] / 100, SILICON_METAL["Si"] / 100
            silicon = max((silicon_needed - si_primary * rest) / (si_metal - si_primary), 0.0)
            primary = rest - silicon
            iron = (
                content("Fe")
                + p * post_consumer.get("Fe", 0) / 100
                + primary * PRIMARY_INGOT["Fe"] / 100
                + silicon * SILICON_METAL["Fe"] / 100
            )
            return primary, silicon, magnesium, iron / charge * 100

        return solve

    def post_consumer_kg(self, solve: Callable[[float], tuple[float, float, float, float]]) -> float:
        """The most post-consumer scrap the charge takes while Fe stays at its target."""

        def fits(p: float) -> bool:
            primary, _, _, iron = solve(p)
            return primary >= 0 and iron <= CHARGE_TARGET["Fe"]

        high = float(self.post_consumer.kg)
        if fits(high):
            return high
        low = 0.0
        if not fits(low):
            return 0.0
        for _ in range(40):
            middle = (low + high) / 2
            low, high = (middle, high) if fits(middle) else (low, middle)
        return low

    def buy(
        self, pool: Pool, kg: Decimal, unit: Decimal, composition: Composition, lot: Callable[[Decimal], ops.LotOut]
    ) -> ops.LotOut | None:
        """Receive enough of a material to cover ``kg`` (in whole purchase units)."""
        if pool.kg >= kg:
            return None
        out = lot(round_up(kg - pool.kg, unit))
        pool.lots.append(Stock(out.uri(self.p.remelter), out.kg, composition))
        return out

    def melt_and_cast(self, wave: Wave, *, trays: int) -> None:
        if trays == 0:
            return
        ingot_route = wave.index % INGOT_ROUTE_EVERY == INGOT_ROUTE_EVERY - 1
        design, tray_kg = TRAY_DESIGNS[wave.index % len(TRAY_DESIGNS)]
        rejects = max(1, round(trays * REJECT_SHARE))
        castings_kg = (trays + rejects) * tray_kg
        run_around_kg = grams(castings_kg * RUN_AROUND_SHARE)
        melt_needed = (castings_kg + run_around_kg) / (1 - HOLDING_LOSS_SHARE)
        if ingot_route:
            melt_needed /= 1 - MELT_LOSS_REMELTING_INGOTS - DROSS_SHARE
        melt_loss_share = MELT_LOSS_INGOT_ROUTE if ingot_route else MELT_LOSS_MOLTEN_ROUTE
        charge = grams(melt_needed / (1 - melt_loss_share - DROSS_SHARE))

        # The charge: all returned internal scrap, pre-consumer scrap, as much post-consumer
        # scrap as the Fe target allows, topped up with primary ingot, silicon and magnesium.
        internal = [(lot.kg, lot.composition) for lot in self.internal.lots]
        pre_consumer_kg = grams(float(charge) * PRE_CONSUMER_SHARE)
        fixed = [*internal, (pre_consumer_kg, PRE_CONSUMER_SCRAP)]
        post_consumer: Composition = mix([(lot.kg, lot.composition) for lot in self.post_consumer.lots])
        p = Decimal(0)
        for _ in range(3):  # the FIFO lots taken decide the assay, which decides how much
            solve = self.plan_charge(float(charge), fixed, post_consumer)
            p = min(grams(self.post_consumer_kg(solve)), self.post_consumer.kg)
            post_consumer = mix([(kg, lot.composition) for lot, kg in self.post_consumer.plan(p)]) if p else {}
        primary, silicon, magnesium, _ = self.plan_charge(float(charge), fixed, post_consumer)(float(p))
        primary_kg, silicon_kg, magnesium_kg = grams(primary), grams(silicon), grams(magnesium)

        remelter, shop = self.p.remelter, self.p.remelt_shop if ingot_route else self.p.hot_metal_plant
        received = wave.at(0.50)
        supplier = PRIMARY_SUPPLIERS[self.primary_receipts % len(PRIMARY_SUPPLIERS)]
        buying = [
            self.buy(
                self.primary,
                primary_kg,
                PRIMARY_BUNDLE_KG,
                PRIMARY_INGOT,
                lambda kg: ops.LotOut(
                    ObjectKind.PRIMARY_INGOT,
                    kg,
                    code=self.code("P"),
                    attributes={**supplier, "composition": PRIMARY_INGOT},
                ),
            ),
            self.buy(
                self.pre_consumer,
                pre_consumer_kg,
                PRE_CONSUMER_BALE_KG,
                PRE_CONSUMER_SCRAP,
                lambda kg: ops.LotOut(
                    ObjectKind.SCRAP_LOT,
                    kg,
                    code=self.code("PRE"),
                    attributes={
                        "supplier": PRE_CONSUMER_SUPPLIER,
                        "scrapCategory": ScrapCategory.PRE_CONSUMER,
                        "alloyFamily": "cast structural parts",
                        "composition": PRE_CONSUMER_SCRAP,
                    },
                ),
            ),
            self.buy(
                self.silicon,
                silicon_kg,
                SILICON_BAG_KG,
                SILICON_METAL,
                lambda kg: ops.LotOut(
                    ObjectKind.ALLOYING,
                    kg,
                    code=self.code("SI"),
                    attributes={"supplier": ALLOYING_SUPPLIER, "composition": SILICON_METAL},
                ),
            ),
            self.buy(
                self.magnesium,
                magnesium_kg,
                MAGNESIUM_UNIT_KG,
                MAGNESIUM_INGOT,
                lambda kg: ops.LotOut(
                    ObjectKind.ALLOYING,
                    kg,
                    code=self.code("MG"),
                    attributes={"supplier": ALLOYING_SUPPLIER, "composition": MAGNESIUM_INGOT},
                ),
            ),
        ]
        if buying[0] is not None:
            self.primary_receipts += 1
        for lot in buying:
            if lot is not None:
                self.record(ops.material_receipt, organisation=remelter, site=shop, lots=[lot], event_time=received)

        inputs = [ops.LotIn(lot.identifier, lot.kg) for lot in self.internal.lots]
        self.internal.lots = []
        inputs += self.pre_consumer.take(pre_consumer_kg)
        if p:
            inputs += self.post_consumer.take(p)
        for pool, kg in ((self.primary, primary_kg), (self.silicon, silicon_kg), (self.magnesium, magnesium_kg)):
            if kg:
                inputs += pool.take(kg)
        charged = sum((i.kg for i in inputs), Decimal(0))
        melt_loss, dross = grams(charged * melt_loss_share), grams(charged * DROSS_SHARE)
        melt_kg = charged - melt_loss - dross
        melted = wave.at(0.60)
        melt_code = self.code("ING" if ingot_route else "M")
        melt = local_uri("lot", remelter.slug, melt_code)
        self.record(
            ops.remelting,
            organisation=remelter,
            site=shop,
            inputs=inputs,
            output=ops.LotOut(ObjectKind.INGOT_LOT if ingot_route else ObjectKind.MELT_BATCH, melt_kg, code=melt_code),
            melt_loss_kg=melt_loss,
            dross_kg=dross,
            natural_gas_m3=self.energy(charged, NATURAL_GAS_M3_PER_T),
            electricity_kwh=self.energy(charged, ELECTRICITY_KWH_PER_T),
            target_alloy=TARGET_ALLOY,
            event_time=melted,
        )
        if ingot_route:
            self.record(
                ops.custody_transfer,
                organisation=remelter,
                site=shop,
                items=[],
                lots=[ops.LotIn(melt, melt_kg)],
                receiver=self.p.die_caster,
                event_time=wave.at(0.62),
            )
            remelt_loss = grams(melt_kg * MELT_LOSS_REMELTING_INGOTS)
            remelt_dross = grams(melt_kg * DROSS_SHARE)
            remelt_code = self.code("DM")
            self.record(
                ops.remelting,
                organisation=self.p.die_caster,
                site=self.p.casting_hall,
                inputs=[ops.LotIn(melt, melt_kg)],
                output=ops.LotOut(ObjectKind.MELT_BATCH, melt_kg - remelt_loss - remelt_dross, code=remelt_code),
                melt_loss_kg=remelt_loss,
                dross_kg=remelt_dross,
                natural_gas_m3=self.energy(melt_kg, NATURAL_GAS_M3_PER_T),
                electricity_kwh=self.energy(melt_kg, ELECTRICITY_KWH_PER_T),
                target_alloy=TARGET_ALLOY,
                event_time=wave.at(0.66),
            )
            melt_kg -= remelt_loss + remelt_dross
            melt = local_uri("lot", self.p.die_caster.slug, remelt_code)
        else:
            self.record(
                ops.molten_transfer,
                organisation=remelter,
                site=shop,
                lot=ops.LotIn(melt, melt_kg),
                destination=self.p.casting_hall,
                temperature_c=Decimal(round(self.rng.uniform(*MOLTEN_TEMPERATURE_C))),
                distance_km=MOLTEN_DISTANCE_KM,
                event_time=wave.at(0.62),
            )
        self.cast(wave, melt, melt_kg, design, tray_kg, trays, rejects, run_around_kg)

    def energy(self, kg: Decimal, per_tonne: tuple[float, float]) -> Decimal:
        return (kg / 1000 * Decimal(str(self.rng.uniform(*per_tonne)))).quantize(Decimal("0.1"))

    def cast(
        self,
        wave: Wave,
        melt: str,
        melt_kg: Decimal,
        design: str,
        tray_kg: Decimal,
        trays: int,
        rejects: int,
        run_around_kg: Decimal,
    ) -> None:
        run = wave.index + 1
        castings = [
            ops.PartOut(
                f"{design}-{run:02d}-{t:04d}",
                "battery_tray",
                tray_kg,
                {"alloy": TRAY_ALLOY, "design": design, "oem": TRAY_CUSTOMER},
            )
            for t in range(1, trays + 1)
        ]
        rejects_kg = rejects * tray_kg
        casting_loss = melt_kg - trays * tray_kg - rejects_kg - run_around_kg
        if casting_loss < 0:
            raise ValueError(f"melt {melt} ({melt_kg} kg) is too small for its casting run")
        run_around_code, rejects_code = self.code("RA"), self.code("REJ")
        self.record(
            ops.die_casting,
            organisation=self.p.die_caster,
            site=self.p.casting_hall,
            melt=ops.LotIn(melt, melt_kg),
            castings=castings,
            scrap=[
                ops.LotOut(
                    ObjectKind.SCRAP_LOT, run_around_kg, code=run_around_code, attributes={"scrapSource": "runAround"}
                ),
                ops.LotOut(ObjectKind.SCRAP_LOT, rejects_kg, code=rejects_code, attributes={"scrapSource": "rejects"}),
            ],
            losses={"castingLoss": casting_loss},
            event_time=wave.at(0.70),
        )
        returned = [
            (local_uri("lot", self.p.die_caster.slug, run_around_code), run_around_kg),
            (local_uri("lot", self.p.die_caster.slug, rejects_code), rejects_kg),
        ]
        self.record(
            ops.custody_transfer,
            organisation=self.p.die_caster,
            site=self.p.casting_hall,
            items=[],
            lots=[ops.LotIn(uri, kg) for uri, kg in returned],
            receiver=self.p.remelter,
            event_time=wave.at(0.80),
        )
        self.internal.lots += [Stock(uri, kg, self.composition_of(uri)) for uri, kg in returned]


def estimated_events(vehicles: int) -> int:
    """About how many ledger events a loop of this many vehicles writes (for progress bars)."""
    waves = min(vehicles, max(3, round(vehicles / 30)))
    return 4 * vehicles + 2 * math.ceil(vehicles / SORTING_GROUP_VEHICLES) + 14 * waves


def build_loop(
    partners: Partners, *, vehicles: int, end: datetime, progress: Callable[[int], object] | None = None
) -> None:
    DemoLoop(partners, vehicles=vehicles, end=end, progress=progress).run()


# --- what the demo holds -------------------------------------------------------------------


def summary() -> list[str]:
    """Lines describing what is in the database: objects, operations, trays, melts, batteries."""
    kinds = dict(TraceableObject.objects.values_list("kind").annotate(n=Count("id")).order_by("kind"))
    operations = dict(EventRecord.objects.values_list("operation").annotate(n=Count("entry")).order_by("operation"))
    trays = TraceableObject.objects.filter(kind=ObjectKind.PART, attributes__partType="battery_tray")
    tray_kg = trays.aggregate(kg=Sum("initial_kg"))["kg"] or Decimal(0)
    removed = TraceableObject.objects.filter(kind=ObjectKind.BATTERY_PACK).exclude(
        attributes__has_key="previousIdentity"
    )
    lines = [
        "objects:    " + ", ".join(f"{kind} {n}" for kind, n in kinds.items()),
        "operations: " + ", ".join(f"{operation} {n}" for operation, n in operations.items()),
        f"trays:      {trays.count()} battery trays, {tray_kg:,.1f} kg",
        f"packs:      {removed.count()} removed from vehicles: "
        f"{removed.filter(status=ObjectStatus.REPURPOSED).count()} repurposed for {SECOND_LIFE_APPLICATION}, "
        f"{removed.filter(status=ObjectStatus.RECYCLED).count()} recycled",
    ]
    black_mass = TraceableObject.objects.filter(kind=ObjectKind.BLACK_MASS).aggregate(kg=Sum("initial_kg"))["kg"]
    salts = (
        TraceableObject.objects.filter(kind=ObjectKind.SALT)
        .values_list("attributes__compound")
        .annotate(kg=Sum("initial_kg"))
        .order_by("attributes__compound")
    )
    if black_mass:
        lines.append(
            f"recycling:  black mass {black_mass:,.1f} kg; salts "
            + ", ".join(f"{compound} {kg:,.1f} kg" for compound, kg in salts)
        )
    melts = EventRecord.objects.filter(operation=Operation.REMELTING, organisation__role=OrganisationRole.REMELTER)
    charge: dict[str, Decimal] = {}
    met = 0
    for record in melts.select_related("entry"):
        met += not record.warnings
        quantities = json.loads(record.entry.document).get("inputQuantityList", [])
        found = TraceableObject.objects.in_bulk([q["epcClass"] for q in quantities], field_name="identifier")
        for q in quantities:
            obj = found[q["epcClass"]]
            source = str(obj.attributes.get("scrapCategory") or obj.kind)
            charge[source] = charge.get(source, Decimal(0)) + Decimal(str(q["quantity"]))
    total = sum(charge.values(), Decimal(0))
    if total:
        shares = ", ".join(f"{name} {kg / total:.1%}" for name, kg in sorted(charge.items(), key=lambda i: -i[1]))
        post = charge.get(ScrapCategory.POST_CONSUMER, Decimal(0))
        pre = charge.get(ScrapCategory.PRE_CONSUMER, Decimal(0))
        internal = charge.get(ScrapCategory.INTERNAL, Decimal(0))
        lines += [
            f"melts:      {melts.count()} at the remelter, {met} meet {TARGET_ALLOY}; charge {total:,.0f} kg: {shares}",
            f"post-consumer scrap in the melts: {post / total:.1%}; recycled content (ISO 14021: post- and "
            f"pre-consumer, run-around scrap excluded, 004:176): {(post + pre) / (total - internal):.1%}",
        ]
    return lines
