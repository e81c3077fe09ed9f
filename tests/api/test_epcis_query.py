"""EPCIS 2.0 queries: each standard parameter, paging and who sees what."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.api.test_epcis_capture import CONTEXT, capture, client_for, document, foreign_event, job_of
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
        ({"EQ_INNER_quantity": "5"}, "query_parameter_unsupported"),
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


# --- parameters answered from the stored event and from master data ----------------------

RICH = [
    {
        "type": "ObjectEvent",
        "eventID": "urn:uuid:00000000-0000-4000-8000-00000000001d",
        "eventTime": "2026-10-04T08:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "epcList": [],
        "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.R1", "quantity": 20, "uom": "KGM"}],
        "action": "ADD",
        "bizStep": "commissioning",
        "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.7"},
        "bizLocation": {"id": "urn:epc:id:sgln:4012345.00009.0"},
        "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:PO-1"}],
        "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:4012345.00001"}],
        "destinationList": [{"type": "location", "destination": "urn:epc:id:sgln:4012345.00002.0"}],
        "persistentDisposition": {"set": ["completeness_verified"], "unset": ["completeness_inferred"]},
        "ilmd": {"ex:alloy": "AlSi10Mg", "ex:batchSize": 12},
        "sensorElementList": [
            {
                "sensorMetadata": {"bizRules": "https://ns.example.com/rules/1"},
                "sensorReport": [{"type": "Temperature", "deviceID": "urn:epc:id:giai:4012345.1", "value": 21}],
            }
        ],
        "certificationInfo": "https://ns.example.com/cert/1",
        "ex:grade": "A",
        "ex:shift": 2,
    },
    {
        "type": "ObjectEvent",
        "eventID": "urn:uuid:00000000-0000-4000-8000-00000000001e",
        "eventTime": "2026-10-05T08:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "epcList": ["urn:epc:id:sgtin:4012345.011111.9"],
        "action": "OBSERVE",
        "readPoint": {"id": "urn:epc:id:sgln:4012345.00077.0"},
        "ex:grade": "B",
    },
]
# The location hierarchy the capture document's master data declares.
MASTER_DATA = {
    "epcisMasterData": {
        "vocabularyList": [
            {
                "type": "urn:epcglobal:epcis:vtype:ReadPoint",
                "vocabularyElementList": [
                    {"id": "urn:epc:id:sgln:4012345.00001.0", "children": ["urn:epc:id:sgln:4012345.00001.5"]},
                    {"id": "urn:epc:id:sgln:4012345.00001.5", "children": ["urn:epc:id:sgln:4012345.00001.7"]},
                ],
            }
        ]
    }
}


@pytest.fixture
def rich(stored):
    body = {**document(*RICH), "epcisHeader": MASTER_DATA}
    assert job_of(client_for(stored), capture(client_for(stored), body))["success"] is True
    return stored


def rich_ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    events = response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    return [e["eventID"][-2:] for e in events]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"EQ_quantity": "5"}, ["0a"]),
        ({"EQ_quantity": "6"}, []),
        ({"GT_quantity": "9"}, ["0c", "1d"]),
        ({"GE_quantity": "9"}, ["0c", "1d"]),
        ({"LT_quantity": "9"}, ["0a"]),
        ({"LE_quantity": "9"}, ["0a", "0c"]),
        ({"GT_quantity": "9", "LT_quantity": "20"}, ["0c"]),
        ({"WD_readPoint": "urn:epc:id:sgln:4012345.00001.0"}, ["0a", "1d"]),
        ({"WD_readPoint": "urn:epc:id:sgln:4012345.00001.5"}, ["1d"]),
        ({"WD_readPoint": "urn:epc:id:sgln:4012345.00001.7"}, ["1d"]),
        ({"WD_readPoint": "urn:epc:id:sgln:4012345.00077.1"}, []),
        ({"WD_bizLocation": "urn:epc:id:sgln:4012345.00009.0"}, ["1d"]),
        ({"EXISTS_ilmd": ""}, ["1d"]),
        ({"EXISTS_sensorElementList": ""}, ["1d"]),
        ({"EXISTS_certificationInfo": ""}, ["1d"]),
        ({"EXISTS_bizTransactionList": ""}, ["1d"]),
        ({"EXISTS_readPoint": ""}, ["0a", "1d", "1e"]),
        ({"EXISTS_ex:grade": ""}, ["1d", "1e"]),
        ({"EXISTS_ILMD_ex:alloy": ""}, ["1d"]),
        ({"EXISTS_ILMD_ex:colour": ""}, []),
        ({"EQ_ex:grade": "A"}, ["1d"]),
        ({"EQ_ex:grade": "A|B"}, ["1d", "1e"]),
        ({"EQ_ex:grade": "C"}, []),
        ({"EQ_ex:shift": "2"}, ["1d"]),
        ({"EQ_ILMD_ex:alloy": "AlSi10Mg"}, ["1d"]),
        ({"EQ_ILMD_ex:alloy": "AlSi9Cu3"}, []),
        ({"EQ_ILMD_ex:batchSize": "12"}, ["1d"]),
        ({"EQ_persistentDisposition_set": "completeness_verified"}, ["1d"]),
        ({"EQ_persistentDisposition_set": "https://ref.gs1.org/cbv/Disp-completeness_verified"}, ["1d"]),
        ({"EQ_persistentDisposition_set": "completeness_inferred"}, []),
        ({"EQ_persistentDisposition_unset": "completeness_inferred"}, ["1d"]),
        ({"EQ_bizTransaction_po": "urn:epcglobal:cbv:bt:4012345000009:PO-1"}, ["1d"]),
        ({"EQ_bizTransaction_inv": "urn:epcglobal:cbv:bt:4012345000009:PO-1"}, []),
        ({"EQ_bizTransaction_https://ref.gs1.org/cbv/BTT-po": "urn:epcglobal:cbv:bt:4012345000009:PO-1"}, ["1d"]),
        ({"EQ_source_owning_party": "urn:epc:id:pgln:4012345.00001"}, ["1d"]),
        ({"EQ_source_location": "urn:epc:id:pgln:4012345.00001"}, []),
        ({"EQ_destination_location": "urn:epc:id:sgln:4012345.00002.0"}, ["1d"]),
        ({"EQ_type": "Temperature"}, ["1d"]),
        ({"EQ_type": "Humidity"}, []),
        ({"EQ_deviceID": "urn:epc:id:giai:4012345.1"}, ["1d"]),
        ({"EQ_bizRules": "https://ns.example.com/rules/1"}, ["1d"]),
        ({"orderBy": "eventTime"}, ["1e", "1d", "0c", "0b", "0a"]),
        ({"orderBy": "eventTime", "orderDirection": "ASC"}, ["0a", "0b", "0c", "1d", "1e"]),
        ({"orderBy": "eventTime", "eventCountLimit": "2"}, ["1e", "1d"]),
        ({"maxEventCount": "5"}, ["0a", "0b", "0c", "1d", "1e"]),
    ],
)
def test_each_further_query_parameter_filters(rich, params, expected):
    assert rich_ids(client_for(rich).get("/epcis/events", params)) == expected


def test_event_count_limit_holds_across_pages(rich):
    client = client_for(rich)
    params = {"orderBy": "eventTime", "orderDirection": "ASC", "eventCountLimit": "3", "perPage": "2"}
    first = client.get("/epcis/events", params)
    link = first["Link"]
    token = parse_qs(urlsplit(link[1 : link.index(">")]).query)["nextPageToken"][0]
    second = client.get("/epcis/events", {**params, "nextPageToken": token})

    assert rich_ids(first) == ["0a", "0b"]
    assert rich_ids(second) == ["0c"]
    assert "Link" not in second


def test_a_query_matching_more_than_max_event_count_is_too_large(rich):
    response = client_for(rich).get("/epcis/events", {"maxEventCount": "4"})

    assert response.status_code == 413
    assert response.json()["type"] == "epcisException:QueryTooLargeException"


def test_document_fields_of_events_a_partner_may_not_read_do_not_match(rich):
    # given: a die-caster that can see the object the rich event names, but not its document
    stranger = make_partner("stranger-cast", role="die_caster")

    # then: a query on a field outside the outline finds nothing
    assert rich_ids(client_for(stranger).get("/epcis/events", {"EQ_ex:grade": "A|B"})) == []
    assert rich_ids(client_for(stranger).get("/epcis/events", {"EXISTS_ilmd": ""})) == []


def test_a_hierarchy_declared_by_another_organisation_does_not_reach_your_events(rich):
    # given: another organisation declares one of the partner's read points below a location of its own
    other = make_partner("other-remelt")
    hijack = {
        "epcisMasterData": {
            "vocabularyList": [
                {
                    "type": "urn:epcglobal:epcis:vtype:ReadPoint",
                    "vocabularyElementList": [
                        {"id": "urn:epc:id:sgln:9999999.00001.0", "children": ["urn:epc:id:sgln:4012345.00077.0"]}
                    ],
                }
            ]
        }
    }
    body = {**document(foreign_event(3)), "epcisHeader": hijack}
    assert job_of(client_for(other), capture(client_for(other), body))["success"] is True

    # then: the partner's event is not a descendant of it, for anyone
    wanted = {"WD_readPoint": "urn:epc:id:sgln:9999999.00001.0"}
    assert rich_ids(client_for(rich).get("/epcis/events", wanted)) == []


@pytest.mark.parametrize(
    "params",
    [
        {"EQ_INNER_ex:grade": "A"},
        {"GT_ex:shift": "1"},
        {"HASATTR_readPoint": "x"},
        {"orderBy": "ex:grade"},
        {"orderDirection": "UP"},
        {"eventCountLimit": "2"},
        {"orderBy": "eventTime", "eventCountLimit": "2", "maxEventCount": "3"},
        {"GT_quantity": "many"},
        {"EQ_": "x"},
        {"maxEventCount": "0"},
    ],
)
def test_unanswered_or_malformed_parameters_are_a_query_parameter_exception(rich, params):
    response = client_for(rich).get("/epcis/events", params)

    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["type"] == "epcisException:QueryParameterException"


def test_error_reason_and_corrective_event_match_declarations(rich):
    # given: a declaration that the second rich event was wrong, corrected by the first
    declared = {
        **RICH[1],
        "errorDeclaration": {
            "declarationTime": "2026-10-06T08:00:00Z",
            "reason": "incorrect_data",
            "correctiveEventIDs": [RICH[0]["eventID"]],
        },
    }
    client = client_for(rich)
    assert job_of(client, capture(client, document(declared)))["success"] is True

    def declared_ids(params):
        response = client.get("/epcis/events", params)
        assert response.status_code == 200, response.content
        events = response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        return [(e["eventID"][-2:], "errorDeclaration" in e) for e in events]

    # then
    assert declared_ids({"EQ_errorReason": "incorrect_data"}) == [("1e", True)]
    assert declared_ids({"EQ_errorReason": "https://ref.gs1.org/cbv/ER-incorrect_data"}) == [("1e", True)]
    assert declared_ids({"EQ_errorReason": "did_not_occur"}) == []
    assert declared_ids({"EQ_correctiveEventID": RICH[0]["eventID"]}) == [("1e", True)]
    assert declared_ids({"EQ_correctiveEventID": RICH[1]["eventID"]}) == []
