"""What was recorded about an object (its ``attributes``), as the lot page shows it back: each fact
under a name people read, with its unit, and each code as a sentence with the code beside it.

A fact this table does not name is still shown, its key split into words: the page never hides
what an operator recorded. The battery's data sheet (``batteryPass``) is the passport's, shown on
the passport page; composition has its own row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from traceability import figures
from traceability.choices import ScrapCategory
from traceability.operations.rules import CLAIMED_ATTRIBUTE

# key: (name, unit); the order here is the order on the page.
NAMES: dict[str, tuple[str, str]] = {
    "make": ("Make", ""),
    "model": ("Model", ""),
    "modelYear": ("Model year", ""),
    "chemistry": ("Chemistry", ""),
    "ratedEnergyKWh": ("Rated energy", "kWh"),
    "usableEnergyKWh": ("Usable energy", "kWh"),
    "stateOfHealthPct": ("State of health", "%"),
    "capacityKWh": ("Measured capacity", "kWh"),
    "route": ("Route", ""),
    "gradedAt": ("Graded", ""),
    "gtin": ("GTIN", ""),
    "serialNumber": ("Serial number", ""),
    "partType": ("Part type", ""),
    "alloy": ("Alloy", ""),
    "alloyFamily": ("Alloy family", ""),
    "scrapCategory": ("Scrap category", ""),
    "supplier": ("Supplier", ""),
    "powerSource": ("Smelter's power source", ""),
    "metal": ("Metal", ""),
    "metalContentPct": ("Metal content", "%"),
    "recoveryPct": ("Recovery", "%"),
    "deliveredTemperatureC": ("Delivered at", "°C"),
    "transportDistanceKm": ("Transport distance", "km"),
    CLAIMED_ATTRIBUTE: ("Claimed as recycled content", "kg"),
    "makerFootprintKgCO2ePerKWh": ("Maker's footprint by lifecycle stage", "kg CO2e/kWh"),
}
# Codes an operator picks, as sentences.
CODES: dict[str, dict[str, str]] = {
    "route": {
        "second_life": "Second life: to be repurposed or reused",
        "recycling": "Recycling: to be taken apart for its materials",
    },
    "scrapCategory": dict(ScrapCategory.choices),
}
SHOWN_ELSEWHERE = frozenset({"batteryPass", "composition"})


@dataclass(frozen=True)
class Fact:
    name: str
    text: str
    code: str = ""  # the recorded code, beside its sentence


def words(key: str) -> str:
    """A camelCase or snake_case key in words: ``meltLoss`` is "Melt loss"."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key).replace("_", " ")
    return spaced[:1].upper() + spaced[1:].lower()


def moment(value: str) -> str:
    """An ISO 8601 date-time as ``2026-10-02 14:00 UTC`` (its offset kept when not UTC); a date as is."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if "T" not in value:
        return parsed.date().isoformat()
    offset = parsed.utcoffset()
    zone = "UTC" if offset is not None and not offset else parsed.strftime("UTC%z") if offset is not None else ""
    return f"{parsed:%Y-%m-%d %H:%M} {zone}".strip()


def _text(key: str, value: object, unit: str) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        inner = ", ".join(f"{words(str(k))} {_text(str(k), v, '')}" for k, v in value.items())
        return f"{inner} ({unit})" if unit else inner
    if isinstance(value, list):
        return ", ".join(_text(key, item, "") for item in value)
    if key.endswith("At") and isinstance(value, str):
        return moment(value)
    if key == "modelYear" or not isinstance(value, int | float | str) or (isinstance(value, str) and not unit):
        return str(value)  # a code, a name, a year: as typed (a GTIN's leading zero is part of it)
    shown = figures.recorded(value)
    return f"{shown} {unit}" if unit else shown


def object_facts(attributes: dict[str, object] | None) -> list[Fact]:
    """The facts recorded about an object, named, in ``NAMES`` order, then any other in key order."""
    attributes = attributes or {}
    keys = [key for key in NAMES if key in attributes]
    keys += sorted(key for key in attributes if key not in NAMES and key not in SHOWN_ELSEWHERE)
    facts = []
    for key in keys:
        value = attributes[key]
        name, unit = NAMES.get(key, (words(key), ""))
        if key in CODES and isinstance(value, str):
            facts.append(Fact(name, CODES[key].get(value, words(value)), value))
        else:
            facts.append(Fact(name, _text(key, value, unit)))
    return facts
