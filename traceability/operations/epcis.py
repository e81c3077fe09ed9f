"""Reading and writing the EPCIS 2.0 fields Looptrace's operations use.

Masses travel as quantity elements in kilograms (UN/CEFACT ``KGM``); per-object
facts EPCIS has no field for (kind, label, alloy, composition...) travel in the
``lt:objects`` extension, keyed by identifier.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from traceability.choices import OPERATION_FIELD as OPERATION_FIELD
from traceability.errors import ApplicationError
from traceability.models import Organisation, Site
from traceability.moments import MomentError, parse_moment
from traceability.units import MAX_QUANTITY_MAGNITUDE

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
LOOPTRACE_NAMESPACE = "https://ns.looptrace.example/epcis/"
CONTEXT = [EPCIS_CONTEXT, {"lt": LOOPTRACE_NAMESPACE}]
KILOGRAM = "KGM"
SITE_PREFIX = "urn:looptrace:site:"
PARTY_PREFIX = "urn:looptrace:org:"
# The ``lt:energy`` extension: metered process energy of an event, electricity in kWh and
# natural gas in m3 (the carbon graph multiplies them by the site's factors).
ELECTRICITY_FIELD = "electricityKWh"
NATURAL_GAS_FIELD = "naturalGasM3"
ENERGY_FIELDS = (ELECTRICITY_FIELD, NATURAL_GAS_FIELD)


def event_time_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_event_time(document: dict[str, object]) -> datetime:
    try:
        return parse_moment(str(document.get("eventTime")))
    except MomentError as exc:
        raise ApplicationError("event_time_invalid", f"eventTime: {exc}") from exc


def site_uri(site: Site) -> str:
    if site.gln:
        return f"urn:epc:id:sgln:{site.gln}"
    return f"{SITE_PREFIX}{site.organisation.slug}.{site.pk}"


def party_uri(organisation: Organisation) -> str:
    return f"{PARTY_PREFIX}{organisation.slug}"


def parse_party(uri: object) -> str:
    text = str(uri)
    if not text.startswith(PARTY_PREFIX):
        raise ApplicationError("party_invalid", f"{text!r} is not a Looptrace organisation")
    return text.removeprefix(PARTY_PREFIX)


def parse_site(document: dict[str, object], field: str = "bizLocation") -> int | None:
    location = document.get(field)
    if not isinstance(location, dict):
        return None
    return site_id_of(str(location.get("id", "")))


def site_id_of(uri: str) -> int:
    if uri.startswith("urn:epc:id:sgln:"):
        site = Site.objects.filter(gln=uri.removeprefix("urn:epc:id:sgln:")).first()
        if site is None:
            raise ApplicationError("site_unknown", f"no site with GLN {uri}")
        return site.pk
    if uri.startswith(SITE_PREFIX):
        _, _, number = uri.removeprefix(SITE_PREFIX).rpartition(".")
        if number.isdigit():
            return int(number)
    raise ApplicationError("site_unknown", f"{uri!r} is not a Looptrace site")


def location(site: Site) -> dict[str, str]:
    return {"id": site_uri(site)}


def kg_number(kg: Decimal) -> float | int:
    """Masses in documents: grams precision, no trailing zeros (canonical JSON prints shortest)."""
    value = kg.quantize(Decimal("0.001"))
    return int(value) if value == value.to_integral_value() else float(value)


def quantity(identifier: str, kg: Decimal) -> dict[str, object]:
    return {"epcClass": identifier, "quantity": kg_number(kg), "uom": KILOGRAM}


def read_kg(value: object, *, what: str) -> Decimal:
    try:
        kg = Decimal(str(value))
    except ArithmeticError as exc:
        raise ApplicationError("quantity_invalid", f"{what}: {value!r} is not a number") from exc
    if not kg.is_finite() or kg <= 0:
        raise ApplicationError("mass_not_positive", f"{what}: a mass must be positive")
    return kg.quantize(Decimal("0.001"))


def read_quantities(document: dict[str, object], field: str) -> list[tuple[str, Decimal]]:
    items = document.get(field) or []
    if not isinstance(items, list):
        raise ApplicationError("document_malformed", f"{field} must be a list")
    result = []
    for item in items:
        if not isinstance(item, dict) or "epcClass" not in item:
            raise ApplicationError("document_malformed", f"{field}: each element needs epcClass and quantity")
        if item.get("uom", KILOGRAM) != KILOGRAM:
            raise ApplicationError("unit_incompatible", f"{field}: Looptrace mass lots are counted in KGM")
        result.append((str(item["epcClass"]), read_kg(item.get("quantity"), what=f"{field} {item['epcClass']}")))
    return result


def read_list(document: dict[str, object], field: str) -> list[str]:
    items = document.get(field) or []
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ApplicationError("document_malformed", f"{field} must be a list of identifiers")
    return list(items)


def read_objects(document: dict[str, object]) -> dict[str, dict[str, object]]:
    objects = document.get("lt:objects") or {}
    if not isinstance(objects, dict) or not all(isinstance(v, dict) for v in objects.values()):
        raise ApplicationError("document_malformed", "lt:objects must map identifiers to objects")
    return objects


def read_losses(document: dict[str, object]) -> dict[str, Decimal]:
    losses = document.get("lt:lossesKg") or {}
    if not isinstance(losses, dict):
        raise ApplicationError("document_malformed", "lt:lossesKg must map a loss kind to kilograms")
    result = {}
    for kind, value in losses.items():
        kg = Decimal(str(value))
        if kg < 0:
            raise ApplicationError("mass_not_positive", f"loss {kind}: cannot be negative")
        result[str(kind)] = kg.quantize(Decimal("0.001"))
    return result


def read_energy(document: dict[str, object]) -> dict[str, Decimal]:
    """The event's metered energy by ``ENERGY_FIELDS`` name (absent ones are zero): finite,
    non-negative numbers no larger than any quantity may be (``units.MAX_QUANTITY_MAGNITUDE``)."""
    energy = document.get("lt:energy") or {}
    if not isinstance(energy, dict) or not set(energy) <= set(ENERGY_FIELDS):
        raise ApplicationError("document_malformed", f"lt:energy must map {' or '.join(ENERGY_FIELDS)} to a number")
    result = {}
    for name in ENERGY_FIELDS:
        value = energy.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ApplicationError("quantity_invalid", f"lt:energy {name}: {value!r} is not a number")
        amount = Decimal(str(value))
        if not amount.is_finite() or amount < 0 or amount > MAX_QUANTITY_MAGNITUDE:
            raise ApplicationError("quantity_out_of_range", f"lt:energy {name}: between 0 and {MAX_QUANTITY_MAGNITUDE}")
        result[name] = amount
    return result
