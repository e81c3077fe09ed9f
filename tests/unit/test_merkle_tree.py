"""The stored-node Merkle logic against a literal transcription of RFC 9162 §2.1.

The naive functions below recurse over whole leaf lists exactly as the RFC writes
MTH, PATH and SUBPROOF; the node-based code must agree with them byte for byte.
"""

import hashlib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traceability.ledger import merkle
from traceability.ledger.errors import LedgerError

MAX_SIZE = 300


def _leaves(count: int) -> list[bytes]:
    return [merkle.leaf_hash(index.to_bytes(4, "big")) for index in range(count)]


LEAVES = _leaves(MAX_SIZE)


def _split(size: int) -> int:
    split = 1
    while split * 2 < size:
        split *= 2
    return split


def naive_mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return merkle.node_hash(naive_mth(leaves[:k]), naive_mth(leaves[k:]))


def naive_path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if m < k:
        return [*naive_path(m, leaves[:k]), naive_mth(leaves[k:])]
    return [*naive_path(m - k, leaves[k:]), naive_mth(leaves[:k])]


def naive_subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    if m == len(leaves):
        return [] if complete else [naive_mth(leaves)]
    k = _split(len(leaves))
    if m <= k:
        return [*naive_subproof(m, leaves[:k], complete), naive_mth(leaves[k:])]
    return [*naive_subproof(m - k, leaves[k:], False), naive_mth(leaves[:k])]


def _flip(proof: list[bytes], position: int) -> list[bytes]:
    tampered = list(proof)
    tampered[position] = bytes([tampered[position][0] ^ 1]) + tampered[position][1:]
    return tampered


# --- hashing --------------------------------------------------------------------------------


def test_hashes_are_domain_separated() -> None:
    assert merkle.leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert merkle.node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()
    assert merkle.EMPTY_ROOT == hashlib.sha256(b"").digest()


def test_empty_tree() -> None:
    tree = merkle.MemoryTree()
    assert tree.size == 0
    assert tree.root() == merkle.EMPTY_ROOT
    assert merkle.root_keys(0) == []
    assert merkle.root_from_nodes(0, {}) == merkle.EMPTY_ROOT


# --- node bookkeeping -------------------------------------------------------------------------


def test_append_completes_the_parents_of_a_right_child() -> None:
    # given the 7-leaf tree's nodes
    tree_nodes = {(level, index): digest for level, index, digest in merkle.nodes_for_appends(0, LEAVES[:7], {})}

    # when leaf 7 arrives
    created = merkle.nodes_completed_by_append(7, LEAVES[7], lambda level, index: tree_nodes[(level, index)])

    # then it completes its pair, its quad and the whole 8-leaf tree
    assert [(level, index) for level, index, _ in created] == [(0, 7), (1, 3), (2, 1), (3, 0)]
    assert created[-1][2] == naive_mth(LEAVES[:8])


def test_frontier_is_one_node_per_set_bit() -> None:
    assert merkle.frontier_keys(0) == []
    assert merkle.frontier_keys(1) == [(0, 0)]
    assert merkle.frontier_keys(6) == [(2, 0), (1, 2)]
    assert merkle.frontier_keys(13) == [(3, 0), (2, 2), (0, 12)]


@settings(max_examples=60, deadline=None)
@given(
    size_before=st.integers(min_value=0, max_value=200),
    batch=st.integers(min_value=0, max_value=100),
)
def test_batch_append_needs_only_the_frontier(size_before: int, batch: int) -> None:
    # given only the frontier of a tree
    nodes_before = _all_nodes(size_before)
    frontier = {key: nodes_before[key] for key in merkle.frontier_keys(size_before)}

    # when a batch is appended from it
    created = merkle.nodes_for_appends(size_before, LEAVES[size_before : size_before + batch], frontier)

    # then exactly the perfect nodes that are new are returned, with the right hashes
    expected = set(_all_nodes(size_before + batch)) - set(nodes_before)
    assert {(level, index) for level, index, _ in created} == expected
    for level, index, digest in created:
        start, end = _key_range((level, index))
        assert digest == naive_mth(LEAVES[start:end])


def test_batch_append_reports_a_missing_frontier_node() -> None:
    with pytest.raises(LedgerError) as caught:
        merkle.nodes_for_appends(3, [LEAVES[3]], {(1, 0): b"\x00" * 32})
    assert caught.value.code == "merkle_node_missing"


def test_append_refuses_a_leaf_hash_of_the_wrong_length() -> None:
    with pytest.raises(LedgerError) as caught:
        merkle.MemoryTree([b"short"])
    assert caught.value.code == "merkle_hash_invalid"


