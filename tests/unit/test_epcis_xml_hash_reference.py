"""An event captured as XML hashes as GS1's reference implementation hashes that XML.

Hypothesis writes EPCIS 2.0 JSON documents of every event type and field with the
strategies of ``test_epcis_hash_reference``; Looptrace's writer renders each as EPCIS 2.0
XML, which must validate against GS1's XSD; the reference (``epcis-event-hash-generator``
1.9.3) hashes that XML, and Looptrace's hash of the events read back from the XML (what a
capture of it stores) must be the same, event by event. The project's hash of the events
read back must also equal its hash of the JSON events they were written from (a JSON
capture and an XML capture of one event are one event), and what the JSON schema accepts
as JSON it accepts as read from XML.

Where the reference reads its XML and its JSON bindings differently, the generated
values stay clear of the difference (both can't be met, and the JSON form is the
one stored): booleans (``true`` in XML, ``True`` from JSON), values written with a
declared prefix (``ex:coded``, expanded from JSON only), free words that end a vocabulary
URI of the document (expanded from JSON only), and a party entry whose value is written
before its type (XML has the type as an attribute, always first). What XML cannot hold
stays out too: structured values in sensor attributes, more than one certificationInfo,
keys that are no XML names. The run is derandomized.
"""

from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit import test_epcis_hash_reference as base
from traceability.epcis.core import xml
from traceability.epcis.core.hashing import event_hash, vocabulary_uris
from traceability.epcis.core.schema import document_errors

reference = pytest.importorskip("epcis_event_hash_generator.hash_generator")
reference_xml = pytest.importorskip("epcis_event_hash_generator.xml_to_py")

DOCUMENTS = 300  # 3 to 8 events each: about 1,600 events

# Words no vocabulary URI ends in (each starts with "q" and ends with a digit).
words = st.builds(
    lambda w, n: f"q{w}{n}", st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", max_size=6), st.integers(0, 9)
)
extension_key = st.builds(lambda p, w: f"{p}:{w}", st.sampled_from(sorted(base.NAMESPACES)), words)
leaves = st.one_of(words, base.numbers, base.epc, st.just("https://ns.example.com/x"))


def extension_value(depth: int = 0) -> st.SearchStrategy[object]:
    if depth >= 2:
        return leaves
    return st.one_of(
        leaves,
        st.dictionaries(extension_key, extension_value(depth + 1), min_size=1, max_size=3),
        st.lists(leaves, min_size=1, max_size=3),
    )


extensions = st.dictionaries(extension_key, st.deferred(extension_value), max_size=3)
scalar_extension = st.dictionaries(extension_key, leaves, max_size=1)


