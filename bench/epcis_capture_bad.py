"""``epcis_capture_bad``: a proceed-mode capture where half the events break a rule, against a clean one.

Subject: one EPCISDocument of ``EVENTS`` ObjectEvents (the shape of ``epcis_capture``'s),
every second one claiming an ``lt:operation`` that does not exist, so Looptrace's rules refuse
it; captured with ``GS1-Capture-Error-Behaviour: proceed``: the good half is stored and each
bad event reported by its index. Baseline: a document of as many good events, captured the
same way. Seconds per document, each run once (each stores 5,000 or 10,000 events; the
clean one first); the ratio is subject time over baseline time. Rules are checked once per
event or so, so the bad half costs about what it would cost to store it: retrying the rest
of the batch after each failure made this quadratic (400 bad events took 25 s).
"""

from __future__ import annotations

import sys
from time import perf_counter

from bench.epcis_capture import capture_event, document
from bench.report import BenchError, Result
from traceability import services
from traceability.epcis.services import CAPTURE_LIMIT, epcis_capture

TARGET = "<=2"
EVENTS = CAPTURE_LIMIT
PARTNER_SLUG = "bench-epcis-bad-partner"
# Events of each document are numbered from here, apart from other benchmarks' events.
CLEAN_NUMBERS, MIXED_NUMBERS = 2_000_000, 3_000_000


def run() -> Result:
    organisation = services.organisation_create(slug=PARTNER_SLUG, name="Bench EPCIS bad partner", role="remelter")
    services.signing_key_create_custodial(organisation=organisation)
    clean = document([capture_event(CLEAN_NUMBERS + n) for n in range(EVENTS)])
    mixed = document(
        [
            {**capture_event(MIXED_NUMBERS + n), "lt:operation": "teleport"}
            if n % 2
            else capture_event(MIXED_NUMBERS + n)
            for n in range(EVENTS)
        ]
    )

    started = perf_counter()
    job = epcis_capture(organisation=organisation, document=clean, error_behaviour="proceed")
    baseline = perf_counter() - started
    if not job.success or job.captured_count != EVENTS:
        raise BenchError(f"the clean capture failed: {job.errors[:3]}")
    print(f"bench: epcis_capture_bad: clean capture of {EVENTS} events took {baseline:.1f} s", file=sys.stderr)

    started = perf_counter()
    job = epcis_capture(organisation=organisation, document=mixed, error_behaviour="proceed")
    subject = perf_counter() - started
    refused = [error.get("eventIndex") for error in job.errors]
    if job.captured_count != EVENTS // 2 or refused != list(range(1, EVENTS, 2)):
        raise BenchError(f"the mixed capture stored {job.captured_count} events and refused {len(refused)}")
    return Result.of(value=subject, baseline=baseline, unit="s/document", target=TARGET)
