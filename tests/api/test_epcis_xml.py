"""EPCIS XML binding over HTTP: XML capture (2.0 and 1.2), XML query answers, refusals."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from lxml import etree
from rest_framework.test import APIClient

from tests.api.test_epcis_capture import CONTEXT, capture, client_for, document, foreign_event, job_of
from tests.conftest import PROJECT_ROOT
from traceability.epcis.core import xml
from traceability.epcis.core.hashing import event_hash
from traceability.models import CaptureJob, EpcisEvent
from traceability.selectors import ledger_size

pytestmark = pytest.mark.django_db

DATA = PROJECT_ROOT / "tests" / "data" / "epcis_xml"
EVERY_TYPE = (DATA / "every-event-type-2.0.xml").read_bytes()
VERSION_1_2 = (DATA / "events-1.2.xml").read_bytes()
QUERY_XSD = PROJECT_ROOT / "traceability" / "data" / "epcis2" / "xsd" / "2.0" / "EPCglobal-epcis-query-2_0.xsd"
EPCIS_XSD = PROJECT_ROOT / "traceability" / "data" / "epcis2" / "xsd" / "2.0" / "EPCglobal-epcis-2_0.xsd"


def capture_xml(client: APIClient, body: bytes, content_type: str = "application/xml", **headers: str):
    return client.post("/epcis/capture", body, content_type=content_type, **headers)


def events_of(answer) -> list[dict]:
    return answer.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def query_xml(client: APIClient, path: str) -> etree._Element:
    answer = client.get(path, HTTP_ACCEPT="application/xml")
    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"].startswith("application/xml")
    root = etree.fromstring(answer.content)
    schema = etree.XMLSchema(etree.parse(str(QUERY_XSD)))
    assert schema.validate(root), schema.error_log
    return root


def stored_hashes(partner) -> set[str]:
    return set(EpcisEvent.objects.filter(organisation=partner.organisation).values_list("event_hash", flat=True))


def test_a_2_0_xml_document_of_every_event_type_is_captured_and_queried_back_as_json_and_xml(partner):
    # given
    client = client_for(partner)
    expected = xml.read_document(EVERY_TYPE)
    expected_events = expected["epcisBody"]["eventList"]

    # when
    job = job_of(client, capture_xml(client, EVERY_TYPE))

    # then: every event is stored, with the hash its JSON-LD form has
    assert job["success"] is True and job["capturedCount"] == 5, job
    hashes = [event_hash(e, context=expected["@context"]) for e in expected_events]
    assert stored_hashes(partner) == set(hashes)
    types = {e["type"] for e in expected_events}
    assert types == {"ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent"}
    # and the JSON query answers the events as the JSON binding writes them
    for event, digest in zip(expected_events, hashes, strict=True):
        answer = client.get("/epcis/events/" + quote(digest, safe=""))
        assert answer.status_code == 200, answer.content
        (returned,) = events_of(answer)
        # an event sent without an eventID is answered with its hash as its eventID
        assert returned == (event if "eventID" in event else {**event, "eventID": digest})
    (sensor_event,) = [e for e in expected_events if "sensorElementList" in e]
    reports = sensor_event["sensorElementList"][0]["sensorReport"]
    assert reports[0] == {"type": "Temperature", "value": 26, "uom": "CEL", "sDev": 0.1}
    assert reports[1]["ex:probe"] == "north" and reports[2]["booleanValue"] is True
    assert sensor_event["bizStep"] == "commissioning"
    assert sensor_event["ilmd"]["ex:composition"] == {"ex:alloy": "AlSi10Mg", "ex:share": "0.92"}
    assert sensor_event["quantityList"][1] == {"epcClass": "urn:epc:class:lgtin:4012345.012345.LOT-10"}
    # and the XML query answers an EPCISQueryDocument valid against GS1's query XSD, holding all five
    root = query_xml(client, "/epcis/events?perPage=50")
    event_list = root.find("EPCISBody/{urn:epcglobal:epcis-query:xsd:2}QueryResults/resultsBody/EventList")
    assert sorted(e.tag for e in event_list) == sorted(types)
    read_back = xml.to_json_ld(root)["epcisBody"]["queryResults"]["resultsBody"]["eventList"]  # type: ignore[index]
    assert {event_hash(e, context=xml.to_json_ld(root)["@context"]) for e in read_back} == set(hashes)


def test_one_event_by_id_is_answered_as_xml(partner):
    client = client_for(partner)
    job_of(client, capture_xml(client, EVERY_TYPE))

    root = query_xml(client, "/epcis/events/" + quote("urn:uuid:6f8e3a52-2f6e-4a3b-9d52-2b7d1c0e9a10", safe=""))

    (event,) = root.find("EPCISBody/{urn:epcglobal:epcis-query:xsd:2}QueryResults/resultsBody/EventList")
    assert event.tag == "AssociationEvent"
    assert event.findtext("parentID") == "urn:epc:id:grai:4012345.55555.1"
    assert event.findtext("bizStep") == "https://ref.gs1.org/cbv/BizStep-assembling"


def test_text_xml_is_read_too(partner):
    client = client_for(partner)

    job = job_of(client, capture_xml(client, EVERY_TYPE, content_type="text/xml; charset=utf-8"))

    assert job["capturedCount"] == 5


def test_a_1_2_xml_document_is_upgraded_to_2_0_and_captured(partner):
    # given
    client = client_for(partner)

    # when
    job = job_of(client, capture_xml(client, VERSION_1_2))

    # then: the 1.2 extension wrappers are gone, the TransformationEvent is an event like the others
    assert job["success"] is True and job["capturedCount"] == 4, job
    answer = client.get("/epcis/events?perPage=50")
    events = {e["type"]: e for e in events_of(answer)}
    assert set(events) == {"ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent"}
    observed = events["ObjectEvent"]
    assert observed["quantityList"] == [
        {"epcClass": "urn:epc:class:lgtin:4012345.012345.LOT-12", "quantity": 40, "uom": "KGM"}
    ]
    assert observed["sourceList"] == [{"type": "possessing_party", "source": "urn:epc:id:pgln:4012345.00000"}]
    assert observed["bizStep"] == "receiving" and observed["ex:batch"] == "B-2001"
    assert events["TransformationEvent"]["ilmd"] == {"ex:alloy": "AlSi9Cu3"}


def test_an_event_captured_as_xml_after_json_is_a_duplicate_with_the_same_hash(partner):
    # given: an event of every field kind captured as JSON
    client = client_for(partner)
    event = foreign_event(
        7,
        action="ADD",
        quantityList=[{"epcClass": "urn:epc:class:lgtin:4012345.012345.L1", "quantity": 2.5, "uom": "KGM"}],
        bizTransactionList=[{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:PO-1"}],
        sensorElementList=[{"sensorReport": [{"type": "Temperature", "value": 21.5, "uom": "CEL"}]}],
        ilmd={"ex:alloy": "AlSi7Mg"},
    )
    json_document = document(event)
    first = job_of(client, capture(client, json_document))
    assert first["capturedCount"] == 1
    size = ledger_size()

    # when: the same event arrives as XML
    body = xml.write_document(json_document)
    second = job_of(client, capture_xml(client, body))

    # then: it is the same event: counted as a duplicate, nothing stored
    assert second["success"] is True and second["duplicateCount"] == 1 and second["capturedCount"] == 0
    assert ledger_size() == size
    assert stored_hashes(partner) == {event_hash(event, context=CONTEXT)}
    assert event_hash(xml.read_document(body)["epcisBody"]["eventList"][0], context=CONTEXT) == event_hash(
        event, context=CONTEXT
    )


def test_one_xml_event_is_captured_synchronously_and_a_second_time_conflicts(partner):
    client = client_for(partner)
    event = foreign_event(9)
    body = xml.write_document(document(event))
    (element,) = etree.fromstring(body).find("EPCISBody/EventList")
    single = etree.tostring(element)

    created = client.post("/epcis/events", single, content_type="application/xml")
    again = client.post("/epcis/events", single, content_type="application/xml")

    assert created.status_code == 201, created.content
    assert again.status_code == 409
    assert stored_hashes(partner) == {event_hash(event, context=CONTEXT)}


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" creationDate="2026-01-01T00:00:00Z">
<EPCISBody><EventList><ObjectEvent><eventTime>2026-01-01T00:00:00Z</eventTime>
<eventTimeZoneOffset>+00:00</eventTimeZoneOffset><epcList><epc>&lol9;</epc></epcList><action>ADD</action>
</ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" creationDate="2026-01-01T00:00:00Z">
<EPCISBody><EventList><ObjectEvent><eventTime>2026-01-01T00:00:00Z</eventTime>
<eventTimeZoneOffset>+00:00</eventTimeZoneOffset><epcList><epc>&secret;</epc></epcList><action>ADD</action>
</ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>"""
# No action: the XSD requires one.
XSD_INVALID = b"""<?xml version="1.0"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" creationDate="2026-01-01T00:00:00Z">
<EPCISBody>
<EventList>
<ObjectEvent>
<eventTime>2026-01-01T00:00:00Z</eventTime>
<eventTimeZoneOffset>+00:00</eventTimeZoneOffset>
<epcList><epc>urn:epc:id:sgtin:4012345.011111.1</epc></epcList>
<bizStep>https://ref.gs1.org/cbv/BizStep-shipping</bizStep>
</ObjectEvent>
</EventList>
</EPCISBody>
</epcis:EPCISDocument>"""


