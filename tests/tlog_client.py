"""An independent C2SP tlog-tiles client, written from the specifications alone.

It knows C2SP signed-note, tlog-checkpoint and tlog-tiles, and RFC 9162's Merkle
trees; it imports nothing of Looptrace (a test checks): only the standard library,
httpx and cryptography. Given a log's URL prefix and its verifier key (``vkey``), it
fetches and verifies the checkpoint, recomputes the checkpoint's root from the hash
tiles, and proves entries included, with leaf hashes computed from entry bundles.

Every tile it uses is authenticated: a full tile's own Merkle root must be the hash
the level above holds for it, and the top of the tree must give the signed root.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

HEIGHT = 8
WIDTH = 256
HASH = 32
SIGNATURE_PREFIX = "\u2014 "


class TlogError(Exception):
    """The log served something that does not verify."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


# --- signed notes and checkpoints ----------------------------------------------------------


def b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error
        raise TlogError("malformed base64") from None


def parse_vkey(vkey: str) -> tuple[str, bytes, Ed25519PublicKey]:
    """``<name>+<hex key id>+<base64(0x01 || Ed25519 key)>``, its key id checked."""
    parts = vkey.split("+", 2)  # the base64 part may hold '+' itself
    if len(parts) != 3:
        raise TlogError("a verifier key is <name>+<key id>+<key>")
    name, key_id_hex, encoded = parts
    material = b64decode(encoded)
    if len(material) != 33 or material[0] != 1:
        raise TlogError("the verifier key is not an Ed25519 key")
    key_id = hashlib.sha256(name.encode() + b"\n" + material).digest()[:4]
    if key_id.hex() != key_id_hex:
        raise TlogError("the verifier key's id does not match its name and key")
    return name, key_id, Ed25519PublicKey.from_public_bytes(material[1:])


def verify_checkpoint(note: bytes, vkey: str, origin: str) -> Checkpoint:
    name, key_id, public_key = parse_vkey(vkey)
    text_str = note.decode("utf-8")
    split = text_str.rfind("\n\n")
    if split < 0 or not text_str.endswith("\n"):
        raise TlogError("the checkpoint is not a signed note")
    text, signature_lines = text_str[: split + 1], text_str[split + 2 : -1].split("\n")
    verified = False
    for line in signature_lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise TlogError("malformed signature line")
        signer, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        blob = b64decode(encoded)
        if signer != name or blob[:4] != key_id:
            continue  # another signer: ignored, as signed-note says
        try:
            public_key.verify(blob[4:], text.encode("utf-8"))
        except InvalidSignature:
            raise TlogError("the log's signature on the checkpoint does not verify") from None
        verified = True
    if not verified:
        raise TlogError("the checkpoint carries no signature by the log's key")
    lines = text.split("\n")[:-1]
    if len(lines) < 3 or lines[0] != origin:
        raise TlogError("the checkpoint is not of this log's origin")
    if not lines[1].isascii() or not lines[1].isdigit() or (lines[1] != "0" and lines[1].startswith("0")):
        raise TlogError("the tree size is not a plain decimal")
    root = b64decode(lines[2])
    if len(root) != HASH:
        raise TlogError("the root hash is not 32 bytes")
    return Checkpoint(lines[0], int(lines[1]), root)


# --- tiles ---------------------------------------------------------------------------------------


def index_path(index: int) -> str:
    groups = []
    while True:
        index, group = divmod(index, 1000)
        groups.append(f"{group:03d}")
        if not index:
            break
    groups.reverse()
    return "/".join(["x" + group for group in groups[:-1]] + [groups[-1]])


def tile_path(level: int | str, index: int, width: int) -> str:
    suffix = "" if width == WIDTH else f".p/{width}"
    return f"tile/{level}/{index_path(index)}{suffix}"


def tile_width(level: int, index: int, size: int) -> int:
    """How many hashes tile ``index`` of ``level`` holds in a tree of ``size`` leaves (0: none)."""
    hashes_at_level = size >> (HEIGHT * level)
    return max(0, min(WIDTH, hashes_at_level - index * WIDTH))


def perfect_root(hashes: list[bytes]) -> bytes:
    """The Merkle root of a power-of-two run of hashes."""
    while len(hashes) > 1:
        hashes = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
    return hashes[0]


def split(n: int) -> int:
    """The largest power of two smaller than ``n`` (RFC 9162's k)."""
    return 1 << ((n - 1).bit_length() - 1)


