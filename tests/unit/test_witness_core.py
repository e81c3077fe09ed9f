"""Witnessing, without a network: tlog-witness requests, tlog-cosignature lines, the decision to cosign."""

import base64
import hashlib
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from traceability.ledger import checkpoint as notes
from traceability.ledger import witness as core
from traceability.ledger.errors import LedgerError
from traceability.ledger.merkle import EMPTY_ROOT, MemoryTree, leaf_hash
from traceability.ledger.witness import LogState, WitnessError

ORIGIN = "looptrace.example/ledger"
LOG_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
LOG_KEYS = {ORIGIN: [(ORIGIN, LOG_KEY.public_key().public_bytes_raw())]}
WITNESS_NAME = "witness.example/w1"
WITNESS_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(2, 34)))
WITNESS_PUBLIC = WITNESS_KEY.public_key().public_bytes_raw()

# tlog-cosignature's example: a checkpoint, its cosigned message at time 1679315147, and a cosignature line.
SPEC_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SPEC_MESSAGE = (
    "cosignature/v1\ntime 1679315147\n"
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)
SPEC_COSIGNATURE = (
    "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA=="
)

TREE = MemoryTree(leaf_hash(str(n).encode()) for n in range(40))
FORKED = MemoryTree(leaf_hash(str(n if n != 7 else "forged").encode()) for n in range(40))


def signed(size: int, tree: MemoryTree = TREE, key: Ed25519PrivateKey = LOG_KEY) -> str:
    return notes.sign_checkpoint(notes.Checkpoint(ORIGIN, size, tree.root(size)), ORIGIN, key)


def state(size: int, tree: MemoryTree = TREE) -> dict[str, LogState]:
    return {ORIGIN: LogState(size, tree.root(size), signed(size, tree))}


def submit(old: int, proof: list[bytes], note: str, latest: dict[str, LogState]) -> core.Observed:
    request = core.parse_add_checkpoint(core.add_checkpoint_body(old, proof, note))
    return core.check_add_checkpoint(request, log_keys=LOG_KEYS, latest=latest)


def refusal(old: int, proof: list[bytes], note: str, latest: dict[str, LogState]) -> WitnessError:
    with pytest.raises(WitnessError) as caught:
        submit(old, proof, note, latest)
    return caught.value


# --- the cosignature format -------------------------------------------------------------


def test_the_signed_message_is_the_specification_example_byte_for_byte() -> None:
    assert core.cosignature_message(SPEC_BODY, 1679315147) == SPEC_MESSAGE.encode()


def test_the_specification_example_line_carries_its_key_id_and_the_example_timestamp() -> None:
    blob = base64.b64decode(SPEC_COSIGNATURE)
    assert len(blob) == 4 + 8 + 64
    assert struct.unpack(">Q", blob[4:12])[0] == 1679315147


def test_the_key_id_follows_its_definition_with_type_0x04() -> None:
    expected = hashlib.sha256(WITNESS_NAME.encode() + b"\n\x04" + WITNESS_PUBLIC).digest()[:4]
    assert core.cosigner_key_id(WITNESS_NAME, WITNESS_PUBLIC) == expected
    assert core.cosigner_key_id(WITNESS_NAME, WITNESS_PUBLIC) != notes.note_key_id(WITNESS_NAME, WITNESS_PUBLIC)


def test_a_cosignature_is_key_id_timestamp_and_ed25519_over_the_message() -> None:
    line = core.cosign(SPEC_BODY, WITNESS_NAME, WITNESS_KEY, 1679315147)
    name, encoded = line.removeprefix("\u2014 ").removesuffix("\n").split(" ")
    blob = base64.b64decode(encoded)
    assert name == WITNESS_NAME
    assert blob[:4] == core.cosigner_key_id(WITNESS_NAME, WITNESS_PUBLIC)
    assert blob[4:12] == struct.pack(">Q", 1679315147)
    WITNESS_KEY.public_key().verify(blob[12:], SPEC_MESSAGE.encode())


