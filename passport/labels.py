"""A Battery Pass 1.2.0 passport as rows people read: each attribute under its name from the Battery
Passport Data Attribute Longlist (``data/batterypass-1.2.0/labels.json``), with its unit, the
schema's explanation, dates and periods written out, and codes as words with the code beside them.

``manufacturerInformation/postalAddress/addressCountry`` reads "Manufacturer · Postal address ·
Country"; an item of a list is named by its own name-like attribute ("Recycled content · Cobalt ·
Pre-consumer recycled share"), or by its number when it has none. Figures the platform computes
(footprints) are written by ``traceability.figures``, as on every other page; figures a maker
declared are written at the precision declared.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pycountry

from traceability import figures
from traceability.web.facts import moment, words

DATA = Path(__file__).resolve().parent / "data" / "batterypass-1.2.0"
SEPARATOR = " \N{MIDDLE DOT} "
# Attributes the platform computes, written by the rule of their kind of figure.
COMPUTED = {
    "batteryCarbonFootprint": figures.intensity,
    "carbonFootprint": figures.intensity,
    "absoluteCarbonFootprint": figures.kg_co2e,
}
DATES = frozenset({"manufacturingDate", "puttingIntoService", "lastUpdate", "rPCLastUpdated"})
# xsd:gMonth, as the data model types the warranty period: a number of months.
MONTHS = re.compile(r"^--(0[1-9]|1[0-2])")


@dataclass(frozen=True)
class Row:
    label: str
    text: str
    code: str = ""  # a code as recorded, beside its words
    explanation: str = ""


@dataclass(frozen=True)
class Vocabulary:
    names: dict[str, str]
    units: dict[str, str]
    codes: dict[str, dict[str, str]]
    item_names: tuple[str, ...]
    explanations: dict[str, str]


@cache
def vocabulary() -> Vocabulary:
    data = json.loads((DATA / "labels.json").read_text(encoding="utf-8"))
    attributes: dict[str, dict[str, object]] = data["attributes"]
    explanations: dict[str, str] = {}
    for schema in sorted(DATA.glob("*-schema.json")):
        _explanations(json.loads(schema.read_text(encoding="utf-8")), explanations)
    return Vocabulary(
        names={key: str(each["name"]) for key, each in attributes.items()},
        units={key: str(each["unit"]) for key, each in attributes.items() if each.get("unit")},
        codes=data["codes"],
        item_names=tuple(data["itemNames"]),
        explanations=explanations,
    )


def _explanations(node: object, found: dict[str, str]) -> None:
    """The first paragraph of each property's description in a schema, by property name."""
    if isinstance(node, dict):
        for key, spec in (node.get("properties") or {}).items():
            description = spec.get("description") if isinstance(spec, dict) else None
            if isinstance(description, str) and key not in found:
                first = description.strip().split("\n\n")[0].split("\nDIN DKE")[0].strip()
                if len(first) > 3:
                    found[key] = " ".join(first.split())
        for inner in node.values():
            _explanations(inner, found)
    elif isinstance(node, list):
        for inner in node:
            _explanations(inner, found)


def name(key: str) -> str:
    return vocabulary().names.get(key) or words(key)


def value_text(key: str, value: object) -> tuple[str, str]:
    """A leaf's value in words, and the code it stands for (if any)."""
    known = vocabulary()
    if value is None:
        return "not stated", ""
    if isinstance(value, bool):
        return ("yes" if value else "no"), ""
    if isinstance(value, list):
        if not value:
            return "none", ""
        return ", ".join(value_text(key, item)[0] for item in value), ""
    if isinstance(value, str) and key in known.codes:
        return known.codes[key].get(value, words(value)), value
    unit = known.units.get(key, "")
    if isinstance(value, int | float):
        written = COMPUTED[key](value) if key in COMPUTED else figures.recorded(value)
        return (f"{written} {unit}" if unit else written), ""
    text = str(value)
    if key in DATES:
        shown = moment(text)
        return shown.removesuffix(" 00:00 UTC"), ""
    if key == "addressCountry" and (country := pycountry.countries.get(alpha_2=text.upper())) is not None:
        return country.name, text
    if key == "warrentyPeriod" and (months := MONTHS.match(text)):
        count = int(months.group(1))
        return f"{count} month{'s' if count != 1 else ''}", text
    return text, ""


def rows(value: object, *, key: str = "", labels: tuple[str, ...] = ()) -> list[Row]:
    """An aspect (or part of one) as rows, each labelled by the names of its path."""
    known = vocabulary()
    if isinstance(value, dict):
        if value and all(isinstance(k, str) and len(k) == 2 and k.islower() for k in value):
            # A text in several languages: one row, each language marked.
            text = "; ".join(f"{inner} ({language})" for language, inner in value.items())
            return [Row(SEPARATOR.join(labels), text, explanation=known.explanations.get(key, ""))]
        found: list[Row] = []
        for inner_key, inner in value.items():
            found.extend(rows(inner, key=inner_key, labels=(*labels, name(inner_key))))
        return found
    if isinstance(value, list) and any(isinstance(item, dict) for item in value):
        found = []
        for index, item in enumerate(value, start=1):
            if not isinstance(item, dict):
                continue
            named = next((k for k in known.item_names if isinstance(item.get(k), str)), None)
            item_label = value_text(named, item[named])[0] if named else f"#{index}"
            rest = {k: v for k, v in item.items() if k != named}
            found.extend(rows(rest, key=key, labels=(*labels, item_label)))
        return found
    text, code = value_text(key, value)
    return [Row(SEPARATOR.join(labels), text, code, known.explanations.get(key, ""))]
