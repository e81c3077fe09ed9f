"""Assemble a battery passport (Battery Pass data model 1.2.0) from the ledger's projections.

Three sources, later ones winning:
1. the data sheet the battery was registered with (``batteryPass`` in its ledger description,
   by aspect: what only its maker knows, such as materials, voltages, documents and labels),
   inherited from the battery it was repurposed from when it brings none of its own;
2. what the ledger recorded about it: identifier, mass, chemistry, rated energy, the
   state of health and energy its last grading measured;
3. the carbon app's Art. 7 footprint per kWh of lifetime energy, by lifecycle stage.

The result is validated aspect by aspect against the schemas; a document that fails is
an error naming each failing path, never a passport.
"""

from __future__ import annotations

from carbon.engine.model import DISTRIBUTION, END_OF_LIFE, MAIN_PRODUCTION, RAW_MATERIAL
from carbon.services import battery_footprint
from passport.models import Passport
from passport.schemas import ASPECTS, passport_validate
from traceability.errors import ApplicationError
from traceability.models import TraceableObject

DATASHEET = "batteryPass"
# The footprint method of a battery passport: Art. 7 declarations follow the cut-off approach.
PASSPORT_FOOTPRINT_METHOD = "cut_off"
# Carbon app lifecycle stages -> Battery Pass 1.2.0 LifecycleStage values.
LIFECYCLE_STAGES = {
    RAW_MATERIAL: "RawMaterialExtraction",
    MAIN_PRODUCTION: "MainProduction",
    DISTRIBUTION: "Distribution",
    END_OF_LIFE: "Recycling",
}
FOOTPRINT_ASPECT = "CarbonFootprintForBatteries"
NO_FOOTPRINT = "no footprint: neither the maker's nor the ledger's"
NO_PERFORMANCE_CLASS = "none: no class bounds adopted yet (Art. 7(2))"
CHEMISTRY_NAMES = {"LFP": "Lithium iron phosphate", "NMC": "Lithium nickel manganese cobalt oxide"}
# Repurposing chains are short; the bound keeps a corrupt cycle from looping.
MAX_LINEAGE = 20


def lineage(battery: TraceableObject) -> list[TraceableObject]:
    """The battery, then the battery it was repurposed from, back to the original."""
    chain = [battery]
    while len(chain) < MAX_LINEAGE:
        previous = (chain[-1].attributes or {}).get("previousIdentity")
        found = TraceableObject.objects.filter(identifier=previous).first() if previous else None
        if found is None:
            break
        chain.append(found)
    return chain


def merged(base: dict[str, object], override: dict[str, object]) -> dict[str, object]:
    """``override`` on top of ``base``, objects merged key by key, anything else replaced."""
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)  # type: ignore[arg-type]
        else:
            result[key] = value
    return result


def datasheet(chain: list[TraceableObject]) -> dict[str, dict[str, object]]:
    sheet: dict[str, dict[str, object]] = {}
    for battery in reversed(chain):
        own = (battery.attributes or {}).get(DATASHEET)
        if isinstance(own, dict):
            sheet = merged(sheet, own)  # type: ignore[assignment]
    return sheet


def carbon_footprint_aspect(origin: TraceableObject) -> dict[str, object] | None:
    """The original battery's Art. 7 footprint (a repurposed battery keeps its maker's declaration);
    ``None`` when there is none: neither the maker's nor any burden the ledger recorded."""
    footprint = battery_footprint(battery=origin, method=PASSPORT_FOOTPRINT_METHOD)
    total = float(footprint["totalPerKWh"])
    if not footprint["makerDataIncluded"] and total == 0:
        return None
    by_stage = footprint["perKWh"]
    return {
        "batteryCarbonFootprint": total,
        "carbonFootprintPerLifecycleStage": [
            {"lifecycleStage": name, "carbonFootprint": float(by_stage.get(stage, 0.0))}
            for stage, name in LIFECYCLE_STAGES.items()
        ],
        "absoluteCarbonFootprint": total * float(footprint["lifetimeEnergyKWh"]),
        "carbonFootprintPerformanceClass": footprint["performanceClass"] or NO_PERFORMANCE_CLASS,
    }


def ledger_facts(passport: Passport, battery: TraceableObject) -> dict[str, dict[str, object]]:
    attributes = battery.attributes or {}
    facts: dict[str, dict[str, object]] = {
        "GeneralProductInformation": {
            "productIdentifier": battery.identifier,
            "batteryPassportIdentifier": passport.urn,
            "batteryStatus": passport.status,
            "batteryMass": float(battery.initial_kg),
        },
        "PerformanceAndDurability": {"batteryTechicalProperties": {}, "batteryCondition": {}},
        "MaterialComposition": {},
    }
    general = facts["GeneralProductInformation"]
    if attributes.get("batteryCategory"):
        general["batteryCategory"] = attributes["batteryCategory"]
    chemistry = attributes.get("chemistry")
    if chemistry:
        facts["MaterialComposition"]["batteryChemistry"] = {"shortName": chemistry}
        if chemistry in CHEMISTRY_NAMES:
            facts["MaterialComposition"]["batteryChemistry"]["clearName"] = CHEMISTRY_NAMES[chemistry]  # type: ignore[index]
    technical = facts["PerformanceAndDurability"]["batteryTechicalProperties"]
    if attributes.get("ratedEnergyKWh") is not None:
        technical["ratedEnergy"] = float(attributes["ratedEnergyKWh"])  # type: ignore[index]
    condition = facts["PerformanceAndDurability"]["batteryCondition"]
    graded_at = attributes.get("gradedAt")
    if graded_at and attributes.get("stateOfHealthPct") is not None:
        condition["stateOfCertifiedEnergy"] = {  # type: ignore[index]
            "stateOfCertifiedEnergyValue": float(attributes["stateOfHealthPct"]),
            "lastUpdate": graded_at,
        }
    if graded_at and attributes.get("capacityKWh") is not None:
        condition["remainingEnergy"] = {  # type: ignore[index]
            "remainingEnergyalue": float(attributes["capacityKWh"]),
            "lastUpdate": graded_at,
        }
    return facts


def battery_passport_document(*, passport: Passport) -> dict[str, dict[str, object]]:
    """The full passport (every aspect, the authorities' view), validated; ``passport_invalid`` if not."""
    battery = passport.battery
    chain = lineage(battery)
    sheet = datasheet(chain)
    document = merged(sheet, ledger_facts(passport, battery))
    known = []
    try:
        footprint = carbon_footprint_aspect(chain[-1])
    except ApplicationError as exc:
        footprint, known = None, [{"aspect": FOOTPRINT_ASPECT, "path": "", "message": f"{exc.code}: {exc.message}"}]
    if footprint is None:
        known = known or [{"aspect": FOOTPRINT_ASPECT, "path": "", "message": NO_FOOTPRINT}]
    document[FOOTPRINT_ASPECT] = merged(sheet.get(FOOTPRINT_ASPECT, {}), footprint or {})
    document = {aspect: document.get(aspect, {}) for aspect in ASPECTS}
    passport_validate(document, known=known)
    return document  # type: ignore[return-value]