def utf16(body: bytes) -> bytes:
    """The same document in UTF-16, where a byte search for a DOCTYPE finds nothing."""
    return body.decode().replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>').encode("utf-16")


@pytest.mark.parametrize(
    ("body", "code", "line"),
    [
        (b"<epcis:EPCISDocument xmlns:epcis='urn:epcglobal:epcis:xsd:2'><EPCISBody>", "xml_malformed", 1),
        (b"", "epcis_document_invalid", None),
        (BOMB, "xml_doctype_refused", None),
        (utf16(BOMB), "xml_malformed", None),  # the parser's amplification limit stops it first
        (EXTERNAL_ENTITY, "xml_doctype_refused", None),
        (utf16(EXTERNAL_ENTITY), "xml_doctype_refused", None),
        (XSD_INVALID, "xml_schema_invalid", 9),
        (b"<other xmlns='urn:example'/>", "xml_document_type", 1),
    ],
    ids=[
        "malformed",
        "empty",
        "entity-bomb",
        "entity-bomb-utf16",
        "external-entity",
        "external-entity-utf16",
        "xsd-invalid",
        "not-epcis",
    ],
)
def test_bad_xml_gets_a_400_problem_naming_the_line_and_nothing_is_stored(partner, body, code, line):
    client = client_for(partner)
    size = ledger_size()

    answer = capture_xml(client, body)

    assert answer.status_code == 400, answer.content
    problem = answer.json()
    assert problem["type"] == "epcisException:ValidationException" and problem["status"] == 400
    assert problem["code"] == code and problem["title"] == code
    assert "etc/passwd" not in answer.content.decode() and "root:" not in answer.content.decode()
    if line is not None:
        assert problem["line"] == line
        assert f"line {line}" in problem["detail"] or code != "xml_schema_invalid"
    if code == "xml_schema_invalid":
        assert "action" in problem["detail"]
    assert ledger_size() == size
    assert not CaptureJob.objects.filter(organisation=partner.organisation).exists()


