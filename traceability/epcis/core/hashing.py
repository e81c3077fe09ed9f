"""The CBV 2.0 EPCIS event hash: ``ni:///sha-256;<hex>?ver=CBV2.0``.

The pre-hash string concatenates, without separators, ``name=value`` pieces of the
event in the canonical property order (eventType, eventTime, eventTimeZoneOffset,
epcList, parentID, inputEPCList, childEPCs, quantityList, childQuantityList,
inputQuantityList, outputEPCList, outputQuantityList, action, transformationID,
bizStep, disposition, persistentDisposition, readPoint, bizLocation,
bizTransactionList, sourceList, destinationList, sensorElementList), then the ILMD,
then user extensions found inside standard fields (prefixed by the path of field
names), then the event's own user extensions. Values are normalised first: times to
UTC with milliseconds (rounded half up), numbers without trailing zeros, CBV bare
words and URNs to Web URIs, CURIEs expanded, EPC URIs and GS1 Digital Link URIs to the
constrained canonical Digital Link form; repeated pieces are sorted by code point;
extension names are written ``{namespace}localName``. ``eventID``, ``recordTime``,
``errorDeclaration`` and ``certificationInfo`` do not take part.

Written from the rules published with the CBV 2.0 standard; the expected hashes of
the reference implementation (RalphTro/epcis-event-hash-generator) are the test vectors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from traceability.epcis.core.identifiers import canonical_digital_link
from traceability.epcis.core.vocabulary import cbv_web_uri, hash_terms, standard_prefixes
from traceability.moments import MomentError, parse_moment

HASH_VERSION = "CBV2.0"
HASH_PREFIX = "ni:///sha-256;"
HASH_SUFFIX = f"?ver={HASH_VERSION}"


class EventHashError(Exception):
    """An event the hash cannot be computed for (no type, a time that is no time...)."""


# Fields that never take part in the hash.
IGNORED = frozenset({"eventID", "recordTime", "errorDeclaration", "certificationInfo", "type", "@context"})
# JSON-LD annotations that carry no event content.
ANNOTATIONS = frozenset({"rdfs:comment", "comment"})

SENSOR_METADATA_ORDER = (
    "time",
    "startTime",
    "endTime",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "bizRules",
)
SENSOR_REPORT_ORDER = (
    "type",
    "exception",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "time",
    "microorganism",
    "chemicalSubstance",
    "value",
    "component",
    "stringValue",
    "booleanValue",
    "hexBinaryValue",
    "uriValue",
    "minValue",
    "maxValue",
    "meanValue",
    "sDev",
    "percRank",
    "percValue",
    "uom",
    "coordinateReferenceSystem",
)
# Which vocabulary expands a bare word in which field of which structure.
SENSOR_REPORT_VOCABULARY = {"type": "measurementType", "exception": "sensorAlertType", "component": "component"}
EPC_LISTS = (
    ("epcList", "parentID", "inputEPCList", "childEPCs"),
    ("outputEPCList",),
)
QUANTITY_LISTS_BEFORE_OUTPUT = ("quantityList", "childQuantityList", "inputQuantityList")
PARTY_LISTS = (("bizTransactionList", "bizTransaction"), ("sourceList", "source"), ("destinationList", "destination"))
PARTY_VOCABULARY = {"bizTransaction": "bizTransactionType", "source": "sourceDestType", "destination": "sourceDestType"}
# Fields standard at event level (anything else is a user extension).
STANDARD_FIELDS = frozenset(
    {
        *IGNORED,
        "eventTime",
        "eventTimeZoneOffset",
        "epcList",
        "parentID",
        "inputEPCList",
        "childEPCs",
        "quantityList",
        "childQuantityList",
        "inputQuantityList",
        "outputEPCList",
        "outputQuantityList",
        "action",
        "transformationID",
        "bizStep",
        "disposition",
        "persistentDisposition",
        "readPoint",
        "bizLocation",
        "bizTransactionList",
        "sourceList",
        "destinationList",
        "sensorElementList",
        "ilmd",
    }
)


# --- contexts and names ----------------------------------------------------------------


def namespaces(*contexts: object) -> dict[str, str]:
    """Prefix -> namespace from JSON-LD ``@context`` values (later contexts win), over the EPCIS defaults."""
    found = dict(standard_prefixes())
    for context in contexts:
        items = context if isinstance(context, list) else [context]
        for item in items:
            if isinstance(item, dict):
                found.update({k: v for k, v in item.items() if isinstance(v, str) and not k.startswith("@")})
    return found


def _name(key: str, prefixes: Mapping[str, str]) -> str:
    """``prefix:local`` as ``{namespace}local``; URN namespaces lose their trailing colon, as in XML."""
    prefix, sep, local = key.partition(":")
    if sep and prefix in prefixes and not local.startswith("//"):
        namespace = prefixes[prefix]
        if namespace.endswith(":"):
            namespace = namespace[:-1]
        return "{" + namespace + "}" + local
    return key


# --- values ----------------------------------------------------------------------------


def time_value(value: object) -> str:
    """UTC, exactly three decimals (rounded half up), ``Z``."""
    try:
        moment = parse_moment(str(value))
    except MomentError as exc:
        raise EventHashError(str(exc)) from exc
    millis = int((Decimal(moment.microsecond) / 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    try:
        moment = moment.replace(microsecond=0) + timedelta(milliseconds=millis)
    except OverflowError as exc:
        raise EventHashError(f"{value!r} rounds past the year 9999") from exc
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _number(text: str) -> str | None:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    if number == number.to_integral_value():
        return str(number.to_integral_value())
    return format(number.normalize(), "f")


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value).strip()


def value_text(value: object, prefixes: Mapping[str, str]) -> str:
    """A value in canonical form: CBV URN -> Web URI, number without trailing zeros, GS1 key -> Digital Link."""
    text, final = _converted(_text(value))
    if final:
        return text
    prefix, sep, local = text.partition(":")
    if sep and prefix in prefixes and not local.startswith("//"):
        return prefixes[prefix] + local
    return text


@lru_cache(maxsize=1 << 16)
def _converted(text: str) -> tuple[str, bool]:
    """``value_text`` of a string before namespace prefixes, and whether it is final. Events of one
    organisation repeat their locations, steps and vocabulary: each is converted once."""
    text = cbv_web_uri(text)
    number = _number(text)
    if number is not None:
        return number, True
    converted = canonical_digital_link(text)
    if converted is not None:
        return converted, True
    return text, False


def _vocab_value(value: object, kind: str, prefixes: Mapping[str, str]) -> str:
    text = _text(value)
    return hash_terms(kind).get(text) or value_text(text, prefixes)


def _piece(name: str, text: str) -> str:
    return f"{name}={text}" if text else ""


# --- standard fields -------------------------------------------------------------------


def _ordered(
    obj: Mapping[str, object], order: Iterable[str], prefixes: Mapping[str, str], vocab: Mapping[str, str]
) -> str:
    pieces = []
    for field in order:
        if field not in obj:
            continue
        value = obj[field]
        if "time" in field.lower() and "offset" not in field.lower():
            text = time_value(value)
        elif field in vocab:
            text = _vocab_value(value, vocab[field], prefixes)
        else:
            text = value_text(value, prefixes)
        pieces.append(_piece(field, text))
    return "".join(pieces)


def _epc_list(name: str, values: object, prefixes: Mapping[str, str]) -> str:
    if isinstance(values, str):
        return _piece(name, value_text(values, prefixes))
    items = sorted(_piece("epc", value_text(v, prefixes)) for v in values or [])
    return name + "".join(items) if any(items) else ""


def _quantity_list(name: str, values: object, prefixes: Mapping[str, str]) -> str:
    items = sorted(
        "quantityElement" + _ordered(q, ("epcClass", "quantity", "uom"), prefixes, {})
        for q in values or []
        if isinstance(q, dict)
    )
    return name + "".join(items) if items else ""


def _party_list(name: str, element: str, values: object, prefixes: Mapping[str, str]) -> str:
    items = []
    for item in values or []:
        if not isinstance(item, dict):
            continue
        typed = (
            _piece("type", _vocab_value(item["type"], PARTY_VOCABULARY[element], prefixes)) if "type" in item else ""
        )
        items.append(typed + _piece(element, value_text(item.get(element, ""), prefixes)))
    items.sort()
    return name + "".join(items) if any(items) else ""


def _persistent_disposition(value: object, prefixes: Mapping[str, str]) -> str:
    if not isinstance(value, dict):
        return ""
    pieces = []
    for part in ("set", "unset"):
        pieces += sorted(_piece(part, _vocab_value(v, "disposition", prefixes)) for v in value.get(part) or [])
    return "persistentDisposition" + "".join(pieces) if pieces else ""


def _location(name: str, value: object, prefixes: Mapping[str, str]) -> str:
    if not isinstance(value, dict) or "id" not in value:
        return ""
    return name + _piece("id", value_text(value["id"], prefixes))


def _sensor_element(element: Mapping[str, object], prefixes: Mapping[str, str]) -> str:
    text = ""
    metadata = element.get("sensorMetadata")
    if isinstance(metadata, dict):
        inner = _ordered(metadata, SENSOR_METADATA_ORDER, prefixes, {})
        text += "sensorMetadata" + inner if inner else ""
    reports = sorted(
        "sensorReport" + _ordered(report, SENSOR_REPORT_ORDER, prefixes, SENSOR_REPORT_VOCABULARY)
        for report in element.get("sensorReport") or []
        if isinstance(report, dict)
    )
    text += "".join(r for r in reports if r != "sensorReport")
    return "sensorElement" + text if text else ""


def _standard(event: Mapping[str, object], prefixes: Mapping[str, str]) -> str:
    pieces = [_ordered(event, ("eventTime", "eventTimeZoneOffset"), prefixes, {})]
    for name in EPC_LISTS[0]:
        if name in event:
            pieces.append(_epc_list(name, event[name], prefixes))
    for name in QUANTITY_LISTS_BEFORE_OUTPUT:
        pieces.append(_quantity_list(name, event.get(name), prefixes))
    if "outputEPCList" in event:
        pieces.append(_epc_list("outputEPCList", event["outputEPCList"], prefixes))
    pieces.append(_quantity_list("outputQuantityList", event.get("outputQuantityList"), prefixes))
    pieces.append(
        _ordered(
            event,
            ("action", "transformationID", "bizStep", "disposition"),
            prefixes,
            {"bizStep": "bizStep", "disposition": "disposition"},
        )
    )
    pieces.append(_persistent_disposition(event.get("persistentDisposition"), prefixes))
    pieces.append(_location("readPoint", event.get("readPoint"), prefixes))
    pieces.append(_location("bizLocation", event.get("bizLocation"), prefixes))
    for name, element in PARTY_LISTS:
        pieces.append(_party_list(name, element, event.get(name), prefixes))
    elements = sorted(_sensor_element(e, prefixes) for e in event.get("sensorElementList") or [] if isinstance(e, dict))
    pieces.extend(elements)
    return "".join(pieces)


# --- ILMD and user extensions ----------------------------------------------------------


def _generic_items(key: str, value: object, prefixes: Mapping[str, str]) -> list[str]:
    """One rendered piece per value (a JSON array gives one piece per element, all under ``key``)."""
    name = _name(key, prefixes)
    if isinstance(value, list):
        return [piece for item in value for piece in _generic_items(key, item, prefixes)]
    if isinstance(value, dict):
        return [name + _generic(value, prefixes)]
    return [name + (("=" + text) if (text := value_text(value, prefixes)) else "")]


def _generic(obj: Mapping[str, object], prefixes: Mapping[str, str]) -> str:
    pieces = []
    for key, value in obj.items():
        if key.startswith("@") or key in ANNOTATIONS:
            continue
        if key == "#text":
            continue
        pieces.extend(_generic_items(key, value, prefixes))
    return "".join(sorted(pieces))


def _extensions(obj: Mapping[str, object], standard: Iterable[str]) -> dict[str, object]:
    known = set(standard)
    return {k: v for k, v in obj.items() if k not in known and not k.startswith("@") and k not in ANNOTATIONS}


def _field_extensions(event: Mapping[str, object], prefixes: Mapping[str, str]) -> str:
    pieces = []
    for name in ("readPoint", "bizLocation"):
        value = event.get(name)
        if isinstance(value, dict) and (extra := _extensions(value, ("id",))):
            pieces.append(name + _generic(extra, prefixes))
    for element in event.get("sensorElementList") or []:
        if not isinstance(element, dict):
            continue
        inner = []
        metadata = element.get("sensorMetadata")
        if isinstance(metadata, dict) and (extra := _extensions(metadata, SENSOR_METADATA_ORDER)):
            inner.append("sensorMetadata" + _generic(extra, prefixes))
        for report in element.get("sensorReport") or []:
            if isinstance(report, dict) and (extra := _extensions(report, SENSOR_REPORT_ORDER)):
                inner.append("sensorReport" + _generic(extra, prefixes))
        if extra := _extensions(element, ("sensorMetadata", "sensorReport")):
            inner.append(_generic(extra, prefixes))
        if inner:
            pieces.append("sensorElement" + "".join(inner))
    return "".join(pieces)


# --- the hash --------------------------------------------------------------------------


def prehash(event: Mapping[str, object], *, context: object = None) -> str:
    """The pre-hash string of one EPCIS event; ``context`` is the enclosing document's ``@context``."""
    event_type = event.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise EventHashError("an EPCIS event needs a type")
    prefixes = namespaces(context, event.get("@context"))
    ilmd = event.get("ilmd")
    return "".join(
        (
            "eventType=" + event_type,
            _standard(event, prefixes),
            "ilmd" + _generic(ilmd, prefixes) if isinstance(ilmd, dict) and ilmd else "",
            _field_extensions(event, prefixes),
            _generic(_extensions(event, STANDARD_FIELDS), prefixes),
        )
    )


def event_hash(event: Mapping[str, object], *, context: object = None) -> str:
    """``ni:///sha-256;<hex>?ver=CBV2.0`` of one EPCIS event."""
    try:
        text = prehash(event, context=context)
    except (TypeError, AttributeError, ValueError, KeyError) as exc:  # a field of the wrong shape
        raise EventHashError(f"the event cannot be hashed: {exc}") from exc
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return HASH_PREFIX + digest + HASH_SUFFIX


def is_event_hash(text: object) -> bool:
    return isinstance(text, str) and text.startswith("ni:///")
