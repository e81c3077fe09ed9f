"""How a page writes a figure the API also serves: one rule per kind of figure, applied to the
API's unrounded value, so a figure on a page is the API's at the precision shown. A sum (the
recycled share is pre- plus post-consumer) is taken before rounding, never of rounded parts.
Figures of a thousand and more group their thousands with commas (``1,850.000``), as the
README's examples write them.

Plain functions (no Django): the templates' filters (``traceability.templatetags.figures``) and
the server-drawn charts (``carbon.web.charts``, ``traceability.web.svg``) share them.
"""

from __future__ import annotations

import math
from decimal import Decimal

# Decimals of a percentage: enough to tell shares apart (0.3337 + 0.3337 is 66.7 %, not 67 %).
PERCENT_DECIMALS = 1
# Decimals of a footprint per declared unit (kg CO2e per kg, or per kWh): a gram in ten kilograms.
INTENSITY_DECIMALS = 4
# Decimals of a whole object's footprint in kg CO2e.
KG_CO2E_DECIMALS = 1
# Decimals of a mass in kg: the gram the ledger records masses to.
KG_DECIMALS = 3

Number = float | int | Decimal


def grouped(value: Number, decimals: int) -> str:
    """``value`` to ``decimals`` places, thousands grouped: ``1,850.000``; a negative zero is zero."""
    written = f"{float(value):,.{decimals}f}"
    return written[1:] if written.startswith("-") and not written.strip("-0.,") else written


def percentage(value: Number) -> str:
    """A value already in percent, without the sign: ``66.7`` (a chart's axis writes the unit)."""
    return grouped(value, PERCENT_DECIMALS)


def percent_of(value: Number) -> str:
    """A value already in percent (Battery Pass shares), as ``66.7 %``."""
    return f"{percentage(value)} %"


def percent(share: Number | None) -> str:
    """A share (a fraction of 1), as ``66.7 %``; none as a dash."""
    if share is None:
        return "\N{EN DASH}"
    return percent_of(float(share) * 100)


def intensity(value: Number) -> str:
    """kg CO2e per kg (or per kWh), without the unit: ``0.6123``."""
    return grouped(value, INTENSITY_DECIMALS)


def kg_co2e(value: Number) -> str:
    """A whole object's footprint in kg CO2e, without the unit: ``1,234.5``."""
    return grouped(value, KG_CO2E_DECIMALS)


def kg(value: Number) -> str:
    """A mass in kg, without the unit: ``1,850.000``."""
    return grouped(value, KG_DECIMALS)


def recorded(value: object) -> str:
    """A recorded number at the precision it was recorded (no rounding: it is what the operator
    typed), thousands grouped: ``1850.0`` is "1,850", ``83.5`` stays "83.5"."""
    text = str(value)
    try:
        parsed = float(text)
    except ValueError:
        return text
    if not math.isfinite(parsed):
        return text
    decimals = len(text.partition(".")[2].rstrip("0")) if "e" not in text.lower() else 6
    return grouped(parsed, decimals)
