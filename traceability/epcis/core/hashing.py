"""The CBV 2.0 EPCIS event hash: ``ni:///sha-256;<hex>?ver=CBV2.0``.

The hash equals the one GS1's reference implementation (the Python package
``epcis-event-hash-generator`` 1.9.3) computes for every event it can hash; the test
suite compares both on generated events of every type and field. The rules, as that
implementation applies them to an EPCIS 2.0 JSON event:

1. Bare vocabulary words (``shipping``, ``po``, ``Temperature``...) become the URIs the
   EPCIS JSON-LD context gives them (``https://ref.gs1.org/cbv/BizStep-shipping``,
   ``https://gs1.org/voc/Temperature``); then any string of the event that ends exactly one
   of those URIs after a ``-`` or ``/`` becomes that URI too. The URIs are those of the
   whole document: a capture passes all its events' (``vocabulary_uris``) as ``vocabulary``.
2. The event becomes a tree of ``(name, text, children)``: an array gives one child per
   element under the array's name; a name ``prefix:local`` whose prefix the document's
   ``@context`` declares is written ``{namespace}local``, a value ``prefix:rest`` is
   written ``namespacerest``. A field named ``...List`` holds children named without
   ``List`` (``epcList`` holds ``epc``, ``quantityList`` holds ``quantityElement``);
   a ``bizTransactionList``/``sourceList``/``destinationList`` entry keeps its first two
   fields in the order written (``type`` and the value).
3. The pre-hash string is ``eventType=<type>``, then the fields in the canonical order
   (eventTime, eventTimeZoneOffset, certificationInfo, parentID, epcList, inputEPCList,
   childEPCs, quantityList, childQuantityList, inputQuantityList, outputEPCList,
   outputQuantityList, action, transformationID, bizStep, disposition,
   persistentDisposition, readPoint, bizLocation, sensorElementList with its sensorMetadata
   and sensorReport fields in their order), each ``name=value`` and repeated entries sorted;
   user extensions (namespace ending in ``/``) of a nested structure follow its standard
   fields. Everything not written so far (bizTransactionList, sourceList,
   destinationList, ilmd, other extensions) follows, each piece written recursively,
   sorted by code point. ``eventID``, ``recordTime``, ``errorDeclaration`` do not take part.
   An event's own ``@context`` declares prefixes like the document's and is no content
   (the reference would write it into the string; Looptrace stores a captured event with
   its document's ``@context``, and the stored event must keep its hash).
4. Values: times (fields named ``...time...``, not ``...offset``) in UTC with milliseconds
   (rounded half to even; a time without zone has no hash); CBV 1.x URNs as CBV 2.0 Web URIs; numbers as Python writes a
   float (integral ones without ``.0``); EPC URIs and GS1 Digital Link URIs in the
   constrained canonical Digital Link form; JSON ``true``/``false``/``null`` as
   ``True``/``False``/``None``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, timedelta
from functools import lru_cache

from traceability.epcis.core.identifiers import canonical_digital_link
from traceability.epcis.core.vocabulary import cbv_web_uri, terms
from traceability.moments import MomentError, parse_moment

HASH_VERSION = "CBV2.0"
HASH_PREFIX = "ni:///sha-256;"
HASH_SUFFIX = f"?ver={HASH_VERSION}"


class EventHashError(Exception):
    """An event the hash cannot be computed for (no type, a field of the wrong shape...)."""


# A node of the event tree: (name, text, children).
Node = tuple[str, str, list]

# The canonical order: (name, order of its children or None for a leaf).
Order = list[tuple[object, object]]
_QUANTITY: Order = [("quantityElement", [("epcClass", None), ("quantity", None), ("uom", None)])]
_EPC: Order = [("epc", None)]
SENSOR_METADATA_FIELDS = ("time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData",
                          "dataProcessingMethod", "bizRules")  # fmt: skip
SENSOR_REPORT_FIELDS = ("type", "exception", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "time",
                        "microorganism", "chemicalSubstance", "value", "component", "stringValue", "booleanValue",
                        "hexBinaryValue", "uriValue", "minValue", "maxValue", "meanValue", "sDev", "percRank",
                        "percValue", "uom", "coordinateReferenceSystem")  # fmt: skip
CANONICAL_ORDER: Order = [
    ("eventTime", None),
    ("eventTimeZoneOffset", None),
    ("certificationInfo", None),
    ("parentID", None),
    ("epcList", _EPC),
    ("inputEPCList", _EPC),
    ("childEPCs", _EPC),
    ("quantityList", _QUANTITY),
    ("childQuantityList", _QUANTITY),
    ("inputQuantityList", _QUANTITY),
    ("outputEPCList", _EPC),
    ("outputQuantityList", _QUANTITY),
    ("action", None),
    ("transformationID", None),
    ("bizStep", None),
    ("disposition", None),
    ("persistentDisposition", [("set", None), ("unset", None)]),
    ("readPoint", [("id", None)]),
    ("bizLocation", [("id", None)]),
    (
        "sensorElementList",
        [
            (
                "sensorElement",
                [
                    ("sensorMetadata", [(name, None) for name in SENSOR_METADATA_FIELDS]),
                    ("sensorReport", [(name, None) for name in SENSOR_REPORT_FIELDS]),
                ],
            )
        ],
    ),
]
# Entries of these lists are (type, value) pairs kept in the order written.
PARTY_LISTS = ("bizTransactionList", "sourceList", "destinationList")
PARTY_FIELDS = ("bizTransaction", "source", "destination")
# Fields that never take part in the hash.
IGNORED = frozenset({"eventID", "recordTime", "errorDeclaration", "type", "@context"})
ANNOTATIONS = frozenset({"#text", "rdfs:comment", "comment"})
# Vocabulary-valued fields: (path of field names below the event, vocabulary kind).
VOCABULARY_FIELDS = (
    (("bizStep",), "bizStep"),
    (("disposition",), "disposition"),
    (("persistentDisposition", "set"), "disposition"),
    (("persistentDisposition", "unset"), "disposition"),
    (("bizTransactionList", "type"), "bizTransactionType"),
    (("sourceList", "type"), "sourceDestType"),
    (("destinationList", "type"), "sourceDestType"),
    (("sensorElementList", "sensorReport", "type"), "measurementType"),
    (("sensorElementList", "sensorReport", "exception"), "sensorAlertType"),
    (("sensorElementList", "sensorReport", "component"), "component"),
    (("errorDeclaration", "reason"), "errorReason"),
)
VOCABULARY_ROOTS = ("https://ref.gs1.org/cbv", "https://gs1.org/voc")


# --- 1. vocabulary ---------------------------------------------------------------------


# Each vocabulary field's path below the event -> its vocabulary; and every path's beginnings.
_VOCABULARY_PATHS = {path: kind for path, kind in VOCABULARY_FIELDS}
_VOCABULARY_PREFIXES = frozenset(path[:n] for path in _VOCABULARY_PATHS for n in range(1, len(path)))


def _collect(obj: object, path: tuple[str, ...] | None, found: set[str]) -> None:
    """Vocabulary URIs below ``obj``: words of the vocabulary field at ``path`` expanded
    (``None``: no vocabulary field), and every string under a vocabulary root."""
    if isinstance(obj, str):
        kind = _VOCABULARY_PATHS.get(path) if path else None
        if kind is not None:
            obj = terms(kind).get(obj, obj)
        if obj.startswith(VOCABULARY_ROOTS):
            found.add(obj)
    elif isinstance(obj, list):
        for item in obj:
            _collect(item, path, found)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            inner = (*path, key) if path is not None else None
            if inner is not None and inner not in _VOCABULARY_PATHS and inner not in _VOCABULARY_PREFIXES:
                inner = None
            _collect(value, inner, found)


def vocabulary_uris(event: Mapping[str, object]) -> frozenset[str]:
    """The CBV and GS1 vocabulary URIs an event names, bare words expanded."""
    found: set[str] = set()
    _collect(event, (), found)
    return frozenset(found)


@lru_cache(maxsize=256)
def _by_last_segment(uris: frozenset[str]) -> dict[str, list[str]]:
    """Every text that follows a ``-`` or ``/`` in a URI -> the URIs it ends."""
    found: dict[str, list[str]] = {}
    for uri in uris:
        for position, char in enumerate(uri):
            if char in "-/":
                ends = found.setdefault(uri[position + 1 :], [])
                if uri not in ends:
                    ends.append(uri)
    return found


def _expanded(value: object, segments: Mapping[str, list[str]]) -> object:
    """A string that ends exactly one vocabulary URI after a ``-`` or ``/`` as that URI."""
    if isinstance(value, str):
        matches = segments.get(value)
        if matches and len(matches) == 1:
            return matches[0]
    return value


# --- 2. the tree -----------------------------------------------------------------------


def namespaces(context: object) -> dict[str, str]:
    """Prefix -> namespace declared by a document's ``@context`` list."""
    found: dict[str, str] = {}
    if isinstance(context, dict):
        context = [context]
    if isinstance(context, list):
        for item in context:
            if isinstance(item, str):
                found[item] = item
            elif isinstance(item, dict):
                found.update({key: str(value) for key, value in item.items()})
    return found


