"""Reads: the C2SP tlog-proof bundle of one ledger entry, against the newest checkpoint that covers it.

The newest checkpoint whose cosignatures meet the witness policy is preferred; when none
covers the entry (or the ledger has no witnesses), the latest platform-signed checkpoint
is used and the wrapper says ``"witnessed": false``. One request costs a bounded search
for the witnessed checkpoint (see ``WITNESSED_SEARCH_DEPTH``) and one inclusion proof:
O(log n) Merkle node reads in one query.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from rest_framework.utils.encoders import JSONEncoder

from traceability.ledger import proof as tlog_proof
from traceability.ledger.served import sign_served
from traceability.models import LedgerEntry
from traceability.selectors import checkpoint_latest, inclusion_proof
from traceability.services import platform_signing_key
from traceability.tlog.publish import leaf_data
from traceability.witnessing.selectors import CosignedCheckpoint, checkpoint_cosigned, checkpoint_witnessed_latest

FORMAT = tlog_proof.HEADER
_HEADER_COLUMNS = ("seq", "kind", "organisation__slug", "digest", "key_id", "signature", "prev_hash", "recorded_at")


@dataclass(frozen=True)
class Anchors:
    """The checkpoints a request proves against: found once, shared by every proof it serves."""

    witnessed: CosignedCheckpoint | None
    latest: CosignedCheckpoint | None


def proof_anchors() -> Anchors:
    latest = checkpoint_latest()
    return Anchors(checkpoint_witnessed_latest(), checkpoint_cosigned(latest) if latest is not None else None)


def ledger_fact(*, seq: int) -> str | None:
    """The exact signed document text of entry ``seq`` (its SHA-256 is the header's digest)."""
    return LedgerEntry.objects.filter(seq=seq).values_list("document", flat=True).first()


def ledger_proof(*, seq: int, anchors: Anchors | None = None) -> dict[str, object]:
    """``{"ledgerProof": {...}}`` for entry ``seq``, or ``{"ledgerProof": None, "ledgerProofReason": ...}``."""
    row = LedgerEntry.objects.filter(seq=seq).values_list(*_HEADER_COLUMNS).first()
    if row is None:
        return {"ledgerProof": None, "ledgerProofReason": f"ledger entry {seq} does not exist"}
    anchors = anchors or proof_anchors()
    if anchors.witnessed is not None and anchors.witnessed.checkpoint.tree_size >= seq:
        cosigned = anchors.witnessed
    elif anchors.latest is not None and anchors.latest.checkpoint.tree_size >= seq:
        cosigned = anchors.latest
    else:
        return {"ledgerProof": None, "ledgerProofReason": f"no signed checkpoint covers ledger entry {seq} yet"}
    size = cosigned.checkpoint.tree_size
    text = tlog_proof.build_proof(
        index=seq - 1,
        proof=inclusion_proof(seq=seq, tree_size=size),
        checkpoint_note=cosigned.note,
        extra=leaf_data(row),
    )
    return {
        "ledgerProof": {
            "format": FORMAT,
            "proof": text,
            "seq": seq,
            "checkpointSize": size,
            "witnessed": cosigned.policy_met,
            "cosignatures": len(cosigned.witnesses),
        }
    }


def served_document(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` as JSON values, signed by the platform's key as it is served (``servedSignature``).

    What a passport states beyond its logged fact (its successors, the proof wrapper's
    reading of the witness policy, figures computed on read) is then covered too: an offline
    verifier holding the log's key finds any changed byte (:mod:`traceability.ledger.served`).
    """
    plain = json.loads(json.dumps(document, cls=JSONEncoder))
    key, private_key = platform_signing_key()
    return sign_served(plain, public_key=bytes(key.public_key), private_key=private_key, signed_at=timezone.now())
