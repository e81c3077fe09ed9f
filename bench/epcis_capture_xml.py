"""``epcis_capture_xml``: events/s of EPCIS capture from XML bodies against the same from JSON bodies.

The workload is ``epcis_capture``'s: EPCIS 2.0 ObjectEvents of one partner (``ADD`` with
ILMD, an EPC and two locations each), 20 documents of 500 events for each side, their
bodies written untimed. Subject: each document as EPCIS 2.0 XML, read by the EPCIS XML
parser of the HTTP binding (no DTD or entities, XSD validation, mapping to JSON-LD) and
captured through ``epcis_capture``. Baseline: a document of as many events of the same
shape (numbered apart, so none is a duplicate) as JSON, read by the strict JSON parser of
the HTTP binding and captured the same way. Subject and baseline alternate one document
at a time, so drift weighs on both. The ratio is XML events/s over JSON events/s.
"""

from __future__ import annotations

import io
import json
from time import perf_counter

from tqdm import tqdm

from bench.epcis_capture import BASELINE_NUMBERS, DOCUMENT_SIZE, capture_event, document
from bench.report import BenchError, Result
from traceability import services
from traceability.api.parsers import StrictJSONParser
from traceability.epcis.api.xml import EpcisXMLParser
from traceability.epcis.core import xml
from traceability.epcis.services import epcis_capture
from traceability.models import EpcisEvent

TARGET = ">=0.8"
EVENTS = 10_000
PARTNER_SLUG = "bench-epcis-xml-partner"


def _bodies(first: int, encode) -> list[bytes]:  # type: ignore[no-untyped-def]
    return [
        encode(document([capture_event(n) for n in range(start, start + DOCUMENT_SIZE)]))
        for start in range(first, first + EVENTS, DOCUMENT_SIZE)
    ]


def _capture(organisation, parser, body: bytes) -> float:  # type: ignore[no-untyped-def]
    started = perf_counter()
    parsed = parser.parse(io.BytesIO(body), parser.media_type, {})
    job = epcis_capture(organisation=organisation, document=parsed, error_behaviour="rollback")
    seconds = perf_counter() - started
    if not job.success or job.captured_count != DOCUMENT_SIZE:
        raise BenchError(f"capture job failed: {job.errors[:3]}")
    return seconds


def run() -> Result:
    organisation = services.organisation_create(slug=PARTNER_SLUG, name="Bench EPCIS XML partner", role="remelter")
    services.signing_key_create_custodial(organisation=organisation)
    xml_bodies = _bodies(0, xml.write_document)
    json_bodies = _bodies(BASELINE_NUMBERS, lambda d: json.dumps(d).encode())
    xml_parser, json_parser = EpcisXMLParser(), StrictJSONParser()
    subject_seconds = baseline_seconds = 0.0
    for xml_body, json_body in tqdm(list(zip(xml_bodies, json_bodies, strict=True)), desc="epcis_capture_xml"):
        baseline_seconds += _capture(organisation, json_parser, json_body)
        subject_seconds += _capture(organisation, xml_parser, xml_body)
    stored = EpcisEvent.objects.filter(organisation=organisation).count()
    if stored != 2 * EVENTS:
        raise BenchError(f"{stored} events indexed, expected {2 * EVENTS}")
    return Result.of(value=EVENTS / subject_seconds, baseline=EVENTS / baseline_seconds, unit="events/s", target=TARGET)
