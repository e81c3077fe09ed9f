"""The documents every benchmark uses: one partner, 20,000 ObjectEvents signed client-side.

Built the way ``tests/factories.py`` builds them (the real services for the
organisation and its key; Ed25519 over the RFC 8785 canonical JSON for each
document), and all signed before any timing starts. Needs Django set up.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tqdm import tqdm

from traceability import events, services, writer
from traceability.ledger.canonical import canonical_json
from traceability.ledger.signing import b64encode, generate_private_key, public_key_raw, sign_bytes
from traceability.models import LedgerEntry, Organisation

EVENTS = 20_000
BATCH_SIZE = 500
PARTNER_SLUG = "bench-remelter"

T = TypeVar("T")


def object_event(number: int) -> dict[str, object]:
    """An EPCIS ObjectEvent of a typical size (about 450 canonical bytes), unique per ``number``."""
    return {
        "type": "ObjectEvent",
        "eventID": f"urn:uuid:00000000-0000-4000-8000-{number:012d}",
        "eventTime": f"2026-11-01T{number // 3600 % 24:02d}:{number // 60 % 60:02d}:{number % 60:02d}.000Z",
        "eventTimeZoneOffset": "+00:00",
        "epcList": [f"urn:looptrace:vin:BENCHVIN{number:09d}"],
        "action": "OBSERVE",
        "bizStep": "inspecting",
        "disposition": "in_progress",
        "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"},
        "bizLocation": {"id": "urn:epc:id:sgln:4012345.00000.0"},
        "ilmd": {"massKg": 1234.5 + number % 100, "batteryChemistry": "NMC811"},
    }


def batches(items: Sequence[T], size: int = BATCH_SIZE) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class Workload:
    """The partner and its signed submissions, plus what the baselines need of them."""

    organisation: Organisation
    private_key: Ed25519PrivateKey
    key_id: str
    submissions: list[writer.SubmittedDocument] = field(default_factory=list)
    # The canonical bytes and raw signature of each submission: what a verifier checks.
    signed_bytes: list[tuple[bytes, bytes]] = field(default_factory=list)
    appended: bool = False

    @classmethod
    def create(cls, events: int = EVENTS) -> Workload:
        if BATCH_SIZE > writer.MAX_BATCH_DOCUMENTS:
            raise RuntimeError(f"BATCH_SIZE {BATCH_SIZE} exceeds MAX_BATCH_DOCUMENTS {writer.MAX_BATCH_DOCUMENTS}")
        organisation = services.organisation_create(slug=PARTNER_SLUG, name="Bench Remelter", role="remelter")
        private_key = generate_private_key()
        key = services.signing_key_register(organisation=organisation, public_key=public_key_raw(private_key))
        workload = cls(organisation=organisation, private_key=private_key, key_id=key.key_id)
        for number in tqdm(range(events), desc="sign documents", unit="doc", leave=False):
            document = object_event(number)
            data = canonical_json(document)
            signature = sign_bytes(private_key, data)
            workload.signed_bytes.append((data, signature))
            workload.submissions.append(
                writer.SubmittedDocument(document=document, signature=b64encode(signature), key_id=key.key_id)
            )
        return workload

    def append_all(self, *, desc: str) -> None:
        """Append every submission through ``ledger_append_batch``, in batches of ``BATCH_SIZE``."""
        if self.appended:
            raise RuntimeError("the workload's documents are already in the ledger")
        with tqdm(total=len(self.submissions), desc=desc, unit="event", leave=False) as bar:
            for batch in batches(self.submissions):
                events.ledger_append_batch(organisation=self.organisation, items=batch)
                bar.update(len(batch))
        self.appended = True

    def event_count_in_ledger(self) -> int:
        return LedgerEntry.objects.filter(organisation=self.organisation).count()
