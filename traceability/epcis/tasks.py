"""EPCIS subscriptions outside the request: stream runs after appends, scheduled runs, deliveries."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.utils import timezone

from traceability.epcis import subscriptions
from traceability.models import EpcisDelivery, EpcisSubscription


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
