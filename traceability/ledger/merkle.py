"""RFC 9162 Merkle tree: hashing, stored-node bookkeeping, proofs and their verification.

Storage model. The tree is never kept whole: the ledger stores the hash of every
*perfect aligned subtree*, keyed ``(level, index)``, where the node covers leaves
``[index * 2**level, (index + 1) * 2**level)`` and level 0 holds the leaf hashes.
Such a node never changes once its last leaf exists, so rows are append-only like
the log itself. Any subtree that RFC 9162 needs (a root, a proof element) is a
left-to-right run of those nodes, so the functions here come in pairs: ``*_keys``
says which nodes to fetch (one query), the matching function combines them.

The hashing never depends on where nodes come from: :class:`MemoryTree`, used by
tests and by the offline verifier, goes through the very same functions as the
database-backed log.
"""

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

from traceability.ledger.errors import LedgerError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

NodeKey = tuple[int, int]
"""``(level, index)`` of a perfect aligned subtree."""

Node = tuple[int, int, bytes]
"""``(level, index, hash)``: a node as it is stored."""

LeafRange = tuple[int, int]
"""``(start, end)``: the leaves ``[start, end)`` a proof element is the hash of."""


def leaf_hash(data: bytes) -> bytes:
    """Hash of a log entry; the 0x00 prefix keeps leaves from passing for inner nodes."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an inner node; the 0x01 prefix is the domain separation of RFC 9162 §2.1.1."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two strictly below ``size`` (>= 2): where RFC 9162 cuts a tree."""
    return 1 << ((size - 1).bit_length() - 1)


