"""Check one downloaded passport offline, trusting only the log's keys and the witnesses' keys.

A passport JSON (``GET /api/v1/passports/<id>``) carries, beside the tier's view of the
passport (``passport``), the ``passport.version`` ledger fact that issued it
(``ledgerFact``: its exact signed bytes as text), a C2SP tlog-proof of that fact's ledger
entry (``ledgerProof.proof``) and the platform's signature over the whole JSON as it was
served (``servedSignature``). The chain of checks:

1. the proof's ``extra`` line is the entry's leaf data (the header's RFC 8785 JSON); its
   leaf hash is included in a checkpoint signed by one of the log's keys and cosigned by at
   least ``quorum`` of the trusted witnesses;
2. that header is a ``passport.version`` entry whose ``digest`` is the SHA-256 of the
   ``ledgerFact`` bytes, signed (Ed25519 over those bytes) by one of the log's keys;
3. the fact names this passport and version, its reason, status, links and times equal the
   JSON's (``issuedAt`` is the entry's ``recordedAt``), and its ``tierDigests[tier]`` is the
   hex SHA-256 of the RFC 8785 form of the ``passport`` object (the tier's view, as served);
4. ``servedSignature`` verifies under one of the log's keys over everything else: it covers
   what is only known when the passport is read (``successors``, the wrapper's ``witnessed``
   reading of the operator's policy), which the log cannot prove.

So any changed byte of a value or a name fails one of them, and the report says which and why.
Reformatting the JSON (indentation, key order) changes nothing that is checked. Keys are a
list because the platform's key may have been rotated: facts keep their signer's key.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from traceability.ledger import checkpoint as notes
from traceability.ledger import proof as tlog_proof
from traceability.ledger import witness as cosig
from traceability.ledger.canonical import document_digest, sha256
from traceability.ledger.chain import KIND_PASSPORT_VERSION
from traceability.ledger.errors import LedgerError
from traceability.ledger.served import verify_served
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


LogKeys = Sequence[tuple[str, bytes]]


def _prove(
    text: str, *, log_keys: LogKeys, policy: cosig.Policy | None = None, **trust: Any
) -> tlog_proof.ProofVerification:
    """The proof checked against the log key that signed its checkpoint (the first, if none did),
    then against the witness policy, when one is given (groups and thresholds, C2SP tlog-policy)."""
    results = [tlog_proof.verify_proof(text, log_key=key, **trust) for key in log_keys]
    chosen = next((result for result in results if result.checkpoint is not None), results[0])
    if policy is not None and chosen.checkpoint is not None:
        by_key = {witness.key_name: name for name, witness in policy.witnesses.items()}
        cosigned = {by_key[key_name] for key_name in chosen.cosigned_by if key_name in by_key}
        met = policy.satisfied_by(cosigned)
        names = ", ".join(sorted(cosigned)) or "none"
        chosen.checks.append(
            tlog_proof.ProofCheck("witness policy", met, f"quorum {policy.quorum!r}; cosigned by {names}")
        )
    return chosen


def policy_trust(policy: cosig.Policy) -> dict[str, Any]:
    """The trust a tlog-policy gives: its witnesses' keys, judged by its quorum rather than a count."""
    keys = [(witness.key_name, witness.public_key) for witness in policy.witnesses.values()]
    return {"witness_keys": keys, "quorum": 0, "policy": policy}


def _served(document: dict[str, Any], report: PassportReport, log_keys: LogKeys, covers: str) -> None:
    try:
        signer = verify_served(document, [raw for _, raw in log_keys])
    except LedgerError as exc:
        report.add("served signature", False, f"{exc.message}: the JSON is not as the platform served it")
        return
    report.add("served signature", True, f"the platform key {signer[:16]}... signed the JSON as served ({covers})")


