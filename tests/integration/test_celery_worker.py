"""One test runs a real Celery worker on the Redis broker against the test database."""

import os
import subprocess
import sys
import uuid

import pytest
from celery import Celery
from django.conf import settings

from tests.conftest import PROJECT_ROOT, REDIS_URL
from tests.factories import object_event
from traceability import services
from traceability.models import Checkpoint, LedgerEntry


def database_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_signs_a_checkpoint_from_the_queue(partner):
    # given: committed entries and a worker consuming a queue of its own
    for n in range(5):
        services.ledger_append(organisation=partner.organisation, document=object_event(n))
    queue = f"looptrace-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_RESULT_BACKEND": REDIS_URL,
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
    client = Celery("looptrace-test-client", broker=REDIS_URL, backend=REDIS_URL)
    try:
        # when
        result = client.send_task("traceability.tasks.ledger_checkpoint_task", queue=queue)
        outcome = result.get(timeout=90)
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=30)

    # then: the worker wrote the checkpoint of the current head into the database
    size = LedgerEntry.objects.count()
    assert outcome == {"tree_size": size, "root_hash": Checkpoint.objects.get(tree_size=size).root_hash}, output
