"""Several processes append at once on PostgreSQL: one gapless, fork-free chain."""

import multiprocessing

import pytest
from django.db import connections

from tests.factories import object_event, signed
from traceability import events
from traceability.models import LedgerEntry, Organisation
from traceability.verification import verify_ledger
from traceability.writer import SubmittedDocument

pytestmark = pytest.mark.slow
WRITERS = 4
ROUNDS = 15


def _writer(number: int, failures) -> None:  # type: ignore[no-untyped-def]
    try:
        organisation = Organisation.objects.get(slug="nordic-remelt")
        for round_ in range(ROUNDS):
            base = 1000 * number + 10 * round_
            if round_ % 2:
                events.ledger_append(organisation=organisation, document=object_event(base))
            else:
                events.ledger_append_batch(
                    organisation=organisation,
                    items=[SubmittedDocument(document=object_event(base + i)) for i in range(3)],
                )
    except Exception as exc:
        failures.put(f"writer {number}: {exc!r}")
    finally:
        connections.close_all()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_gapless_chain(partner):
    # given
    before = LedgerEntry.objects.count()
    context = multiprocessing.get_context("fork")
    failures = context.Queue()
    connections.close_all()

    # when
    writers = [context.Process(target=_writer, args=(n, failures)) for n in range(WRITERS)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)

    # then
    assert all(w.exitcode == 0 for w in writers)
    assert failures.empty(), failures.get()
    per_writer = sum(3 if r % 2 == 0 else 1 for r in range(ROUNDS))
    seqs = list(LedgerEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, before + WRITERS * per_writer + 1))
    documents = list(LedgerEntry.objects.filter(kind="event").values_list("document", flat=True))
    assert len(documents) == len(set(documents)) == WRITERS * per_writer
    report = verify_ledger(processes=2)
    assert report.ok, report.failures[:5]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_client_signed_and_custodial_writers_interleave(partner):
    connections.close_all()
    context = multiprocessing.get_context("fork")
    items = [signed(partner, object_event(5000 + n)) for n in range(20)]

    def client_writer() -> None:
        for item in items:
            events.ledger_append_batch(organisation=partner.organisation, items=[item])
        connections.close_all()

    processes = [context.Process(target=client_writer), context.Process(target=_writer, args=(9, context.Queue()))]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)

    assert [p.exitcode for p in processes] == [0, 0]
    assert verify_ledger(processes=2).ok
