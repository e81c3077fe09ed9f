"""Pieces of a full re-verification that need no database: a running Merkle root
and the check of signed checkpoints against recomputed roots."""

from dataclasses import dataclass

from traceability.ledger import checkpoint as notes
from traceability.ledger.chain import CUSTODY_PLATFORM, Failure, KeyRing
from traceability.ledger.errors import LedgerError
from traceability.ledger.merkle import EMPTY_ROOT, node_hash


class RootAccumulator:
    """The root of a tree that grows one leaf at a time, keeping only its right border.

    Memory is O(log n) however long the log, so a verifier can stream millions of entries.
    """

    def __init__(self) -> None:
        self.size = 0
        self._border: list[tuple[int, bytes]] = []

    def append(self, leaf: bytes) -> None:
        level, digest = 0, leaf
        while self._border and self._border[-1][0] == level:
            _, left = self._border.pop()
            digest = node_hash(left, digest)
            level += 1
        self._border.append((level, digest))
        self.size += 1

    def root(self) -> bytes:
        if not self._border:
            return EMPTY_ROOT
        digest = self._border[-1][1]
        for _, left in reversed(self._border[:-1]):
            digest = node_hash(left, digest)
        return digest


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    tree_size: int
    root_hash: bytes
    note: str


def platform_key_names(keyring: KeyRing) -> list[bytes]:
    """Public keys of the platform, newest first: any of them may have signed a checkpoint.

    The platform's keys are the ones its organisation registered in the platform's custody; a
    client key registered for that organisation signs its events, never checkpoints."""
    keys = [k for k in keyring.keys.values() if k.organisation == keyring.platform and k.custody == CUSTODY_PLATFORM]
    return [k.public_key for k in sorted(keys, key=lambda k: k.registered_seq, reverse=True)]


def check_checkpoint(
    stored: StoredCheckpoint, *, origin: str, platform_keys: list[bytes], recomputed_root: bytes
) -> list[Failure]:
    """A stored checkpoint must be signed by a platform key and match the recomputed root."""
    failures = []
    verified = None
    for public_key in platform_keys:
        try:
            verified = notes.verify_checkpoint(stored.note, origin, public_key)
            break
        except LedgerError:
            continue
    if verified is None:
        failures.append(
            Failure(stored.tree_size, "checkpoint_signature_invalid", "no platform key verifies this checkpoint")
        )
    elif verified.size != stored.tree_size or verified.root_hash != stored.root_hash:
        failures.append(
            Failure(
                stored.tree_size, "checkpoint_note_mismatch", "the signed note differs from the stored size or root"
            )
        )
    if stored.root_hash != recomputed_root:
        failures.append(
            Failure(
                stored.tree_size,
                "checkpoint_root_mismatch",
                f"the entries up to {stored.tree_size} no longer give the checkpointed root",
            )
        )
    return failures
