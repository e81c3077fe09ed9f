"""EPCIS 2.0 capture: documents and single events in, ledger entries out."""

import copy
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import quote, unquote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.conftest import PROJECT_ROOT
from tests.factories import make_partner, make_site
from traceability.choices import ObjectKind
from traceability.epcis.core.hashing import event_hash
from traceability.models import CaptureJob, EpcisEvent, LedgerEntry
from traceability.operations import projector
from traceability.operations.material_receipt import OPERATION, MaterialReceiptInput
from traceability.operations.services import LotOut
from traceability.selectors import ledger_size

pytestmark = pytest.mark.django_db

EXAMPLES = PROJECT_ROOT / "tests" / "data" / "epcis2_examples"
GS1_EXAMPLES = [
    "Example_9.6.1-ObjectEvent.jsonld",
    "Example_9.6.3-AggregationEvent.jsonld",
    "Example_9.6.4-TransformationEvent.jsonld",
]
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"ex": "https://ns.example.com/epcis/"}]


def client_for(partner) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}")
    return client


def example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text())


def document(*events: dict) -> dict:
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-01T10:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }


def foreign_event(number: int, **extra: object) -> dict:
    return {
        "type": "ObjectEvent",
        "eventTime": f"2026-10-01T08:00:{number % 60:02d}.000+02:00",
        "eventTimeZoneOffset": "+02:00",
        "epcList": [f"urn:epc:id:sgtin:4012345.011111.{number}"],
        "action": "OBSERVE",
        "bizStep": "receiving",
        "ex:batch": f"B-{number}",
        **extra,
    }


def capture(client: APIClient, body: dict, behaviour: str | None = None):
    headers = {"HTTP_GS1_CAPTURE_ERROR_BEHAVIOUR": behaviour} if behaviour else {}
    return client.post("/epcis/capture", json.dumps(body), content_type="application/ld+json", **headers)


def job_of(client: APIClient, response) -> dict:
    assert response.status_code == 202, response.content
    location = response["Location"]
    assert location.startswith("/epcis/capture/")
    job = client.get(location)
    assert job.status_code == 200
    return job.json()


@pytest.fixture
def lenient_event_ids(settings):
    """The GS1 examples carry placeholder eventIDs in hash form that are not their CBV 2.0 hashes."""
    settings.EPCIS_EVENT_ID_HASH_CHECK = "warn"


@pytest.mark.parametrize("name", GS1_EXAMPLES)
def test_the_gs1_examples_capture_and_query_back_unchanged(partner, lenient_event_ids, name):
    # given
    client = client_for(partner)
    captured = example(name)

    # when
    job = job_of(client, capture(client, captured))

    # then: every event comes back from the query with the content it was captured with
    assert job["running"] is False and job["success"] is True and job["errors"] == []
    events = captured["epcisBody"]["eventList"]
    assert job["capturedCount"] == len(events)
    for event in events:
        answer = client.get("/epcis/events/" + quote(event["eventID"], safe=""))
        assert answer.status_code == 200, answer.content
        body = answer.json()
        (returned,) = body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        assert returned == event
        assert captured["@context"][1] in body["@context"]
        # and it is findable by its canonical hash too
        by_hash = client.get("/epcis/events/" + quote(event_hash(event, context=captured["@context"]), safe=""))
        assert by_hash.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == [event]


def test_the_gs1_examples_placeholder_event_ids_are_refused_when_checked_strictly(partner, settings):
    settings.EPCIS_EVENT_ID_HASH_CHECK = "strict"
    client = client_for(partner)
    size = ledger_size()

    job = job_of(client, capture(client, example(GS1_EXAMPLES[0])))

    assert job["success"] is False
    assert {e["code"] for e in job["errors"]} == {"event_id_hash_mismatch"}
    assert job["errors"][0]["computedHash"].startswith("ni:///sha-256;")
    assert ledger_size() == size


def test_an_event_id_that_is_the_events_own_hash_is_accepted(partner):
    event = foreign_event(1)
    event["eventID"] = event_hash(event, context=CONTEXT)

    job = job_of(client_for(partner), capture(client_for(partner), document(event)))

    assert job["success"] is True
    assert EpcisEvent.objects.get(event_id=event["eventID"]).event_hash == event["eventID"]