def _typed_first(field: str, kind: str, urn: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[list]:
    entry = st.builds(lambda t, v: {"type": t, field: v}, base.vocabulary(kind, urn), values)
    return st.lists(entry, min_size=1, max_size=3)


metadata_fields = base._optional(
    time=base._times(),
    startTime=base._times(),
    endTime=base._times(),
    deviceID=st.builds(lambda n: f"urn:epc:id:giai:4000001.{n}", st.integers(1, 9999)),
    deviceMetadata=st.just("https://id.gs1.org/8004/4000001111"),
    rawData=st.builds(lambda n: f"https://example.org/raw/{n}", st.integers(1, 99)),
    dataProcessingMethod=st.just("https://example.com/gdti/4012345000054987"),
    bizRules=st.just("https://id.gs1.org/253/4012345000054987"),
)
sensor_metadata = st.builds(lambda d, e: {**d, **e}, metadata_fields, scalar_extension)
report_fields = base._optional(
    type=base.vocabulary("measurementType"),
    exception=base.vocabulary("sensorAlertType"),
    deviceID=st.just("urn:epc:id:giai:4000001.111"),
    time=base._times(),
    microorganism=st.just("https://www.ncbi.nlm.nih.gov/taxonomy/1126011"),
    chemicalSubstance=st.just("https://identifiers.org/inchikey:CZMRCDWAGMRECN-UGDNZRGBSA-N"),
    value=base.numbers,
    component=base.vocabulary("component"),
    stringValue=words,
    hexBinaryValue=st.sampled_from(["f0f0f0", "0A1B"]),
    uriValue=st.just("https://example.org/uri"),
    minValue=base.numbers,
    maxValue=base.numbers,
    meanValue=base.numbers,
    sDev=base.numbers,
    percRank=base.numbers,
    percValue=base.numbers,
    uom=st.sampled_from(["CEL", "KGM", "A93", "C35"]),
    coordinateReferenceSystem=st.just("http://www.opengis.net/def/crs/EPSG/0/27700"),
)
sensor_report = st.builds(lambda d, e: {**d, **e}, report_fields, scalar_extension)
sensor_element = st.fixed_dictionaries(
    {"sensorReport": st.lists(sensor_report, min_size=1, max_size=3)}, optional={"sensorMetadata": sensor_metadata}
)
place = st.builds(lambda i, e: {"id": i, **e}, base.location, st.dictionaries(extension_key, words, max_size=1))
COMMON = {
    **base.COMMON,
    "readPoint": place,
    "bizLocation": place,
    "bizTransactionList": _typed_first(
        "bizTransaction",
        "bizTransactionType",
        "urn:epcglobal:cbv:btt:",
        st.builds(lambda n: f"urn:epcglobal:cbv:bt:0614141000005:{n}", st.integers(1, 999)),
    ),
    "sourceList": _typed_first("source", "sourceDestType", "urn:epcglobal:cbv:sdt:", base.party),
    "destinationList": _typed_first("destination", "sourceDestType", "urn:epcglobal:cbv:sdt:", base.party),
    "sensorElementList": st.lists(sensor_element, min_size=1, max_size=3),
    "certificationInfo": st.just("https://accreditation-council.example.org/certificate/ABC12345"),
}
# A unit without a quantity is a nil quantity in XML, which the reference hashes as a field of its own.
quantity = st.builds(
    lambda c, q, u: {"epcClass": c, **({"quantity": q, **({"uom": u} if u else {})} if q is not None else {})},
    base.epc_class,
    st.one_of(st.none(), base.numbers),
    st.sampled_from([None, "KGM", "LTR"]),
)
quantities = st.lists(quantity, min_size=1, max_size=3)
ilmd = st.dictionaries(extension_key, st.deferred(extension_value), min_size=1, max_size=3)
# What the XSD requires besides what the JSON schema requires.
XSD_REQUIRED = {"AssociationEvent": "parentID", "TransactionEvent": "bizTransactionList"}
SHAPES = {}
for name, (required, optional) in base.SHAPES.items():
    optional = {key: quantities if key.endswith("uantityList") else value for key, value in optional.items()}
    optional = {**optional, **({"ilmd": ilmd} if "ilmd" in optional else {})}
    needed = XSD_REQUIRED.get(name)
    if needed:
        required = {**required, needed: optional.get(needed, COMMON.get(needed))}
    SHAPES[name] = (required, optional)


@st.composite
def events(draw: st.DrawFn) -> dict:
    event_type = draw(st.sampled_from(sorted(SHAPES)))
    required, optional = SHAPES[event_type]
    rest = {k: v for k, v in {**optional, **COMMON}.items() if k not in required}
    fields = draw(st.fixed_dictionaries(required, optional=rest))
    event = {
        "type": event_type,
        "eventTime": draw(base._times()),
        "eventTimeZoneOffset": draw(base.offset),
        **fields,
        **draw(extensions),
    }
    order = draw(st.permutations(list(event)))
    return {key: event[key] for key in order}


documents = st.lists(events(), min_size=3, max_size=8).map(
    lambda evs: {
        "@context": [base.EPCIS_CONTEXT, *({k: v} for k, v in base.NAMESPACES.items())],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-01-01T00:00:00Z",
        "epcisBody": {"eventList": evs},
    }
)


def reference_xml_hashes(body: bytes, count: int) -> list[str] | None:
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        hashes = reference.epcis_hashes_from_events(reference_xml.event_list_from_epcis_document_str(body.decode()))
    except Exception:  # a document the reference cannot read has nothing to compare
        return None
    finally:
        logging.disable(previous)
    return hashes if len(hashes) == count else None


def project_hashes(document: dict) -> list[str]:
    events_ = document["epcisBody"]["eventList"]
    vocabulary = frozenset().union(*(vocabulary_uris(e) for e in events_))
    return [event_hash(e, context=document["@context"], vocabulary=vocabulary) for e in events_]


@settings(max_examples=DOCUMENTS, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(documents)
def test_an_event_read_from_xml_hashes_as_the_reference_hashes_the_xml(document):
    # given: the document written as EPCIS 2.0 XML, valid against GS1's XSD
    body = xml.write_document(document)
    xml.validate(xml.parse(body))
    # when: it is read back as a capture reads it
    captured = xml.read_document(body)
    # then: the reference's hash of the XML is the project's hash of what is stored
    count = len(document["epcisBody"]["eventList"])
    expected = reference_xml_hashes(body, count)
    computed = project_hashes(captured)
    if expected is not None:
        assert computed == expected
    # and the XML form of each event is the same event as its JSON form
    assert computed == project_hashes(document)
    # and what the JSON schema accepts from JSON it accepts from XML
    if not document_errors(document):
        assert document_errors(captured) == []
