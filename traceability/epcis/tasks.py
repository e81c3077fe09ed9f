"""EPCIS capture in a Celery worker: the 202 job of ``POST /epcis/capture`` is finished here."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from celery import shared_task
from django.db import transaction

from traceability.epcis import services

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
