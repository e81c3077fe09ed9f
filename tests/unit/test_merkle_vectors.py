"""RFC 9162 proof vectors of transparency-dev/merkle, carried in ``tests/data/merkle_rfc9162/``.

Every vector file is one case: happy paths must verify, every mutation must raise
LedgerError. The happy paths built from the RFC 6962 reference leaves must also be
reproduced byte for byte by MemoryTree.
"""

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from traceability.ledger import merkle
from traceability.ledger.errors import LedgerError

VECTORS = Path(__file__).resolve().parents[1] / "data" / "merkle_rfc9162"

REFERENCE_LEAVES = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]


def _vector_files(kind: str) -> list[Path]:
    return sorted((VECTORS / kind).rglob("*.json"))


INCLUSION_FILES = _vector_files("inclusion")
CONSISTENCY_FILES = _vector_files("consistency")


def _case_id(path: Path) -> str:
    return path.relative_to(VECTORS).as_posix()


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _proof(vector: dict[str, Any]) -> list[bytes]:
    return [_b64(element) for element in vector["proof"] or []]


def _verify_inclusion(vector: dict[str, Any]) -> None:
    merkle.verify_inclusion(
        _b64(vector["leafHash"]),
        vector["leafIdx"],
        vector["treeSize"],
        _proof(vector),
        _b64(vector["root"]),
    )


def _verify_consistency(vector: dict[str, Any]) -> None:
    merkle.verify_consistency(
        vector["size1"],
        vector["size2"],
        _b64(vector["root1"]),
        _b64(vector["root2"]),
        _proof(vector),
    )


def test_vector_folder_is_present() -> None:
    # given the vectors carried with the tests
    # then it holds the full vector set: a missing folder must fail, not skip
    assert len(INCLUSION_FILES) + len(CONSISTENCY_FILES) > 150, VECTORS
    assert INCLUSION_FILES
    assert CONSISTENCY_FILES


@pytest.mark.parametrize("path", INCLUSION_FILES, ids=_case_id)
def test_inclusion_vector(path: Path) -> None:
    vector = _load(path)
    if vector["wantErr"]:
        with pytest.raises(LedgerError) as caught:
            _verify_inclusion(vector)
        assert caught.value.code == "inclusion_proof_invalid"
    else:
        _verify_inclusion(vector)


@pytest.mark.parametrize("path", CONSISTENCY_FILES, ids=_case_id)
def test_consistency_vector(path: Path) -> None:
    vector = _load(path)
    if vector["wantErr"]:
        with pytest.raises(LedgerError) as caught:
            _verify_consistency(vector)
        assert caught.value.code == "consistency_proof_invalid"
    else:
        _verify_consistency(vector)


def _reference_happy_paths(files: list[Path]) -> list[Path]:
    """The happy paths generated over the reference leaves (the others use made-up hashes)."""
    return [path for path in files if _load(path)["desc"] == "happy path"]


REFERENCE_TREE = merkle.MemoryTree(merkle.leaf_hash(bytes.fromhex(leaf)) for leaf in REFERENCE_LEAVES)


def test_reference_happy_paths_are_found() -> None:
    assert len(_reference_happy_paths(INCLUSION_FILES)) >= 5
    assert len(_reference_happy_paths(CONSISTENCY_FILES)) >= 5


@pytest.mark.parametrize("path", _reference_happy_paths(INCLUSION_FILES), ids=_case_id)
def test_generated_inclusion_proof_matches_vector(path: Path) -> None:
    # given a happy-path vector over the reference leaves
    vector = _load(path)
    index, size = vector["leafIdx"], vector["treeSize"]
    assert size <= REFERENCE_TREE.size

    # when the same proof is generated
    proof = REFERENCE_TREE.inclusion_proof(index, size)

    # then leaf, root and proof are the vector's, byte for byte
    assert merkle.leaf_hash(bytes.fromhex(REFERENCE_LEAVES[index])) == _b64(vector["leafHash"])
    assert REFERENCE_TREE.root(size) == _b64(vector["root"])
    assert proof == _proof(vector)


@pytest.mark.parametrize("path", _reference_happy_paths(CONSISTENCY_FILES), ids=_case_id)
def test_generated_consistency_proof_matches_vector(path: Path) -> None:
    # given a happy-path vector over the reference leaves
    vector = _load(path)
    size1, size2 = vector["size1"], vector["size2"]
    assert size2 <= REFERENCE_TREE.size

    # when the same proof is generated
    proof = REFERENCE_TREE.consistency_proof(size1, size2)

    # then both roots and the proof are the vector's, byte for byte
    assert REFERENCE_TREE.root(size1) == _b64(vector["root1"])
    assert REFERENCE_TREE.root(size2) == _b64(vector["root2"])
    assert proof == _proof(vector)
