"""Reads: the C2SP tlog-proof bundle of one ledger entry, against the newest checkpoint that covers it.

The newest checkpoint whose cosignatures meet the witness policy is preferred; when none
covers the entry (or the ledger has no witnesses), the latest platform-signed checkpoint
is used and the wrapper says ``"witnessed": false``. One request costs a bounded search
for the witnessed checkpoint (see ``WITNESSED_SEARCH_DEPTH``) and one inclusion proof:
O(log n) Merkle node reads in one query.
"""

from __future__ import annotations

from traceability.ledger import proof as tlog_proof
from traceability.models import LedgerEntry
from traceability.selectors import checkpoint_latest, inclusion_proof
from traceability.tlog.publish import leaf_data
from traceability.witnessing.selectors import checkpoint_cosigned, checkpoint_witnessed_latest

FORMAT = tlog_proof.HEADER
_HEADER_COLUMNS = ("seq", "kind", "organisation__slug", "digest", "key_id", "signature", "prev_hash", "recorded_at")


def ledger_fact(*, seq: int) -> str | None:
    """The exact signed document text of entry ``seq`` (its SHA-256 is the header's digest)."""
    return LedgerEntry.objects.filter(seq=seq).values_list("document", flat=True).first()


def ledger_proof(*, seq: int) -> dict[str, object]:
    """``{"ledgerProof": {...}}`` for entry ``seq``, or ``{"ledgerProof": None, "ledgerProofReason": ...}``."""
    row = LedgerEntry.objects.filter(seq=seq).values_list(*_HEADER_COLUMNS).first()
    if row is None:
        return {"ledgerProof": None, "ledgerProofReason": f"ledger entry {seq} does not exist"}
    witnessed = checkpoint_witnessed_latest()
    if witnessed is not None and witnessed.checkpoint.tree_size >= seq:
        cosigned = witnessed
    else:
        latest = checkpoint_latest()
        if latest is None or latest.tree_size < seq:
            return {
                "ledgerProof": None,
                "ledgerProofReason": f"no signed checkpoint covers ledger entry {seq} yet",
            }
        cosigned = checkpoint_cosigned(latest)
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
