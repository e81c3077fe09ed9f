"""Re-verify the whole ledger from the database, on every core.

The work splits in two. Per entry (digest, signer, signature, header hash) is
independent once the key ring is known, so worker processes take ranges of
``seq`` and read their rows themselves: nothing but hashes crosses a process
boundary. Links, Merkle roots and checkpoints need order, and cost two hashes
per entry, so the parent process does them as the ranges come back in order.
"""

from __future__ import annotations

import base64
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, connections

from traceability.ledger import checkpoint as notes
from traceability.ledger import merkle
from traceability.ledger.audit import RootAccumulator, StoredCheckpoint, check_checkpoint, platform_key_names
from traceability.ledger.chain import (
    KEY_KINDS,
    ChainWalker,
    EntryHeader,
    Failure,
    KeyRing,
    verify_entry,
)
from traceability.ledger.errors import LedgerError
from traceability.ledger.merkle import EMPTY_ROOT
from traceability.ledger.signing import b64decode
from traceability.models import Checkpoint, LedgerEntry, SigningKey, ledger_entry_columns
from traceability.selectors import merkle_nodes_get, merkle_root

# Rows one worker reads and checks at a time: about 2 MB of documents for typical events.
VERIFY_CHUNK_SIZE = int(os.environ.get("VERIFY_CHUNK_SIZE", "2000"))

ROW_FIELDS = ledger_entry_columns(organisation="organisation__slug")

# Set in the parent before the pool forks, read by the workers.
_worker_keyring: KeyRing | None = None


@dataclass
class VerificationReport:
    entries: int = 0
    checkpoints: int = 0
    root_hash: str = ""
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0
    processes: int = 1
    trusted: dict[str, object] | None = None
    """Set when a trusted checkpoint was given and the current tree is proven to extend it."""

    @property
    def ok(self) -> bool:
        return not self.failures

    def as_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "rootHash": self.root_hash,
            "seconds": round(self.seconds, 3),
            "processes": self.processes,
            "failures": [{"seq": f.seq, "code": f.code, "message": f.message} for f in self.failures],
            "trustedCheckpoint": self.trusted,
        }


