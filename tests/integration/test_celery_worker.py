"""Real Celery workers on the Redis broker against the test database."""

import pytest

from carbon.models import FootprintResult, LedgerCursor
from tests.factories import object_event
from tests.loop import build_loop
from tests.workers import celery_worker
from traceability import hooks, services
from traceability.models import Checkpoint, LedgerEntry

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_signs_a_checkpoint_from_the_queue(partner):
    # given: committed entries
    for n in range(5):
        services.ledger_append(organisation=partner.organisation, document=object_event(n))

    # when
    with celery_worker() as (client, queue):
        outcome = client.send_task("traceability.tasks.ledger_checkpoint_task", queue=queue).get(timeout=90)

    # then: the worker wrote the checkpoint of the current head into the database
    size = LedgerEntry.objects.count()
    assert outcome == {"tree_size": size, "root_hash": Checkpoint.objects.get(tree_size=size).root_hash}


def test_a_real_worker_catches_carbon_up_with_the_ledger():
    # given: a loop recorded while nobody followed the ledger
    with hooks.paused():
        loop = build_loop()
    assert not FootprintResult.objects.exists()

    # when
    with celery_worker() as (client, queue):
        outcome = client.send_task("carbon.tasks.footprints_catch_up_task", queue=queue).get(timeout=120)

    # then: every object of the loop has its footprints, and the cursor is at the head
    head = LedgerEntry.objects.order_by("-seq").values_list("seq", flat=True).first()
    assert outcome["ledger_size"] == LedgerCursor.objects.get().seq
    assert FootprintResult.objects.filter(node__identifier__in=loop.trays).count() == 6 * len(loop.trays)
    assert LedgerCursor.objects.get().seq <= head
