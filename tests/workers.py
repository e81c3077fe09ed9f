"""A real Celery worker on the Redis broker, pointed at the test database."""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from celery import Celery, current_app
from django.conf import settings

from tests.conftest import PROJECT_ROOT, REDIS_URL


def database_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@contextmanager
def celery_worker(*, queue: str | None = None, broker: str = REDIS_URL) -> Iterator[tuple[Celery, str]]:
    """Start a worker on a queue of its own (or ``queue``); yield a client and the queue name; stop it."""
    with celery_worker_process(queue=queue, broker=broker) as (client, queue_name, _):
        yield client, queue_name


@contextmanager
def celery_worker_process(
    *, queue: str | None = None, broker: str = REDIS_URL
) -> Iterator[tuple[Celery, str, subprocess.Popen[str]]]:
    """``celery_worker``, also yielding the worker's process (a test may kill it)."""
    queue = queue or f"looptrace-test-{uuid.uuid4().hex[:8]}"
    previous = current_app._get_current_object()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": broker,
        "SECRET_KEY": settings.SECRET_KEY,
        "KEY_ENCRYPTION_KEY": settings.KEY_ENCRYPTION_KEY,
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            queue,
            "--pool",
            "solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "warning",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield Celery("looptrace-test-client", broker=broker, backend=broker), queue, worker
    finally:
        # The client became the current app; later tests' nudges must reach the project's app again.
        previous.set_current()
        worker.terminate()
        worker.communicate(timeout=30)
