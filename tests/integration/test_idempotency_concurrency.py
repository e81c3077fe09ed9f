"""Concurrent requests with one Idempotency-Key get one result: the first does the work, the others
wait for it and replay its stored response (real threads, each with its own database connection)."""

import threading
import time

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from tests.factories import make_partner, make_site, valid_vin
from traceability.api import operations as operation_views
from traceability.api.idempotency import IDEMPOTENCY_LOCK_CLASS
from traceability.models import EventRecord, IdempotencyRecord

REQUESTS = 4
# Only a bound on a wait that, when the lock works, ends as soon as the others queue up.
QUEUE_DEADLINE_SECONDS = 20


def _waiting_on_key_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND NOT granted",
            [IDEMPOTENCY_LOCK_CLASS],
        )
        return int(cursor.fetchone()[0])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_record_once_and_replay(monkeypatch):
    # given: the first request to do the work holds on until the others queue behind its key
    partner = make_partner("autocirc", role="dismantler")
    yard = make_site(partner, "Yard")
    body = {"site": yard.pk, "vin": valid_vin(7), "mass": "1.6 t", "make": "Volta", "model": "E-Compact"}
    real_record = operation_views.operation_record
    entered = threading.Lock()
    queued = []

    def record_then_wait_for_the_others(**kwargs):  # type: ignore[no-untyped-def]
        result = real_record(**kwargs)
        if entered.acquire(blocking=False):
            deadline = time.monotonic() + QUEUE_DEADLINE_SECONDS
            while _waiting_on_key_locks() < REQUESTS - 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            queued.append(_waiting_on_key_locks())
        return result

    monkeypatch.setattr(operation_views, "operation_record", record_then_wait_for_the_others)
    responses: list = [None] * REQUESTS
    start = threading.Barrier(REQUESTS)

    def send(number: int) -> None:
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}")
            start.wait()
            responses[number] = client.post(
                "/api/v1/operations/vehicle-intake", body, format="json", HTTP_IDEMPOTENCY_KEY="intake-7"
            )
        finally:
            connections.close_all()

    # when
    threads = [threading.Thread(target=send, args=(n,)) for n in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then: one result for all, and the others really were waiting on the key while the first worked
    assert [r.status_code for r in responses] == [201] * REQUESTS, [r.json() for r in responses]
    assert queued == [REQUESTS - 1]
    assert all(r.json() == responses[0].json() for r in responses)
    assert sorted(r.headers.get("Idempotent-Replayed", "") for r in responses) == [""] + ["true"] * (REQUESTS - 1)
    assert EventRecord.objects.filter(operation="vehicle_intake", organisation=partner.organisation).count() == 1
    assert IdempotencyRecord.objects.filter(organisation=partner.organisation, key="intake-7").count() == 1
