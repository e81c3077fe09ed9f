"""The demo batteries' data sheets, as the Battery Pass 1.2.0 aspects a pack is registered with: the
passport app's to build; ``seed_demo`` hands this builder to the traceability demo loop."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

# Where the traceability part starts in a GB/T 34014 battery code (``traceability.demo.vehicles``).
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
