"""Check one downloaded passport offline, trusting only the log's key and the witnesses' keys.

A passport JSON (``GET /api/v1/passports/<id>``) carries, beside the tier's view of the
passport (``passport``), the ``passport.version`` ledger fact that issued it
(``ledgerFact``: its exact signed bytes as text) and a C2SP tlog-proof of that fact's
ledger entry (``ledgerProof.proof``). The chain of checks:

1. the proof's ``extra`` line is the entry's leaf data (the header's RFC 8785 JSON); its
   leaf hash is included in a checkpoint signed by the log's key and cosigned by at
   least ``quorum`` of the trusted witnesses;
2. that header is a ``passport.version`` entry whose ``digest`` is the SHA-256 of the
   ``ledgerFact`` bytes, signed (Ed25519 over those bytes) by the log's platform key;
3. the fact names this passport and version, and its ``tierDigests[tier]`` is the hex
   SHA-256 of the RFC 8785 form of the ``passport`` object (the tier's view, as served).

So any changed byte of the view, the fact, the header or the proof fails one of them, as does
a change of the fields the fact states (passport, battery, version, status, previous, basis
and ledger seq, ceased) or of the proof wrapper's seq, checkpoint size and cosignature count.
Not covered (not in the fact): ``successors``, ``ceasedAt``'s spelling, ``issuedAt``, and the
wrapper's ``witnessed`` flag (the server's reading of its policy; the verifier applies its own
``quorum`` to the witness keys it is given).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from traceability.ledger import checkpoint as notes
from traceability.ledger import proof as tlog_proof
from traceability.ledger.canonical import document_digest, sha256
from traceability.ledger.chain import KIND_PASSPORT_VERSION
from traceability.ledger.errors import LedgerError
from traceability.ledger.signing import b64decode, key_id, public_key_from_raw, verify_bytes


@dataclass
class PassportReport:
    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(ok for _, ok, _ in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append((name, ok, detail))
        return ok

    def lines(self) -> list[str]:
        return [f"{'ok  ' if ok else 'FAIL'} {name}: {detail}" for name, ok, detail in self.checks]

    def as_json(self) -> dict[str, object]:
        return {"ok": self.ok, "checks": [{"check": n, "ok": ok, "detail": d} for n, ok, d in self.checks]}


def is_passport_document(value: object) -> bool:
    return isinstance(value, dict) and ("passportId" in value or "part" in value) and "ledgerProof" in value


def _verify_part(document: dict[str, Any], report: PassportReport, **trust: Any) -> PassportReport:
    """A part passport is assembled on read: only the entry it derives from (its casting) is proven."""
    proof = document.get("ledgerProof")
    if not isinstance(proof, dict) or not isinstance(proof.get("proof"), str):
        report.add("shape", False, f"the part passport carries no proof ({document.get('ledgerProofReason')})")
        return report
    report.add("shape", True, f"part {document['part']}: its figures are computed on read, not logged")
    verified = tlog_proof.verify_proof(proof["proof"], **trust)
    for check in verified.checks:
        report.add(check.name, check.ok, check.detail)
    if verified.ok:
        extra = tlog_proof.parse_proof(proof["proof"]).extra or b"{}"
        try:
            seq = json.loads(extra).get("seq")
        except (ValueError, AttributeError):
            seq = None
        report.add("casting entry", seq == document.get("ledgerSeq"), f"the proven entry is {seq}")
    return report


def verify_passport(
    document: Any,
    *,
    log_key: tuple[str, bytes],
    witness_keys: Sequence[tuple[str, bytes]] = (),
    quorum: int = 0,
) -> PassportReport:
    report = PassportReport()
    if not is_passport_document(document):
        report.add("shape", False, "not a passport JSON (no passportId / ledgerProof)")
        return report
    if "passportId" not in document:
        return _verify_part(document, report, log_key=log_key, witness_keys=witness_keys, quorum=quorum)
    proof = document.get("ledgerProof")
    fact_text = document.get("ledgerFact")
    view = document.get("passport")
    tier = document.get("tier")
    if (
        not isinstance(proof, dict)
        or proof.get("format") != tlog_proof.HEADER
        or not isinstance(proof.get("proof"), str)
    ):
        reason = document.get("ledgerProofReason", "no ledgerProof")
        report.add("shape", False, f"the passport carries no {tlog_proof.HEADER} proof ({reason})")
        return report
    if not isinstance(fact_text, str) or not isinstance(view, dict) or not isinstance(tier, str):
        report.add("shape", False, "ledgerFact (text), passport (object) and tier (text) are required")
        return report
    report.add("shape", True, f"passport {document['passportId']} at tier {tier}")

    # 1. the proof: leaf hash, checkpoint signature, cosignatures, inclusion
    verified = tlog_proof.verify_proof(proof["proof"], log_key=log_key, witness_keys=witness_keys, quorum=quorum)
    for check in verified.checks:
        report.add(check.name, check.ok, check.detail)
    if not verified.ok:
        return report
    bundle = tlog_proof.parse_proof(proof["proof"])
    assert bundle.extra is not None  # verify_proof needs it when no leaf data is given

    # 2. the entry header (now known to be in the log) and the fact it signs
    try:
        header = json.loads(bundle.extra)
        digest = bytes.fromhex(header["digest"])
        signature = b64decode(header["signature"], what="signature")
        seq, kind, signer = header["seq"], header["kind"], header["keyId"]
    except (ValueError, KeyError, TypeError, LedgerError) as exc:
        report.add("entry header", False, f"the leaf data is not an entry header: {exc}")
        return report
    ok = kind == KIND_PASSPORT_VERSION and seq == bundle.index + 1
    report.add("entry header", ok, f"entry {seq} of kind {kind!r} at leaf {bundle.index}")
    fact_bytes = fact_text.encode("utf-8")
    report.add("fact digest", sha256(fact_bytes) == digest, "SHA-256 of ledgerFact equals the entry's digest")
    public_key = log_key[1]
    try:
        if signer != key_id(public_key):
            raise LedgerError("key_unknown", "the entry is not signed by the log's platform key")
        verify_bytes(public_key_from_raw(public_key), fact_bytes, signature)
        report.add("fact signature", True, f"Ed25519 signature of the platform key {signer[:16]}...")
    except LedgerError as exc:
        report.add("fact signature", False, exc.message)

    # 3. the fact commits to this passport, this version and this tier's view
    try:
        fact = json.loads(fact_text)
        fact_digest = fact["tierDigests"][tier]
        claims = {
            "passportId": fact["passport"],
            "battery": fact["battery"],
            "version": fact["version"],
            "status": fact["status"],
            "previous": fact["previous"],
            "basisSeq": fact["basisSeq"],
            "ledgerSeq": seq,
            "ceased": fact["ceasedAt"] is not None,
        }
    except (ValueError, KeyError, TypeError) as exc:
        report.add("passport fact", False, f"ledgerFact is not a passport version fact: {exc}")
        return report
    wrong = sorted(name for name, value in claims.items() if document.get(name) != value)
    detail = f"the fact names {fact['passport']} version {fact['version']}"
    report.add("passport fact", not wrong, detail + (f"; the JSON differs in {', '.join(wrong)}" if wrong else ""))
    size = verified.checkpoint.size if verified.checkpoint else None
    _, signatures = notes.parse_note(bundle.checkpoint_note)
    cosignatures = sum(1 for signature in signatures if signature.key_name != log_key[0])
    same = proof.get("seq") == seq and proof.get("checkpointSize") == size and proof.get("cosignatures") == cosignatures
    report.add(
        "proof wrapper",
        same,
        f"ledgerProof names entry {proof.get('seq')} in checkpoint {size} with {cosignatures} cosignature(s)",
    )
    try:
        view_digest = document_digest(view).hex()
    except LedgerError as exc:
        report.add("document digest", False, exc.message)
        return report
    report.add(
        "document digest",
        view_digest == fact_digest and document.get("digest") == fact_digest,
        f"RFC 8785 SHA-256 of the {tier} view is {view_digest}; the fact says {fact_digest}",
    )
    return report
