"""Carbon follows the ledger: every committed append, and every new factor version that
changes stored results, nudges a catch-up.

The task takes no arguments: it first recomputes the nodes marked dirty (``DirtyNode``), in
ledger order, then computes whatever lies after the cursor, so it is idempotent, order-free,
and a worker that was down simply catches up later.
"""

from celery import shared_task

from carbon import services


@shared_task(name="carbon.tasks.footprints_catch_up_task", acks_late=True)
def footprints_catch_up_task() -> dict[str, int]:
    events = results = 0
    while True:
        refreshed = services.footprints_refresh()
        events, results = events + refreshed.events, results + refreshed.results
        if refreshed.results == 0:
            break
    while True:
        report = services.footprints_catch_up()
        events, results = events + report.events, results + report.results
        if report.events < services.CATCH_UP_BATCH:
            return {"events": events, "results": results, "ledger_size": report.ledger_size}


def nudge_footprints(seq: int) -> None:
    """After an append commits (``seq``: its head), or a factor version does (its id)."""
    # No retries while the broker is down: the append has committed; the next nudge catches up.
    footprints_catch_up_task.apply_async(retry=False)