def test_a_cosigned_note_verifies_and_any_change_is_refused() -> None:
    note = signed(10)
    text, _ = notes.parse_note(note)
    cosigned = note + core.cosign(text, WITNESS_NAME, WITNESS_KEY, 1_700_000_000)
    assert core.verify_cosignature(cosigned, WITNESS_NAME, WITNESS_PUBLIC) == 1_700_000_000
    # the log's own signature still verifies with the cosignature appended
    notes.verify_checkpoint(cosigned, ORIGIN, LOG_KEY.public_key().public_bytes_raw())
    other_root = base64.b64encode(TREE.root(11)).decode()
    changed = cosigned.replace(base64.b64encode(TREE.root(10)).decode(), other_root)
    with pytest.raises(LedgerError, match="does not verify"):
        core.verify_cosignature(changed, WITNESS_NAME, WITNESS_PUBLIC)
    with pytest.raises(LedgerError) as caught:
        core.verify_cosignature(note, WITNESS_NAME, WITNESS_PUBLIC)
    assert caught.value.code == core.COSIGNATURE_MISSING


def test_vkeys_and_signer_keys_round_trip_and_refuse_the_wrong_type() -> None:
    vkey = core.cosigner_vkey(WITNESS_NAME, WITNESS_PUBLIC)
    assert core.parse_cosigner_vkey(vkey) == (WITNESS_NAME, WITNESS_PUBLIC)
    name, private_key = core.parse_signer_key(core.signer_key_text(WITNESS_NAME, WITNESS_KEY))
    assert name == WITNESS_NAME and private_key.public_key().public_bytes_raw() == WITNESS_PUBLIC
    with pytest.raises(LedgerError):
        core.parse_cosigner_vkey(notes.verifier_key(WITNESS_NAME, WITNESS_PUBLIC))  # a type 0x01 key
    with pytest.raises(LedgerError):
        core.parse_cosigner_vkey(vkey.replace("+", "+0", 1))


# --- requests -------------------------------------------------------------------------------


def test_a_request_body_round_trips() -> None:
    proof = TREE.consistency_proof(10, 20)
    body = core.add_checkpoint_body(10, proof, signed(20))
    assert body.startswith(b"old 10\n")
    request = core.parse_add_checkpoint(body)
    assert (request.old_size, list(request.proof), request.note) == (10, proof, signed(20))


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"old 1\n",  # no blank line
        b"old 01\n\n" + signed(2).encode(),  # leading zero
        b"old -1\n\n" + signed(2).encode(),
        b"old  1\n\n" + signed(2).encode(),
        b"olde 1\n\n" + signed(2).encode(),
        b"old 1\nnot base64!\n\n" + signed(2).encode(),
        b"old 1\n" + base64.b64encode(b"short") + b"\n\n" + signed(2).encode(),
        b"old 1\n" + (base64.b64encode(bytes(32)) + b"\n") * 64 + b"\n" + signed(2).encode(),  # 64 > 63 lines
        b"old 1\n\n\xff" + signed(2).encode(),
        b"old 1\n\n" + b"x" * core.MAX_REQUEST_BYTES,
    ],
)
def test_malformed_requests_are_400(body: bytes) -> None:
    with pytest.raises(WitnessError) as caught:
        request = core.parse_add_checkpoint(body)
        core.check_add_checkpoint(request, log_keys=LOG_KEYS, latest={})
    assert caught.value.status == 400


# --- the decision -----------------------------------------------------------------------------


def test_the_first_checkpoint_is_accepted_from_old_size_zero() -> None:
    assert submit(0, [], signed(10), {}).size == 10


def test_a_consistent_extension_is_accepted_and_a_same_size_resubmission_too() -> None:
    assert submit(10, TREE.consistency_proof(10, 40), signed(40), state(10)).size == 40
    assert submit(10, [], signed(10), state(10)).size == 10


def test_an_unknown_log_is_404_and_a_bad_or_missing_signature_403() -> None:
    foreign = notes.sign_checkpoint(
        notes.Checkpoint("other.example/log", 3, TREE.root(3)), "other.example/log", LOG_KEY
    )
    assert refusal(0, [], foreign, {}).status == 404
    stranger = Ed25519PrivateKey.generate()
    assert refusal(0, [], signed(3, key=stranger), {}).status == 403  # signed by an unknown key only
    tampered = signed(3).replace(base64.b64encode(TREE.root(3)).decode(), base64.b64encode(TREE.root(4)).decode())
    assert refusal(0, [], tampered, {}).status == 403