def _verify_part(
    document: dict[str, Any], report: PassportReport, *, log_keys: LogKeys, **trust: Any
) -> PassportReport:
    """A part passport is assembled on read: only the entry it derives from (its casting) is proven."""
    proof = document.get("ledgerProof")
    if not isinstance(proof, dict) or not isinstance(proof.get("proof"), str):
        report.add("shape", False, f"the part passport carries no proof ({document.get('ledgerProofReason')})")
        return report
    report.add("shape", True, f"part {document['part']}: its figures are computed on read, not logged")
    verified = _prove(proof["proof"], log_keys=log_keys, **trust)
    for check in verified.checks:
        report.add(check.name, check.ok, check.detail)
    if verified.ok:
        extra = tlog_proof.parse_proof(proof["proof"]).extra or b"{}"
        try:
            seq = json.loads(extra).get("seq")
        except (ValueError, AttributeError):
            seq = None
        report.add("casting entry", seq == document.get("ledgerSeq"), f"the proven entry is {seq}")
    _served(document, report, log_keys, "its figures, computed on read")
    return report


def verify_passport(
    document: Any,
    *,
    log_keys: LogKeys,
    witness_keys: Sequence[tuple[str, bytes]] = (),
    quorum: int = 0,
    policy: cosig.Policy | None = None,
) -> PassportReport:
    """Every check of one passport JSON. Witnesses are trusted either as ``witness_keys`` of which
    ``quorum`` must have cosigned, or as a tlog-``policy`` (see :func:`policy_trust`)."""
    report = PassportReport()
    if not log_keys:
        report.add("log keys", False, "no log key given")
        return report
    if not is_passport_document(document):
        report.add("shape", False, "not a passport JSON (no passportId / ledgerProof)")
        return report
    if "passportId" not in document:
        return _verify_part(
            document, report, log_keys=log_keys, witness_keys=witness_keys, quorum=quorum, policy=policy
        )
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
    verified = _prove(proof["proof"], log_keys=log_keys, witness_keys=witness_keys, quorum=quorum, policy=policy)
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
        seq, kind, signer, recorded = header["seq"], header["kind"], header["keyId"], header["recordedAt"]
    except (ValueError, KeyError, TypeError, LedgerError) as exc:
        report.add("entry header", False, f"the leaf data is not an entry header: {exc}")
        return report
    ok = kind == KIND_PASSPORT_VERSION and seq == bundle.index + 1
    report.add("entry header", ok, f"entry {seq} of kind {kind!r} at leaf {bundle.index}, recorded {recorded}")
    fact_bytes = fact_text.encode("utf-8")
    report.add("fact digest", sha256(fact_bytes) == digest, "SHA-256 of ledgerFact equals the entry's digest")
    platform_keys = {key_id(raw): raw for _, raw in log_keys}
    try:
        if signer not in platform_keys:
            raise LedgerError("key_unknown", "the entry is not signed by one of the log's platform keys")
        verify_bytes(public_key_from_raw(platform_keys[signer]), fact_bytes, signature)
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
            "reason": fact["reason"],
            "previous": fact["previous"],
            "basisSeq": fact["basisSeq"],
            "ledgerSeq": seq,
            "issuedAt": recorded,
            "ceased": fact["ceasedAt"] is not None,
            "ceasedAt": fact["ceasedAt"],
        }
    except (ValueError, KeyError, TypeError) as exc:
        report.add("passport fact", False, f"ledgerFact is not a passport version fact: {exc}")
        return report
    wrong = sorted(name for name, value in claims.items() if document.get(name) != value)
    detail = f"the fact names {fact['passport']} version {fact['version']}"
    report.add("passport fact", not wrong, detail + (f"; the JSON differs in {', '.join(wrong)}" if wrong else ""))
    size = verified.checkpoint.size if verified.checkpoint else None
    _, signatures = notes.parse_note(bundle.checkpoint_note)
    log_names = {name for name, _ in log_keys}
    cosignatures = sum(1 for signature in signatures if signature.key_name not in log_names)
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
    _served(document, report, log_keys, "successors and the witness-policy reading, which the log cannot prove")
    return report