def _name(key: str, prefixes: Mapping[str, str]) -> str:
    if ":" not in key:
        return key
    prefix, sep, local = key.partition(":")
    return "{" + prefixes[prefix] + "}" + local if sep and prefix in prefixes else key


def _scalar(value: object, prefixes: Mapping[str, str]) -> str:
    if isinstance(value, str):
        if ":" not in value:
            return value
        prefix, sep, rest = value.partition(":")
        return prefixes[prefix].replace("{", "").replace("}", "") + rest if sep and prefix in prefixes else value
    return str(value)


def _tree(obj: object, prefixes: Mapping[str, str], segments: Mapping[str, list[str]], *, top: bool = False) -> Node:
    if isinstance(obj, list):
        return ("", "", [_tree(item, prefixes, segments) for item in obj])
    if not isinstance(obj, dict):
        return ("", _scalar(_expanded(obj, segments), prefixes), [])
    name = str(_expanded(obj["type"], segments)) if "type" in obj else ""
    text = str(_expanded(obj["#text"], segments)) if "#text" in obj else ""
    children: list[Node] = []
    for key, value in obj.items():
        if key in ANNOTATIONS or key.startswith("@xmlns") or (top and key == "@context"):
            continue
        key = _name(key, prefixes)
        if isinstance(value, list):
            child = _tree(value, prefixes, segments)
            children.extend((key, element[1], element[2]) for element in child[2])
        elif isinstance(value, dict):
            child = _tree(value, prefixes, segments)
            children.append((key, child[1], child[2]))
        else:  # a scalar: its text, as _tree would write it, without the call
            children.append((key, _scalar(_expanded(value, segments), prefixes), []))
    # The reference sorts the fields of a structure (but a party list entry's) here; every
    # place that order could show is sorted again when written, so the tree keeps JSON order.
    return (name, text, children)


