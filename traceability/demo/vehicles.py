"""The vehicles of the demo: models, and the VINs and GB/T 34014 battery codes they carry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from traceability.identifiers import validate_battery_code, validate_vin, vin_check_digit


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
