"""PACT work done outside the request: answering footprint requests, announcing new versions."""

from celery import shared_task

from carbon.models import PactEvent, PactPublication
from carbon.pact import services

# PACT: retry with exponential backoff, give up after 72 hours.
MAX_RETRIES = 12
MAX_BACKOFF_SECONDS = 6 * 3600


def _backoff(retries: int) -> int:
    return min(60 * 2**retries, MAX_BACKOFF_SECONDS)


@shared_task(name="carbon.pact.tasks.pact_request_answer_task", bind=True, acks_late=True, max_retries=MAX_RETRIES)
def pact_request_answer_task(self, event_pk: int) -> str:  # type: ignore[no-untyped-def]
    event = services.request_answer(event_pk=event_pk)
    if event.answer == PactEvent.Answer.UNDELIVERED and not self.request.is_eager:
        raise self.retry(countdown=_backoff(self.request.retries))
    return event.answer


def answer_later(event_pk: int) -> None:
    """After a request event commits: answer it in a worker (``settings.PACT_REQUEST_FOLLOWERS``)."""
    pact_request_answer_task.delay(event_pk)


@shared_task(name="carbon.pact.tasks.pact_publish_task", acks_late=True)
def pact_publish_task() -> int:
    return services.footprints_publish()


def publish_later(seq: int) -> None:
    """After recomputed results commit (``settings.FOOTPRINT_FOLLOWERS``; ``seq``: the ledger they
    reflect): reissue the footprints partners follow and announce them, in a worker."""
    # No retries while the broker is down: the next recomputation's nudge publishes what is behind.
    pact_publish_task.apply_async(retry=False)


@shared_task(name="carbon.pact.tasks.pact_publication_deliver_task", bind=True, acks_late=True, max_retries=MAX_RETRIES)
def pact_publication_deliver_task(self, publication_pk: int) -> str:  # type: ignore[no-untyped-def]
    publication = services.publication_deliver(publication_pk=publication_pk)
    if publication.state == PactPublication.State.UNDELIVERED and not self.request.is_eager:
        raise self.retry(countdown=_backoff(self.request.retries))
    return publication.state


def deliver_later(publication_pk: int) -> None:
    """After a PublishedEvent is queued (``settings.PACT_PUBLICATION_FOLLOWERS``): deliver it in a worker."""
    pact_publication_deliver_task.delay(publication_pk)