def _decode(text: str, what: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise LedgerError(f"{what}_malformed", f"{what} is not hex") from exc


def _check_row(row: tuple, keyring: KeyRing) -> tuple[int, bytes, bytes, bytes, list[Failure]]:  # type: ignore[type-arg]
    seq, kind, organisation, document, digest, key_id, signature, prev_hash, entry_hash, recorded_at = row
    failures = []
    stored_hash = prev = computed = b""
    try:
        stored_hash = _decode(entry_hash, "entry_hash")
        prev = _decode(prev_hash, "prev_hash")
        header = EntryHeader(
            seq=seq,
            kind=kind,
            organisation=organisation,
            digest=_decode(digest, "digest"),
            key_id=key_id,
            signature=b64decode(signature, what="signature"),
            prev_hash=prev,
            recorded_at=recorded_at,
        )
        computed = header.entry_hash()
        verify_entry(header, document.encode("utf-8"), keyring)
    except LedgerError as exc:
        failures.append(Failure(seq, exc.code, exc.message))
    return seq, prev, stored_hash, computed, failures


def _check_range(bounds: tuple[int, int]) -> list[tuple[int, bytes, bytes, bytes, list[Failure]]]:
    assert _worker_keyring is not None
    start, end = bounds
    rows = LedgerEntry.objects.filter(seq__gte=start, seq__lt=end).order_by("seq").values_list(*ROW_FIELDS)
    return [_check_row(row, _worker_keyring) for row in rows]


def _build_keyring(report: VerificationReport) -> KeyRing:
    keyring = KeyRing()
    rows = (
        LedgerEntry.objects.filter(kind__in=KEY_KINDS)
        .order_by("seq")
        .values_list("seq", "kind", "organisation__slug", "document")
    )
    for seq, kind, organisation, document in rows.iterator():
        try:
            keyring.apply(seq, kind, organisation, json.loads(document))
        except (LedgerError, ValueError) as exc:
            code = exc.code if isinstance(exc, LedgerError) else "document_malformed"
            report.failures.append(Failure(seq, code, str(exc)))
    return keyring


def _check_key_table(keyring: KeyRing, report: VerificationReport) -> None:
    """The SigningKey table is a projection of the key entries: it must agree with them."""
    for key in SigningKey.objects.select_related("organisation").order_by("registered_seq"):
        record = keyring.keys.get(key.key_id)
        problem = None
        if record is None:
            problem = "the key has no registration entry in the ledger"
        elif bytes(key.public_key) != record.public_key:
            problem = "the stored public key differs from the one the ledger registered"
        elif key.organisation.slug != record.organisation:
            problem = "the key is attached to another organisation than the ledger says"
        elif (key.revoked_seq is None) != (record.revoked_seq is None):
            problem = "the key's revocation differs from the ledger's"
        if problem:
            report.failures.append(
                Failure(key.registered_seq, "key_table_mismatch", f"key {key.key_id[:16]}…: {problem}")
            )


def _ranges(first: int, last: int) -> Iterator[tuple[int, int]]:
    for start in range(first, last + 1, VERIFY_CHUNK_SIZE):
        yield start, min(start + VERIFY_CHUNK_SIZE, last + 1)


def verify_ledger(
    *,
    trusted_checkpoint: str | None = None,
    processes: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> VerificationReport:
    """Re-verify every entry, link, root and checkpoint; report each failure by ``seq``."""
    global _worker_keyring
    started = time.perf_counter()
    report = VerificationReport(processes=processes or os.cpu_count() or 1)
    keyring = _build_keyring(report)
    _check_key_table(keyring, report)
    origin = settings.LEDGER_ORIGIN

    checkpoints = [
        StoredCheckpoint(c.tree_size, _decode(c.root_hash, "root_hash"), c.note)
        for c in Checkpoint.objects.order_by("tree_size")
    ]
    trusted = None
    if trusted_checkpoint is not None:
        trusted, _ = notes.parse_checkpoint(trusted_checkpoint)
    pending = {c.tree_size: c for c in checkpoints}
    platform_keys = platform_key_names(keyring)

    roots_at_trusted_size: list[bytes] = []  # the root the entries give at the trusted size
    bounds = LedgerEntry.objects.order_by("seq").values_list("seq", flat=True)
    first, last = bounds.first(), bounds.last()
    walker = ChainWalker()
    accumulator = RootAccumulator()

    def take(results: list[tuple[int, bytes, bytes, bytes, list[Failure]]]) -> None:
        for seq, prev, stored_hash, computed, failures in results:
            report.failures.extend(failures)
            report.failures.extend(walker.feed(seq, prev, stored_hash, computed))
            accumulator.append(stored_hash)
            stored = pending.pop(accumulator.size, None)
            if stored is not None:
                report.failures.extend(
                    check_checkpoint(
                        stored, origin=origin, platform_keys=platform_keys, recomputed_root=accumulator.root()
                    )
                )
            if trusted is not None and accumulator.size == trusted.size:
                roots_at_trusted_size.append(accumulator.root())
        if progress is not None:
            progress(len(results))

    if first is not None:
        _worker_keyring = keyring
        chunks = list(_ranges(first, last))
        shared_database = not (connection.vendor == "sqlite" and connection.is_in_memory_db())
        if report.processes > 1 and len(chunks) > 1 and shared_database:
            connections.close_all()
            with multiprocessing.get_context("fork").Pool(report.processes, initializer=connections.close_all) as pool:
                for results in pool.imap(_check_range, chunks):
                    take(results)
        else:
            for chunk in chunks:
                take(_check_range(chunk))
        _worker_keyring = None

    report.entries = accumulator.size
    report.root_hash = accumulator.root().hex()
    report.checkpoints = len(checkpoints)
    for stored in pending.values():
        report.failures.append(
            Failure(
                stored.tree_size,
                "checkpoint_beyond_ledger",
                f"a checkpoint commits to {stored.tree_size} entries but the ledger has {accumulator.size}",
            )
        )
    if trusted is not None:
        if trusted.size > accumulator.size:
            report.failures.append(
                Failure(
                    accumulator.size + 1,
                    "tail_removed",
                    f"the trusted checkpoint commits to {trusted.size} entries but the ledger has {accumulator.size}",
                )
            )
        else:
            recomputed = roots_at_trusted_size[0] if roots_at_trusted_size else EMPTY_ROOT
            _check_trusted_consistency(report, trusted, recomputed, accumulator.size, accumulator.root())
        if not any(_verifies(trusted_checkpoint, origin, key) for key in platform_keys):
            report.failures.append(
                Failure(
                    trusted.size, "trusted_checkpoint_signature_invalid", "no platform key of this ledger signed it"
                )
            )
    if accumulator.size:
        try:
            cached_root = merkle_root(tree_size=accumulator.size)
        except LedgerError:
            cached_root = b""
        if cached_root != accumulator.root():
            report.failures.append(
                Failure(accumulator.size, "merkle_cache_mismatch", "stored Merkle nodes disagree with the entries")
            )
    report.seconds = time.perf_counter() - started
    return report


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _check_trusted_consistency(
    report: VerificationReport, trusted: notes.Checkpoint, recomputed: bytes, size: int, root: bytes
) -> None:
    """Prove that the tree now served extends the trusted checkpoint, or name the fork.

    Two views are checked: the root the entries themselves give at the trusted size, and an RFC 9162
    consistency proof built from the stored Merkle nodes (what the API and witnesses are given),
    verified against the trusted root and the current one.
    """
    where = f"the trusted checkpoint has size {trusted.size} and root {_b64(trusted.root_hash)}"
    now = f"the ledger now has {size} entries with root {_b64(root)}"
    if recomputed != trusted.root_hash:
        report.failures.append(
            Failure(
                trusted.size,
                "trusted_checkpoint_fork",
                f"fork: {where}, but this ledger's entries give root {_b64(recomputed)} at that size; {now}",
            )
        )
        return
    proof: list[bytes] = []
    try:
        if 0 < trusted.size < size:
            proof = merkle.consistency_proof(
                trusted.size,
                size,
                merkle_nodes_get(merkle.keys_for(merkle.consistency_proof_keys(trusted.size, size))),
            )
        if trusted.size:
            merkle.verify_consistency(trusted.size, size, trusted.root_hash, root, proof)
    except LedgerError as exc:
        report.failures.append(
            Failure(
                trusted.size,
                "trusted_checkpoint_fork",
                f"fork: {where}; {now}; the stored tree gives no consistency proof between them ({exc.message})",
            )
        )
        return
    report.trusted = {
        "treeSize": trusted.size,
        "rootHash": _b64(trusted.root_hash),
        "currentTreeSize": size,
        "currentRootHash": _b64(root),
        "consistencyProofHashes": len(proof),
    }


def _verifies(note: str | None, origin: str, public_key: bytes) -> bool:
    try:
        notes.verify_checkpoint(note or "", origin, public_key)
    except LedgerError:
        return False
    return True
