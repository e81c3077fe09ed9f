from celery import shared_task
from django.conf import settings

from traceability import services
from traceability.witnessing import services as witnessing
from traceability.witnessing.selectors import witness_policy

MAX_WITNESS_BACKOFF_SECONDS = 600


@shared_task(name="traceability.tasks.ledger_checkpoint_task")
def ledger_checkpoint_task() -> dict[str, object]:
    """Sign the current tree head; run periodically by Celery beat."""
    checkpoint = services.ledger_checkpoint_create()
    return {"tree_size": checkpoint.tree_size, "root_hash": checkpoint.root_hash}


@shared_task(name="traceability.tasks.checkpoint_witness_task", bind=True, acks_late=True)
def checkpoint_witness_task(self, checkpoint_id: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Ask the policy's witnesses to cosign a checkpoint; ask again, backing off, those that are down."""
    outcome = witnessing.checkpoint_witness(checkpoint_id=checkpoint_id)
    if (
        outcome.unreachable
        and not self.request.is_eager
        and self.request.retries < settings.LEDGER_WITNESS_MAX_ATTEMPTS
    ):
        delay = min(settings.LEDGER_WITNESS_RETRY_SECONDS * 2**self.request.retries, MAX_WITNESS_BACKOFF_SECONDS)
        raise self.retry(countdown=delay, max_retries=settings.LEDGER_WITNESS_MAX_ATTEMPTS)
    return {"cosigned": outcome.cosigned, "unreachable": outcome.unreachable, "refused": outcome.refused}


def witness_later(checkpoint_id: int) -> None:
    """After a new checkpoint commits (``settings.CHECKPOINT_FOLLOWERS``): its witnessing, in a worker."""
    if witness_policy() is not None:
        checkpoint_witness_task.delay(checkpoint_id)