def _key_range(key: tuple[int, int]) -> tuple[int, int]:
    level, index = key
    return index << level, (index + 1) << level


def _all_nodes(size: int) -> dict[tuple[int, int], bytes]:
    """Every perfect node of the first ``size`` leaves, computed naively."""
    nodes: dict[tuple[int, int], bytes] = {}
    level = 0
    while (1 << level) <= size:
        for index in range(size >> level):
            start, end = _key_range((level, index))
            nodes[(level, index)] = naive_mth(LEAVES[start:end])
        level += 1
    return nodes


# --- ranges and roots --------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_range_hash_is_the_rfc_subtree_hash(data: st.DataObject) -> None:
    # given an aligned range, as RFC 9162 proofs use them
    length = data.draw(st.integers(min_value=1, max_value=MAX_SIZE))
    alignment = 1 << (length.bit_length() - 1)
    start = alignment * data.draw(st.integers(min_value=0, max_value=(MAX_SIZE - length) // alignment))
    end = start + length
    nodes = _all_nodes(end)

    # then the stored nodes combine to its MTH, using only the nodes range_keys names
    needed = {key: nodes[key] for key in merkle.range_keys(start, end)}
    assert merkle.range_hash(start, end, needed) == naive_mth(LEAVES[start:end])


def test_range_keys_refuses_ranges_that_are_not_rfc_subtrees() -> None:
    for start, end in [(1, 3), (2, 6), (0, 0), (5, 4), (-1, 0)]:
        with pytest.raises(LedgerError) as caught:
            merkle.range_keys(start, end)
        assert caught.value.code == "merkle_range_invalid"


def test_missing_node_is_reported() -> None:
    with pytest.raises(LedgerError) as caught:
        merkle.root_from_nodes(3, {(1, 0): LEAVES[0]})
    assert caught.value.code == "merkle_node_missing"


def test_roots_of_every_prefix_match_the_rfc() -> None:
    tree = merkle.MemoryTree(LEAVES[:70])
    for size in range(71):
        assert tree.root(size) == naive_mth(LEAVES[:size])


# --- proofs ----------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(size=st.integers(min_value=1, max_value=MAX_SIZE))
def test_every_inclusion_proof_is_the_rfc_path_and_verifies(size: int) -> None:
    # given a tree of ``size`` leaves
    tree = merkle.MemoryTree(LEAVES[:size])
    root = tree.root()
    assert root == naive_mth(LEAVES[:size])

    for index in range(size):
        # when the proof of each leaf is generated
        proof = tree.inclusion_proof(index)

        # then it is RFC 9162's PATH and it verifies
        assert proof == naive_path(index, LEAVES[:size])
        merkle.verify_inclusion(LEAVES[index], index, size, proof, root)


@settings(max_examples=25, deadline=None)
@given(size2=st.integers(min_value=1, max_value=MAX_SIZE))
def test_every_consistency_proof_is_the_rfc_subproof_and_verifies(size2: int) -> None:
    # given a tree of ``size2`` leaves
    tree = merkle.MemoryTree(LEAVES[:size2])
    root2 = tree.root()

    for size1 in range(1, size2 + 1):
        # when the proof from each earlier size is generated
        proof = tree.consistency_proof(size1, size2)

        # then it is RFC 9162's PROOF and it verifies
        assert proof == naive_subproof(size1, LEAVES[:size2], True)
        merkle.verify_consistency(size1, size2, tree.root(size1), root2, proof)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_tampered_inclusion_proofs_fail(data: st.DataObject) -> None:
    size = data.draw(st.integers(min_value=2, max_value=MAX_SIZE))
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    tree = merkle.MemoryTree(LEAVES[:size])
    proof, root = tree.inclusion_proof(index), tree.root()
    position = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))

    attempts = [
        (LEAVES[index], index, size, _flip(proof, position), root),
        (LEAVES[index], index, size, proof[:-1], root),
        (LEAVES[index], index, size, [*proof, proof[0]], root),
        (LEAVES[index], index ^ 1, size, proof, root),
        (LEAVES[index], index, size, proof, _flip([root], 0)[0]),
        (_flip([LEAVES[index]], 0)[0], index, size, proof, root),
    ]
    for leaf, leaf_index, tree_size, attempt, attempt_root in attempts:
        with pytest.raises(LedgerError):
            merkle.verify_inclusion(leaf, leaf_index, tree_size, attempt, attempt_root)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_tampered_consistency_proofs_fail(data: st.DataObject) -> None:
    size2 = data.draw(st.integers(min_value=2, max_value=MAX_SIZE))
    size1 = data.draw(st.integers(min_value=1, max_value=size2 - 1))
    tree = merkle.MemoryTree(LEAVES[:size2])
    proof, root1, root2 = tree.consistency_proof(size1, size2), tree.root(size1), tree.root()
    position = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))

    attempts = [
        (size1, size2, root1, root2, _flip(proof, position)),
        (size1, size2, root1, root2, proof[:-1]),
        (size1, size2, root1, root2, [*proof, proof[0]]),
        (size1, size2, _flip([root1], 0)[0], root2, proof),
        (size1, size2, root1, _flip([root2], 0)[0], proof),
        (size2, size1, root2, root1, proof),
    ]
    for first, second, first_root, second_root, attempt in attempts:
        with pytest.raises(LedgerError):
            merkle.verify_consistency(first, second, first_root, second_root, attempt)


