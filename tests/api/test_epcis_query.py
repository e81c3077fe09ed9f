"""EPCIS 2.0 queries: each standard parameter, paging and who sees what."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.api.test_epcis_capture import CONTEXT, capture, client_for, document, job_of
from tests.factories import make_partner

pytestmark = pytest.mark.django_db

EVENTS = [
    {
        "type": "ObjectEvent",
        "eventID": "urn:uuid:00000000-0000-4000-8000-00000000000a",
        "eventTime": "2026-10-01T08:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "epcList": ["urn:epc:id:sgtin:4012345.011111.1", "urn:epc:id:sgtin:4012345.011111.2"],
        "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.LOT7", "quantity": 5, "uom": "KGM"}],
        "action": "OBSERVE",
        "bizStep": "shipping",
        "disposition": "in_transit",
        "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"},
        "bizLocation": {"id": "urn:epc:id:sgln:4012345.00000.0"},
    },
    {
        "type": "AggregationEvent",
        "eventID": "urn:uuid:00000000-0000-4000-8000-00000000000b",
        "eventTime": "2026-10-02T08:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "parentID": "urn:epc:id:sscc:4012345.0000000001",
        "childEPCs": ["urn:epc:id:sgtin:4012345.011111.3"],
        "action": "ADD",
        "bizStep": "packing",
    },
    {
        "type": "TransformationEvent",
        "eventID": "urn:uuid:00000000-0000-4000-8000-00000000000c",
        "eventTime": "2026-10-03T08:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "inputEPCList": ["urn:epc:id:sgtin:4012345.011111.4"],
        "inputQuantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.IN1", "quantity": 10, "uom": "KGM"}],
        "outputEPCList": ["urn:epc:id:sgtin:4012345.022222.5"],
        "outputQuantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.OUT1", "quantity": 9, "uom": "KGM"}],
        "transformationID": "urn:uuid:0f3c2a96-5c1d-4e8a-9a43-3d9b8c1e0002",
        "bizStep": "commissioning",
        "disposition": "active",
    },
]


@pytest.fixture
def stored(partner):
    job = job_of(client_for(partner), capture(client_for(partner), document(*EVENTS)))
    assert job["success"] is True
    return partner


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    events = response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    return [e["eventID"][-1] for e in events]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["a", "b", "c"]),
        ({"eventType": "AggregationEvent|TransformationEvent"}, ["b", "c"]),
        ({"GE_eventTime": "2026-10-02T08:00:00Z"}, ["b", "c"]),
        ({"LT_eventTime": "2026-10-02T10:00:00+02:00"}, ["a"]),
        ({"GE_recordTime": "2000-01-01T00:00:00Z"}, ["a", "b", "c"]),
        ({"LT_recordTime": "2000-01-01T00:00:00Z"}, []),
        ({"EQ_action": "ADD"}, ["b"]),
        ({"EQ_bizStep": "shipping|packing"}, ["a", "b"]),
        ({"EQ_bizStep": "https://ref.gs1.org/cbv/BizStep-commissioning"}, ["c"]),
        ({"EQ_disposition": "in_transit"}, ["a"]),
        ({"EQ_readPoint": "urn:epc:id:sgln:4012345.00001.0"}, ["a"]),
        ({"EQ_bizLocation": "urn:epc:id:sgln:4012345.00000.0"}, ["a"]),
        ({"EQ_transformationID": "urn:uuid:0f3c2a96-5c1d-4e8a-9a43-3d9b8c1e0002"}, ["c"]),
        ({"MATCH_epc": "urn:epc:id:sgtin:4012345.011111.2"}, ["a"]),
        ({"MATCH_epc": "urn:epc:id:sgtin:4012345.011111.3"}, ["b"]),
        ({"MATCH_epc": "https://id.gs1.org/01/04012345111118/21/1"}, ["a"]),
        ({"MATCH_epc": "urn:epc:idpat:sgtin:4012345.011111.*"}, ["a", "b"]),
        ({"MATCH_parentID": "urn:epc:id:sscc:4012345.0000000001"}, ["b"]),
        ({"MATCH_inputEPC": "urn:epc:id:sgtin:4012345.011111.4"}, ["c"]),
        ({"MATCH_outputEPC": "urn:epc:id:sgtin:4012345.022222.5"}, ["c"]),
        ({"MATCH_anyEPC": "urn:epc:id:sgtin:4012345.022222.5|urn:epc:id:sscc:4012345.0000000001"}, ["b", "c"]),
        ({"MATCH_epcClass": "urn:epc:class:lgtin:4012345.012345.LOT7"}, ["a"]),
        ({"MATCH_inputEPCClass": "urn:epc:class:lgtin:4012345.012345.IN1"}, ["c"]),
        ({"MATCH_outputEPCClass": "urn:epc:class:lgtin:4012345.012345.OUT1"}, ["c"]),
        ({"MATCH_anyEPCClass": "urn:epc:class:lgtin:4012345.012345.OUT1"}, ["c"]),
        ({"EQ_eventID": "urn:uuid:00000000-0000-4000-8000-00000000000b"}, ["b"]),
        ({"eventType": "ObjectEvent", "EQ_bizStep": "packing"}, []),
    ],
)
def test_each_query_parameter_filters(stored, params, expected):
    assert ids(client_for(stored).get("/epcis/events", params)) == expected


def test_pages_follow_the_link_header(stored):
    client = client_for(stored)
    first = client.get("/epcis/events", {"perPage": 2})
    link = first["Link"]
    assert link.endswith('>; rel="next"')
    query = parse_qs(urlsplit(link[1 : link.index(">")]).query)
    second = client.get("/epcis/events", {"perPage": 2, "nextPageToken": query["nextPageToken"][0]})

    assert ids(first) == ["a", "b"]
    assert ids(second) == ["c"]
    assert "Link" not in second


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"GE_eventTime": "yesterday"}, "query_parameter_invalid"),
        ({"perPage": "0"}, "query_parameter_invalid"),
        ({"nextPageToken": "!!!"}, "query_parameter_invalid"),
        ({"EQ_quantity": "5"}, "query_parameter_unsupported"),
    ],
)
def test_bad_query_parameters_get_400(stored, params, code):
    response = client_for(stored).get("/epcis/events", params)
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_partners_see_their_own_events_and_regulators_all(stored):
    stranger = make_partner("stranger-cast", role="die_caster")
    regulator = make_partner("market-watch", role="regulator")

    assert ids(client_for(stranger).get("/epcis/events")) == []
    assert client_for(stranger).get("/epcis/events/urn:uuid:00000000-0000-4000-8000-00000000000a").status_code == 404
    assert ids(client_for(regulator).get("/epcis/events")) == ["a", "b", "c"]


def test_query_results_are_an_epcis_query_document(stored):
    from traceability.epcis.core.schema import document_errors

    body = client_for(stored).get("/epcis/events").json()

    assert body["type"] == "EPCISQueryDocument"
    assert document_errors(body) == []
    assert json.dumps(body["@context"]).count("https://ns.example.com/epcis/") == 1
    assert body["@context"] == [CONTEXT[0], CONTEXT[1]]


def test_an_event_captured_without_an_event_id_is_named_by_its_hash_and_found_by_it(partner):
    from urllib.parse import quote

    from tests.api.test_epcis_capture import foreign_event
    from traceability.epcis.core.hashing import event_hash

    # given: an event with no eventID of its own
    client = client_for(partner)
    event = foreign_event(7)
    assert job_of(client, capture(client, document(event)))["success"] is True
    digest = event_hash(event, context=CONTEXT)

    # when
    listed = client.get("/epcis/events").json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    fetched = client.get("/epcis/events/" + quote(digest, safe=""))
    missing = client.get("/epcis/events/" + quote(digest.replace("sha-256;", "sha-256;0"), safe=""))

    # then: the results name it by its CBV 2.0 hash, and that id fetches it
    assert [e["eventID"] for e in listed] == [digest]
    assert listed[0]["ex:batch"] == "B-7"
    assert fetched.status_code == 200
    assert fetched.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"][0]["eventID"] == digest
    assert missing.status_code == 404
