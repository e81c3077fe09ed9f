"""Faults: eight writers racing for the same lots, and the broker down while events keep coming.

(A server killed mid-batch and PostgreSQL restarted during ingest are in ``bench/faults.py``,
run by ``make faults``: they stop shared services, so they stay out of the test suite.)
"""

import multiprocessing
from decimal import Decimal

import pytest
from django.db import connections
from rest_framework.test import APIClient

from carbon import services as carbon_services
from carbon.models import FootprintResult, LedgerCursor
from tests.factories import object_event
from tests.integration.test_celery_worker import tasks_sent_to
from tests.loop import at, build_loop
from traceability import events
from traceability.choices import ObjectKind
from traceability.errors import ApplicationError
from traceability.models import LedgerEntry, Organisation, Site, TraceableObject
from traceability.operations import services as ops
from traceability.verification import verify_ledger

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.slow]
WRITERS = 8
MELTS_PER_WRITER = 3
MELT_INPUT_KG = Decimal("50")
# Nothing listens here: a broker that is down.
DOWN_BROKER = "redis://127.0.0.1:1/0"


def _melter(number: int, primary: str, silicon: str, outcomes) -> None:  # type: ignore[no-untyped-def]
    """Record melts that each take 50 kg of the same primary lot and 5 kg of the same silicon lot."""
    try:
        organisation = Organisation.objects.get(slug="nordic-remelt")
        site = Site.objects.get(organisation=organisation)
        for melt in range(MELTS_PER_WRITER):
            try:
                ops.remelting(
                    organisation=organisation,
                    site=site,
                    inputs=[ops.LotIn(primary, MELT_INPUT_KG), ops.LotIn(silicon, Decimal("5"))],
                    output=ops.LotOut(ObjectKind.MELT_BATCH, Decimal("54"), code=f"RACE-{number}-{melt}"),
                    melt_loss_kg=Decimal("1"),
                    dross_kg=Decimal("0"),
                    natural_gas_m3=Decimal("4"),
                    electricity_kwh=Decimal("5"),
                    event_time=at(50 + number + melt / 10),
                )
                outcomes.put(("ok", number))
            except ApplicationError as exc:
                outcomes.put((exc.code, number))
    except Exception as exc:
        outcomes.put((f"crash: {exc!r}", number))
    finally:
        connections.close_all()


def test_eight_writers_on_the_same_lots_never_over_consume_or_fork():
    # given: the loop leaves 500 kg of the primary lot and 60 kg of silicon: room for 10 melts
    # by primary, 12 by silicon; 8 writers try 24
    loop = build_loop()
    primary = TraceableObject.objects.get(identifier=loop.primary)
    assert primary.remaining_kg == Decimal("500")
    context = multiprocessing.get_context("fork")
    outcomes = context.Queue()
    connections.close_all()

    # when
    writers = [context.Process(target=_melter, args=(n, loop.primary, loop.silicon, outcomes)) for n in range(WRITERS)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=300)

    # then: exactly as many melts as the lot allows, every other attempt refused by the rule
    results = [outcomes.get(timeout=5) for _ in range(WRITERS * MELTS_PER_WRITER)]
    assert all(w.exitcode == 0 for w in writers)
    assert not [r for r in results if r[0].startswith("crash")], results
    accepted = [r for r in results if r[0] == "ok"]
    refused = {code for code, _ in results if code != "ok"}
    assert len(accepted) == 10
    assert refused and refused <= {"lot_overconsumed", "object_ended"}, refused
    primary.refresh_from_db()
    assert primary.remaining_kg == Decimal("0")
    assert TraceableObject.objects.filter(label__startswith="RACE-").count() == 10
    seqs = list(LedgerEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    report = verify_ledger(processes=2)
    assert report.ok, report.failures[:5]


def test_with_the_broker_down_events_are_accepted_and_footprints_catch_up_later():
    # given: the loop, its footprints computed, then the broker goes away
    loop = build_loop()
    carbon_services.footprints_catch_up()
    cursor = LedgerCursor.objects.get().seq
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {loop.remelter.api_key}")
    payload = {
        "site": loop.remelt_site.pk,
        "eventTime": at(60).isoformat(),
        "inputs": [{"identifier": loop.primary, "mass": {"value": 100, "unit": "kg"}}],
        "output": {"kind": "melt_batch", "code": "M-OFFLINE", "mass": {"value": 98, "unit": "kg"}},
        "meltLoss": {"value": 2, "unit": "kg"},
        "naturalGas": {"value": 8, "unit": "m**3"},
        "electricity": {"value": 10, "unit": "kWh"},
    }

    # when: a melt is recorded while no task can be queued
    with tasks_sent_to(DOWN_BROKER):
        response = client.post("/api/v1/operations/remelting", payload, format="json")

    # then: accepted and committed; nothing computed it yet
    assert response.status_code == 201, response.content
    melt = TraceableObject.objects.get(label="M-OFFLINE")
    assert LedgerCursor.objects.get().seq == cursor
    assert not FootprintResult.objects.filter(node=melt).exists()

    # when: workers are back and the next nudge runs the catch-up
    carbon_services.footprints_catch_up()
    caught_up = {
        (r.node_id, r.method, r.chain): (r.total_per_kg, r.pre_consumer_share, r.post_consumer_share)
        for r in FootprintResult.objects.all()
    }
    carbon_services.footprints_recompute()
    full = {
        (r.node_id, r.method, r.chain): (r.total_per_kg, r.pre_consumer_share, r.post_consumer_share)
        for r in FootprintResult.objects.all()
    }

    # then: the late results equal a full recomputation
    assert FootprintResult.objects.filter(node=melt).count() == 6
    assert caught_up.keys() == full.keys()
    for key, values in full.items():
        assert caught_up[key] == pytest.approx(values, rel=1e-9, abs=1e-12), key


def unreachable_follower(seq: int) -> None:
    raise ConnectionError(f"broker down, nudge for {seq} lost")


def test_a_follower_that_fails_after_the_commit_never_fails_the_append(partner, caplog, settings):
    # given: a follower of the ledger whose queue is unreachable
    settings.LEDGER_FOLLOWERS = (*settings.LEDGER_FOLLOWERS, f"{__name__}.unreachable_follower")

    # when
    entry = events.ledger_append(organisation=partner.organisation, document=object_event(1))

    # then: the event is committed and the failure is on record
    assert LedgerEntry.objects.filter(seq=entry.seq).exists()
    assert any(
        "broker down" in record.getMessage() or "broker down" in str(record.exc_info) for record in caplog.records
    )


def test_a_database_that_goes_away_mid_request_is_a_clear_retryable_error(partner, monkeypatch):
    # given: the database connection fails as it does while PostgreSQL restarts
    from django.db import OperationalError

    from traceability.api import operations as api_operations

    def unreachable(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(api_operations.Site.objects, "select_related", unreachable)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}")

    # when
    response = client.post(
        "/api/v1/operations/material-receipt",
        {"site": 1, "lots": [{"kind": "primary_ingot", "code": "P-9", "mass": "1 t"}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="receipt-1",
    )

    # then: 503 with a machine-readable reason and when to retry
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable" and response.json()["retryable"] is True
    assert response["Retry-After"] == "2"
