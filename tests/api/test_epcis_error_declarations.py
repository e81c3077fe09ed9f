"""Error declarations through the EPCIS HTTP API.

The CBV 2.0 hash ignores ``errorDeclaration``, so a declaration has the hash (and the
eventID) of the event it declares erroneous. It is stored as its own event, next to the
declared one, found by queries (``EXISTS_errorDeclaration``), and captured once.
"""

import pytest

from tests.api.test_epcis_capture import capture, client_for, document, foreign_event, job_of
from tests.factories import make_partner
from traceability.models import EpcisEvent
from traceability.selectors import ledger_size

pytestmark = pytest.mark.django_db

EVENT_ID = "urn:uuid:00000000-0000-4000-8000-0000000000e1"
DECLARATION = {
    "declarationTime": "2026-10-05T09:00:00Z",
    "reason": "incorrect_data",
    "correctiveEventIDs": ["urn:uuid:00000000-0000-4000-8000-0000000000e2"],
}


def declared(event: dict) -> dict:
    return {**event, "errorDeclaration": DECLARATION}


def listed(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def test_an_error_declaration_is_stored_as_its_own_event_linked_by_hash_and_event_id(partner):
    client = client_for(partner)
    event = foreign_event(1, eventID=EVENT_ID)
    job_of(client, capture(client, document(event)))
    size = ledger_size()

    job = job_of(client, capture(client, document(declared(event))))

    assert job["success"] is True
    assert job["capturedCount"] == 1 and job["duplicateCount"] == 0
    assert ledger_size() == size + 1
    rows = EpcisEvent.objects.filter(event_id=EVENT_ID).order_by("entry_id")
    assert [row.error_declaration for row in rows] == [False, True]
    assert rows[0].event_hash == rows[1].event_hash  # the link: the declared event's hash


def test_the_same_declaration_captured_twice_is_stored_once(partner):
    client = client_for(partner)
    event = foreign_event(2, eventID=EVENT_ID)
    job_of(client, capture(client, document(event, declared(event))))
    size = ledger_size()

    # again, in its own document, and twice within one document
    again = job_of(client, capture(client, document(declared(event))))
    twice = job_of(client, capture(client, document(declared(event), declared(event))))

    assert again["capturedCount"] == 0 and again["duplicateCount"] == 1
    assert twice["capturedCount"] == 0 and twice["duplicateCount"] == 2
    assert ledger_size() == size
    single = client.post("/epcis/events", {"@context": document()["@context"], **declared(event)}, format="json")
    assert single.status_code == 409
    assert single.json()["code"] == "event_duplicate"


def test_a_declaration_of_an_event_not_yet_captured_is_stored_and_the_event_still_captures(partner):
    client = client_for(partner)
    event = foreign_event(3, eventID=EVENT_ID)

    first = job_of(client, capture(client, document(declared(event))))
    second = job_of(client, capture(client, document(event)))

    assert first["capturedCount"] == 1 and second["capturedCount"] == 1


def test_queries_return_declarations_and_exists_error_declaration_finds_only_them(partner):
    client = client_for(partner)
    event = foreign_event(4, eventID=EVENT_ID)
    other = foreign_event(5)
    job_of(client, capture(client, document(event, other)))
    job_of(client, capture(client, document(declared(event))))

    everything = listed(client.get("/epcis/events"))
    declarations = listed(client.get("/epcis/events", {"EXISTS_errorDeclaration": ""}))
    by_id = listed(client.get("/epcis/events", {"EQ_eventID": EVENT_ID}))

    assert [e.get("errorDeclaration") for e in everything] == [None, None, DECLARATION]
    assert [e["eventID"] for e in declarations] == [EVENT_ID]
    assert declarations[0]["errorDeclaration"] == DECLARATION
    assert [("errorDeclaration" in e) for e in by_id] == [False, True]
    # One event fetched by its eventID is the event itself, not its declaration.
    one = client.get(f"/epcis/events/{EVENT_ID}")
    assert one.status_code == 200
    assert "errorDeclaration" not in listed(one)[0]


def test_exists_error_declaration_does_not_reveal_declarations_the_caller_may_not_read(partner):
    client = client_for(partner)
    event = foreign_event(6, eventID=EVENT_ID)
    job_of(client, capture(client, document(event, declared(event))))
    stranger = make_partner("stranger-declarations")

    seen = listed(client_for(stranger).get("/epcis/events", {"EXISTS_errorDeclaration": ""}))

    assert seen == []
