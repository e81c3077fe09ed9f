"""Real Celery workers on the Redis broker against the test database."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
import redis

from carbon import services as carbon_services
from carbon.models import FootprintResult, LedgerCursor
from config.celery import app
from tests.conftest import REDIS_URL
from tests.factories import object_event
from tests.loop import at, build_loop
from tests.workers import celery_worker
from traceability import events, hooks
from traceability.choices import ObjectKind
from traceability.models import Checkpoint, LedgerEntry
from traceability.operations import services as ops

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_real_worker_signs_a_checkpoint_from_the_queue(partner):
    # given: committed entries
    for n in range(5):
        events.ledger_append(organisation=partner.organisation, document=object_event(n))

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


def test_a_new_event_nudges_a_real_worker_which_computes_its_footprints():
    # given: the loop, already caught up, and this process sending tasks to Redis, not running them
    with hooks.paused():
        loop = build_loop()
    carbon_services.footprints_catch_up()
    # A Redis database of the test's own, so the default queue holds nothing but this test's nudge.
    broker = REDIS_URL.rsplit("/", 1)[0] + "/15"
    redis.Redis.from_url(broker).flushdb()
    with celery_worker(queue="celery", broker=broker), tasks_sent_to(broker):
        # when: one more melt is recorded the ordinary way
        record = ops.remelting(
            organisation=loop.remelter.organisation,
            site=loop.remelt_site,
            inputs=[ops.LotIn(loop.primary, Decimal("100"))],
            output=ops.LotOut(ObjectKind.MELT_BATCH, Decimal("98"), code="M-NUDGED"),
            melt_loss_kg=Decimal(2),
            dross_kg=Decimal(0),
            natural_gas_m3=Decimal(8),
            electricity_kwh=Decimal(10),
            event_time=at(40),
        )
        # then: the worker, not this process, computes the new melt's footprints
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and LedgerCursor.objects.get().seq < record.entry_id:
            time.sleep(0.2)
    assert LedgerCursor.objects.get().seq == record.entry_id
    melt = FootprintResult.objects.get(node__label="M-NUDGED", method="cut_off", chain="physical")
    assert melt.total_per_kg == pytest.approx((100 * 4.0 + 8 * 2.04 + 10 * 0.380) / 98, rel=1e-9)


@contextmanager
def tasks_sent_to(broker: str) -> Iterator[None]:
    """Make this test process a producer on the Redis broker, as a web process with a broker is."""
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=broker, task_always_eager=False)
    try:
        yield
    finally:
        app.conf.update(saved)


def test_two_workers_on_one_queue_reach_what_a_full_recomputation_gives():
    # given: the loop, caught up, and two workers sharing the default queue of a Redis database
    with hooks.paused():
        loop = build_loop()
    carbon_services.footprints_catch_up()
    broker = REDIS_URL.rsplit("/", 1)[0] + "/14"
    redis.Redis.from_url(broker).flushdb()
    with (
        celery_worker(queue="celery", broker=broker),
        celery_worker(queue="celery", broker=broker),
        tasks_sent_to(broker),
    ):
        # when: several melts are recorded, each nudging whichever worker takes it
        records = [
            ops.remelting(
                organisation=loop.remelter.organisation,
                site=loop.remelt_site,
                inputs=[ops.LotIn(loop.primary, Decimal("50"))],
                output=ops.LotOut(ObjectKind.MELT_BATCH, Decimal("49"), code=f"M-PAR-{n}"),
                melt_loss_kg=Decimal(1),
                dross_kg=Decimal(0),
                natural_gas_m3=Decimal(4),
                electricity_kwh=Decimal(5 + n),
                event_time=at(41 + n),
            )
            for n in range(6)
        ]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and LedgerCursor.objects.get().seq < records[-1].entry_id:
            time.sleep(0.2)

    # then: the workers' results are those of a full recomputation
    assert LedgerCursor.objects.get().seq == records[-1].entry_id
    by_workers = {(r.node_id, r.method, r.chain): r.total_per_kg for r in FootprintResult.objects.all()}
    carbon_services.footprints_recompute()
    full = {(r.node_id, r.method, r.chain): r.total_per_kg for r in FootprintResult.objects.all()}
    assert by_workers.keys() == full.keys()
    assert all(by_workers[key] == pytest.approx(value, rel=1e-9) for key, value in full.items())
