"""Identifiers of traceable objects: VINs, GB/T 34014 battery codes, and their URIs.

Objects without a GS1 key get a URI in Looptrace's namespace; objects a partner
already identifies with an EPC URN or a GS1 Digital Link URI keep it.
"""

import re

from traceability.errors import ApplicationError

# ISO 3779 / 49 CFR 565: letters I, O and Q never appear.
VIN_PATTERN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
VIN_TRANSLITERATION = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
# World manufacturer identifiers whose region mandates the check digit (position 9):
# North America (1-5) and China (L).
VIN_CHECK_DIGIT_REGIONS = frozenset("12345L")

# GB/T 34014-2017 traction battery code (24 characters): manufacturer (3), product type
# P/M/C (pack/module/cell), battery type, specification (2), traceability (7),
# production year, month, day, serial (7).
GBT_34014_PATTERN = re.compile(
    r"^[A-Z0-9]{3}[PMC][A-GZ][A-Z0-9]{2}[A-Z0-9]{7}[1-9A-GH-NPR-Y][1-9A-C][0-9A-GH-NPR-Y][0-9]{7}$"
)
GBT_PRODUCT_TYPES = {"P": "battery_pack", "M": "battery_module", "C": "battery_cell"}

EPC_URI_PATTERN = re.compile(r"^(urn:epc:(id|class):[a-z]+:[^\s]+|https://[^\s]+|urn:looptrace:[a-z-]+:[^\s]+)$")
LOCAL_CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def vin_check_digit(vin: str) -> str:
    total = sum(VIN_TRANSLITERATION[c] * w for c, w in zip(vin, VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def validate_vin(vin: str) -> str:
    vin = vin.strip().upper()
    if not VIN_PATTERN.match(vin):
        raise ApplicationError(
            "vin_invalid", f"{vin!r} is not a VIN: 17 characters, digits and letters except I, O and Q"
        )
    if vin[0] in VIN_CHECK_DIGIT_REGIONS and vin[8] != vin_check_digit(vin):
        raise ApplicationError(
            "vin_check_digit_invalid",
            f"{vin}: check digit (position 9) should be {vin_check_digit(vin)} for a VIN of this region",
        )
    return vin


def validate_battery_code(code: str) -> str:
    code = code.strip().upper()
    if not GBT_34014_PATTERN.match(code):
        raise ApplicationError(
            "battery_code_invalid", f"{code!r} is not a GB/T 34014-2017 code (24 characters in the coded layout)"
        )
    return code


GTIN_PATTERN = re.compile(r"^[0-9]{8}$|^[0-9]{12,14}$")
# GS1 General Specifications 2.1 (AI 21): up to 20 characters of GS1 AI encodable character set 82.
GS1_SERIAL_PATTERN = re.compile(r"^[!\"%-/0-9:-?A-Z_a-z]{1,20}$")


def gtin_check_digit(body: str) -> str:
    """GS1 mod-10 check digit of a GTIN without its last digit (weights 3, 1 from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def validate_gtin(gtin: str) -> str:
    """A GTIN-8, -12, -13 or -14 with a valid check digit, returned as 14 digits (as Digital Link uses it)."""
    if not GTIN_PATTERN.match(gtin):
        raise ApplicationError("gtin_invalid", f"{gtin!r} is not a GTIN: 8, 12, 13 or 14 digits")
    if gtin[-1] != gtin_check_digit(gtin[:-1]):
        raise ApplicationError(
            "gtin_check_digit_invalid", f"{gtin}: check digit should be {gtin_check_digit(gtin[:-1])}"
        )
    return gtin.zfill(14)


def validate_gs1_serial(serial: str) -> str:
    if not GS1_SERIAL_PATTERN.match(serial):
        raise ApplicationError("serial_invalid", f"{serial!r}: 1-20 characters of the GS1 character set 82")
    return serial


def validate_local_code(code: str, *, what: str) -> str:
    if not LOCAL_CODE_PATTERN.match(code):
        raise ApplicationError(f"{what}_code_invalid", f"{code!r}: 1-64 letters, digits, '.', '_' or '-'")
    return code


def vehicle_uri(vin: str) -> str:
    return f"urn:looptrace:vin:{vin}"


def battery_uri(code: str) -> str:
    """GB/T codes become Looptrace URIs; EPCs and EU identifiers (URIs) are kept as they are."""
    if EPC_URI_PATTERN.match(code):
        return code
    return f"urn:looptrace:battery:{validate_battery_code(code)}"


def local_uri(kind: str, organisation: str, code: str) -> str:
    """A lot or part numbered by the organisation that made it."""
    return f"urn:looptrace:{kind}:{organisation}.{validate_local_code(code, what=kind)}"


def validate_uri(uri: str) -> str:
    if not EPC_URI_PATTERN.match(uri):
        raise ApplicationError("identifier_invalid", f"{uri!r} is not an EPC URN, GS1 Digital Link or Looptrace URI")
    return uri
