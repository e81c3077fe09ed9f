"""C2SP tlog-tiles: which tiles a tree has, their paths, and entry bundles.

A tile at level ``L`` holds up to 256 consecutive hashes of tree level ``8 * L``:
hash ``i`` of tile ``n`` is the perfect subtree over leaves
``[(256 n + i) * 256**L, (256 n + i + 1) * 256**L)``, which is exactly the stored
Merkle node ``(8 L, 256 n + i)`` of :mod:`traceability.ledger.merkle`. A tile is
*full* with 256 hashes; the rightmost tile of a level is *partial* (1 to 255
hashes) for the tree sizes that leave it so. Entry bundles follow the level-0
tiles: entry ``i`` of bundle ``n`` is the leaf data whose RFC 9162 leaf hash is
hash ``i`` of level-0 tile ``n``.

Paths are parsed strictly: one spelling per resource (no leading zeros but the
spec's three-digit groups), bounded numbers, and nothing a caller passes ever
reaches a file name unparsed.
"""

import re
from dataclasses import dataclass

from traceability.ledger.errors import LedgerError

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_LEVEL = 63
MAX_TREE_SIZE = 2**64 - 1
MAX_ENTRY_SIZE = 0xFFFF
"""Bundles prefix each entry with a big-endian uint16 length."""
MAX_PATH_LENGTH = 64
"""Longer than any valid tile path (level 63, a 20-digit index, a width)."""

PATH_INVALID = "tile_path_invalid"
BUNDLE_MALFORMED = "tile_bundle_malformed"

_TILE_PATH = re.compile(
    r"tile/(?:(?P<level>[0-9]{1,2})|(?P<entries>entries))/(?P<index>(?:x[0-9]{3}/)*[0-9]{3})(?:\.p/(?P<width>[0-9]{1,3}))?"
)


@dataclass(frozen=True, order=True)
class Tile:
    """A hash tile (``level`` 0..63) or an entry bundle (``level`` None), full or partial.

    ``width`` is the number of hashes (or entries): 256 for a full tile.
    """

    level: int | None
    index: int
    width: int = TILE_WIDTH

    def __post_init__(self) -> None:
        if self.level is not None and not 0 <= self.level <= MAX_LEVEL:
            raise LedgerError(PATH_INVALID, f"tile level {self.level} is not between 0 and {MAX_LEVEL}")
        if not 1 <= self.width <= TILE_WIDTH:
            raise LedgerError(PATH_INVALID, f"tile width {self.width} is not between 1 and {TILE_WIDTH}")
        if self.index < 0 or self.end_leaf > MAX_TREE_SIZE + 1:
            raise LedgerError(PATH_INVALID, f"tile index {self.index} lies outside any tree")

    @property
    def is_full(self) -> bool:
        return self.width == TILE_WIDTH

    @property
    def tree_level(self) -> int:
        """The Merkle tree level of the tile's hashes (entry bundles: the leaves)."""
        return TILE_HEIGHT * (self.level or 0)

    @property
    def first_node(self) -> int:
        """Index, within :attr:`tree_level`, of the tile's first hash."""
        return self.index * TILE_WIDTH

    @property
    def end_leaf(self) -> int:
        """One past the last leaf the tile's hashes cover."""
        return (self.first_node + self.width) << self.tree_level

    def path(self) -> str:
        """The tile's path below the log's prefix, e.g. ``tile/0/x001/234.p/7``."""
        level = "entries" if self.level is None else str(self.level)
        suffix = "" if self.is_full else f".p/{self.width}"
        return f"tile/{level}/{encode_index(self.index)}{suffix}"


def encode_index(index: int) -> str:
    """``index`` as zero-padded three-digit path elements, all but the last prefixed ``x``."""
    if index < 0:
        raise LedgerError(PATH_INVALID, f"tile index {index} is negative")
    groups = []
    while True:
        index, group = divmod(index, 1000)
        groups.append(f"{group:03d}")
        if not index:
            break
    groups.reverse()
    return "/".join([*(f"x{group}" for group in groups[:-1]), groups[-1]])


