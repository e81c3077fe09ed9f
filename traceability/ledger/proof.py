"""C2SP tlog-proof bundles: one ledger entry, its inclusion proof and a (co)signed checkpoint.

A bundle is the text of ``c2sp.org/tlog-proof@v1``::

    c2sp.org/tlog-proof@v1
    extra <base64 of the entry's leaf data>
    index <leaf index, i.e. seq - 1>
    <base64 inclusion proof hash>...

    <the checkpoint note, verbatim, with its signature and cosignature lines>

Looptrace always writes the ``extra`` line: it holds the *leaf data*, the entry header's
RFC 8785 JSON, exactly the bytes the Merkle leaf hash covers (see
:meth:`traceability.ledger.chain.EntryHeader.leaf_data` and the tiles' entry bundles).
The spec says extra data is not trusted: nothing read from it is believed until its leaf
hash has been shown, by the inclusion proof, to be in a tree whose root the log signed.

Parsing is strict (one spelling per bundle) and bounded: at most :data:`MAX_PROOF_HASHES`
proof lines (a tree of 2**64 leaves needs 64) and :data:`MAX_BUNDLE_SIZE` bytes in all.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from traceability.ledger import checkpoint as notes
from traceability.ledger import merkle
from traceability.ledger import witness as cosig
from traceability.ledger.errors import LedgerError

HEADER = "c2sp.org/tlog-proof@v1"
MAX_PROOF_HASHES = 64
MAX_LEAF_DATA = 0xFFFF
MAX_BUNDLE_SIZE = 256 * 1024

MALFORMED = "tlog_proof_malformed"
LEAF_MISMATCH = "tlog_proof_leaf_mismatch"
QUORUM_NOT_MET = "tlog_proof_quorum_not_met"

_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")


@dataclass(frozen=True)
class TlogProof:
    """A parsed bundle: NOT trusted until :func:`verify_proof` says so."""

    index: int
    proof: tuple[bytes, ...]
    checkpoint_note: str
    extra: bytes | None = None


@dataclass(frozen=True)
class ProofCheck:
    """One check made by :func:`verify_proof`: its name, whether it held, and why."""

    name: str
    ok: bool
    detail: str


@dataclass
class ProofVerification:
    checks: list[ProofCheck] = field(default_factory=list)
    checkpoint: notes.Checkpoint | None = None
    cosigned_by: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)

    def failures(self) -> list[ProofCheck]:
        return [check for check in self.checks if not check.ok]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str, what: str) -> bytes:
    try:
        decoded = base64.b64decode(text, validate=True)
    except ValueError:
        raise LedgerError(MALFORMED, f"{what} is not base64") from None
    if _b64(decoded) != text:
        raise LedgerError(MALFORMED, f"{what} is not canonical base64")
    return decoded


def build_proof(*, index: int, proof: Sequence[bytes], checkpoint_note: str, extra: bytes | None = None) -> str:
    """The bundle text for leaf ``index`` with its inclusion ``proof`` in the checkpoint of ``checkpoint_note``."""
    if index < 0:
        raise LedgerError(MALFORMED, f"index {index} is negative")
    if len(proof) > MAX_PROOF_HASHES or any(len(element) != merkle.HASH_SIZE for element in proof):
        raise LedgerError(MALFORMED, "an inclusion proof is at most 64 SHA-256 hashes")
    if extra is not None and not 0 < len(extra) <= MAX_LEAF_DATA:
        raise LedgerError(MALFORMED, "extra data must be 1 to 65535 bytes")
    notes.parse_note(checkpoint_note)  # syntax only: a bundle is never built around a broken note
    lines = [HEADER]
    if extra is not None:
        lines.append(f"extra {_b64(extra)}")
    lines.append(f"index {index}")
    lines += [_b64(element) for element in proof]
    return "\n".join(lines) + "\n\n" + checkpoint_note


def parse_proof(text: str | bytes) -> TlogProof:
    """The parts of a bundle, checking syntax only (the checkpoint note included)."""
    if isinstance(text, bytes):
        if len(text) > MAX_BUNDLE_SIZE:
            raise LedgerError(MALFORMED, "the proof is too large")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise LedgerError(MALFORMED, "the proof is not UTF-8") from None
    if len(text) > MAX_BUNDLE_SIZE:
        raise LedgerError(MALFORMED, "the proof is too large")
    head, separator, note = text.partition("\n\n")
    if not separator:
        raise LedgerError(MALFORMED, "no blank line before the checkpoint")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise LedgerError(MALFORMED, f"the first line must be {HEADER}")
    position = 1
    extra = None
    if position < len(lines) and lines[position].startswith("extra "):
        extra = _b64decode(lines[position][len("extra ") :], "extra data")
        if not 0 < len(extra) <= MAX_LEAF_DATA:
            raise LedgerError(MALFORMED, "extra data must be 1 to 65535 bytes")
        position += 1
    if position >= len(lines) or not lines[position].startswith("index "):
        raise LedgerError(MALFORMED, "an 'index <n>' line must follow")
    index_text = lines[position][len("index ") :]
    if not _DECIMAL.fullmatch(index_text):
        raise LedgerError(MALFORMED, f"index {index_text!r} is not a plain decimal")
    hashes = lines[position + 1 :]
    if len(hashes) > MAX_PROOF_HASHES:
        raise LedgerError(MALFORMED, f"more than {MAX_PROOF_HASHES} inclusion proof lines")
    proof = []
    for line in hashes:
        element = _b64decode(line, "an inclusion proof line")
        if len(element) != merkle.HASH_SIZE:
            raise LedgerError(MALFORMED, "an inclusion proof line is not a SHA-256 hash")
        proof.append(element)
    notes.parse_checkpoint(note)
    return TlogProof(index=int(index_text), proof=tuple(proof), checkpoint_note=note, extra=extra)


def verify_proof(
    text: str | bytes,
    *,
    leaf_data: bytes | None = None,
    log_key: tuple[str, bytes],
    witness_keys: Sequence[tuple[str, bytes]] = (),
    quorum: int = 0,
) -> ProofVerification:
    """Check a bundle against the log's key ``(origin, public key)`` and the trusted witnesses' keys.

    ``leaf_data`` is what the caller knows was logged; without it the ``extra`` line is
    used (and the caller must then check what that leaf data says). Checks, in the spec's
    order: leaf hash, checkpoint signature (and origin), cosignatures (at least ``quorum``
    distinct trusted witnesses must have cosigned), inclusion. Every check is reported.
    """
    result = ProofVerification()
    checks = result.checks
    try:
        bundle = parse_proof(text)
    except LedgerError as exc:
        checks.append(ProofCheck("proof syntax", False, exc.message))
        return result
    checks.append(ProofCheck("proof syntax", True, f"{HEADER}, index {bundle.index}, {len(bundle.proof)} hashes"))
    if leaf_data is None:
        leaf_data = bundle.extra
    elif bundle.extra is not None and bundle.extra != leaf_data:
        checks.append(ProofCheck("leaf data", False, "the extra line differs from the expected leaf data"))
    if leaf_data is None:
        checks.append(ProofCheck("leaf data", False, "no leaf data: neither given nor in an extra line"))
        return result
    leaf = merkle.leaf_hash(leaf_data)
    checks.append(ProofCheck("leaf hash", True, f"RFC 9162 leaf hash {leaf.hex()}"))
    origin, public_key = log_key
    try:
        checkpoint = notes.verify_checkpoint(bundle.checkpoint_note, origin, public_key)
    except LedgerError as exc:
        checks.append(ProofCheck("checkpoint signature", False, exc.message))
        return result
    if checkpoint.origin != origin:
        checks.append(ProofCheck("checkpoint signature", False, f"origin {checkpoint.origin!r} is not {origin!r}"))
        return result
    result.checkpoint = checkpoint
    checks.append(ProofCheck("checkpoint signature", True, f"{origin} signed size {checkpoint.size}"))
    for name, key in witness_keys:
        try:
            cosig.verify_cosignature(bundle.checkpoint_note, name, key)
        except LedgerError as exc:
            if exc.code == cosig.COSIGNATURE_MISSING:
                checks.append(ProofCheck(f"cosignature {name}", True, "absent (counts for nothing)"))
            else:
                checks.append(ProofCheck(f"cosignature {name}", False, exc.message))
            continue
        if name not in result.cosigned_by:
            result.cosigned_by.append(name)
        checks.append(ProofCheck(f"cosignature {name}", True, "valid"))
    count = len(result.cosigned_by)
    checks.append(
        ProofCheck("witness quorum", count >= quorum, f"{count} trusted witness(es) cosigned, {quorum} required")
    )
    try:
        merkle.verify_inclusion(leaf, bundle.index, checkpoint.size, bundle.proof, checkpoint.root_hash)
        checks.append(ProofCheck("inclusion", True, f"leaf {bundle.index} of {checkpoint.size} leads to the root"))
    except LedgerError as exc:
        checks.append(ProofCheck("inclusion", False, exc.message))
    return result
