"""EPCIS XML binding: XML documents in, the JSON-LD document of the JSON binding out, and back.

Reading (``read_document``, ``read_event``): the body is parsed without DTDs, entities or
network access, checked against GS1's XSDs (EPCIS 2.0, or 1.2 which GS1's stylesheet then
upgrades to 2.0), and mapped to the EPCIS 2.0 JSON-LD form as the standard maps its two
bindings: list elements (``epcList``, ``quantityList``, ``bizTransactionList``...) become
arrays, the ``type`` attribute of a business transaction, source or destination becomes
its ``type`` field, sensor metadata and report attributes become fields (numbers and
booleans typed as the XSD types them), the ``extension``/``baseExtension`` wrappers of
the schemas are dropped, and elements and attributes in other namespaces become keys
``prefix:local`` with the prefix declared in the document's ``@context``.

Writing (``write_document``): a JSON-LD EPCISDocument or EPCISQueryDocument as EPCIS 2.0
XML, each event's fields in the order its XSD type requires; bare CBV and GS1 words
are written as their full URIs, as XML has no bare words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

from traceability.epcis.core.hashing import namespaces
from traceability.epcis.core.vocabulary import cbv_web_uri, full_uri, terms

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "epcis2"
XSD_2_0 = DATA_DIR / "xsd" / "2.0"
XSD_1_2 = DATA_DIR / "xsd" / "1.2"
STYLESHEET_1_2_TO_2_0 = DATA_DIR / "xsl-1.2-to-2.0" / "convert-1.2-to-2.0.xsl"

EPCIS_2 = "urn:epcglobal:epcis:xsd:2"
EPCIS_1 = "urn:epcglobal:epcis:xsd:1"
QUERY_2 = "urn:epcglobal:epcis-query:xsd:2"
QUERY_1 = "urn:epcglobal:epcis-query:xsd:1"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML_NS = "http://www.w3.org/XML/1998/namespace"
EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
# A body larger than this is refused before parsing (the HTTP layer bounds bodies too).
MAX_XML_BYTES = 64 * 1024 * 1024
# Errors named per invalid document: enough to fix it, bounded for a hostile one.
MAX_ERRORS = 20

EVENT_TYPES = ("ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent")
# Value prefixes GS1's XML examples use for vocabulary values (``gs1:Temperature``), as the
# reference hash implementation expands them.
VALUE_PREFIXES = {"gs1:": "https://gs1.org/voc/", "cbv:": "https://ref.gs1.org/cbv/"}
WRAPPERS = frozenset({"extension", "baseExtension"})
EPC_LISTS = frozenset({"epcList", "childEPCs", "inputEPCList", "outputEPCList"})
QUANTITY_LISTS = frozenset({"quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"})
PARTY_LISTS = {"bizTransactionList": "bizTransaction", "sourceList": "source", "destinationList": "destination"}
PLACES = frozenset({"readPoint", "bizLocation"})
TEXT_FIELDS = frozenset(
    {"eventTime", "recordTime", "eventTimeZoneOffset", "eventID", "action", "bizStep", "disposition", "parentID",
     "transformationID"}
)  # fmt: skip
DOUBLE_ATTRIBUTES = frozenset({"value", "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue"})
BOOLEAN_ATTRIBUTES = frozenset({"booleanValue"})
# The element order of each event type (EPCglobal-epcis-2_0.xsd); user extensions follow.
BASE_FIELDS = ("eventTime", "recordTime", "eventTimeZoneOffset", "eventID", "errorDeclaration", "certificationInfo")
_TAIL = ("sourceList", "destinationList", "sensorElementList", "persistentDisposition")
_WHAT_WHERE = ("bizStep", "disposition", "readPoint", "bizLocation")
FIELD_ORDER: dict[str, tuple[str, ...]] = {
    "ObjectEvent": ("epcList", "action", *_WHAT_WHERE, "bizTransactionList", "quantityList", *_TAIL, "ilmd"),
    "AggregationEvent": ("parentID", "childEPCs", "action", *_WHAT_WHERE, "bizTransactionList", "childQuantityList",
                         *_TAIL),
    "TransactionEvent": ("bizTransactionList", "parentID", "epcList", "action", *_WHAT_WHERE, "quantityList", *_TAIL),
    "TransformationEvent": ("inputEPCList", "inputQuantityList", "outputEPCList", "outputQuantityList",
                            "transformationID", *_WHAT_WHERE, "bizTransactionList", *_TAIL, "ilmd"),
    "AssociationEvent": ("parentID", "childEPCs", "childQuantityList", "action", *_WHAT_WHERE, "bizTransactionList",
                         *_TAIL),
}  # fmt: skip
# Vocabulary of each vocabulary-valued field, to write bare words as URIs.
VOCABULARY_OF = {"bizStep": "bizStep", "disposition": "disposition"}
REPORT_VOCABULARY = {"type": "measurementType", "exception": "sensorAlertType", "component": "component"}
PARTY_VOCABULARY = {"bizTransaction": "bizTransactionType", "source": "sourceDestType", "destination": "sourceDestType"}
_INTEGER = re.compile(r"[+-]?\d+")


class XmlDocumentError(Exception):
    """An XML body that is no EPCIS document this binding reads: ``code``, message, line (if known)."""

    def __init__(
        self, code: str, message: str, *, line: int | None = None, errors: list[dict[str, object]] | None = None
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.line = line
        self.errors = errors or []


# --- parsing and validation -------------------------------------------------------------


def _parser() -> etree.XMLParser:
    # No DTD, no entity expansion, nothing loaded from the network, no huge trees: an XML bomb
    # or an external entity has nothing to act on.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse(body: bytes) -> etree._Element:
    """The root element of a well-formed XML body without a document type declaration."""
    if len(body) > MAX_XML_BYTES:
        raise XmlDocumentError("xml_too_large", f"an XML body holds at most {MAX_XML_BYTES} bytes")
    if not body.strip():
        raise XmlDocumentError("xml_malformed", "the body is empty")
    # Refused before parsing (an XML bomb's entities are declared there); a body in another
    # encoding than UTF-8 that hides one is caught after parsing, which expands nothing.
    if b"<!DOCTYPE" in body:
        raise XmlDocumentError("xml_doctype_refused", "a document type declaration (DTD, entities) is not accepted")
    try:
        tree = etree.fromstring(body, _parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        raise XmlDocumentError("xml_malformed", f"the body is not well-formed XML: {exc.msg}", line=exc.lineno) from exc
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise XmlDocumentError("xml_doctype_refused", "a document type declaration (DTD, entities) is not accepted")
    return tree.getroot()


@cache
def _schema(path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(path), etree.XMLParser(no_network=True, resolve_entities=False)))


@cache
def _stylesheet() -> etree.XSLT:
    return etree.XSLT(etree.parse(str(STYLESHEET_1_2_TO_2_0), etree.XMLParser(no_network=True)))


SCHEMAS = {
    f"{{{EPCIS_2}}}EPCISDocument": XSD_2_0 / "EPCglobal-epcis-2_0.xsd",
    f"{{{QUERY_2}}}EPCISQueryDocument": XSD_2_0 / "EPCglobal-epcis-query-2_0.xsd",
    f"{{{EPCIS_1}}}EPCISDocument": XSD_1_2 / "EPCglobal-epcis-1_2.xsd",
    f"{{{QUERY_1}}}EPCISQueryDocument": XSD_1_2 / "EPCglobal-epcis-query-1_2.xsd",
}


def validate(root: etree._Element) -> None:
    """Refuse a document its XSD (chosen by the root element's namespace) does not accept."""
    path = SCHEMAS.get(root.tag)
    if path is None:
        raise XmlDocumentError(
            "xml_document_type",
            f"the root element {root.tag} is no EPCIS 1.2 or 2.0 EPCISDocument or EPCISQueryDocument",
            line=root.sourceline,
        )
    schema = _schema(path)
    if schema.validate(root):
        return
    errors = [{"line": e.line, "message": e.message[:300]} for e in list(schema.error_log)[:MAX_ERRORS]]
    first = errors[0] if errors else {"line": None, "message": "invalid"}
    line = first["line"] if isinstance(first["line"], int) else None
    raise XmlDocumentError(
        "xml_schema_invalid",
        f"the document does not validate against the EPCIS XSD: line {first['line']}: {first['message']}",
        line=line,
        errors=errors,
    )


def _events_in(root: etree._Element) -> int:
    return sum(1 for e in root.iter() if isinstance(e.tag, str) and e.tag in (*EVENT_TYPES, "QuantityEvent"))


def upgrade_1_2(root: etree._Element) -> etree._Element:
    """An EPCIS 1.x EPCISDocument as EPCIS 2.0, through GS1's stylesheet."""
    if root.tag != f"{{{EPCIS_1}}}EPCISDocument":
        raise XmlDocumentError("xml_document_type", "EPCIS 1.2 query documents are not accepted; send an EPCISDocument")
    # The stylesheet matches the root by the name ``epcis:EPCISDocument`` and schemaVersion 1.2.
    nsmap = {prefix: uri for prefix, uri in root.nsmap.items() if uri != EPCIS_1}
    upgraded = etree.Element(f"{{{EPCIS_1}}}EPCISDocument", nsmap={**nsmap, "epcis": EPCIS_1})
    for name, value in root.attrib.items():
        upgraded.set(name, value)
    upgraded.set("schemaVersion", "1.2")
    upgraded.extend(list(root))
    before = _events_in(upgraded)
    result = _stylesheet()(upgraded).getroot()
    if result is None or _events_in(result) != before:
        raise XmlDocumentError(
            "xml_1_2_not_convertible",
            "the EPCIS 1.2 document holds events with no EPCIS 2.0 form (QuantityEvent)",
        )
    return result


# --- XML -> JSON-LD ---------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _namespace(tag: str) -> str:
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def _text(element: etree._Element) -> str:
    return _value((element.text or "").strip())


def _value(text: str) -> str:
    for prefix, uri in VALUE_PREFIXES.items():
        if text.startswith(prefix):
            return uri + text[len(prefix) :]
    return text


@cache
def _words(kind: str) -> dict[str, str]:
    return {uri: word for word, uri in terms(kind).items()}


def _word(kind: str, text: str) -> str:
    """A vocabulary value as the JSON binding writes it: a standard term as its bare word."""
    uri = cbv_web_uri(text)
    return _words(kind).get(uri, uri)


def _children(element: etree._Element) -> list[etree._Element]:
    """Child elements, the ``extension``/``baseExtension`` wrappers opened."""
    found = []
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if child.tag in WRAPPERS:
            found.extend(_children(child))
        else:
            found.append(child)
    return found


class _Reader:
    """Maps one document's elements; remembers the namespaces its extensions use."""

    def __init__(self) -> None:
        self.prefixes: dict[str, str] = {}  # prefix -> namespace
        self._by_namespace: dict[str, str] = {}

    def context(self) -> list[object]:
        return [EPCIS_CONTEXT, *({prefix: uri} for prefix, uri in self.prefixes.items())]

    def key(self, tag: str, element: etree._Element | None) -> str:
        namespace = _namespace(tag)
        if not namespace:
            return tag
        prefix = self._by_namespace.get(namespace)
        if prefix is None:
            wanted = None
            if element is not None:
                wanted = next((p for p, uri in element.nsmap.items() if uri == namespace and p), None)
            prefix = wanted if wanted and wanted not in self.prefixes else f"ns{len(self.prefixes) + 1}"
            while prefix in self.prefixes:
                prefix = "n" + prefix
            self.prefixes[prefix] = namespace
            self._by_namespace[namespace] = prefix
        return f"{prefix}:{_local(tag)}"

    def attributes(self, element: etree._Element, into: dict[str, object], typed: bool = False) -> None:
        for name, value in element.attrib.items():
            namespace = _namespace(name)
            if namespace in (XSI, XML_NS):
                continue
            if namespace:
                into[self.key(name, element)] = _value(value.strip())
            elif typed:
                into[name] = _typed(name, value.strip())
            else:
                into[name] = _value(value.strip())

    def generic(self, element: etree._Element) -> object:
        """A user extension element: text, or an object of its attributes and children."""
        fields: dict[str, object] = {}
        self.attributes(element, fields)
        for child in _children(element):
            _put(fields, self.key(child.tag, child), self.generic(child))
        text = _text(element)
        if not fields:
            return text
        if text:
            fields["#text"] = text
        return fields

    def extensions(self, element: etree._Element, known: frozenset[str] | set[str]) -> dict[str, object]:
        fields: dict[str, object] = {}
        self.attributes(element, fields)
        for child in _children(element):
            if child.tag not in known:
                _put(fields, self.key(child.tag, child), self.generic(child))
        return fields

    def event(self, element: etree._Element) -> dict[str, object]:
        event: dict[str, object] = {"type": _local(element.tag)}
        self.attributes(element, event)
        certificates: list[str] = []
        for child in _children(element):
            name = child.tag
            if name in VOCABULARY_OF:
                event[name] = _word(VOCABULARY_OF[name], _text(child))
            elif name in TEXT_FIELDS:
                event[name] = _text(child)
            elif name == "certificationInfo":
                certificates.append(_text(child))
            elif name in EPC_LISTS:
                event[name] = [_text(epc) for epc in _children(child)]
            elif name in QUANTITY_LISTS:
                event[name] = [self.quantity(q) for q in _children(child)]
            elif name in PARTY_LISTS:
                event[name] = [self.party(entry) for entry in _children(child)]
            elif name in PLACES:
                place: dict[str, object] = {}
                for part in _children(child):
                    if part.tag == "id":
                        place["id"] = _text(part)
                    else:
                        _put(place, self.key(part.tag, part), self.generic(part))
                event[name] = place
            elif name == "persistentDisposition":
                disposition: dict[str, list[str]] = {}
                for part in _children(child):
                    disposition.setdefault(part.tag, []).append(_word("disposition", _text(part)))
                event[name] = {k: disposition[k] for k in ("set", "unset") if k in disposition}
            elif name == "sensorElementList":
                event[name] = [self.sensor_element(e) for e in _children(child)]
            elif name == "errorDeclaration":
                event[name] = self.error_declaration(child)
            elif name == "ilmd":
                event[name] = self.extensions(child, frozenset())
            elif _namespace(name):
                _put(event, self.key(name, child), self.generic(child))
            else:
                raise XmlDocumentError(
                    "xml_element_unknown", f"{name} is no field of an EPCIS 2.0 event", line=child.sourceline
                )
        if certificates:
            event["certificationInfo"] = certificates[0] if len(certificates) == 1 else certificates
        return event

    def quantity(self, element: etree._Element) -> dict[str, object]:
        item: dict[str, object] = {}
        for part in _children(element):
            text = _text(part)
            if part.tag == "quantity":
                if part.get(f"{{{XSI}}}nil") not in ("true", "1"):
                    item["quantity"] = _number(text, part)
            elif part.tag in ("epcClass", "uom"):
                item[part.tag] = text
            else:
                _put(item, self.key(part.tag, part), self.generic(part))
        return item

    def party(self, element: etree._Element) -> dict[str, object]:
        entry: dict[str, object] = {}
        if "type" in element.attrib:
            entry["type"] = _word(PARTY_VOCABULARY[element.tag], _value(element.attrib["type"].strip()))
        entry[element.tag] = _text(element)
        for name, value in element.attrib.items():
            if name != "type" and _namespace(name) not in ("", XSI, XML_NS):
                entry[self.key(name, element)] = _value(value.strip())
        return entry

    def sensor_element(self, element: etree._Element) -> dict[str, object]:
        sensor: dict[str, object] = {}
        reports: list[dict[str, object]] = []
        for part in _children(element):
            if part.tag == "sensorMetadata":
                metadata: dict[str, object] = {}
                self.attributes(part, metadata)
                sensor["sensorMetadata"] = metadata
            elif part.tag == "sensorReport":
                report: dict[str, object] = {}
                self.attributes(part, report, typed=True)
                for name, kind in REPORT_VOCABULARY.items():
                    if isinstance(report.get(name), str):
                        report[name] = _word(kind, str(report[name]))
                reports.append(report)
            else:
                _put(sensor, self.key(part.tag, part), self.generic(part))
        sensor["sensorReport"] = reports
        return sensor

    def error_declaration(self, element: etree._Element) -> dict[str, object]:
        declaration: dict[str, object] = {}
        self.attributes(element, declaration)
        for part in _children(element):
            if part.tag == "declarationTime":
                declaration[part.tag] = _text(part)
            elif part.tag == "reason":
                declaration[part.tag] = _word("errorReason", _text(part))
            elif part.tag == "correctiveEventIDs":
                declaration["correctiveEventIDs"] = [_text(e) for e in _children(part)]
            else:
                _put(declaration, self.key(part.tag, part), self.generic(part))
        return declaration


def _put(fields: dict[str, object], key: str, value: object) -> None:
    """A repeated element is an array of its values."""
    existing = fields.get(key)
    if key not in fields:
        fields[key] = value
    elif isinstance(existing, list):  # values of extension elements are never arrays themselves
        existing.append(value)
    else:
        fields[key] = [existing, value]


def _number(text: str, element: etree._Element | None = None) -> int | float:
    try:
        number: int | float = int(text) if _INTEGER.fullmatch(text) else float(text)
    except ValueError as exc:
        raise XmlDocumentError(
            "xml_value_invalid", f"{text!r} is no number", line=element.sourceline if element is not None else None
        ) from exc
    if number != number or number in (float("inf"), float("-inf")):
        raise XmlDocumentError("xml_value_invalid", f"{text!r} is no finite number")
    return number


def _typed(name: str, text: str) -> object:
    if name in DOUBLE_ATTRIBUTES:
        return _number(text)
    if name in BOOLEAN_ATTRIBUTES:
        return text in ("true", "1")
    return _value(text)


def _event_list(root: etree._Element) -> etree._Element | None:
    if root.tag == f"{{{EPCIS_2}}}EPCISDocument":
        return root.find("EPCISBody/EventList")
    return root.find(f"EPCISBody/{{{QUERY_2}}}QueryResults/resultsBody/EventList")


def to_json_ld(root: etree._Element) -> dict[str, object]:
    """A (valid) EPCIS 2.0 XML document as the JSON-LD document of the JSON binding."""
    reader = _Reader()
    event_list = _event_list(root)
    events = []
    for element in [] if event_list is None else _children(event_list):
        if element.tag not in EVENT_TYPES:
            raise XmlDocumentError(
                "xml_event_type", f"{element.tag} is no EPCIS 2.0 event type", line=element.sourceline
            )
        events.append(reader.event(element))
    document: dict[str, object] = {"@context": None, "type": _local(root.tag)}
    document["schemaVersion"] = "2.0"
    if root.get("creationDate"):
        document["creationDate"] = root.get("creationDate")
    if root.tag == f"{{{EPCIS_2}}}EPCISDocument":
        document["epcisBody"] = {"eventList": events}
    else:
        results = root.find(f"EPCISBody/{{{QUERY_2}}}QueryResults")
        query: dict[str, object] = {}
        if results is not None:
            for name in ("queryName", "subscriptionID"):
                found = results.find(name)
                if found is not None:
                    query[name] = _text(found)
        query["resultsBody"] = {"eventList": events}
        document["epcisBody"] = {"queryResults": query}
    document["@context"] = reader.context()
    return document


def read_document(body: bytes) -> dict[str, object]:
    """An EPCIS 2.0 or 1.2 XML EPCISDocument (or 2.0 EPCISQueryDocument) as JSON-LD; XSD-checked."""
    return _document(parse(body))


def read_event(body: bytes) -> dict[str, object]:
    """One EPCIS 2.0 XML event (``<ObjectEvent>...``) as a JSON-LD event, XSD-checked inside a document."""
    return _event(parse(body))


def read(body: bytes) -> dict[str, object]:
    """An XML body as JSON-LD: a document (``read_document``) or one bare event (``read_event``)."""
    root = parse(body)
    return _event(root) if root.tag in EVENT_TYPES else _document(root)


def _document(root: etree._Element) -> dict[str, object]:
    validate(root)
    if _namespace(root.tag) in (EPCIS_1, QUERY_1):
        root = upgrade_1_2(root)
    return to_json_ld(root)


def _event(root: etree._Element) -> dict[str, object]:
    if root.tag not in EVENT_TYPES:
        raise XmlDocumentError("xml_document_type", f"the root element {root.tag} is no EPCIS 2.0 event")
    wrapper = etree.Element(f"{{{EPCIS_2}}}EPCISDocument", nsmap={"epcis": EPCIS_2})
    wrapper.set("schemaVersion", "2.0")
    wrapper.set("creationDate", "2000-01-01T00:00:00Z")
    etree.SubElement(etree.SubElement(wrapper, "EPCISBody"), "EventList").append(root)
    validate(wrapper)
    document = to_json_ld(wrapper)
    body = document["epcisBody"]
    assert isinstance(body, dict)
    event: dict[str, object] = body["eventList"][0]
    context = document["@context"]
    return {"@context": context, **event} if isinstance(context, list) and len(context) > 1 else event


# --- JSON-LD -> XML ---------------------------------------------------------------------


class _Writer:
    def __init__(self, prefixes: Mapping[str, str]) -> None:
        self.prefixes = dict(prefixes)

    def tag(self, key: str) -> str:
        prefix, sep, local = key.partition(":")
        if sep and prefix in self.prefixes and local:
            return f"{{{self.prefixes[prefix]}}}{local}"
        if key.startswith(("http://", "https://")):
            cut = max(key.rfind("/"), key.rfind("#"))
            if 0 < cut < len(key) - 1:
                return f"{{{key[: cut + 1]}}}{key[cut + 1 :]}"
        raise XmlDocumentError("xml_key_unmapped", f"the field {key!r} has no XML form (no namespace declared)")

    def generic(self, parent: etree._Element, key: str, value: object) -> None:
        tag = self.tag(key) if ":" in key else key
        if isinstance(value, list):
            for item in value:
                self.generic(parent, key, item)
            return
        element = etree.SubElement(parent, tag)
        if isinstance(value, dict):
            for name, inner in value.items():
                if name == "#text":
                    element.text = _scalar(inner)
                else:
                    self.generic(element, name, inner)
        else:
            element.text = _scalar(value)

    def event(self, parent: etree._Element, event: Mapping[str, object]) -> None:
        event_type = str(event.get("type", ""))
        order = FIELD_ORDER.get(event_type)
        if order is None:
            raise XmlDocumentError("xml_event_type", f"{event_type!r} is no EPCIS 2.0 event type")
        own = namespaces(event.get("@context"))
        writer = _Writer({**self.prefixes, **own}) if own else self
        element = etree.SubElement(parent, event_type)
        known = {*BASE_FIELDS, *order, "type", "@context"}
        for name in (*BASE_FIELDS, *order):
            if name in event:
                writer.field(element, name, event[name])
        for name, value in event.items():
            if name not in known:
                writer.generic(element, name, value)

    def field(self, parent: etree._Element, name: str, value: Any) -> None:
        if name in EPC_LISTS:
            holder = etree.SubElement(parent, name)
            for epc in value:
                etree.SubElement(holder, "epc").text = str(epc)
        elif name in QUANTITY_LISTS:
            holder = etree.SubElement(parent, name)
            for item in value:
                self.quantity(etree.SubElement(holder, "quantityElement"), item)
        elif name in PARTY_LISTS:
            holder = etree.SubElement(parent, name)
            entry_name = PARTY_LISTS[name]
            for entry in value:
                child = etree.SubElement(holder, entry_name)
                if "type" in entry:
                    child.set("type", full_uri(PARTY_VOCABULARY[entry_name], str(entry["type"])))
                child.text = str(entry.get(entry_name, ""))
                for key, inner in entry.items():
                    if key not in ("type", entry_name):
                        child.set(self.tag(key), _scalar(inner))
        elif name in PLACES:
            holder = etree.SubElement(parent, name)
            etree.SubElement(holder, "id").text = str(value.get("id", ""))
            for key, inner in value.items():
                if key != "id":
                    self.generic(holder, key, inner)
        elif name == "persistentDisposition":
            holder = etree.SubElement(parent, name)
            for part in ("unset", "set"):
                for item in value.get(part) or []:
                    etree.SubElement(holder, part).text = full_uri("disposition", str(item))
        elif name == "sensorElementList":
            holder = etree.SubElement(parent, name)
            for sensor in value:
                self.sensor_element(etree.SubElement(holder, "sensorElement"), sensor)
        elif name == "errorDeclaration":
            self.error_declaration(etree.SubElement(parent, name), value)
        elif name == "ilmd":
            holder = etree.SubElement(parent, name)
            for key, inner in value.items():
                self.generic(holder, key, inner)
        elif name == "certificationInfo":
            for item in value if isinstance(value, list) else [value]:
                etree.SubElement(parent, name).text = str(item)
        elif name in VOCABULARY_OF:
            etree.SubElement(parent, name).text = full_uri(VOCABULARY_OF[name], str(value))
        else:
            etree.SubElement(parent, name).text = _scalar(value)

    def quantity(self, element: etree._Element, item: Mapping[str, object]) -> None:
        etree.SubElement(element, "epcClass").text = str(item.get("epcClass", ""))
        if "quantity" in item or "uom" in item:
            quantity = etree.SubElement(element, "quantity")
            if "quantity" in item:
                quantity.text = _decimal(item["quantity"])
            else:  # the XSD has a unit only after a quantity: a nil one
                quantity.set(f"{{{XSI}}}nil", "true")
            if "uom" in item:
                etree.SubElement(element, "uom").text = str(item["uom"])
        for key, inner in item.items():
            if key not in ("epcClass", "quantity", "uom"):
                self.generic(element, key, inner)

    def sensor_element(self, element: etree._Element, sensor: Mapping[str, Any]) -> None:
        if isinstance(sensor.get("sensorMetadata"), dict):
            self.attributes(etree.SubElement(element, "sensorMetadata"), sensor["sensorMetadata"], {})
        for report in sensor.get("sensorReport") or []:
            self.attributes(etree.SubElement(element, "sensorReport"), report, REPORT_VOCABULARY)
        for key, inner in sensor.items():
            if key not in ("sensorMetadata", "sensorReport"):
                self.generic(element, key, inner)

    def attributes(self, element: etree._Element, fields: Mapping[str, object], vocabulary: Mapping[str, str]) -> None:
        for key, value in fields.items():
            if isinstance(value, dict | list):
                raise XmlDocumentError(
                    "xml_value_unmapped", f"the sensor field {key!r} holds a structure; XML holds only values there"
                )
            text = _scalar(value)
            if key in vocabulary:
                text = full_uri(vocabulary[key], text)
            element.set(self.tag(key) if ":" in key else key, text)

    def error_declaration(self, element: etree._Element, declaration: Mapping[str, Any]) -> None:
        for key, value in declaration.items():
            if key == "declarationTime":
                etree.SubElement(element, key).text = str(value)
            elif key == "reason":
                etree.SubElement(element, key).text = full_uri("errorReason", str(value))
            elif key == "correctiveEventIDs":
                holder = etree.SubElement(element, key)
                for item in value:
                    etree.SubElement(holder, "correctiveEventID").text = str(item)
            else:
                self.generic(element, key, value)


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def _decimal(value: object) -> str:
    """An xsd:decimal: no exponent."""
    if isinstance(value, bool):
        return _scalar(value)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    text = format(number, "f")
    return text


def write_document(document: Mapping[str, Any], *, known_prefixes: Mapping[str, str] | None = None) -> bytes:
    """A JSON-LD EPCISDocument or EPCISQueryDocument as EPCIS 2.0 XML (UTF-8, with declaration).

    ``known_prefixes`` name the namespaces of prefixes the document uses without declaring
    them (the writer's own, such as a marker it adds to events)."""
    declared = {k: v for k, v in namespaces(document.get("@context")).items() if k != v}
    prefixes = {**(known_prefixes or {}), **declared}
    nsmap = {prefix: uri for prefix, uri in prefixes.items() if re.fullmatch(r"[A-Za-z_][\w.-]*", prefix)}
    writer = _Writer(prefixes)
    body = document.get("epcisBody") or {}
    creation = str(document.get("creationDate") or "2000-01-01T00:00:00Z")
    if document.get("type") == "EPCISQueryDocument":
        root = etree.Element(f"{{{QUERY_2}}}EPCISQueryDocument", nsmap={"epcisq": QUERY_2, **nsmap})
        results = body.get("queryResults") or {}
        holder = etree.SubElement(etree.SubElement(root, "EPCISBody"), f"{{{QUERY_2}}}QueryResults")
        etree.SubElement(holder, "queryName").text = str(results.get("queryName", "SimpleEventQuery"))
        if results.get("subscriptionID"):
            etree.SubElement(holder, "subscriptionID").text = str(results["subscriptionID"])
        event_list = etree.SubElement(etree.SubElement(holder, "resultsBody"), "EventList")
        events = (results.get("resultsBody") or {}).get("eventList") or []
    else:
        root = etree.Element(f"{{{EPCIS_2}}}EPCISDocument", nsmap={"epcis": EPCIS_2, **nsmap})
        event_list = etree.SubElement(etree.SubElement(root, "EPCISBody"), "EventList")
        events = body.get("eventList") or []
    root.set("schemaVersion", "2.0")
    root.set("creationDate", creation)
    for event in events:
        writer.event(event_list, event)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


__all__ = [
    "XmlDocumentError",
    "parse",
    "read",
    "read_document",
    "read_event",
    "to_json_ld",
    "upgrade_1_2",
    "validate",
    "write_document",
]