def test_a_wrong_old_size_is_409_with_the_known_size() -> None:
    error = refusal(5, TREE.consistency_proof(5, 20), signed(20), state(10))
    assert (error.status, error.known_size) == (409, 10)
    error = refusal(3, TREE.consistency_proof(3, 20), signed(20), {})
    assert (error.status, error.known_size) == (409, 0)


def test_an_old_size_beyond_the_checkpoint_is_400() -> None:
    assert refusal(30, [], signed(20), state(30)).status == 400


def test_a_fork_is_422_whether_same_size_or_a_proof_from_another_history() -> None:
    same_size = refusal(10, [], signed(10, FORKED), state(10))
    assert same_size.status == 422 and same_size.code == core.FORK and "size 10" in str(same_size)
    grown = refusal(10, FORKED.consistency_proof(10, 40), signed(40, FORKED), state(10))
    assert grown.status == 422 and grown.code == core.FORK
    honest_proof_forked_root = refusal(10, TREE.consistency_proof(10, 40), signed(40, FORKED), state(10))
    assert honest_proof_forked_root.status == 422


def test_a_proof_from_size_zero_and_a_non_empty_root_of_size_zero_are_422() -> None:
    assert refusal(0, TREE.consistency_proof(1, 10), signed(10), {}).status == 422
    bad_empty = notes.sign_checkpoint(notes.Checkpoint(ORIGIN, 0, TREE.root(1)), ORIGIN, LOG_KEY)
    assert refusal(0, [], bad_empty, {}).status == 422
    good_empty = notes.sign_checkpoint(notes.Checkpoint(ORIGIN, 0, EMPTY_ROOT), ORIGIN, LOG_KEY)
    assert submit(0, [], good_empty, {}).size == 0


def test_a_truncated_or_padded_proof_is_422() -> None:
    proof = TREE.consistency_proof(10, 40)
    assert refusal(10, proof[:-1], signed(40), state(10)).status == 422
    assert refusal(10, [*proof, bytes(32)], signed(40), state(10)).status == 422


# --- policies -------------------------------------------------------------------------------


def _vkey(seed: int) -> str:
    key = Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)
    return core.cosigner_vkey(f"w{seed}.example", key.public_key().public_bytes_raw())


def test_a_policy_with_groups_counts_its_quorum() -> None:
    policy = core.parse_policy(
        "# two of three, and the regulator\n"
        f"witness A {_vkey(1)} http://127.0.0.1:1\nwitness B {_vkey(2)}\nwitness C {_vkey(3)}\n"
        f"witness R {_vkey(4)}\ngroup partners 2 A B C\ngroup all-of-it all partners R\nquorum all-of-it\n"
    )
    assert policy.witnesses["A"].url == "http://127.0.0.1:1"
    assert policy.satisfied_by({"A", "C", "R"})
    assert not policy.satisfied_by({"A", "B", "C"})
    assert not policy.satisfied_by({"A", "R"})
    assert core.parse_policy("quorum none\n").satisfied_by(set())


@pytest.mark.parametrize(
    "text",
    [
        "",  # no quorum
        f"witness A {_vkey(1)}\nquorum B\n",  # undefined
        f"quorum A\nwitness A {_vkey(1)}\n",  # defined later
        f"witness A {_vkey(1)}\nwitness B {_vkey(1)}\nquorum A\n",  # duplicate key
        f"witness A {_vkey(1)}\ngroup G 2 A\nquorum G\n",  # threshold above members
        f"witness A {_vkey(1)}\ngroup G any A A\nquorum G\n",  # member twice
        f"witness A {_vkey(1)}\nquorum A\nquorum A\n",
        "frobnicate\nquorum none\n",
    ],
)
def test_bad_policies_are_refused(text: str) -> None:
    with pytest.raises(LedgerError) as caught:
        core.parse_policy(text)
    assert caught.value.code == core.POLICY_INVALID
