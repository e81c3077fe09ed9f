"""``epcis_capture``: events/s through EPCIS capture against plain ledger appends of the same events.

The workload is 20,000 EPCIS 2.0 ObjectEvents of one partner (``ADD`` with ILMD, an
EPC and two locations each, about 600 canonical bytes), built untimed. Subject: 40
EPCISDocuments of 500 events through ``epcis_capture`` (schema validation, CBV 2.0
event hash, eventID check, de-duplication lookup, custodial signing, append, query
index). Baseline: as many events of the same shape, with the document's ``@context``
as capture stores it, through ``ledger_append_batch`` in batches of 500, custodially
signed. Subject and baseline alternate one batch at a time, so drift weighs on both.
"""

from __future__ import annotations

from time import perf_counter

from tqdm import tqdm

from bench.report import BenchError, Result
from traceability import events, services, writer
from traceability.epcis.services import epcis_capture
from traceability.models import EpcisEvent

TARGET = ">=0.7"
EVENTS = 20_000
DOCUMENT_SIZE = 500
PARTNER_SLUG = "bench-epcis-partner"
# Events of the baseline are numbered from here, apart from the captured ones.
BASELINE_NUMBERS = 1_000_000
CONTEXT = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    {"lt": "https://ns.looptrace.example/epcis/"},
]


def capture_event(number: int) -> dict[str, object]:
    return {
        "type": "ObjectEvent",
        # The ledger_append workload numbers its events the same way: a namespace of its own.
        "eventID": f"urn:uuid:00000000-0000-4000-9000-{number:012d}",
        "eventTime": f"2026-11-01T{number // 3600 % 24:02d}:{number // 60 % 60:02d}:{number % 60:02d}.000Z",
        "eventTimeZoneOffset": "+00:00",
        "epcList": [f"urn:epc:id:sgtin:4012345.011111.{number}"],
        "action": "ADD",
        "bizStep": "commissioning",
        "disposition": "active",
        "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"},
        "bizLocation": {"id": "urn:epc:id:sgln:4012345.00000.0"},
        "ilmd": {"lt:massKg": 1234.5 + number % 100, "lt:batteryChemistry": "NMC811"},
    }


def document(events: list[dict[str, object]]) -> dict[str, object]:
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-02T00:00:00Z",
        "epcisBody": {"eventList": events},
    }


def run() -> Result:
    organisation = services.organisation_create(slug=PARTNER_SLUG, name="Bench EPCIS partner", role="remelter")
    services.signing_key_create_custodial(organisation=organisation)
    documents = [
        document([capture_event(n) for n in range(start, start + DOCUMENT_SIZE)])
        for start in range(0, EVENTS, DOCUMENT_SIZE)
    ]
    baseline_batches = [
        [
            writer.SubmittedDocument(document={"@context": CONTEXT, **capture_event(BASELINE_NUMBERS + n)})
            for n in range(start, start + DOCUMENT_SIZE)
        ]
        for start in range(0, EVENTS, DOCUMENT_SIZE)
    ]
    subject_seconds = baseline_seconds = 0.0
    for captured, batch in tqdm(list(zip(documents, baseline_batches, strict=True)), desc="epcis_capture", unit="doc"):
        started = perf_counter()
        events.ledger_append_batch(organisation=organisation, items=batch)
        baseline_seconds += perf_counter() - started
        started = perf_counter()
        job = epcis_capture(organisation=organisation, document=captured, error_behaviour="rollback")
        subject_seconds += perf_counter() - started
        if not job.success or job.captured_count != DOCUMENT_SIZE:
            raise BenchError(f"capture job failed: {job.errors[:3]}")
    stored = EpcisEvent.objects.filter(organisation=organisation).count()
    if stored != 2 * EVENTS:
        raise BenchError(f"{stored} events indexed, expected {2 * EVENTS}")
    return Result.of(value=EVENTS / subject_seconds, baseline=EVENTS / baseline_seconds, unit="events/s", target=TARGET)