def _require_hash(value: bytes, code: str, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise LedgerError(code, f"{what} is {len(value)} bytes, expected {HASH_SIZE}")


def _lookup(nodes: Mapping[NodeKey, bytes], key: NodeKey) -> bytes:
    """``nodes[key]``, with a missing node reported as the caller's mistake it is."""
    try:
        return nodes[key]
    except KeyError:
        raise LedgerError("merkle_node_missing", f"node (level {key[0]}, index {key[1]}) was not supplied") from None


# --- appending -------------------------------------------------------------------------


def frontier_keys(size: int) -> list[NodeKey]:
    """The nodes an append to a tree of ``size`` leaves may combine with.

    They are the maximal perfect subtrees of ``[0, size)`` (one per set bit of
    ``size``), i.e. the same nodes as :func:`root_keys`: fetching them once lets
    :func:`nodes_for_appends` add any number of leaves without reading the log.
    """
    return root_keys(size)


def nodes_completed_by_append(
    size_before: int, new_leaf_hash: bytes, get_node: Callable[[int, int], bytes]
) -> list[Node]:
    """Every perfect node that exists once leaf ``size_before`` is appended, and not before.

    The leaf itself is one; each time the new node is a right child, its parent
    is complete too, so the left sibling is read through ``get_node(level, index)``.
    That is one hash per completed parent: two per leaf on average.
    """
    if size_before < 0:
        raise LedgerError("merkle_size_invalid", f"tree size {size_before} is negative")
    _require_hash(new_leaf_hash, "merkle_hash_invalid", "leaf hash")
    created: list[Node] = [(0, size_before, new_leaf_hash)]
    level, index, digest = 0, size_before, new_leaf_hash
    while index % 2 == 1:
        digest = node_hash(get_node(level, index - 1), digest)
        level, index = level + 1, index // 2
        created.append((level, index, digest))
    return created


def nodes_for_appends(size_before: int, leaf_hashes: Sequence[bytes], known: Mapping[NodeKey, bytes]) -> list[Node]:
    """The nodes to store after appending ``leaf_hashes`` to a tree of ``size_before`` leaves.

    ``known`` must hold at least :func:`frontier_keys` of ``size_before``; the
    nodes this batch creates are looked up from the batch itself.
    """
    available = dict(known)

    def get_node(level: int, index: int) -> bytes:
        return _lookup(available, (level, index))

    created: list[Node] = []
    for offset, new_leaf_hash in enumerate(leaf_hashes):
        for level, index, digest in nodes_completed_by_append(size_before + offset, new_leaf_hash, get_node):
            available[(level, index)] = digest
            created.append((level, index, digest))
    return created


# --- subtree hashes from stored nodes ----------------------------------------------------


def range_keys(start: int, end: int) -> list[NodeKey]:
    """The perfect nodes, left to right, that make up MTH(D[start:end]).

    Holds for every subtree RFC 9162 ever hashes: those have ``start`` aligned to
    the largest power of two not above ``end - start``, so the range splits into
    one perfect node per set bit of its length, largest first.
    """
    length = end - start
    if start < 0 or length <= 0:
        raise LedgerError("merkle_range_invalid", f"[{start}, {end}) is not a non-empty range")
    if start % (1 << (length.bit_length() - 1)):
        raise LedgerError("merkle_range_invalid", f"[{start}, {end}) is not a subtree of an RFC 9162 tree")
    keys: list[NodeKey] = []
    position = start
    while position < end:
        level = (end - position).bit_length() - 1
        keys.append((level, position >> level))
        position += 1 << level
    return keys


def range_hash(start: int, end: int, nodes: Mapping[NodeKey, bytes]) -> bytes:
    """MTH(D[start:end]) from the nodes of :func:`range_keys`.

    RFC 9162 cuts at the largest power of two below the length, which is the
    first (largest) node; the rest is cut the same way, so the nodes fold from the right.
    """
    keys = range_keys(start, end)
    digest = _lookup(nodes, keys[-1])
    for key in reversed(keys[:-1]):
        digest = node_hash(_lookup(nodes, key), digest)
    return digest


def root_keys(size: int) -> list[NodeKey]:
    """The nodes whose combination is the root of a tree of ``size`` leaves (none when empty)."""
    if size < 0:
        raise LedgerError("merkle_size_invalid", f"tree size {size} is negative")
    return range_keys(0, size) if size else []


def root_from_nodes(size: int, nodes: Mapping[NodeKey, bytes]) -> bytes:
    """The RFC 9162 root of the first ``size`` leaves; SHA-256 of nothing for the empty tree."""
    if size < 0:
        raise LedgerError("merkle_size_invalid", f"tree size {size} is negative")
    return range_hash(0, size, nodes) if size else EMPTY_ROOT


def keys_for(ranges: Iterable[LeafRange]) -> set[NodeKey]:
    """Every node needed to hash all of ``ranges``: what to fetch in one query."""
    return {key for start, end in ranges for key in range_keys(start, end)}


# --- proof generation (RFC 9162 §2.1.3.1 PATH and §2.1.4.1 SUBPROOF) -------------------


def inclusion_proof_keys(index: int, size: int) -> list[LeafRange]:
    """The subtrees whose hashes form PATH(index, D[0:size]), in proof order (leaf side first)."""
    if not 0 <= index < size:
        raise LedgerError("merkle_index_out_of_range", f"leaf {index} is not in a tree of size {size}")
    ranges: list[LeafRange] = []
    start, end = 0, size
    while end - start > 1:
        middle = start + _split(end - start)
        if index < middle:
            ranges.append((middle, end))
            end = middle
        else:
            ranges.append((start, middle))
            start = middle
    ranges.reverse()
    return ranges


def inclusion_proof(index: int, size: int, nodes: Mapping[NodeKey, bytes]) -> list[bytes]:
    """The RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""
    return [range_hash(start, end, nodes) for start, end in inclusion_proof_keys(index, size)]


def consistency_proof_keys(size1: int, size2: int) -> list[LeafRange]:
    """The subtrees whose hashes form PROOF(size1, D[0:size2]), in proof order.

    Equal sizes need no proof. From the empty tree there is nothing to prove
    (RFC 9162 defines the proof for 0 < size1 only), so that is refused.
    """
    if not 0 < size1 <= size2:
        raise LedgerError("merkle_sizes_invalid", f"no consistency proof from size {size1} to size {size2}")
    ranges: list[LeafRange] = []
    start, end = 0, size2
    old_tree_is_a_node = True  # SUBPROOF's b: is D[0:size1] still a subtree the verifier has?
    while end != size1:
        middle = start + _split(end - start)
        if size1 <= middle:
            ranges.append((middle, end))
            end = middle
        else:
            ranges.append((start, middle))
            start = middle
            old_tree_is_a_node = False
    if not old_tree_is_a_node:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def consistency_proof(size1: int, size2: int, nodes: Mapping[NodeKey, bytes]) -> list[bytes]:
    """The RFC 9162 consistency proof between the trees of ``size1`` and ``size2`` leaves."""
    return [range_hash(start, end, nodes) for start, end in consistency_proof_keys(size1, size2)]


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) -----------------------------------------


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves with ``root``.

    The algorithm of RFC 9162 §2.1.3.2; every failure is ``inclusion_proof_invalid``.
    """
    code = "inclusion_proof_invalid"
    if not 0 <= index < size:
        raise LedgerError(code, f"leaf {index} is not in a tree of size {size}")
    _require_hash(leaf_hash, code, "leaf hash")
    _require_hash(root, code, "root hash")
    for element in proof:
        _require_hash(element, code, "proof element")
    fn, sn = index, size - 1
    digest = leaf_hash
    for element in proof:
        if sn == 0:
            raise LedgerError(code, "proof is longer than the path to the root")
        if fn % 2 == 1 or fn == sn:
            digest = node_hash(element, digest)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            digest = node_hash(digest, element)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise LedgerError(code, "proof is shorter than the path to the root")
    if digest != root:
        raise LedgerError(code, "proof does not lead to the root")


def verify_consistency(size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]) -> None:
    """Check that the tree of ``size2`` leaves with ``root2`` extends the one with ``root1``.

    The algorithm of RFC 9162 §2.1.4.2; every failure is ``consistency_proof_invalid``.
    Equal sizes take the empty proof and consistency means equal roots: nothing is
    recomputed, so, like the reference verifier, the roots are only compared.
    A consistency check from the empty tree proves nothing and is refused.
    """
    code = "consistency_proof_invalid"
    if size1 < 0 or size2 < size1:
        raise LedgerError(code, f"size {size1} cannot grow into size {size2}")
    if size1 == 0:
        raise LedgerError(code, "a consistency check from the empty tree proves nothing")
    if size1 == size2:
        if proof:
            raise LedgerError(code, "trees of equal size take an empty proof")
        if root1 != root2:
            raise LedgerError(code, "trees of equal size have different roots")
        return
    _require_hash(root1, code, "first root hash")
    _require_hash(root2, code, "second root hash")
    for element in proof:
        _require_hash(element, code, "proof element")
    if not proof:
        raise LedgerError(code, "proof is empty")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn % 2 == 1:
        fn, sn = fn >> 1, sn >> 1
    first = second = path[0]
    for element in path[1:]:
        if sn == 0:
            raise LedgerError(code, "proof is longer than needed")
        if fn % 2 == 1 or fn == sn:
            first = node_hash(element, first)
            second = node_hash(element, second)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            second = node_hash(second, element)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise LedgerError(code, "proof is shorter than needed")
    if first != root1:
        raise LedgerError(code, "proof does not lead to the first root")
    if second != root2:
        raise LedgerError(code, "proof does not lead to the second root")


