from celery import shared_task

from traceability import services


@shared_task(name="traceability.tasks.ledger_checkpoint_task")
def ledger_checkpoint_task() -> dict[str, object]:
    """Sign the current tree head; run periodically by Celery beat."""
    checkpoint = services.ledger_checkpoint_create()
    return {"tree_size": checkpoint.tree_size, "root_hash": checkpoint.root_hash}