def parse_tile_path(path: str) -> Tile:
    """The tile a path names, accepting only the one spelling :meth:`Tile.path` writes."""
    if len(path) > MAX_PATH_LENGTH:
        raise LedgerError(PATH_INVALID, "tile path is too long")
    match = _TILE_PATH.fullmatch(path)
    if match is None:
        raise LedgerError(PATH_INVALID, "not a tile path: tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]")
    level = None if match["entries"] else int(match["level"])
    index = int(match["index"].replace("x", "").replace("/", ""))
    width = int(match["width"]) if match["width"] else TILE_WIDTH
    if match["width"] and width >= TILE_WIDTH:
        raise LedgerError(PATH_INVALID, f"a partial tile holds 1 to {TILE_WIDTH - 1} hashes")
    tile = Tile(level, index, width)
    if tile.path() != path:
        raise LedgerError(PATH_INVALID, "tile path is not in its canonical form")
    return tile


# --- which tiles a tree has -----------------------------------------------------------------


def _levels(size: int) -> range:
    """The tile levels a tree of ``size`` leaves has hashes at."""
    if not 0 <= size <= MAX_TREE_SIZE:
        raise LedgerError("merkle_size_invalid", f"tree size {size} is out of range")
    levels = 0
    while size >> (TILE_HEIGHT * levels):
        levels += 1
    return range(levels)


def full_tiles(size_before: int, size: int) -> list[Tile]:
    """The full hash tiles a tree of ``size`` has and one of ``size_before`` had not, level by level."""
    if size_before > size:
        raise LedgerError("merkle_size_invalid", f"a tree does not shrink from {size_before} to {size}")
    tiles = []
    for level in _levels(size):
        shift = TILE_HEIGHT * (level + 1)  # a full tile at level L covers 256**(L + 1) leaves
        tiles += [Tile(level, index) for index in range(size_before >> shift, size >> shift)]
    return tiles


def partial_tiles(size: int) -> list[Tile]:
    """The partial hash tiles of a tree of ``size`` leaves, lowest level first."""
    tiles = []
    for level in _levels(size):
        width = (size >> (TILE_HEIGHT * level)) % TILE_WIDTH
        if width:
            tiles.append(Tile(level, size >> (TILE_HEIGHT * (level + 1)), width))
    return tiles


def entry_bundle_for(tile: Tile) -> Tile:
    """The entry bundle that goes with a level-0 hash tile."""
    if tile.level != 0:
        raise LedgerError(PATH_INVALID, "only level-0 tiles have entry bundles")
    return Tile(None, tile.index, tile.width)


# --- entry bundles -----------------------------------------------------------------------------


def encode_bundle(entries: list[bytes]) -> bytes:
    """Entries, each prefixed by its length as a big-endian uint16."""
    if not 1 <= len(entries) <= TILE_WIDTH:
        raise LedgerError(BUNDLE_MALFORMED, f"a bundle holds 1 to {TILE_WIDTH} entries")
    parts = []
    for entry in entries:
        if len(entry) > MAX_ENTRY_SIZE:
            raise LedgerError(BUNDLE_MALFORMED, f"an entry of {len(entry)} bytes does not fit a bundle")
        parts.append(len(entry).to_bytes(2, "big") + entry)
    return b"".join(parts)


def decode_bundle(data: bytes) -> list[bytes]:
    """The entries of a bundle; a truncated or overlong bundle is refused."""
    entries = []
    offset = 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise LedgerError(BUNDLE_MALFORMED, "bundle ends inside a length prefix")
        length = int.from_bytes(data[offset : offset + 2], "big")
        offset += 2
        if offset + length > len(data):
            raise LedgerError(BUNDLE_MALFORMED, "bundle ends inside an entry")
        entries.append(data[offset : offset + length])
        offset += length
        if len(entries) > TILE_WIDTH:
            raise LedgerError(BUNDLE_MALFORMED, f"bundle holds more than {TILE_WIDTH} entries")
    return entries
