"""Explicit units at the edges: every quantity arrives with its unit and is converted with pint."""

import re
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache

import pint

from traceability.errors import ApplicationError

KG_PLACES = Decimal("0.001")
QUANTITY_TEXT = re.compile(r"^\s*(?P<number>[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*(?P<unit>\S.*?)\s*$")


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    return pint.UnitRegistry()


def to_unit(quantity: object, unit: str, *, field: str) -> Decimal:
    """``{"value": 1.2, "unit": "t"}`` (or ``"1.2 t"``) expressed in ``unit``, as a Decimal."""
    ureg = registry()
    try:
        if isinstance(quantity, dict):
            value, unit_text = quantity.get("value"), quantity.get("unit")
            if not isinstance(unit_text, str) or not unit_text.strip() or isinstance(value, bool):
                raise ApplicationError("unit_missing", f"{field}: the unit is a text such as '{unit}'")
            if not isinstance(value, int | float | str):
                raise ApplicationError("quantity_invalid", f"{field}: the value is a number")
            parsed = ureg.Quantity(Decimal(str(value)), unit_text)
        elif isinstance(quantity, str) and (match := QUANTITY_TEXT.match(quantity)):
            # Number and unit apart: "720 degC" would otherwise multiply an offset unit.
            parsed = ureg.Quantity(Decimal(match["number"]), match["unit"])
        else:
            raise ApplicationError(
                "unit_missing", f"{field}: give a value with its unit, e.g. {{'value': 12.5, 'unit': '{unit}'}}"
            )
        value = parsed.to(unit).magnitude
    except ApplicationError:
        raise
    except pint.errors.DimensionalityError as exc:
        raise ApplicationError("unit_incompatible", f"{field}: {exc}") from exc
    except Exception as exc:  # the unit parser is third-party: any failure is malformed input
        raise ApplicationError("quantity_invalid", f"{field}: not a quantity with a unit ({exc})") from exc
    return Decimal(str(value))


def to_kg(quantity: object, *, field: str) -> Decimal:
    kg = to_unit(quantity, "kg", field=field).quantize(KG_PLACES, rounding=ROUND_HALF_EVEN)
    if kg <= 0:
        raise ApplicationError("mass_not_positive", f"{field}: a mass must be positive")
    return kg