# Names ``_restructure`` changes, with children or without.
_RENAMED = frozenset({"inputEPC", "outputEPC", "inputQuantity", "outputQuantity", "childQuantity"})


def _restructure(node: Node) -> Node:
    """Entries of ``xList`` fields grouped under one ``xList`` node, as the XML binding has them."""
    name, text, children = node
    grouped: dict[str, list] = {}
    rest = []
    for child in children:
        if child[0].endswith("List"):
            grouped.setdefault(child[0], []).append((child[0][:-4], child[1], child[2]))
        else:
            rest.append(child)
    for list_name, entries in grouped.items():
        if list_name in PARTY_LISTS:
            rest.append((list_name, "", [(entry[2][0], entry[2][1]) for entry in entries]))
        else:
            rest.append((list_name, "", entries))
    epcs = [("epc", child[1], []) for child in rest if child[0] == "childEPCs"]
    if epcs:
        rest = [child for child in rest if child[0] != "childEPCs"] + [("childEPCs", "", epcs)]
    restructured = [
        child if child[0] in PARTY_LISTS or not (child[2] or child[0] in _RENAMED) else _restructure(child)
        for child in rest
    ]
    if name in ("inputEPC", "outputEPC"):
        name = "epc"
    elif name in ("inputQuantity", "outputQuantity", "childQuantity") or (name == "quantity" and restructured):
        name = "quantityElement"
    return (name, text, restructured)


# --- 3. values -------------------------------------------------------------------------


@lru_cache(maxsize=1 << 14)
def time_value(value: str) -> str:
    """UTC with exactly three decimals (rounded half to even) and ``Z``. A time without
    zone has no hash (the reference would read it in its machine's local time)."""
    try:
        moment = parse_moment(value, max_offset=None).astimezone(UTC)
    except (MomentError, ValueError, OverflowError) as exc:
        raise EventHashError(f"{value!r} is not a time with a zone") from exc
    millis = round(moment.microsecond, -3)
    try:
        moment = moment.replace(microsecond=0) + timedelta(microseconds=millis)
    except OverflowError as exc:  # 9999-12-31T23:59:59.9995Z and later round past the last year
        raise EventHashError(f"{value!r} rounds past the last time a date can hold") from exc
    # As strftime("%Y-%m-%dT%H:%M:%S.") writes it (the year unpadded), at a third of its cost.
    return (
        f"{moment.year}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:{moment.minute:02d}:"
        f"{moment.second:02d}.{moment.microsecond // 1000:03d}Z"
    )


