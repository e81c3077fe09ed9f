"""PACT work done outside the request: answering footprint requests."""

from celery import shared_task

from carbon.models import PactEvent
from carbon.pact import services

# PACT: retry with exponential backoff, give up after 72 hours.
MAX_RETRIES = 12
MAX_BACKOFF_SECONDS = 6 * 3600


@shared_task(name="carbon.pact.tasks.pact_request_answer_task", bind=True, acks_late=True, max_retries=MAX_RETRIES)
def pact_request_answer_task(self, event_pk: int) -> str:  # type: ignore[no-untyped-def]
    event = services.request_answer(event_pk=event_pk)
    if event.answer == PactEvent.Answer.UNDELIVERED and not self.request.is_eager:
        raise self.retry(countdown=min(60 * 2**self.request.retries, MAX_BACKOFF_SECONDS))
    return event.answer


def answer_later(event_pk: int) -> None:
    """After a request event commits: answer it in a worker (``settings.PACT_REQUEST_FOLLOWERS``)."""
    pact_request_answer_task.delay(event_pk)