class TileLog:
    """Reads one tree size of a tiled log; every tile it returns has been authenticated."""

    def __init__(self, http: httpx.Client, checkpoint: Checkpoint) -> None:
        self.http = http
        self.checkpoint = checkpoint
        self._tiles: dict[tuple[int, int], list[bytes]] = {}
        self._authenticated: set[tuple[int, int]] = set()

    def _fetch(self, path: str) -> bytes:
        response = self.http.get(path)
        if response.status_code != 200:
            raise TlogError(f"{path}: HTTP {response.status_code}")
        return response.content

    def _raw_tile(self, level: int, index: int) -> list[bytes]:
        key = (level, index)
        if key not in self._tiles:
            width = tile_width(level, index, self.checkpoint.size)
            if not width:
                raise TlogError(f"tile {level}/{index} is not in a tree of size {self.checkpoint.size}")
            data = self._fetch(tile_path(level, index, width))
            if len(data) != width * HASH:
                raise TlogError(f"tile {level}/{index} is {len(data)} bytes, expected {width * HASH}")
            self._tiles[key] = [data[i : i + HASH] for i in range(0, len(data), HASH)]
        return self._tiles[key]

    def tile(self, level: int, index: int) -> list[bytes]:
        """Hashes of tree level ``8 * level``; a full tile is checked against its parent's hash."""
        hashes = self._raw_tile(level, index)
        if (level, index) not in self._authenticated:
            if len(hashes) == WIDTH:
                parent = self.tile(level + 1, index // WIDTH)
                if perfect_root(hashes) != parent[index % WIDTH]:
                    raise TlogError(f"tile {level}/{index} does not hash to its parent's entry")
            self._authenticated.add((level, index))
        return hashes

    def node(self, tree_level: int, index: int) -> bytes:
        """The hash of the perfect subtree over leaves ``[index << tree_level, (index + 1) << tree_level)``."""
        level, rest = divmod(tree_level, HEIGHT)
        first = index << rest  # the node's first hash at tree level 8 * level
        hashes = self.tile(level, first // WIDTH)
        offset = first % WIDTH
        return perfect_root(hashes[offset : offset + (1 << rest)])

    def subtree(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for the ranges RFC 9162 hashes: perfect nodes, largest first, folded right."""
        nodes = []
        position = start
        while position < end:
            tree_level = (end - position).bit_length() - 1
            while position % (1 << tree_level):
                tree_level -= 1
            nodes.append(self.node(tree_level, position >> tree_level))
            position += 1 << tree_level
        digest = nodes[-1]
        for node in reversed(nodes[:-1]):
            digest = node_hash(node, digest)
        return digest

    def verify_root(self) -> None:
        """Recompute the checkpoint's root from the tiles, authenticating every partial tile's top."""
        size = self.checkpoint.size
        root = hashlib.sha256(b"").digest() if size == 0 else self.subtree(0, size)
        if root != self.checkpoint.root:
            raise TlogError("the tiles do not give the checkpoint's root")
        # The partial tiles (and through them the full ones) are now bound to the signed root;
        # full tiles below them are checked against them as they are read.

    def entry(self, index: int) -> bytes:
        """Entry ``index`` from its bundle, checked against the level-0 tile's leaf hash."""
        tile_index = index // WIDTH
        width = tile_width(0, tile_index, self.checkpoint.size)
        data = self._fetch(tile_path("entries", tile_index, width))
        entries = []
        offset = 0
        while offset < len(data):
            if offset + 2 > len(data):
                raise TlogError("entry bundle ends inside a length")
            length = int.from_bytes(data[offset : offset + 2], "big")
            entries.append(data[offset + 2 : offset + 2 + length])
            offset += 2 + length
        if offset != len(data) or len(entries) != width:
            raise TlogError(f"entry bundle {tile_index} does not hold {width} entries")
        return entries[index % WIDTH]

    def inclusion_proof(self, index: int) -> list[bytes]:
        """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, leaf side first, from the tiles."""
        proof = []
        start, end = 0, self.checkpoint.size
        while end - start > 1:
            middle = start + split(end - start)
            if index < middle:
                proof.append(self.subtree(middle, end))
                end = middle
            else:
                proof.append(self.subtree(start, middle))
                start = middle
        proof.reverse()
        return proof


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> None:
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < size:
        raise TlogError("index outside the tree")
    fn, sn, digest = index, size - 1, leaf
    for element in proof:
        if sn == 0:
            raise TlogError("inclusion proof too long")
        if fn % 2 == 1 or fn == sn:
            digest = node_hash(element, digest)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            digest = node_hash(digest, element)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or digest != root:
        raise TlogError("the entry is not included in the checkpoint's tree")


class TlogClient:
    """A tiled log at ``prefix`` (its checkpoint at ``<prefix>/checkpoint``), trusted through ``vkey``."""

    def __init__(self, prefix: str, vkey: str, origin: str, http: httpx.Client | None = None) -> None:
        self.http = http or httpx.Client(base_url=prefix.rstrip("/") + "/", timeout=30)
        self.vkey = vkey
        self.origin = origin

    def checkpoint(self) -> Checkpoint:
        response = self.http.get("checkpoint")
        if response.status_code != 200:
            raise TlogError(f"checkpoint: HTTP {response.status_code}")
        return verify_checkpoint(response.content, self.vkey, self.origin)

    def open(self) -> TileLog:
        """The latest checkpoint, verified, with its root recomputed from the tiles."""
        log = TileLog(self.http, self.checkpoint())
        log.verify_root()
        return log

    def prove(self, log: TileLog, index: int) -> bytes:
        """Entry ``index``'s leaf data, once proved included in the checkpoint's tree."""
        entry = log.entry(index)
        leaf = leaf_hash(entry)
        if leaf != log.tile(0, index // WIDTH)[index % WIDTH]:
            raise TlogError(f"entry {index} does not hash to its leaf in the level-0 tile")
        verify_inclusion(leaf, index, log.checkpoint.size, log.inclusion_proof(index), log.checkpoint.root)
        return entry
