"""Passports follow the ledger: every committed append nudges a catch-up.

Like carbon's, the task takes no arguments and works from a cursor: idempotent, and a
worker that was down catches up later. Passports wait for carbon (their footprint must
reflect the same events): a worker that finds carbon behind tries again shortly.
"""

from celery import shared_task

from passport import services

# Seconds before a worker looks again when carbon has not yet computed the newest events.
CARBON_WAIT_SECONDS = 5
CARBON_WAIT_RETRIES = 60


@shared_task(name="passport.tasks.passports_catch_up_task", bind=True, acks_late=True)
def passports_catch_up_task(self) -> dict[str, int]:  # type: ignore[no-untyped-def]
    events = issued = 0
    while True:
        report = services.passports_catch_up()
        events, issued = events + report.events, issued + report.issued
        if report.events < services.CATCH_UP_BATCH:
            break
    waiting = services.battery_events_after(report.seq)
    if waiting and not self.request.is_eager and self.request.retries < CARBON_WAIT_RETRIES:
        raise self.retry(countdown=CARBON_WAIT_SECONDS)
    return {"events": events, "issued": issued, "invalid": report.invalid, "seq": report.seq}


def nudge_passports(seq: int) -> None:
    # No retries while the broker is down: the append has committed; the next nudge catches up.
    passports_catch_up_task.apply_async(retry=False)