# --- in memory ---------------------------------------------------------------------------


class MemoryTree:
    """A whole tree held in memory, for tests and for rebuilding a log when verifying it.

    Nodes are kept per level in append order (``levels[level][index]``), which is
    exactly how :func:`nodes_completed_by_append` produces them, so memory and
    time stay linear in the number of leaves. Proofs fetch the nodes named by the
    ``*_keys`` functions, as the database-backed log does.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = []
        for digest in leaf_hashes:
            self.append(digest)

    @property
    def size(self) -> int:
        return len(self._levels[0]) if self._levels else 0

    def append(self, new_leaf_hash: bytes) -> None:
        for level, _index, digest in nodes_completed_by_append(self.size, new_leaf_hash, self._node):
            if level == len(self._levels):
                self._levels.append([])
            # Nodes complete in index order, so ``index`` is the next free slot of its level.
            self._levels[level].append(digest)

    def _node(self, level: int, index: int) -> bytes:
        return self._levels[level][index]

    def _nodes(self, keys: Iterable[NodeKey]) -> dict[NodeKey, bytes]:
        return {(level, index): self._levels[level][index] for level, index in keys}

    def _size_or_current(self, size: int | None) -> int:
        if size is None:
            return self.size
        if not 0 <= size <= self.size:
            raise LedgerError("merkle_size_invalid", f"tree size {size} is not between 0 and {self.size}")
        return size

    def root(self, size: int | None = None) -> bytes:
        """The root of the first ``size`` leaves (default: all of them)."""
        size = self._size_or_current(size)
        return root_from_nodes(size, self._nodes(root_keys(size)))

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        size = self._size_or_current(size)
        return inclusion_proof(index, size, self._nodes(keys_for(inclusion_proof_keys(index, size))))

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        size2 = self._size_or_current(size2)
        ranges = consistency_proof_keys(size1, size2)
        return consistency_proof(size1, size2, self._nodes(keys_for(ranges)))