def test_the_same_event_captured_twice_is_stored_once(partner):
    client = client_for(partner)
    first = job_of(client, capture(client, document(foreign_event(1), foreign_event(2))))
    size = ledger_size()

    # the same events again, one in another field order and one repeated within the document
    reordered = dict(reversed(list(foreign_event(2).items())))
    second = job_of(client, capture(client, document(foreign_event(1), reordered, foreign_event(3), foreign_event(3))))

    assert first["capturedCount"] == 2
    assert second["success"] is True
    assert second["capturedCount"] == 1 and second["duplicateCount"] == 3
    assert ledger_size() == size + 1


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"type": "EPCISDocument"}, "epcis_document_invalid"),
        ([1, 2, 3], "epcis_document_invalid"),
        (document({**foreign_event(1), "action": "JUMP"}), "epcis_document_invalid"),
        (
            document({key: value for key, value in foreign_event(1).items() if key != "eventTime"}),
            "epcis_document_invalid",
        ),
        ({**document(foreign_event(1)), "type": "SomethingElse"}, "epcis_document_invalid"),
    ],
)
def test_bad_documents_get_400_with_a_code_and_nothing_is_stored(partner, body, code):
    client = client_for(partner)
    size = ledger_size()
    jobs = CaptureJob.objects.count()

    response = capture(client, body)

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert ledger_size() == size
    assert CaptureJob.objects.count() == jobs


def test_malformed_json_gets_400(partner):
    response = client_for(partner).post("/epcis/capture", "{not json", content_type="application/ld+json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def broken_operation(number: int) -> dict:
    """An event claiming a Looptrace operation that does not exist: Looptrace's rules refuse it."""
    return foreign_event(number, **{"lt:operation": "teleport"})


def test_rollback_stores_nothing_when_one_event_breaks_a_rule(partner):
    client = client_for(partner)
    size = ledger_size()

    job = job_of(client, capture(client, document(foreign_event(1), broken_operation(2), foreign_event(3)), "rollback"))

    assert job["success"] is False and job["captureErrorBehaviour"] == "rollback"
    assert [(e["code"], e["eventIndex"]) for e in job["errors"]] == [("operation_unknown", 1)]
    assert job["capturedCount"] == 0
    assert ledger_size() == size


def test_proceed_stores_the_events_that_keep_the_rules(partner):
    client = client_for(partner)
    size = ledger_size()

    job = job_of(client, capture(client, document(foreign_event(1), broken_operation(2), foreign_event(3)), "proceed"))

    assert job["success"] is False and job["captureErrorBehaviour"] == "proceed"
    assert [(e["code"], e["eventIndex"]) for e in job["errors"]] == [("operation_unknown", 1)]
    assert job["capturedCount"] == 2
    assert ledger_size() == size + 2
    stored = EpcisEvent.objects.filter(organisation=partner.organisation).values_list("event_hash", flat=True)
    assert set(stored) == {event_hash(foreign_event(n), context=CONTEXT) for n in (1, 3)}


def test_an_unknown_error_behaviour_is_refused(partner):
    response = capture(client_for(partner), document(foreign_event(1)), "sometimes")
    assert response.status_code == 400
    assert response.json()["code"] == "capture_error_behaviour_invalid"


def test_foreign_events_of_every_type_with_sensors_ilmd_and_extensions_are_accepted(partner):
    client = client_for(partner)
    events = [
        foreign_event(
            1,
            action="ADD",
            ilmd={"ex:bestBefore": "2027-01-01", "ex:batch": {"ex:line": 3}},
            certificationInfo="https://cert.example.org/c/1",
        ),
        {
            "type": "ObjectEvent",
            "eventTime": "2026-10-01T09:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "epcList": ["https://id.gs1.org/01/04012345111118/21/42"],
            "action": "OBSERVE",
            "bizStep": "inspecting",
            "readPoint": {"id": "urn:epc:id:sgln:4012345.00005.0"},
            "sensorElementList": [
                {
                    "sensorMetadata": {"time": "2026-10-01T08:59:00Z"},
                    "sensorReport": [{"type": "Temperature", "value": 26.5, "uom": "CEL"}],
                }
            ],
        },
        {
            "type": "AggregationEvent",
            "eventTime": "2026-10-01T10:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "parentID": "urn:epc:id:sscc:4012345.0000000001",
            "childEPCs": ["urn:epc:id:sgtin:4012345.011111.7"],
            "action": "ADD",
        },
        {
            "type": "TransactionEvent",
            "eventTime": "2026-10-01T11:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epc:id:gdti:4012345.00011.987"}],
            "epcList": ["urn:epc:id:sgtin:4012345.011111.7"],
            "action": "ADD",
        },
        {
            "type": "TransformationEvent",
            "eventTime": "2026-10-01T12:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "inputEPCList": ["urn:epc:id:sgtin:4012345.011111.7"],
            "outputQuantityList": [
                {"epcClass": "urn:epc:class:lgtin:4012345.012345.L1", "quantity": 12.5, "uom": "KGM"}
            ],
            "transformationID": "urn:uuid:0f3c2a96-5c1d-4e8a-9a43-3d9b8c1e0001",
        },
        {
            "type": "AssociationEvent",
            "eventTime": "2026-10-01T13:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "parentID": "urn:epc:id:grai:4012345.55555.987",
            "childEPCs": ["urn:epc:id:giai:4000001.12345"],
            "action": "ADD",
        },
        foreign_event(
            7,
            errorDeclaration={"declarationTime": "2026-10-02T00:00:00Z", "reason": "incorrect_data"},
        ),
    ]

    job = job_of(client, capture(client, document(*events)))

    assert job["success"] is True, job["errors"]
    assert job["capturedCount"] == len(events)
    kinds = set(EpcisEvent.objects.filter(organisation=partner.organisation).values_list("event_type", flat=True))
    assert kinds == {"ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent"}
    # signed custodially for the capturing organisation, like any other ledger event
    entries = LedgerEntry.objects.filter(epcis__organisation=partner.organisation)
    assert {e.key_id for e in entries} == {partner.custodial_key.key_id}


