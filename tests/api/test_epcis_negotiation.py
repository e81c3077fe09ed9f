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
