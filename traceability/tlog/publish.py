"""Writes the ledger as C2SP tlog-tiles into a directory, as it grows.

The directory is laid out exactly as the URLs below ``/tlog/`` (``checkpoint``,
``tile/<L>/<N>[.p/<W>]``, ``tile/entries/<N>[.p/<W>]``), so the Django views, a plain
static file server or a CDN serve the same bytes; nothing is written by a request.

How tiles relate to checkpoints: full tiles follow the ledger (they never change once
their last leaf exists, so they are written as soon as the log has them), while the
partial tiles and the ``checkpoint`` file follow the latest *signed* checkpoint. For
that size the partial tiles are written first and the checkpoint last, each by
writing a temporary file and renaming it, so a client that reads a checkpoint finds
every tile it needs to recompute that checkpoint's root. Signing checkpoints stays
what it was (the periodic task, the operator); each new one nudges a publication.

Idempotent and resumable: a small state file records the ledger size the full level-0
tiles reach (a multiple of 256, so it changes once per tile), with the hash of that size's
last entry (so a directory of another ledger is refused rather than mixed), and the size
of the published checkpoint. A tile written
before is compared, never overwritten with other bytes. One publisher at a time per
directory (a lock file), and the checkpoint never goes back to a smaller tree.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from traceability.errors import ApplicationError
from traceability.ledger import merkle
from traceability.ledger import tiles as tlog
from traceability.ledger.chain import EntryHeader
from traceability.ledger.signing import b64decode
from traceability.models import Checkpoint, LedgerEntry, MerkleNode
from traceability.selectors import checkpoint_latest, ledger_size, merkle_root

STATE_FILE = ".looptrace-tiles.json"
LOCK_FILE = ".looptrace-tiles.lock"
CHECKPOINT_FILE = "checkpoint"
# Level-0 tiles read per query: 16 x 256 entries and hashes, a few hundred kB in memory.
TILES_PER_QUERY = 16

_HEADER_COLUMNS = ("seq", "kind", "organisation__slug", "digest", "key_id", "signature", "prev_hash", "recorded_at")


@dataclass(frozen=True)
class Published:
    """What a publication did: the ledger size the full tiles reach, the checkpoint served, files written."""

    tree_size: int
    checkpoint_size: int | None
    written: int


def tiles_directory() -> Path:
    return Path(settings.TLOG_TILES_DIR)


def leaf_data(row: tuple[object, ...]) -> bytes:
    """The bytes an entry's Merkle leaf hash covers: its header's RFC 8785 JSON."""
    seq, kind, organisation, digest, key_id, signature, prev_hash, recorded_at = row
    header = EntryHeader(
        seq=int(str(seq)),
        kind=str(kind),
        organisation=str(organisation),
        digest=bytes.fromhex(str(digest)),
        key_id=str(key_id),
        signature=b64decode(str(signature), what="signature"),
        prev_hash=bytes.fromhex(str(prev_hash)),
        recorded_at=recorded_at,  # type: ignore[arg-type]
    )
    return header.leaf_data()


def tiles_publish(*, directory: Path | None = None, progress: Callable[[int, int], None] | None = None) -> Published:
    """Bring ``directory`` (default ``settings.TLOG_TILES_DIR``) up to the ledger and its latest checkpoint.

    ``progress(done, total)`` hears of the level-0 tiles written, for long catch-ups.
    """
    directory = directory or tiles_directory()
    directory.mkdir(parents=True, exist_ok=True)
    with _locked(directory):
        # The checkpoint first: the ledger read after it is at least as large.
        checkpoint = checkpoint_latest()
        size = ledger_size()
        state = _read_state(directory)
        start = _checked_start(state, size)
        written = _write_full_tiles(directory, start, size, progress)
        # The state moves only when a level-0 tile fills up (or a checkpoint is published): most
        # appends leave it as it is, and nothing is written for them.
        reached = size - size % tlog.TILE_WIDTH
        head = LedgerEntry.objects.filter(seq=reached).values_list("entry_hash", flat=True).first() if reached else ""
        published = state.get("checkpoint") if state else None
        if checkpoint is not None and (published is None or checkpoint.tree_size > int(published)):
            written += _publish_checkpoint(directory, checkpoint)
            published = checkpoint.tree_size
        _write_state(directory, {"tree_size": reached, "head": head, "checkpoint": published})
    return Published(tree_size=size, checkpoint_size=published, written=written)


def _checked_start(state: dict[str, object] | None, size: int) -> int:
    """Where the full tiles stop, after checking the directory belongs to this ledger."""
    if state is None:
        return 0
    start = int(str(state["tree_size"]))
    head = LedgerEntry.objects.filter(seq=start).values_list("entry_hash", flat=True).first() if start else ""
    if start > size or head != state["head"]:
        raise ApplicationError(
            "tiles_directory_foreign",
            f"the tiles directory holds another ledger (its entry {start} is not this ledger's)",
            status=500,
        )
    return start


def _write_full_tiles(directory: Path, start: int, size: int, progress: Callable[[int, int], None] | None) -> int:
    written = 0
    full = tlog.full_tiles(start, size)
    level0 = [tile for tile in full if tile.level == 0]
    for offset in range(0, len(level0), TILES_PER_QUERY):
        chunk = level0[offset : offset + TILES_PER_QUERY]
        written += _write_level0(directory, chunk)
        if progress is not None:
            progress(offset + len(chunk), len(level0))
    for tile in full:
        if tile.level:
            written += _write_file(directory / tile.path(), b"".join(_hashes(tile)), immutable=True)
    return written


def _write_level0(directory: Path, chunk: list[tlog.Tile]) -> int:
    """Level-0 tiles and their entry bundles, each entry checked against its stored leaf hash."""
    first, end = chunk[0].first_node, chunk[-1].first_node + chunk[-1].width
    rows = list(LedgerEntry.objects.filter(seq__gt=first, seq__lte=end).order_by("seq").values_list(*_HEADER_COLUMNS))
    leaves = _node_hashes(0, first, end)
    if len(rows) != end - first:
        raise ApplicationError("tiles_entries_missing", f"ledger entries {first + 1}..{end} are incomplete", status=500)
    written = 0
    for tile in chunk:
        at = tile.first_node - first
        hashes = leaves[at : at + tile.width]
        entries = [leaf_data(row) for row in rows[at : at + tile.width]]
        for position, (entry, digest) in enumerate(zip(entries, hashes, strict=True)):
            if merkle.leaf_hash(entry) != digest:
                raise ApplicationError(
                    "tiles_leaf_mismatch",
                    f"entry {tile.first_node + position + 1} does not hash to its stored Merkle leaf",
                    status=500,
                )
        written += _write_file(directory / tile.path(), b"".join(hashes), immutable=True)
        bundle = tlog.entry_bundle_for(tile)
        written += _write_file(directory / bundle.path(), tlog.encode_bundle(entries), immutable=True)
    return written


def _node_hashes(tree_level: int, first: int, end: int) -> list[bytes]:
    rows = MerkleNode.objects.filter(level=tree_level, index__gte=first, index__lt=end).order_by("index")
    hashes = [bytes(digest) for digest in rows.values_list("hash", flat=True)]
    if len(hashes) != end - first:
        raise ApplicationError(
            "merkle_node_missing", f"Merkle nodes {first}..{end - 1} of level {tree_level} are incomplete", status=500
        )
    return hashes


def _hashes(tile: tlog.Tile) -> list[bytes]:
    return _node_hashes(tile.tree_level, tile.first_node, tile.first_node + tile.width)


def _publish_checkpoint(directory: Path, checkpoint: Checkpoint) -> int:
    """The partial tiles of the checkpoint's size, then the checkpoint itself, once its root is checked."""
    size = checkpoint.tree_size
    if merkle_root(tree_size=size).hex() != checkpoint.root_hash:
        raise ApplicationError(
            "tiles_checkpoint_mismatch", f"checkpoint {size} does not match the stored tree", status=500
        )
    written = 0
    for tile in tlog.partial_tiles(size):
        if tile.level == 0:
            written += _write_level0(directory, [tile])
        else:
            written += _write_file(directory / tile.path(), b"".join(_hashes(tile)), immutable=True)
    return written + _write_file(directory / CHECKPOINT_FILE, checkpoint.note.encode("utf-8"), immutable=False)


def _write_file(path: Path, data: bytes, *, immutable: bool) -> int:
    """Write ``data`` at ``path`` atomically; 0 if an immutable file already holds exactly it."""
    if path.exists():
        existing = path.read_bytes()
        if existing == data:
            return 0
        if immutable:
            raise ApplicationError("tiles_immutable", f"{path.name} already holds other bytes", status=500)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return 1


def _read_state(directory: Path) -> dict[str, object] | None:
    path = directory / STATE_FILE
    if not path.exists():
        return None
    state = json.loads(path.read_text())
    if not isinstance(state, dict) or set(state) != {"tree_size", "head", "checkpoint"}:
        raise ApplicationError("tiles_state_malformed", f"{STATE_FILE} is not a tiles state file", status=500)
    return state


def _write_state(directory: Path, state: dict[str, object]) -> None:
    _write_file(directory / STATE_FILE, json.dumps(state, sort_keys=True).encode() + b"\n", immutable=False)


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    with (directory / LOCK_FILE).open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