def test_an_epcis_query_document_can_be_captured(partner):
    client = client_for(partner)
    query_document = {
        "@context": CONTEXT,
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-01T10:00:00Z",
        "epcisBody": {
            "queryResults": {"queryName": "SimpleEventQuery", "resultsBody": {"eventList": [foreign_event(5)]}}
        },
    }

    job = job_of(client, capture(client, query_document))

    assert job["success"] is True and job["capturedCount"] == 1


def test_one_event_is_captured_synchronously_and_a_second_time_conflicts(partner):
    client = client_for(partner)
    event = {"@context": CONTEXT, **foreign_event(9)}

    created = client.post("/epcis/events", event, format="json")
    again = client.post("/epcis/events", event, format="json")

    assert created.status_code == 201, created.content
    assert created["Location"].startswith("/epcis/events/ni%3A%2F%2F%2Fsha-256")
    returned = client.get(created["Location"]).json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    # An event captured without an eventID is answered with its hash as its eventID.
    assert returned == [{**event, "eventID": unquote(created["Location"].rsplit("/", 1)[1])}]
    assert again.status_code == 409
    assert again.json()["code"] == "event_duplicate"


def test_an_invalid_single_event_is_refused(partner):
    response = client_for(partner).post("/epcis/events", {"type": "ObjectEvent"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "epcis_event_invalid"


def test_regulators_may_not_capture(db):
    regulator = make_partner("market-watch", role="regulator")
    response = capture(client_for(regulator), document(foreign_event(1)))
    assert response.status_code == 403
    assert response.json()["code"] == "role_not_allowed"


def test_capture_jobs_are_private_to_their_organisation(partner):
    other = make_partner("other-remelt")
    response = capture(client_for(partner), document(foreign_event(1)))

    assert client_for(other).get(response["Location"]).status_code == 404
    assert client_for(partner).get("/epcis/capture/not-a-uuid").status_code == 404
    listed = client_for(partner).get("/epcis/capture").json()
    assert [job["captureID"] for job in listed] == [response["Location"].rsplit("/", 1)[1]]


def test_capture_discovery_announces_limit_and_error_behaviours(partner):
    response = client_for(partner).options("/epcis/capture")
    assert response.status_code == 204
    assert response["GS1-EPCIS-Capture-Limit"] == "10000"
    assert response["GS1-Capture-Error-Behaviour"] == "all"


def test_captured_events_do_not_change_when_stored(partner):
    client = client_for(partner)
    event = foreign_event(4, ilmd={"ex:weight": 1.50}, action="ADD")
    original = copy.deepcopy(event)
    job_of(client, capture(client, document(event)))
    stored = EpcisEvent.objects.get(organisation=partner.organisation)
    answer = client.get("/epcis/events/" + quote(stored.event_id, safe="")).json()
    assert answer["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == [{**original, "eventID": stored.event_id}]


@pytest.fixture
def rule_checks(monkeypatch):
    """The seqs of the events whose operation rules the projector ran, one item per run."""
    checked = []
    real_project = projector.project

    def counting(entry, document, **kwargs):  # type: ignore[no-untyped-def]
        checked.append(entry.seq)
        return real_project(entry, document, **kwargs)

    monkeypatch.setattr(projector, "project", counting)
    return checked


def test_proceed_checks_each_events_rules_about_once_however_many_break_them(partner, rule_checks):
    # given: 200 events, every second one breaking a rule (an unknown operation)
    events = [broken_operation(n) if n % 2 else foreign_event(n, **{"ex:n": n}) for n in range(200)]
    client = client_for(partner)
    size = ledger_size()

    # when
    job = job_of(client, capture(client, document(*events), "proceed"))

    # then: the good half is stored and each bad event reported by its index, with the rules
    # run at most twice per event (retrying the rest after each failure ran them ~100 times each)
    assert job["capturedCount"] == 100 and ledger_size() == size + 100
    assert [(e["code"], e["eventIndex"]) for e in job["errors"]] == [("operation_unknown", n) for n in range(1, 200, 2)]
    assert len(rule_checks) <= 2 * len(events)


def test_proceed_checks_rules_that_read_the_projections_about_once_too(partner, rule_checks):
    # given: 100 material receipts, every second one re-using the lot code of the one before
    # (refused by a rule that reads the stored lots, inside the append)
    site = make_site(partner)
    receipts = [
        OPERATION.build(
            partner.organisation,
            MaterialReceiptInput(
                site=site,
                lots=[LotOut(ObjectKind.PRIMARY_INGOT, Decimal(100 + n), code=f"P-{n - n % 2}", attributes={})],
            ),
        )
        for n in range(100)
    ]
    client = client_for(partner)
    size = ledger_size()

    # when
    job = job_of(client, capture(client, document(*receipts), "proceed"))

    # then
    assert job["capturedCount"] == 50 and ledger_size() == size + 50
    assert [(e["code"], e["eventIndex"]) for e in job["errors"]] == [("identifier_taken", n) for n in range(1, 100, 2)]
    assert len(rule_checks) <= 2 * len(receipts)


def test_proceed_finds_interleaved_refusals_of_rules_on_stored_objects_in_one_pass(partner):
    # given: another remelter's 10 lots, and 200 events of the partner, every second one naming
    # one of them: alternately an event about it (never held) and a receipt of it (taken)
    owner = make_partner("castline-remelt", role="remelter")
    lots = [f"urn:epc:id:sgtin:4012345.022222.{n}" for n in range(10)]
    received = client_for(owner).post(
        "/api/v1/operations/material-receipt",
        {
            "site": make_site(owner).pk,
            "eventTime": "2026-10-01T06:00:00Z",
            "lots": [
                {"identifier": lot, "kind": "primary_ingot", "mass": "1 t", "supplier": "Smelter"} for lot in lots
            ],
        },
        format="json",
    )
    assert received.status_code == 201, received.json()
    site = make_site(partner)

    def bad(n: int) -> dict:
        if n % 4 == 1:
            return foreign_event(n, epcList=[lots[n % 10]])
        lot = LotOut(ObjectKind.PRIMARY_INGOT, Decimal(100), identifier=lots[n % 10], attributes={})
        moment = datetime(2026, 10, 1, 7, tzinfo=UTC) + timedelta(seconds=n)
        return OPERATION.build(partner.organisation, MaterialReceiptInput(site=site, lots=[lot], event_time=moment))

    events = [bad(n) if n % 2 else foreign_event(n, **{"ex:n": n}) for n in range(200)]
    client = client_for(partner)
    size = ledger_size()

    # when
    with CaptureQueriesContext(connection) as queries:
        job = job_of(client, capture(client, document(*events), "proceed"))

    # then: the good half is stored in order, each bad event reported by index and rule
    assert job["capturedCount"] == 100 and ledger_size() == size + 100
    stored = LedgerEntry.objects.filter(seq__gt=size).order_by("seq").values_list("document", flat=True)
    assert [json.loads(document)["ex:n"] for document in stored] == list(range(0, 200, 2))
    expected = [("object_never_held" if n % 4 == 1 else "identifier_taken", n) for n in range(1, 200, 2)]
    assert [(e["code"], e["eventIndex"]) for e in job["errors"]] == expected
    # and the refusals were found in one pass, not one rolled-back attempt each: the queries are
    # the receipts' own reads (two each) and a few per attempt, where an attempt per bad event
    # (about ten queries each) took 1,860
    receipts = len(expected) // 2
    assert len(queries) <= 2 * receipts + 50
