"""EPCIS work outside the request: capture of accepted documents (the 202 job of ``POST /epcis/capture``),
subscription runs after appends and on schedules, and webhook deliveries."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from traceability.epcis import services, subscriptions
from traceability.models import EpcisDelivery, EpcisSubscription

logger = logging.getLogger(__name__)
# A job still running this long after it was created lost its worker (or its message).
STALE_AFTER_SECONDS = 600


@shared_task(name="traceability.epcis.tasks.epcis_capture_task")
def epcis_capture_task(capture_id: str) -> dict[str, object]:
    """Capture one job's document. A rule an event breaks is the job's outcome; anything else
    fails the job with an ImplementationException (a worker that dies leaves it to the resume)."""
    try:
        job = services.epcis_capture_run(capture_id=capture_id)
    except Exception as exc:
        logger.exception("EPCIS capture %s broke down", capture_id)
        services.epcis_capture_fail(capture_id=capture_id, detail=f"the capture broke down: {type(exc).__name__}")
        raise
    if job is None:
        return {"captureID": capture_id, "found": False}
    return {"captureID": capture_id, "running": job.running, "success": job.success}


@shared_task(name="traceability.epcis.tasks.epcis_capture_resume_task")
def epcis_capture_resume_task(stale_after_seconds: float = STALE_AFTER_SECONDS) -> int:
    """Finish capture jobs whose worker died mid-capture (run periodically by Celery beat)."""
    return services.epcis_capture_resume(older_than=timedelta(seconds=stale_after_seconds))


def capture_later(capture_id: uuid.UUID) -> None:
    """``settings.EPCIS_CAPTURE_RUNNER``: a worker captures the job once the transaction that
    created it commits; without a broker (eager Celery) it is captured here and now."""
    if epcis_capture_task.app.conf.task_always_eager:
        services.epcis_capture_run(capture_id=capture_id)
        return
    # A broker that is down leaves the job running, for the resume sweep; the 202 stands.
    transaction.on_commit(lambda: epcis_capture_task.apply_async((str(capture_id),), retry=False), robust=True)


@shared_task(name="traceability.epcis.tasks.subscriptions_stream_task", acks_late=True)
def subscriptions_stream_task() -> int:
    """Run every stream subscription over the events appended since its cursor."""
    now = timezone.now()
    ids = subscriptions.stream_subscription_ids()
    for pk in ids:
        _run(pk, now, scheduled=False)
    return len(ids)


@shared_task(name="traceability.epcis.tasks.subscription_run_task", acks_late=True)
def subscription_run_task(subscription_id: str, scheduled: bool = False) -> None:
    """A follow-up run of one subscription that had more events than one run sends."""
    _run(subscription_id, timezone.now(), scheduled=scheduled)


def _run(pk: object, now: datetime, *, scheduled: bool) -> None:
    more = subscriptions.epcis_subscription_run(subscription_id=str(pk), now=now, scheduled=scheduled)
    if more:
        subscription_run_task.apply_async((str(pk), False), retry=False)


@shared_task(name="traceability.epcis.tasks.subscriptions_schedule_task", acks_late=True)
def subscriptions_schedule_task(now: str | None = None) -> int:
    """Celery beat, every ``EPCIS_SCHEDULE_TICK_SECONDS``: run the scheduled subscriptions that are
    due (a query time since their last run) and resend overdue deliveries. ``now`` (ISO 8601) is
    for tests and catch-ups. Returns the number of subscriptions run."""
    moment = datetime.fromisoformat(now) if now else timezone.now()
    due = subscriptions.due_scheduled_subscription_ids(now=moment)
    for pk in due:
        _run(pk, moment, scheduled=True)
    # Deliveries whose retry was lost (or never queued: eager tasks) are sent again.
    for delivery_id in subscriptions.overdue_delivery_ids(now=moment):
        deliver_later(delivery_id)
    return len(due)


@shared_task(
    name="traceability.epcis.tasks.subscription_deliver_task",
    bind=True,
    acks_late=True,
    max_retries=None,  # bounded by EPCIS_WEBHOOK_MAX_ATTEMPTS, which the delivery counts
)
def subscription_deliver_task(self, delivery_id: int) -> str:  # type: ignore[no-untyped-def]
    delivery = subscriptions.epcis_delivery_attempt(delivery_id=delivery_id)
    if delivery is None:
        return "gone or busy"
    if delivery.state == EpcisDelivery.State.PENDING and not self.request.is_eager:
        raise self.retry(countdown=subscriptions.retry_delay(delivery.attempts))
    return str(delivery.state)


def deliver_later(delivery_id: int) -> None:
    subscription_deliver_task.delay(delivery_id)


def nudge_subscriptions(seq: int) -> None:
    """After a ledger append commits (``settings.LEDGER_FOLLOWERS``): run the stream subscriptions."""
    if EpcisSubscription.objects.filter(stream=True).exists():
        # No retries while the broker is down: the next append's nudge runs from the cursors.
        subscriptions_stream_task.apply_async(retry=False)