def test_inclusion_verification_rejects_bad_inputs() -> None:
    tree = merkle.MemoryTree(LEAVES[:5])
    proof, root = tree.inclusion_proof(2), tree.root()
    cases = [
        (LEAVES[2], 5, 5, proof, root),  # index == size
        (LEAVES[2], -1, 5, proof, root),
        (LEAVES[2][:31], 2, 5, proof, root),  # short leaf hash
        (LEAVES[2], 2, 5, proof, root + b"\x00"),  # long root
        (LEAVES[2], 2, 5, [proof[0][:31], *proof[1:]], root),
        (LEAVES[2], 2, 0, [], merkle.EMPTY_ROOT),
    ]
    for leaf, index, size, attempt, attempt_root in cases:
        with pytest.raises(LedgerError) as caught:
            merkle.verify_inclusion(leaf, index, size, attempt, attempt_root)
        assert caught.value.code == "inclusion_proof_invalid"


def test_consistency_verification_rejects_bad_inputs() -> None:
    tree = merkle.MemoryTree(LEAVES[:7])
    proof, root1, root2 = tree.consistency_proof(3, 7), tree.root(3), tree.root()
    cases = [
        (3, 7, root1, root2, []),  # empty proof
        (0, 7, merkle.EMPTY_ROOT, root2, proof),  # from the empty tree
        (0, 0, merkle.EMPTY_ROOT, merkle.EMPTY_ROOT, []),
        (7, 7, root2, root2, proof),  # equal sizes, non-empty proof
        (7, 7, root1, root2, []),  # equal sizes, different roots
        (7, 3, root2, root1, proof),
        (3, 7, root1[:31], root2, proof),
        (3, 7, root1, root2, [proof[0] + b"\x00", *proof[1:]]),
    ]
    for size1, size2, first_root, second_root, attempt in cases:
        with pytest.raises(LedgerError) as caught:
            merkle.verify_consistency(size1, size2, first_root, second_root, attempt)
        assert caught.value.code == "consistency_proof_invalid"


def test_equal_sizes_need_no_proof() -> None:
    tree = merkle.MemoryTree(LEAVES[:7])
    assert tree.consistency_proof(7, 7) == []
    merkle.verify_consistency(7, 7, tree.root(), tree.root(), [])


@pytest.mark.parametrize(
    ("request_proof", "code"),
    [
        (lambda tree: tree.inclusion_proof(7), "merkle_index_out_of_range"),
        (lambda tree: tree.inclusion_proof(-1), "merkle_index_out_of_range"),
        (lambda tree: tree.inclusion_proof(0, 8), "merkle_size_invalid"),
        (lambda tree: tree.consistency_proof(0, 7), "merkle_sizes_invalid"),
        (lambda tree: tree.consistency_proof(5, 4), "merkle_sizes_invalid"),
        (lambda tree: tree.consistency_proof(5, 8), "merkle_size_invalid"),
        (lambda tree: tree.root(8), "merkle_size_invalid"),
    ],
)
def test_proof_generation_refuses_impossible_requests(
    request_proof: Callable[[merkle.MemoryTree], object], code: str
) -> None:
    with pytest.raises(LedgerError) as caught:
        request_proof(merkle.MemoryTree(LEAVES[:7]))
    assert caught.value.code == code


def test_proofs_fetch_a_logarithmic_number_of_nodes() -> None:
    # given a large log: a proof must be a handful of stored nodes, never a scan
    size = 1_000_003
    inclusion = merkle.keys_for(merkle.inclusion_proof_keys(size - 1, size))
    consistency = merkle.keys_for(merkle.consistency_proof_keys(777_777, size))

    assert len(inclusion) <= 2 * size.bit_length()
    assert len(consistency) <= 3 * size.bit_length()