def test_a_1_2_quantity_event_has_no_2_0_form_and_is_refused(partner):
    body = VERSION_1_2.replace(
        b"<AggregationEvent>",
        b"<QuantityEvent><eventTime>2026-09-01T09:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>"
        b"<epcClass>urn:epc:class:lgtin:4012345.012345.L</epcClass><quantity>5</quantity></QuantityEvent>"
        b"<AggregationEvent>",
        1,
    )
    size = ledger_size()

    answer = capture_xml(client_for(partner), body)

    assert answer.status_code == 400, answer.content
    assert answer.json()["code"] == "xml_1_2_not_convertible"
    assert ledger_size() == size


def test_an_unsupported_content_type_gets_415(partner):
    answer = client_for(partner).post("/epcis/capture", EVERY_TYPE, content_type="text/plain")

    assert answer.status_code == 415
    assert answer.json()["type"] == "epcisException:UnsupportedMediaTypeException"


def test_a_problem_asked_for_as_xml_is_an_epcis_exception(partner):
    answer = client_for(partner).get("/epcis/events/urn:uuid:nothing-here", HTTP_ACCEPT="application/xml")

    assert answer.status_code == 404
    root = etree.fromstring(answer.content)
    assert root.tag == "{urn:epcglobal:epcis:xsd:2}EPCISException"
    assert root.findtext("type") == "epcisException:NoSuchResourceException"
    schema = etree.XMLSchema(etree.parse(str(EPCIS_XSD)))
    assert schema.validate(root), schema.error_log


