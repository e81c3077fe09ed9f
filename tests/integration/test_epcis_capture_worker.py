"""EPCIS capture in a real Celery worker: the 202 job runs until the worker has captured the
document, and a worker that dies mid-capture leaves the job whole for the resume sweep."""

import json
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from celery import current_app
from django.db import connection
from django.utils import timezone

from config.celery import app as project_app
from tests.api.test_epcis_capture import capture, client_for, document, foreign_event
from tests.conftest import REDIS_URL
from tests.workers import celery_worker, celery_worker_process
from traceability.epcis import services
from traceability.models import CaptureJob, EpcisEvent
from traceability.writer import LEDGER_APPEND_LOCK_ID

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True), pytest.mark.slow]
EVENTS = 40


@contextmanager
def tasks_sent_to(queue: str) -> Iterator[None]:
    """This process as a producer on the Redis broker (a web process with a broker), sending to ``queue``
    (through the project's app and the worker's client, which became the current app)."""
    keys = ("broker_url", "task_always_eager", "task_default_queue")
    apps = {id(a): a for a in (project_app, current_app._get_current_object())}.values()
    saved = [(a, {key: a.conf[key] for key in keys}) for a in apps]
    for a in apps:
        a.conf.update(broker_url=REDIS_URL, task_always_eager=False, task_default_queue=queue)
    try:
        yield
    finally:
        for a, conf in saved:
            a.conf.update(conf)


@contextmanager
def ledger_held() -> Iterator[None]:
    """Hold the ledger's append lock, so a worker that reaches its append waits there."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [LEDGER_APPEND_LOCK_ID])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LEDGER_APPEND_LOCK_ID])


def appender_waiting(timeout: float = 90) -> int:
    """The pid of the database session waiting for the ledger's append lock (the worker's)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = %s"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                [LEDGER_APPEND_LOCK_ID],
            )
            row = cursor.fetchone()
        if row:
            return int(row[0])
        time.sleep(0.1)
    raise AssertionError("no worker reached the ledger's append lock")


def finished(capture_id: str, timeout: float = 90) -> CaptureJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = CaptureJob.objects.get(id=capture_id)
        if not job.running:
            return job
        time.sleep(0.1)
    raise AssertionError(f"capture {capture_id} still running")


def test_a_worker_captures_the_document_behind_the_202_job(partner):
    client = client_for(partner)
    body = document(*(foreign_event(n) for n in range(EVENTS)))
    with celery_worker_process() as (_, queue, _worker), tasks_sent_to(queue):
        with ledger_held():
            # when: the document is accepted while the worker cannot append yet
            response = capture(client, body)
            assert response.status_code == 202, response.content
            location = response["Location"]
            appender_waiting()
            # then: the job is running, its document kept for the worker, nothing stored yet
            running = client.get(location).json()
            assert running["running"] is True
            assert running["eventCount"] == EVENTS
            assert EpcisEvent.objects.count() == 0
        job = finished(location.rsplit("/", 1)[1])

    # then: the worker captured every event; the job is done and its document dropped
    shown = client.get(location).json()
    assert shown["running"] is False and shown["success"] is True, shown
    assert shown["capturedCount"] == EVENTS
    assert job.pending_document == ""
    results = client.get("/epcis/events", {"perPage": 100}).json()["epcisBody"]["queryResults"]["resultsBody"]
    assert sorted(e["ex:batch"] for e in results["eventList"]) == sorted(f"B-{n}" for n in range(EVENTS))


def test_a_document_that_is_not_epcis_is_refused_at_once_with_no_job(partner):
    with celery_worker_process() as (_, queue, _worker), tasks_sent_to(queue):
        response = capture(client_for(partner), {"type": "EPCISDocument", "epcisBody": {}})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert not CaptureJob.objects.exists()


def test_a_worker_that_dies_mid_capture_leaves_the_job_whole_for_the_resume(partner):
    client = client_for(partner)
    body = document(*(foreign_event(n) for n in range(EVENTS)))
    with celery_worker_process() as (_, queue, worker), tasks_sent_to(queue):
        with ledger_held():
            response = capture(client, body, "rollback")
            capture_id = response["Location"].rsplit("/", 1)[1]
            waiting = appender_waiting()
            # when: the worker dies in the middle of the capture (its session goes with it)
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [waiting])

    # then: nothing of the document is stored, and the job still holds it, running
    job = CaptureJob.objects.get(id=capture_id)
    assert job.running is True
    assert json.loads(job.pending_document) == body
    assert EpcisEvent.objects.count() == 0

    # when: the resume sweep runs on a fresh worker
    with celery_worker() as (worker_client, fresh_queue):
        resumed = worker_client.send_task(
            "traceability.epcis.tasks.epcis_capture_resume_task", args=(0,), queue=fresh_queue
        ).get(timeout=90)

    # then: the job is finished once, with every event stored exactly once
    assert resumed == 1
    shown = client.get(f"/epcis/capture/{capture_id}").json()
    assert shown["running"] is False and shown["success"] is True, shown
    assert shown["capturedCount"] == EVENTS
    assert EpcisEvent.objects.count() == EVENTS


def test_a_job_no_worker_could_finish_for_a_day_fails_instead_of_being_tried_again(partner):
    # given: a job accepted two days ago that never finished, and one from an hour ago
    body = json.dumps(document(foreign_event(1)))
    old, recent = (
        CaptureJob.objects.create(
            organisation=partner.organisation,
            created_at=timezone.now() - age,
            event_count=1,
            pending_document=body,
        )
        for age in (timedelta(days=2), timedelta(hours=1))
    )

    # when
    finished = services.epcis_capture_resume(older_than=timedelta(minutes=10))

    # then: the old one failed, naming the breakdown, with nothing stored; the recent one is captured
    old.refresh_from_db()
    recent.refresh_from_db()
    assert finished == 1
    assert (old.running, old.success, old.pending_document) == (False, False, "")
    assert old.errors[0]["type"] == "epcisException:ImplementationException"
    assert (recent.running, recent.success, recent.captured_count) == (False, True, 1)
    assert EpcisEvent.objects.count() == 1
