"""EPCIS 2.0 REST binding: version negotiation headers, EPC format, and problem+json errors."""

import json

import pytest

from tests.api.test_epcis_capture import client_for, document, foreign_event

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


def problem_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(PROBLEM)
    body = json.loads(response.content)
    assert body["status"] == status and body["type"].startswith("epcisException:") and body["title"]
    return body


def test_every_epcis_error_is_a_problem_json(partner):
    client = client_for(partner)

    unknown_path = client.get("/epcis/nowhere")
    no_event = client.get("/epcis/events/urn:uuid:00000000-0000-4000-8000-0000000000ff")
    wrong_method = client.delete("/epcis/events")
    wrong_media = client.post("/epcis/capture", "<epcis/>", content_type="text/plain")
    not_acceptable = client.get("/epcis/events", HTTP_ACCEPT="text/csv")
    anonymous = client_for(partner).__class__().get("/epcis/events")
    invalid = client.post("/epcis/capture", json.dumps({"type": "EPCISDocument"}), content_type="application/json")

    assert problem_of(unknown_path, 404)["type"] == "epcisException:NoSuchResourceException"
    assert problem_of(no_event, 404)["code"] == "event_not_found"
    assert problem_of(wrong_method, 405)["code"] == "method_not_allowed"
    assert problem_of(wrong_media, 415)["type"] == "epcisException:UnsupportedMediaTypeException"
    assert problem_of(not_acceptable, 406)["type"] == "epcisException:NotAcceptableException"
    assert problem_of(anonymous, 401)["type"] == "epcisException:SecurityException"
    assert problem_of(invalid, 400)["type"] == "epcisException:ValidationException"


def test_successful_answers_stay_json(partner):
    client = client_for(partner)
    client.post("/epcis/capture", json.dumps(document(foreign_event(1))), content_type="application/ld+json")

    response = client.get("/epcis/events")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")


@pytest.fixture
def captured(partner):
    client = client_for(partner)
    event = foreign_event(1, parentID="urn:epc:id:sscc:4012345.0000000001")
    event["quantityList"] = [{"epcClass": "urn:epc:class:lgtin:4012345.012345.LOT7", "quantity": 5}]
    response = client.post("/epcis/capture", json.dumps(document(event)), content_type="application/ld+json")
    assert response.status_code == 202
    return client


def events_of(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_GS1_EPCIS_VERSION": "2.0.0"},
        {"HTTP_GS1_EPCIS_VERSION": "2.0"},
        {"HTTP_GS1_EPCIS_MIN": "1.2.0", "HTTP_GS1_EPCIS_MAX": "2.0.0"},
        {"HTTP_GS1_EPCIS_MIN": "2.0.0"},
        {"HTTP_GS1_CBV_VERSION": "2.0.0", "HTTP_GS1_CBV_MIN": "1.2.0"},
        {"HTTP_GS1_CBV_XML_FORMAT": "Always_URN", "HTTP_GS1_EXTENSIONS": "ex=https://ns.example.com/epcis/"},
    ],
)
def test_requests_in_a_version_the_server_speaks_are_answered_with_the_version_headers(captured, headers):
    response = captured.get("/epcis/events", **headers)

    assert response.status_code == 200
    assert response["GS1-EPCIS-Version"] == "2.0.0"
    assert (response["GS1-EPCIS-Min"], response["GS1-EPCIS-Max"]) == ("2.0.0", "2.0.0")
    assert (response["GS1-CBV-Version"], response["GS1-CBV-Min"], response["GS1-CBV-Max"]) == ("2.0.0",) * 3
    assert response["GS1-Extensions"] == "lt=https://ns.looptrace.example/epcis/"


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_GS1_EPCIS_VERSION": "1.2.0"},
        {"HTTP_GS1_EPCIS_MAX": "1.2.0"},
        {"HTTP_GS1_EPCIS_MIN": "2.1.0"},
        {"HTTP_GS1_CBV_VERSION": "1.2.0"},
        {"HTTP_GS1_CBV_MIN": "2.0.1", "HTTP_GS1_CBV_MAX": "3.0.0"},
        {"HTTP_GS1_EPC_FORMAT": "Always_EPC_URN"},
    ],
)
def test_a_request_only_for_what_the_server_does_not_speak_is_406(captured, headers):
    for response in (captured.get("/epcis/events", **headers), captured.get("/epcis/capture", **headers)):
        body = problem_of(response, 406)
        assert body["type"] == "epcisException:NotAcceptableException"
        assert response["GS1-EPCIS-Version"] == "2.0.0"


@pytest.mark.parametrize(
    "headers",
    [{"HTTP_GS1_EPCIS_VERSION": "two"}, {"HTTP_GS1_EPC_FORMAT": "Sometimes"}, {"HTTP_GS1_CBV_XML_FORMAT": "x"}],
)
def test_a_malformed_negotiation_header_is_400(captured, headers):
    assert problem_of(captured.get("/epcis/events", **headers), 400)["code"] == "header_invalid"


def test_epcs_are_answered_as_captured_or_as_gs1_digital_link(captured):
    as_captured = events_of(captured.get("/epcis/events"))[0]
    never = events_of(captured.get("/epcis/events", HTTP_GS1_EPC_FORMAT="Never_Translates"))[0]
    linked_response = captured.get("/epcis/events", HTTP_GS1_EPC_FORMAT="Always_GS1_Digital_Link")
    linked = events_of(linked_response)[0]

    assert as_captured["epcList"] == ["urn:epc:id:sgtin:4012345.011111.1"] == never["epcList"]
    assert linked["epcList"] == ["https://id.gs1.org/01/04012345111118/21/1"]
    assert linked["parentID"] == "https://id.gs1.org/00/040123450000000016"
    assert linked["quantityList"][0]["epcClass"] == "https://id.gs1.org/01/04012345123456/10/LOT7"
    assert linked_response["GS1-EPC-Format"] == "Always_GS1_Digital_Link"
    # the single-event answer is translated the same way
    detail = captured.get(
        "/epcis/events/" + as_captured["eventID"].replace("?", "%3F"), HTTP_GS1_EPC_FORMAT="Always_GS1_Digital_Link"
    )
    assert events_of(detail)[0]["epcList"] == linked["epcList"]
