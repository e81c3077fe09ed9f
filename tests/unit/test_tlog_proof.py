"""C2SP tlog-proof bundles: build, parse and verify, without a database."""

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from traceability.ledger import checkpoint as notes
from traceability.ledger import proof as tp
from traceability.ledger import witness as core
from traceability.ledger.errors import LedgerError
from traceability.ledger.merkle import MemoryTree, leaf_hash

ORIGIN = "looptrace.example/ledger"
LOG_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
LOG = (ORIGIN, LOG_KEY.public_key().public_bytes_raw())
W1 = ("witness.example/w1", Ed25519PrivateKey.from_private_bytes(bytes(range(2, 34))))
W2 = ("witness.example/w2", Ed25519PrivateKey.from_private_bytes(bytes(range(3, 35))))
WITNESSES = [(name, key.public_key().public_bytes_raw()) for name, key in (W1, W2)]
LEAVES = [f'{{"seq":{n}}}'.encode() for n in range(1, 22)]
TREE = MemoryTree(leaf_hash(data) for data in LEAVES)


def note(size: int = 21, cosigners=(W1, W2)) -> str:
    text = notes.sign_checkpoint(notes.Checkpoint(ORIGIN, size, TREE.root(size)), ORIGIN, LOG_KEY)
    body = notes.Checkpoint(ORIGIN, size, TREE.root(size)).body()
    return text + "".join(core.cosign(body, name, key, 1_700_000_000) for name, key in cosigners)


def bundle(index: int = 13, size: int = 21, **kwargs) -> str:
    return tp.build_proof(
        index=index, proof=TREE.inclusion_proof(index, size), checkpoint_note=note(size, **kwargs), extra=LEAVES[index]
    )


def test_bundle_has_the_spec_layout_and_parses_back():
    text = bundle()
    lines = text.split("\n")
    assert lines[0] == "c2sp.org/tlog-proof@v1"
    assert lines[1] == "extra " + base64.b64encode(LEAVES[13]).decode()
    assert lines[2] == "index 13"
    parsed = tp.parse_proof(text)
    assert parsed.index == 13 and parsed.extra == LEAVES[13]
    assert list(parsed.proof) == TREE.inclusion_proof(13, 21)
    assert parsed.checkpoint_note == note()
    assert (
        tp.build_proof(index=13, proof=parsed.proof, checkpoint_note=parsed.checkpoint_note, extra=parsed.extra) == text
    )


@pytest.mark.parametrize("index", [0, 1, 13, 20])
def test_verifies_with_two_witnesses(index):
    result = tp.verify_proof(bundle(index), log_key=LOG, witness_keys=WITNESSES, quorum=2)
    assert result.ok, result.failures()
    assert result.cosigned_by == [W1[0], W2[0]]
    assert result.checkpoint is not None and result.checkpoint.size == 21


def test_single_leaf_tree_has_an_empty_proof():
    text = tp.build_proof(index=0, proof=[], checkpoint_note=note(1), extra=LEAVES[0])
    assert tp.verify_proof(text, log_key=LOG, witness_keys=WITNESSES, quorum=2).ok


def test_quorum_counts_only_present_witnesses():
    text = bundle(cosigners=(W1,))
    assert tp.verify_proof(text, log_key=LOG, witness_keys=WITNESSES, quorum=1).ok
    result = tp.verify_proof(text, log_key=LOG, witness_keys=WITNESSES, quorum=2)
    assert [check.name for check in result.failures()] == ["witness quorum"]


def test_wrong_leaf_data_fails_inclusion():
    result = tp.verify_proof(bundle(), leaf_data=LEAVES[12], log_key=LOG)
    names = {check.name for check in result.failures()}
    assert names == {"leaf data", "inclusion"}


def test_wrong_index_fails_inclusion():
    text = bundle().replace("index 13", "index 12")
    assert [c.name for c in tp.verify_proof(text, log_key=LOG).failures()] == ["inclusion"]


def test_other_log_key_fails_the_signature():
    other = (ORIGIN, Ed25519PrivateKey.from_private_bytes(bytes(range(5, 37))).public_key().public_bytes_raw())
    assert [c.name for c in tp.verify_proof(bundle(), log_key=other).failures()] == ["checkpoint signature"]


def test_forged_cosignature_fails():
    name, _ = W2
    forged = core.cosign(
        notes.Checkpoint(ORIGIN, 21, TREE.root(21)).body(),
        name,
        Ed25519PrivateKey.from_private_bytes(bytes(range(9, 41))),
        1_700_000_000,
    )
    # Same name, another key: its key id differs, so it is no cosignature of the trusted w2 at all.
    text = bundle(cosigners=(W1,)) + forged
    result = tp.verify_proof(text, log_key=LOG, witness_keys=WITNESSES, quorum=2)
    assert not result.ok and result.cosigned_by == [W1[0]]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda t: t.replace("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2"), "proof syntax"),
        (lambda t: t.replace("index 13", "index 013"), "proof syntax"),
        (lambda t: t.replace("\n\n", "\n", 1), "proof syntax"),
        (
            lambda t: "\n".join(line if i != 3 else line[:-2] + "A=" for i, line in enumerate(t.split("\n"))),
            "inclusion",
        ),
    ],
)
def test_mutations_are_refused(mutate, expected):
    text = mutate(bundle())
    result = tp.verify_proof(text, log_key=LOG, witness_keys=WITNESSES, quorum=2)
    assert expected in {check.name for check in result.failures()}


def test_every_single_byte_change_is_caught():
    text = bundle()
    for position in range(len(text)):
        if text[position] == "\n":
            continue
        flipped = text[:position] + ("B" if text[position] != "B" else "C") + text[position + 1 :]
        result = tp.verify_proof(flipped, leaf_data=LEAVES[13], log_key=LOG, witness_keys=WITNESSES, quorum=2)
        assert not result.ok, (position, text[position])


def test_bounds():
    with pytest.raises(LedgerError):
        tp.parse_proof("c2sp.org/tlog-proof@v1\nindex 1\n" + "\n".join(["A" * 43 + "="] * 65) + "\n\n" + note())
    with pytest.raises(LedgerError):
        tp.parse_proof(b"x" * (tp.MAX_BUNDLE_SIZE + 1))
    with pytest.raises(LedgerError):
        tp.build_proof(index=-1, proof=[], checkpoint_note=note())


def test_the_passport_verifier_refuses_unusable_keys_and_reports_a_missing_proof(tmp_path, capsys):
    from passport.verify.__main__ import EXIT_FAILED, EXIT_UNUSABLE, main

    path = tmp_path / "passport.json"
    path.write_text('{"passportId": "urn:looptrace:1", "ledgerProof": null, "ledgerProofReason": "pending"}')
    assert main([str(path), "--log-key", "not-a-key"]) == EXIT_UNUSABLE
    log_vkey = notes.verifier_key(ORIGIN, LOG[1])
    assert main([str(path), "--log-key", log_vkey, "--quorum", "1"]) == EXIT_UNUSABLE  # no witness keys given
    assert main([str(path), "--log-key", log_vkey]) == EXIT_FAILED
    assert "pending" in capsys.readouterr().out
    # a name given twice is unreadable, not silently the last one
    path.write_text('{"passportId": "urn:looptrace:1", "ledgerProof": null, "passportId": "urn:looptrace:2"}')
    assert main([str(path), "--log-key", log_vkey]) == EXIT_UNUSABLE
    assert "a name appears twice in one object: passportId" in capsys.readouterr().err
