"""The tiles follow the ledger: every committed append and every new checkpoint nudge a publication."""

from celery import shared_task

from traceability.tlog.publish import tiles_publish


@shared_task(name="traceability.tlog.tasks.tiles_publish_task", acks_late=True)
def tiles_publish_task() -> dict[str, int | None]:
    """Catch the tiles directory up with the ledger and its latest checkpoint (idempotent)."""
    published = tiles_publish()
    return {"tree_size": published.tree_size, "checkpoint": published.checkpoint_size, "written": published.written}


def nudge_tiles(seq: int) -> None:
    """After an append commits (``seq``: its head), or a checkpoint is signed (its id)."""
    # No retries while the broker is down: the next nudge catches up from the state file.
    tiles_publish_task.apply_async(retry=False)