def test_xml_queries_see_only_what_the_reader_may_see(partner):
    # given: another organisation's event
    from tests.factories import make_partner

    other = make_partner("other-caster", role="remelter")
    job_of(client_for(other), capture(client_for(other), document(foreign_event(3))))

    # when
    root = query_xml(client_for(partner), "/epcis/events?perPage=50")

    # then
    event_list = root.find("EPCISBody/{urn:epcglobal:epcis-query:xsd:2}QueryResults/resultsBody/EventList")
    assert len(event_list) == 0


def test_json_capture_still_reads_json(partner):
    client = client_for(partner)

    answer = client.post("/epcis/capture", json.dumps(document(foreign_event(5))), content_type="application/json")

    job = job_of(client, answer)

    assert job["capturedCount"] == 1


def test_an_xml_query_answer_captured_again_is_all_duplicates(partner):
    # given: the XML EPCISQueryDocument answering a query
    client = client_for(partner)
    job_of(client, capture_xml(client, EVERY_TYPE))
    answer = client.get("/epcis/events?perPage=50", HTTP_ACCEPT="application/xml")
    size = ledger_size()

    # when: it is captured as it came
    job = job_of(client, capture_xml(client, answer.content))

    # then: the same five events, nothing stored again
    assert job["success"] is True and job["duplicateCount"] == 5 and job["capturedCount"] == 0, job
    assert ledger_size() == size


def test_capture_jobs_have_no_xml_form(partner):
    answer = client_for(partner).get("/epcis/capture", HTTP_ACCEPT="application/xml")

    assert answer.status_code == 406
    assert etree.fromstring(answer.content).findtext("type") == "epcisException:NotAcceptableException"


def test_a_named_query_is_answered_as_xml_with_its_name(partner):
    # given
    client = client_for(partner)
    job_of(client, capture_xml(client, EVERY_TYPE))
    created = client.post(
        "/epcis/queries",
        json.dumps({"name": "associations", "query": {"eventType": ["AssociationEvent"]}}),
        content_type="application/json",
    )
    assert created.status_code == 201, created.content

    # when
    root = query_xml(client, "/epcis/queries/associations/events")

    # then
    results = root.find("EPCISBody/{urn:epcglobal:epcis-query:xsd:2}QueryResults")
    assert results.findtext("queryName") == "associations"
    assert [event.tag for event in results.find("resultsBody/EventList")] == ["AssociationEvent"]
