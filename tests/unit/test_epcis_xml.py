"""The EPCIS XML binding's core: JSON-LD <-> XML as the standard maps them, XSD-checked, refusals."""

from __future__ import annotations

import json

import pytest
from lxml import etree

from tests.conftest import PROJECT_ROOT
from traceability.epcis.core import xml
from traceability.epcis.core.hashing import event_hash
from traceability.epcis.core.schema import document_errors

EXAMPLES = PROJECT_ROOT / "tests" / "data" / "epcis2_examples"
DATA = PROJECT_ROOT / "tests" / "data" / "epcis_xml"
GS1_EXAMPLES = sorted(p.name for p in EXAMPLES.glob("*.jsonld"))


def hashes(document: dict) -> list[str]:
    body = document["epcisBody"]
    events = body["eventList"] if "eventList" in body else body["queryResults"]["resultsBody"]["eventList"]
    return [event_hash(e, context=document["@context"]) for e in events]


@pytest.mark.parametrize("name", GS1_EXAMPLES)
def test_gs1_json_examples_written_as_xml_are_xsd_valid_and_read_back_to_the_same_events(name):
    # given
    document = json.loads((EXAMPLES / name).read_text())

    # when
    body = xml.write_document(document)
    back = xml.read_document(body)

    # then
    xml.validate(xml.parse(body))
    assert document_errors(back) == []
    assert hashes(back) == hashes(document)
    assert [e["type"] for e in back["epcisBody"]["eventList"]] == [
        e["type"] for e in document["epcisBody"]["eventList"]
    ]


def test_a_query_document_is_written_valid_against_the_query_xsd_and_read_back():
    document = json.loads((EXAMPLES / GS1_EXAMPLES[0]).read_text())
    query = {
        "@context": document["@context"],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-01-01T00:00:00Z",
        "epcisBody": {"queryResults": {"queryName": "SimpleEventQuery", "resultsBody": document["epcisBody"]}},
    }

    body = xml.write_document(query)

    root = xml.parse(body)
    assert root.tag == "{urn:epcglobal:epcis-query:xsd:2}EPCISQueryDocument"
    xml.validate(root)
    back = xml.read_document(body)
    assert back["type"] == "EPCISQueryDocument" and document_errors(back) == []
    assert back["epcisBody"]["queryResults"]["queryName"] == "SimpleEventQuery"
    assert hashes(back) == hashes(query)


def test_a_1_2_document_is_upgraded_with_the_extension_wrappers_opened():
    document = xml.read_document((DATA / "events-1.2.xml").read_bytes())

    events = document["epcisBody"]["eventList"]
    assert [e["type"] for e in events] == ["ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent"]
    assert events[0]["quantityList"][0]["quantity"] == 40
    assert events[1]["eventID"] == "urn:uuid:3b1f2a4e-9c7d-4e21-8a6b-5d2c1e0f9a77"
    assert events[0]["bizTransactionList"] == [
        {"type": "desadv", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:ASN-1"}
    ]
    assert document_errors(document) == []


def test_a_1_2_document_with_another_prefix_is_upgraded_too():
    original = (DATA / "events-1.2.xml").read_bytes()
    body = (
        original.replace(b"<epcis:", b"<e12:").replace(b"</epcis:", b"</e12:").replace(b"xmlns:epcis=", b"xmlns:e12=")
    )

    document = xml.read_document(body)

    assert len(document["epcisBody"]["eventList"]) == 4


def test_a_bare_event_is_read_with_its_namespaces_in_its_own_context():
    body = (
        b'<ObjectEvent xmlns:ex="https://ns.example.com/epcis/"><eventTime>2026-01-01T00:00:00Z</eventTime>'
        b"<eventTimeZoneOffset>+00:00</eventTimeZoneOffset><epcList><epc>urn:epc:id:sgtin:4012345.011111.1</epc>"
        b"</epcList><action>OBSERVE</action><ex:note a='1'>hi</ex:note></ObjectEvent>"
    )

    event = xml.read(body)

    assert event["@context"][1] == {"ex": "https://ns.example.com/epcis/"}
    assert event["ex:note"] == {"a": "1", "#text": "hi"}


def test_the_default_namespace_and_clashing_prefixes_get_prefixes_of_their_own():
    body = (
        (DATA / "every-event-type-2.0.xml")
        .read_bytes()
        .replace(
            b"<ex:batch>B-1001</ex:batch>",
            b'<batch xmlns="urn:example:default">B</batch><ex:x xmlns:ex="urn:example:other">y</ex:x>',
        )
    )

    document = xml.read_document(body)

    context = dict(pair for item in document["@context"][1:] for pair in item.items())
    event = document["epcisBody"]["eventList"][0]
    names = {key: context[key.split(":")[0]] for key in event if ":" in key and key.split(":")[0] in context}
    assert "urn:example:default" in names.values() and "urn:example:other" in names.values()
    assert names[next(k for k in names if k.endswith(":x"))] == "urn:example:other"


def test_an_undeclared_prefix_is_written_with_a_known_namespace_or_refused():
    document = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISQueryDocument",
        "epcisBody": {
            "queryResults": {
                "queryName": "SimpleEventQuery",
                "resultsBody": {
                    "eventList": [
                        {
                            "type": "ObjectEvent",
                            "eventTime": "2026-01-01T00:00:00Z",
                            "eventTimeZoneOffset": "+00:00",
                            "epcList": [],
                            "action": "OBSERVE",
                            "lt:withheld": True,
                        }
                    ]
                },
            }
        },
    }

    body = xml.write_document(document, known_prefixes={"lt": "https://ns.looptrace.example/epcis/"})

    assert etree.fromstring(body).find(".//{https://ns.looptrace.example/epcis/}withheld").text == "true"
    with pytest.raises(xml.XmlDocumentError) as refused:
        xml.write_document(document)
    assert refused.value.code == "xml_key_unmapped"


def test_an_unknown_event_element_is_refused_not_dropped():
    body = (
        (DATA / "every-event-type-2.0.xml")
        .read_bytes()
        .replace(b"</EventList>", b'<extension><ex:MyEvent xmlns:ex="urn:example:e"/></extension></EventList>')
    )

    with pytest.raises(xml.XmlDocumentError) as refused:
        xml.read_document(body)

    assert refused.value.code == "xml_event_type"


def test_a_schema_error_names_its_line():
    body = (
        (DATA / "every-event-type-2.0.xml").read_bytes().replace(b"<action>ADD</action>", b"<action>ADDED</action>", 1)
    )

    with pytest.raises(xml.XmlDocumentError) as refused:
        xml.read_document(body)

    assert refused.value.code == "xml_schema_invalid"
    assert refused.value.line == 15
    assert "line 15" in refused.value.message and "ADDED" in refused.value.message


def test_non_finite_sensor_values_are_refused():
    body = (DATA / "every-event-type-2.0.xml").read_bytes().replace(b'value="26"', b'value="INF"')

    with pytest.raises(xml.XmlDocumentError) as refused:
        xml.read_document(body)

    assert refused.value.code == "xml_value_invalid"
