"""Looptrace's own events leave as valid EPCIS 2.0 documents a partner's repository can capture."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from tests.api.test_epcis_capture import client_for
from tests.factories import make_partner
from tests.loop import build_loop
from traceability.epcis.core.schema import document_errors
from traceability.models import EventRecord

pytestmark = pytest.mark.django_db


def test_the_loops_operation_events_export_as_a_valid_epcis_document():
    # given: a whole car-to-car loop recorded through Looptrace's operations
    loop = build_loop()
    operations = EventRecord.objects.count()

    # when
    out = StringIO()
    call_command("export_epcis", stdout=out)
    exported = json.loads(out.getvalue())

    # then
    assert exported["type"] == "EPCISDocument"
    assert document_errors(exported) == []
    events = exported["epcisBody"]["eventList"]
    assert len(events) == operations > 0
    assert {e.get("lt:operation") for e in events} >= {"vehicle_intake", "dismantling"}
    assert loop.scrap_lot


def test_the_exported_document_captures_into_another_repository_without_duplicates():
    build_loop()
    out = StringIO()
    call_command("export_epcis", stdout=out)
    exported = json.loads(out.getvalue())
    partner = make_partner("epcis-mirror", role="oem")

    # the events are already in this ledger: capturing them again stores nothing new
    response = client_for(partner).post("/epcis/capture", exported, format="json")
    job = client_for(partner).get(response["Location"]).json()

    assert job["success"] is True
    assert job["duplicateCount"] == len(exported["epcisBody"]["eventList"])
    assert job["capturedCount"] == 0


def test_operation_events_are_queryable_by_the_recorders():
    loop = build_loop()
    body = client_for(loop.dismantler).get("/epcis/events", {"EQ_bizStep": "receiving|collecting"}).json()
    events = body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert events and all(e["lt:operation"] == "vehicle_intake" for e in events)
    assert document_errors(body) == []


def test_export_can_be_limited_to_one_organisations_events():
    loop = build_loop()
    out = StringIO()
    call_command("export_epcis", organisation=loop.remelter.organisation.slug, stdout=out)
    events = json.loads(out.getvalue())["epcisBody"]["eventList"]
    recorded = EventRecord.objects.filter(organisation=loop.remelter.organisation).count()
    assert len(events) == recorded > 0
