"""The CBV 2.0 event hash equals GS1's reference implementation on generated events.

The reference is the Python package ``epcis-event-hash-generator`` 1.9.3 (a test
dependency, pinned in requirements-dev.txt). Hypothesis writes EPCIS 2.0 JSON documents
of every event type and field -- EPC and quantity lists, the three party lists, sensor
elements with metadata and reports, certification info, persistent dispositions, ILMD,
extensions with namespaces, error declarations, locations, times in any offset -- and both
hashes must agree byte for byte on every event the reference hashes (an event it cannot
hash, it leaves out of its answer: there is nothing to compare). The run is derandomized:
CI sees the same documents every time.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from traceability.epcis.core.hashing import event_hash, vocabulary_uris
from traceability.epcis.core.vocabulary import terms

reference = pytest.importorskip("epcis_event_hash_generator.hash_generator")
reference_json = pytest.importorskip("epcis_event_hash_generator.json_to_py")

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
NAMESPACES = {"ex": "https://ns.example.com/epcis/", "ext": "urn:example:ext:", "my": "http://my.example.org/voc/"}
EVENTS_PER_DOCUMENT = 12
DOCUMENTS = 150  # 6 to 12 events each: about 1,350 events


def reference_hashes(document: dict) -> list[str] | None:
    """The reference's hashes of a document's events, or None when it hashes not all of them."""
    reference_json._namespaces = {}  # the reference keeps declared prefixes between documents
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        events = reference_json.event_list_from_epcis_document_json(json.loads(json.dumps(document)))
        hashes = reference.epcis_hashes_from_events(events)
    except Exception:  # a document the reference cannot read has nothing to compare
        return None
    finally:
        logging.disable(previous)
    return hashes if len(hashes) == len(document["epcisBody"]["eventList"]) else None


# --- strategies ------------------------------------------------------------------------

words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzAB_-0123456789", min_size=1, max_size=8)
gcp = st.sampled_from(["0614141", "4012345", "9521141"])


def _times() -> st.SearchStrategy[str]:
    offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
    moments = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2099, 1, 1), timezones=st.just(UTC))
    digits = st.sampled_from(["seconds", "milliseconds", "microseconds"])

    def write(moment: datetime, zone: timezone, spec: str, zulu: bool) -> str:
        local = moment.astimezone(zone)
        if zulu and zone.utcoffset(None) == timedelta(0):
            return local.replace(tzinfo=None).isoformat(timespec=spec) + "Z"
        return local.isoformat(timespec=spec)

    return st.builds(write, moments, offsets, digits, st.booleans())


offset = st.sampled_from(["+00:00", "+01:00", "-06:00", "+05:30", "-10:00", "+14:00"])
sgtin = st.builds(
    lambda c, r, s: f"urn:epc:id:sgtin:{c}.{r}.{s}", gcp, st.sampled_from(["011111", "107346", "000001"]), words
)
sscc = st.builds(lambda c, s: f"urn:epc:id:sscc:{c}.{s:010d}", gcp, st.integers(0, 10**10 - 1))
dl = st.builds(
    lambda g, s: f"https://id.gs1.org/01/{g}/21/{s}", st.sampled_from(["09521141123454", "04012345111118"]), words
)
dl_foreign = st.builds(lambda s: f"https://example.com/01/10614141073464/21/{s}?src=label", words)
epc = st.one_of(sgtin, sscc, dl, dl_foreign, st.builds(lambda w: f"urn:example:thing:{w}", words))
epc_class = st.one_of(
    st.builds(lambda c, lot: f"urn:epc:class:lgtin:{c}.012345.{lot}", gcp, words),
    st.builds(lambda c: f"urn:epc:idpat:sgtin:{c}.012345.*", gcp),
    st.builds(lambda lot: f"https://id.gs1.org/01/09521141123454/10/{lot}", words),
)
numbers = st.one_of(
    st.integers(-(10**6), 10**6),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from([1.5, 10.0, 0.001, 1e-7, 2.50, 100]),
)
location = st.one_of(
    st.builds(lambda c, e: f"urn:epc:id:sgln:{c}.00001.{e}", gcp, st.sampled_from(["0", "400", "XYZ"])),
    st.builds(lambda g: f"https://id.gs1.org/414/{g}", st.sampled_from(["4012345000115", "0614141000005"])),
)
party = st.one_of(
    st.builds(lambda c: f"urn:epc:id:pgln:{c}.00000", gcp),
    st.builds(lambda g: f"https://id.gs1.org/417/{g}", st.sampled_from(["4012345000009", "0614141000005"])),
)


def vocabulary(kind: str, urn: str | None = None) -> st.SearchStrategy[str]:
    bare = sorted(terms(kind))
    choices = [st.sampled_from(bare), st.sampled_from(bare).map(terms(kind).get)]
    if urn:
        choices.append(st.sampled_from(bare).map(lambda w: urn + w))
    return st.one_of(*choices)


biz_step = vocabulary("bizStep", "urn:epcglobal:cbv:bizstep:")
disposition = vocabulary("disposition", "urn:epcglobal:cbv:disp:")


def extension_value(depth: int = 0) -> st.SearchStrategy[object]:
    leaves = st.one_of(words, numbers, st.booleans(), epc, st.sampled_from(["ex:coded", "https://ns.example.com/x"]))
    if depth >= 2:
        return leaves
    return st.one_of(
        leaves,
        st.dictionaries(extension_key, extension_value(depth + 1), min_size=1, max_size=3),
        st.lists(leaves, min_size=1, max_size=3),
    )


extension_key = st.builds(lambda p, w: f"{p}:{w}", st.sampled_from(sorted(NAMESPACES)), words)
extensions = st.dictionaries(extension_key, st.deferred(extension_value), max_size=3)
one_extension = st.dictionaries(extension_key, st.deferred(extension_value), max_size=1)


def _entry(field: str, kind: str, urn: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[dict]:
    def write(kind_value: str, value: str, type_first: bool) -> dict:
        pairs = [("type", kind_value), (field, value)]
        return dict(pairs if type_first else reversed(pairs))

    return st.builds(write, vocabulary(kind, urn), values, st.booleans())


biz_transactions = st.lists(
    _entry("bizTransaction", "bizTransactionType", "urn:epcglobal:cbv:btt:", st.one_of(
        st.builds(lambda n: f"urn:epcglobal:cbv:bt:0614141000005:{n}", st.integers(1, 999)),
        st.builds(lambda n: f"https://id.gs1.org/253/4012345111118{n}", st.integers(100, 999)),
    )),
    min_size=1, max_size=3,
)  # fmt: skip
sources = st.lists(_entry("source", "sourceDestType", "urn:epcglobal:cbv:sdt:", party), min_size=1, max_size=3)
destinations = st.lists(
    _entry("destination", "sourceDestType", "urn:epcglobal:cbv:sdt:", party), min_size=1, max_size=3
)


def _optional(**fields: st.SearchStrategy) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries({}, optional=fields)


sensor_metadata = _optional(
    time=_times(),
    startTime=_times(),
    endTime=_times(),
    deviceID=st.builds(lambda n: f"urn:epc:id:giai:4000001.{n}", st.integers(1, 9999)),
    deviceMetadata=st.just("https://id.gs1.org/8004/4000001111"),
    rawData=st.builds(lambda n: f"https://example.org/raw/{n}", st.integers(1, 99)),
    dataProcessingMethod=st.just("https://example.com/gdti/4012345000054987"),
    bizRules=st.just("https://id.gs1.org/253/4012345000054987"),
)
sensor_metadata = st.builds(lambda d, e: {**d, **e}, sensor_metadata, one_extension)
sensor_report = _optional(
    type=vocabulary("measurementType"),
    exception=vocabulary("sensorAlertType"),
    deviceID=st.just("urn:epc:id:giai:4000001.111"),
    time=_times(),
    microorganism=st.just("https://www.ncbi.nlm.nih.gov/taxonomy/1126011"),
    chemicalSubstance=st.just("https://identifiers.org/inchikey:CZMRCDWAGMRECN-UGDNZRGBSA-N"),
    value=numbers,
    component=vocabulary("component"),
    stringValue=words,
    booleanValue=st.booleans(),
    hexBinaryValue=st.sampled_from(["f0f0f0", "0A1B"]),
    uriValue=st.just("https://example.org/uri"),
    minValue=numbers,
    maxValue=numbers,
    meanValue=numbers,
    sDev=numbers,
    percRank=numbers,
    percValue=numbers,
    uom=st.sampled_from(["CEL", "KGM", "A93", "C35"]),
    coordinateReferenceSystem=st.just("http://www.opengis.net/def/crs/EPSG/0/27700"),
)
sensor_report = st.builds(lambda d, e: {**d, **e}, sensor_report, one_extension)
sensor_element = st.fixed_dictionaries(
    {"sensorReport": st.lists(sensor_report, min_size=1, max_size=3)}, optional={"sensorMetadata": sensor_metadata}
)
quantity = st.builds(
    lambda c, q, u: {"epcClass": c, **({"quantity": q} if q is not None else {}), **({"uom": u} if u else {})},
    epc_class,
    st.one_of(st.none(), numbers),
    st.sampled_from([None, "KGM", "LTR"]),
)
quantities = st.lists(quantity, min_size=1, max_size=3)
epcs = st.lists(epc, min_size=1, max_size=4)
place = st.builds(lambda i, e: {"id": i, **e}, location, st.dictionaries(extension_key, words, max_size=1))
error_declaration = _optional(
    reason=vocabulary("errorReason", "urn:epcglobal:cbv:er:"),
    correctiveEventIDs=st.lists(st.just("urn:uuid:404d95fc-9457-4a51-bd6a-0bba133845a8"), max_size=1),
).map(lambda d: {"declarationTime": "2024-01-01T00:00:00Z", **d})

COMMON = {
    "bizStep": biz_step,
    "disposition": disposition,
    "readPoint": place,
    "bizLocation": place,
    "bizTransactionList": biz_transactions,
    "sourceList": sources,
    "destinationList": destinations,
    "sensorElementList": st.lists(sensor_element, min_size=1, max_size=3),
    "certificationInfo": st.one_of(
        st.just("https://accreditation-council.example.org/certificate/ABC12345"),
        st.lists(st.builds(lambda n: f"https://cert.example.org/{n}", st.integers(1, 99)), min_size=1, max_size=2),
    ),
    "persistentDisposition": st.fixed_dictionaries(
        {"set": st.lists(disposition, min_size=1, max_size=2)}, optional={"unset": st.lists(disposition, max_size=2)}
    ),
    "errorDeclaration": error_declaration,
    "eventID": st.builds(lambda n: f"ni:///sha-256;{n:064x}?ver=CBV2.0", st.integers(0, 2**64)),
    "recordTime": _times(),
}
action = st.sampled_from(["ADD", "OBSERVE", "DELETE"])
ilmd = st.dictionaries(extension_key, st.deferred(extension_value), min_size=1, max_size=3)
SHAPES = {
    "ObjectEvent": ({"action": action}, {"epcList": epcs, "quantityList": quantities, "ilmd": ilmd}),
    "AggregationEvent": (
        {"action": action},
        {"parentID": sscc, "childEPCs": epcs, "childQuantityList": quantities},
    ),
    "TransactionEvent": ({"action": action}, {"parentID": sscc, "epcList": epcs, "quantityList": quantities}),
    "TransformationEvent": (
        {},
        {
            "inputEPCList": epcs,
            "inputQuantityList": quantities,
            "outputEPCList": epcs,
            "outputQuantityList": quantities,
            "transformationID": st.just("urn:epc:id:gdti:0614141.12345.400"),
            "ilmd": ilmd,
        },
    ),
    "AssociationEvent": (
        {"action": action},
        {"parentID": location, "childEPCs": epcs, "childQuantityList": quantities},
    ),
}


@st.composite
def events(draw: st.DrawFn) -> dict:
    event_type = draw(st.sampled_from(sorted(SHAPES)))
    required, optional = SHAPES[event_type]
    moment = draw(_times())
    fields = draw(st.fixed_dictionaries(required, optional={**optional, **COMMON}))
    event = {"type": event_type, "eventTime": moment, "eventTimeZoneOffset": draw(offset), **fields, **draw(extensions)}
    keys = list(event)
    order = draw(st.permutations(keys))
    return {key: event[key] for key in order}


documents = st.lists(events(), min_size=6, max_size=EVENTS_PER_DOCUMENT).map(
    lambda evs: {
        "@context": [EPCIS_CONTEXT, *({k: v} for k, v in NAMESPACES.items())],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-01-01T00:00:00Z",
        "epcisBody": {"eventList": evs},
    }
)


@settings(max_examples=DOCUMENTS, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(documents)
def test_the_event_hash_equals_the_reference_implementation(document):
    expected = reference_hashes(document)
    if expected is None:
        return  # the reference hashes not all of its events: nothing to compare
    context = document["@context"]
    events_ = document["epcisBody"]["eventList"]
    document_vocabulary = frozenset().union(*(vocabulary_uris(e) for e in events_))
    computed = [event_hash(e, context=context, vocabulary=document_vocabulary) for e in events_]
    assert computed == expected


def test_the_hand_written_pre_hash_example_is_the_reference_hash():
    from tests.unit.test_epcis_hash import SENSOR_EVENT

    context = [EPCIS_CONTEXT, {"ex": "https://ns.example.com/"}]
    document = {"@context": context, "type": "EPCISDocument", "epcisBody": {"eventList": [SENSOR_EVENT]}}
    assert reference_hashes(document) == [event_hash(SENSOR_EVENT, context=context)]
