"""Explicit units at the edges: every quantity arrives with its unit and is converted with pint."""

import re
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache

import pint

from traceability.errors import ApplicationError

KG_PLACES = Decimal("0.001")
# The number is read whole (an atomic group): "1.6" is a number without a unit, not 1 of ".6".
QUANTITY_TEXT = re.compile(r"^\s*(?P<number>(?>[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?))\s*(?P<unit>\S.*?)\s*$")
# A unit is names joined by * or /, each with an optional exponent of at most two digits ("m**3",
# "kWh", "degC"). The unit parser evaluates arithmetic in its text ("9**9**9 kg" would compute a
# number of 370 million digits before failing), so nothing else reaches it.
UNIT_NAME = r"(?:[^\W\d]|°)+(?:\s*(?:\*\*|\^)\s*-?\d{1,2})?"
UNIT_TEXT = re.compile(rf"^\s*{UNIT_NAME}(?:\s*[*/]\s*{UNIT_NAME})*\s*$")
MAX_UNIT_TEXT = 40
# The largest mass one lot, item or transfer may declare: 100,000 t. A Panamax bulk carrier, the
# largest single consignment of scrap, holds about 65,000 t, and a large remelter casts about this
# much in a year. It also keeps sums of many inputs far inside the database's mass columns
# (16 digits, 3 after the point: below 10**13 kg).
MAX_PLAUSIBLE_MASS_KG = Decimal(100_000_000)
# Any quantity in its target unit (kWh, m**3, degC, km): beyond 2**53 the carbon engine's floats no
# longer hold whole numbers exactly, and no single operation comes near it.
MAX_QUANTITY_MAGNITUDE = Decimal(2**53)
# Decimal exponents a written number may have ("1e99999999999" is finite, but arithmetic on it
# overflows Decimal's context): far beyond any quantity, and beyond what any conversion needs.
MAX_DECIMAL_EXPONENT = 100


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
            parsed = ureg.Quantity(_finite(Decimal(str(value)), field=field), _unit_text(unit_text, field=field))
        elif isinstance(quantity, str) and (match := QUANTITY_TEXT.match(quantity)):
            # Number and unit apart: "720 degC" would otherwise multiply an offset unit.
            number = _finite(Decimal(match["number"]), field=field)
            parsed = ureg.Quantity(number, _unit_text(match["unit"], field=field))
        else:
            raise ApplicationError(
                "unit_missing", f"{field}: give a value with its unit, e.g. {{'value': 12.5, 'unit': '{unit}'}}"
            )
        value = parsed.to(unit).magnitude
    except ApplicationError:
        raise
    except pint.errors.DimensionalityError as exc:
        raise ApplicationError("unit_incompatible", f"{field}: {exc}") from exc
    except pint.errors.UndefinedUnitError as exc:
        raise ApplicationError(
            "unit_invalid", f"{field}: {', '.join(map(repr, exc.unit_names))} is not a unit such as 'kg' or 'm**3'"
        ) from exc
    except Exception as exc:  # the unit parser is third-party: any failure is malformed input
        raise ApplicationError("quantity_invalid", f"{field}: not a quantity with a unit ({exc})") from exc
    converted = _finite(Decimal(str(value)), field=field)
    if abs(converted) > MAX_QUANTITY_MAGNITUDE:
        raise ApplicationError("quantity_out_of_range", f"{field}: at most {MAX_QUANTITY_MAGNITUDE} {unit}")
    return converted


def to_kg(quantity: object, *, field: str) -> Decimal:
    kg = to_unit(quantity, "kg", field=field)
    if kg > MAX_PLAUSIBLE_MASS_KG:
        raise ApplicationError("mass_out_of_range", f"{field}: a mass is at most {MAX_PLAUSIBLE_MASS_KG} kg")
    kg = kg.quantize(KG_PLACES, rounding=ROUND_HALF_EVEN)
    if kg <= 0:
        raise ApplicationError("mass_not_positive", f"{field}: a mass must be positive")
    return kg


def _finite(number: Decimal, *, field: str) -> Decimal:
    if not number.is_finite():
        raise ApplicationError("quantity_invalid", f"{field}: the value is a finite number")
    if number and abs(number.adjusted()) > MAX_DECIMAL_EXPONENT:
        raise ApplicationError("quantity_out_of_range", f"{field}: the value is out of range")
    return number


def _unit_text(text: str, *, field: str) -> str:
    if len(text) > MAX_UNIT_TEXT or not UNIT_TEXT.match(text):
        shown = text[:MAX_UNIT_TEXT]
        raise ApplicationError("unit_invalid", f"{field}: {shown!r} is not a unit such as 'kg' or 'm**3'")
    return text