def _number(text: str) -> str:
    try:
        number = float(text)
        return str(int(number)) if int(number) == number else str(number)
    except (ValueError, OverflowError):  # no number, or nan / inf: as written (the reference has no hash for inf)
        return text


@lru_cache(maxsize=1 << 16)
def value_text(text: str) -> str:
    """A value in canonical form: CBV URN -> Web URI, number as a float, GS1 key -> Digital Link."""
    text = _number(cbv_web_uri(text))
    return canonical_digital_link(text) or text


# --- 4. the pre-hash string ------------------------------------------------------------


def _is_user_extension(name: object) -> bool:
    return isinstance(name, str) and "{" in name and "/}" in name


def _nested_extensions(children: list) -> list:
    if len(children) <= 1 or any("eventTime" in c[0] or "action" in c[0] for c in children):
        return []
    found = [c for c in children if isinstance(c, tuple) and _is_user_extension(c[0])]
    for child in found:
        children.remove(child)
    return found


@lru_cache(maxsize=1024)
def _is_time(name: str) -> bool:
    lowered = name.lower()
    return "time" in lowered and "offset" not in lowered


def _leaf(name: str, text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    if _is_time(name):
        return "=" + time_value(text)
    text = value_text(text)
    return "=" + text if text else ""


# The names of each order (the orders are the constants above), found once.
_ORDER_NAMES: dict[int, frozenset[object]] = {}


def _names(order: Order) -> frozenset[object]:
    names = _ORDER_NAMES.get(id(order))
    if names is None:
        names = _ORDER_NAMES[id(order)] = frozenset(name for name, _ in order)
    return names


def _in_order(children: list, order: Order) -> str:
    """The children in ``order`` (consumed from ``children``), then nested user extensions."""
    text = ""
    extensions = _nested_extensions(children)
    named: dict[object, list] = {}
    for child in children:
        named.setdefault(child[0], []).append(child)
    written = False
    for name, inner in order:
        if name not in named:
            continue
        values = []
        for child in named[name]:
            nested = _in_order(child[2], inner) if inner else ""  # type: ignore[arg-type]
            own = _leaf(child[0], child[1]) if child[1] else ""
            if own or nested:
                values.append(child[0] + own + nested)
            written = written or not child[2]
        values.sort()
        if "".join(values):
            text = "".join([text, *values])
    if written:  # written fields with nothing left under them are done
        ordered = _names(order)
        children[:] = [c for c in children if c[2] or c[0] not in ordered]
    if extensions:
        text += _generic(extensions)
    return text


def _generic(children: list) -> str:
    pieces = []
    for child in children:
        if isinstance(child, tuple) and len(child) == 2 and isinstance(child[0], tuple):
            pieces.append(_generic(list(child)))
        else:
            text = child[1].strip()
            if text:
                text = "=" + value_text(text)
            pieces.append(child[0] + text + _generic(child[2]))
    if len(children) > 1 and not any(child[0] in PARTY_FIELDS for child in children):
        pieces.sort()
    return "".join(pieces)


def prehash(event: Mapping[str, object], *, context: object = None, vocabulary: frozenset[str] | None = None) -> str:
    """The pre-hash string of one EPCIS event. ``context`` is the enclosing document's
    ``@context``; ``vocabulary`` the ``vocabulary_uris`` of all events of its document
    (by default: of this event alone)."""
    if not isinstance(event.get("type"), str) or not event["type"]:
        raise EventHashError("an EPCIS event needs a type")
    uris = vocabulary_uris(event) if vocabulary is None else vocabulary
    segments = _by_last_segment(uris) if uris else {}
    prefixes = {**namespaces(context), **namespaces(event.get("@context"))}
    name, _, children = _restructure(_tree(event, prefixes, segments, top=True))
    ordered = _in_order(children, CANONICAL_ORDER)
    rest = [child for child in children if child[0] not in IGNORED]
    return "eventType=" + name + ordered + (_generic(rest) if rest else "")


def event_hash(event: Mapping[str, object], *, context: object = None, vocabulary: frozenset[str] | None = None) -> str:
    """``ni:///sha-256;<hex>?ver=CBV2.0`` of one EPCIS event."""
    try:
        text = prehash(event, context=context, vocabulary=vocabulary)
    except (TypeError, AttributeError, ValueError, KeyError, IndexError) as exc:  # a field of the wrong shape
        raise EventHashError(f"the event cannot be hashed: {exc}") from exc
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return HASH_PREFIX + digest + HASH_SUFFIX


def is_event_hash(text: object) -> bool:
    return isinstance(text, str) and text.startswith("ni:///")
