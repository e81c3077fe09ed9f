"""EPCIS events about objects the capturer never held are refused, on every path that takes events,
and the owner's queries show only the history written by those who held its objects."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.factories import make_partner, make_site, valid_vin
from traceability.epcis.core.fields import canonical_id
from traceability.models import EpcisEvent
from traceability.selectors import ledger_size

pytestmark = pytest.mark.django_db
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]


def client_for(partner) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}")
    return client


def event(epc: str, *, second: int = 0, **fields: object) -> dict:
    return {
        "type": "ObjectEvent",
        "eventTime": f"2026-11-02T08:00:{second:02d}.000Z",
        "eventTimeZoneOffset": "+00:00",
        "epcList": [epc],
        "action": "DELETE",
        "bizStep": "destroying",
        **fields,
    }


def capture(client: APIClient, events: list[dict], behaviour: str) -> dict:
    document = {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-02T10:00:00Z",
        "epcisBody": {"eventList": events},
    }
    response = client.post(
        "/epcis/capture",
        json.dumps(document),
        content_type="application/ld+json",
        HTTP_GS1_CAPTURE_ERROR_BEHAVIOUR=behaviour,
    )
    assert response.status_code == 202, response.content
    return client.get(response["Location"]).json()


@pytest.fixture
def owner_and_vehicle(db):
    owner = make_partner("autocirc", role="dismantler")
    yard = make_site(owner, "Yard")
    client = client_for(owner)
    response = client.post(
        "/api/v1/operations/vehicle-intake",
        {
            "site": yard.pk,
            "vin": valid_vin(1),
            "mass": "1.6 t",
            "make": "Volta",
            "model": "E-Compact",
            "eventTime": "2026-11-01T08:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return owner, yard, client, response.json()["created"][0]


def test_a_partner_cannot_capture_events_about_another_organisations_vehicle(owner_and_vehicle):
    # given
    _, _, owner, vehicle = owner_and_vehicle
    intruder = client_for(make_partner("nordic-remelt", role="remelter"))
    unknown = "urn:epc:id:sgtin:4012345.011111.77"
    size = ledger_size()

    # when: by document (proceed and rollback), one event, and the ledger API
    proceed = capture(intruder, [event(vehicle), event(unknown, second=1)], "proceed")
    rollback = capture(intruder, [event(unknown, second=2), event(vehicle, second=3)], "rollback")
    single = intruder.post("/epcis/events", {"@context": CONTEXT, **event(vehicle, second=4)}, format="json")
    ledger = intruder.post("/api/v1/ledger/entries", {"document": event(vehicle, second=5)}, format="json")

    # then: every event about the vehicle is refused, naming the rule; the unknown EPC is nobody's
    assert [(e["code"], e["eventIndex"]) for e in proceed["errors"]] == [("object_never_held", 0)]
    assert proceed["capturedCount"] == 1
    assert [(e["code"], e["eventIndex"]) for e in rollback["errors"]] == [("object_never_held", 1)]
    assert rollback["capturedCount"] == 0
    assert (single.status_code, single.json()["code"]) == (403, "object_never_held")
    assert (ledger.status_code, ledger.json()["code"]) == (403, "object_never_held")
    assert ledger_size() == size + 1

    # and the owner's query of its vehicle shows its own intake alone
    answer = owner.get("/epcis/events", {"MATCH_epc": vehicle}).json()
    events = answer["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert [e.get("bizStep") for e in events] == ["receiving"]
    assert not EpcisEvent.objects.filter(biz_step__endswith="destroying").exclude(epcs__value=unknown).exists()


def test_a_gs1_lot_is_protected_whichever_form_names_it(db):
    # given: a remelter receives a lot identified by an LGTIN, written as an EPC class URN
    owner = make_partner("nordic-remelt", role="remelter")
    shop = make_site(owner, "Remelt shop")
    lot = "urn:epc:class:lgtin:4012345.011111.L1"
    received = client_for(owner).post(
        "/api/v1/operations/material-receipt",
        {
            "site": shop.pk,
            "eventTime": "2026-11-01T08:00:00Z",
            "lots": [{"identifier": lot, "kind": "primary_ingot", "mass": "1 t", "supplier": "Smelter"}],
        },
        format="json",
    )
    assert received.status_code == 201, received.json()
    digital_link = canonical_id(lot)
    assert digital_link.startswith("https://id.gs1.org/01/") and digital_link != lot
    intruder = client_for(make_partner("castline", role="die_caster"))

    # when: another partner names it as a GS1 Digital Link in a quantity list
    quantity = {
        "type": "ObjectEvent",
        "eventTime": "2026-11-02T08:00:00.000Z",
        "eventTimeZoneOffset": "+00:00",
        "quantityList": [{"epcClass": digital_link, "quantity": 1000, "uom": "KGM"}],
        "action": "OBSERVE",
        "bizStep": "inspecting",
    }
    response = intruder.post("/epcis/events", {"@context": CONTEXT, **quantity}, format="json")

    # then
    assert (response.status_code, response.json()["code"]) == (403, "object_never_held")


def test_those_who_hold_or_held_an_object_record_events_about_it(owner_and_vehicle):
    # given: the owner hands the vehicle on to a second dismantler
    _, yard, owner, vehicle = owner_and_vehicle
    current = client_for(make_partner("second-yard", role="dismantler"))
    handed = owner.post(
        "/api/v1/operations/custody-transfer",
        {"site": yard.pk, "items": [vehicle], "receiver": "second-yard", "eventTime": "2026-11-01T12:00:00Z"},
        format="json",
    )
    assert handed.status_code == 201, handed.json()
    stranger = client_for(make_partner("third-party", role="oem"))

    # when
    by_former = owner.post("/epcis/events", {"@context": CONTEXT, **event(vehicle, action="OBSERVE")}, format="json")
    by_holder = current.post("/epcis/events", {"@context": CONTEXT, **event(vehicle, second=8)}, format="json")
    by_stranger = stranger.post("/epcis/events", {"@context": CONTEXT, **event(vehicle, second=9)}, format="json")

    # then
    assert by_former.status_code == 201, by_former.json()
    assert by_holder.status_code == 201, by_holder.json()
    assert by_stranger.status_code == 403


def test_the_check_reads_a_batch_once_whatever_its_size(owner_and_vehicle):
    # given: batches of the owner's own observations of its vehicle
    _, _, client, vehicle = owner_and_vehicle

    def queries_for(count: int, hour: int) -> int:
        documents = [
            {**event(vehicle, action="OBSERVE"), "eventTime": f"2026-11-03T{hour:02d}:{n // 60:02d}:{n % 60:02d}.000Z"}
            for n in range(count)
        ]
        with CaptureQueriesContext(connection) as captured:
            response = client.post(
                "/api/v1/ledger/batches", {"entries": [{"document": d} for d in documents]}, format="json"
            )
        assert response.status_code == 201, response.json()
        return len(captured.captured_queries)

    # when / then: they pass, and fifty events cost the queries five do
    assert queries_for(50, 2) == queries_for(5, 1)
