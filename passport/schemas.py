"""The Battery Pass data model 1.2.0 schemas this project carries (``data/batterypass-1.2.0``)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft4Validator

from traceability.errors import ApplicationError

SCHEMA_DIR = Path(__file__).resolve().parent / "data" / "batterypass-1.2.0"
DATA_MODEL_VERSION = "1.2.0"
ASPECTS = (
    "GeneralProductInformation",
    "CarbonFootprintForBatteries",
    "Circularity",
    "MaterialComposition",
    "PerformanceAndDurability",
    "SupplyChainDueDiligence",
    "Labeling",
)
# Errors reported per aspect of an invalid passport: enough to fix it, not a flood.
MAX_ERRORS_PER_ASPECT = 25


@lru_cache(maxsize=len(ASPECTS))
def validator(aspect: str) -> Draft4Validator:
    schema = json.loads((SCHEMA_DIR / f"{aspect}-schema.json").read_text(encoding="utf-8"))
    return Draft4Validator(schema)


def passport_errors(document: dict[str, object]) -> list[dict[str, str]]:
    """Every way the document misses the schemas: ``{"aspect", "path", "message"}``."""
    errors = []
    for aspect in ASPECTS:
        if aspect not in document:
            errors.append({"aspect": aspect, "path": "", "message": "the aspect is missing"})
            continue
        found = sorted(validator(aspect).iter_errors(document[aspect]), key=lambda e: list(map(str, e.absolute_path)))
        for error in found[:MAX_ERRORS_PER_ASPECT]:
            path = "/".join(str(part) for part in error.absolute_path)
            errors.append({"aspect": aspect, "path": path, "message": error.message[:300]})
    return errors


def passport_validate(document: dict[str, object], *, known: list[dict[str, str]] = ()) -> None:  # type: ignore[assignment]
    """Raise ``passport_invalid`` naming each failing aspect and path; a wrong passport is never issued.

    ``known`` are problems found while assembling (a footprint that cannot be computed).
    """
    errors = [*known, *passport_errors(document)]
    if errors:
        first = errors[0]
        where = f"{first['aspect']}/{first['path']}".rstrip("/")
        raise ApplicationError(
            "passport_invalid",
            f"the passport does not validate against Battery Pass {DATA_MODEL_VERSION}: {where}: {first['message']}"
            + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
            status=422,
            extra={"fields": errors},
        )
