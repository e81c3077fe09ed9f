"""``epcis_capture_bad``: a proceed-mode capture where half the events break a rule, against a clean one.

Subject: one EPCISDocument of ``EVENTS`` events, the even ones ObjectEvents of
``epcis_capture``'s shape, every odd one breaking a rule checked against the stored
projections, so it gets past everything checked while the document is prepared and is
refused only inside the append. A bad event between every two good ones is the worst case
for the savepoint attempts of a proceeding append (each refusal used to cost one). The bad
ones alternate between

- an ObjectEvent of the same shape naming a lot another organisation received
  (``object_never_held``: the operations projector reads the stored objects and who held them);
- a material receipt of a lot with that identifier (``identifier_taken``: the receipt's rules
  read the stored objects, two queries of its own per receipt).

Captured with ``GS1-Capture-Error-Behaviour: proceed``: the good half must be stored, and
each bad event reported by its index with its rule's code. Baseline: a document of as many
events of the same kinds in the same places, every one keeping the rules (plain ObjectEvents
of the good half's shape, and material receipts of new lots where the subject has its bad
receipts), captured the same way. Seconds per document,
each run once (each stores 5,000 or 10,000 events; the clean one first); the ratio is subject
time over baseline time. The other organisation's lots are received before any timing.

The append finds a batch's refusals by the operations' rules in one attempt and stores the
rest in a second (``traceability.writer.append_submissions_proceeding``), so the bad half
costs about what checking it costs. Retrying the rest of the batch after each failure made
this quadratic (400 bad events took 25 s), and one rolled-back attempt per bad event (plus
one for the good events before it) still made it about eleven times the clean capture.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from time import perf_counter

from bench.epcis_capture import capture_event, document
from bench.report import BenchError, Result
from traceability import services
from traceability.choices import ObjectKind
from traceability.epcis.services import CAPTURE_LIMIT, epcis_capture
from traceability.models import Organisation, Site
from traceability.operations import services as ops
from traceability.operations.inputs import LotOut
from traceability.operations.material_receipt import OPERATION as MATERIAL_RECEIPT
from traceability.operations.material_receipt import MaterialReceiptInput

TARGET = "<=2"
EVENTS = CAPTURE_LIMIT
PARTNER_SLUG = "bench-epcis-bad-partner"
OWNER_SLUG = "bench-epcis-bad-owner"
# Events of each document are numbered from here, apart from other benchmarks' events.
CLEAN_NUMBERS, MIXED_NUMBERS = 2_000_000, 3_000_000
# Lots the other organisation receives, which the bad events name (each about 25 times).
FOREIGN_LOTS = 100
FOREIGN_LOT_KG = Decimal(1000)
# The receipts' event times: the day of capture_event's times, one second apart.
RECEIPT_TIMES = datetime(2026, 11, 1, tzinfo=UTC)
NEVER_HELD, TAKEN = "object_never_held", "identifier_taken"


def foreign_lot(number: int) -> str:
    return f"urn:epc:id:sgtin:4012345.022222.{number % FOREIGN_LOTS}"


def _partner(slug: str) -> tuple[Organisation, Site]:
    organisation = services.organisation_create(slug=slug, name=slug.replace("-", " ").title(), role="remelter")
    services.signing_key_create_custodial(organisation=organisation)
    return organisation, Site.objects.create(organisation=organisation, name="Bench remelt shop", country="DE")


def _bad_event(number: int, kind: str, partner: Organisation, shop: Site) -> dict[str, object]:
    if kind == NEVER_HELD:
        return {**capture_event(MIXED_NUMBERS + number), "epcList": [foreign_lot(number)]}
    lot = LotOut(ObjectKind.PRIMARY_INGOT, FOREIGN_LOT_KG, identifier=foreign_lot(number))
    receipt = MaterialReceiptInput(site=shop, lots=[lot], event_time=RECEIPT_TIMES + timedelta(seconds=number))
    return MATERIAL_RECEIPT.build(partner, receipt)


def _good_receipt(number: int, partner: Organisation, shop: Site) -> dict[str, object]:
    lot = LotOut(ObjectKind.PRIMARY_INGOT, FOREIGN_LOT_KG, identifier=f"urn:epc:id:sgtin:4012345.033333.{number}")
    receipt = MaterialReceiptInput(site=shop, lots=[lot], event_time=RECEIPT_TIMES + timedelta(seconds=number))
    return MATERIAL_RECEIPT.build(partner, receipt)


def run() -> Result:
    partner, shop = _partner(PARTNER_SLUG)
    owner, owner_shop = _partner(OWNER_SLUG)
    ops.material_receipt(
        organisation=owner,
        site=owner_shop,
        lots=[LotOut(ObjectKind.PRIMARY_INGOT, FOREIGN_LOT_KG, identifier=foreign_lot(n)) for n in range(FOREIGN_LOTS)],
        event_time=RECEIPT_TIMES,
    )
    # The clean document holds the same kinds of event in the same places, each keeping the rules
    # (its receipts receive new lots), so the ratio is what refusing costs, not what a receipt
    # costs beside a plain ObjectEvent.
    clean = document(
        [
            _good_receipt(CLEAN_NUMBERS + n, partner, shop) if n % 4 == 3 else capture_event(CLEAN_NUMBERS + n)
            for n in range(EVENTS)
        ]
    )
    # Odd events are bad, alternately of each kind: 1, 5, 9... never held; 3, 7, 11... taken.
    expected = [(NEVER_HELD if n % 4 == 1 else TAKEN, n) for n in range(1, EVENTS, 2)]
    kinds = dict((n, kind) for kind, n in expected)
    mixed = document(
        [
            _bad_event(n, kinds[n], partner, shop) if n in kinds else capture_event(MIXED_NUMBERS + n)
            for n in range(EVENTS)
        ]
    )

    started = perf_counter()
    job = epcis_capture(organisation=partner, document=clean, error_behaviour="proceed")
    baseline = perf_counter() - started
    if not job.success or job.captured_count != EVENTS:
        raise BenchError(f"the clean capture failed: {job.errors[:3]}")
    print(f"bench: epcis_capture_bad: clean capture of {EVENTS} events took {baseline:.1f} s", file=sys.stderr)

    started = perf_counter()
    job = epcis_capture(organisation=partner, document=mixed, error_behaviour="proceed")
    subject = perf_counter() - started
    refused = [(error.get("code"), error.get("eventIndex")) for error in job.errors]
    if job.captured_count != EVENTS - len(expected) or refused != expected:
        wrong = next(((got, want) for got, want in zip(refused, expected, strict=False) if got != want), None)
        raise BenchError(
            f"the mixed capture stored {job.captured_count} events and refused {len(refused)} "
            f"(first unexpected: {wrong})"
        )
    print(f"bench: epcis_capture_bad: mixed capture took {subject:.1f} s", file=sys.stderr)
    return Result.of(value=subject, baseline=baseline, unit="s/document", target=TARGET)
