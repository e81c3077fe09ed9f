"""Signed checkpoints: C2SP signed-note envelopes around tlog-checkpoint bodies."""

import base64
import hashlib
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from traceability.ledger import checkpoint as notes
from traceability.ledger.checkpoint import Checkpoint
from traceability.ledger.errors import LedgerError

ORIGIN = "looptrace.example/ledger"
ROOT = hashlib.sha256(b"a root").digest()
PRIVATE_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUBLIC_KEY = PRIVATE_KEY.public_key().public_bytes_raw()
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))

# golang.org/x/mod/sumdb/note's documented example: a key, a text and its signed note.
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_PRIVATE_KEY_DATA = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_SIGNATURE = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
GO_NOTE = f"{GO_TEXT}\n\u2014 PeterNeumann {GO_SIGNATURE}\n"

# The example checkpoint of C2SP tlog-checkpoint / tlog-witness.
SPEC_NOTE = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
    "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/"
    "Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)


def _signed(size: int = 42, origin: str = ORIGIN) -> str:
    return notes.sign_checkpoint(Checkpoint(origin, size, ROOT), origin, PRIVATE_KEY)


def _code(note: str | bytes, key_name: str = ORIGIN, public_key: bytes = PUBLIC_KEY) -> str:
    with pytest.raises(LedgerError) as caught:
        notes.verify_checkpoint(note, key_name, public_key)
    return caught.value.code


# --- keys ---------------------------------------------------------------------------------


def test_key_id_follows_its_definition() -> None:
    expected = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + PUBLIC_KEY).digest()[:4]
    assert notes.note_key_id(ORIGIN, PUBLIC_KEY) == expected


def test_key_id_of_the_signed_note_spec_example() -> None:
    public_key = bytes.fromhex("e932791ae6e7a840a46164c904786426d5e7821dd8b29a00d61cae72afdd4da4")
    assert notes.note_key_id("example.com/foo", public_key).hex() == "530d903a"


def test_verifier_key_round_trip() -> None:
    text = notes.verifier_key(ORIGIN, PUBLIC_KEY)
    key_id = notes.note_key_id(ORIGIN, PUBLIC_KEY).hex()
    assert text.startswith(f"{ORIGIN}+{key_id}+")
    assert notes.parse_verifier_key(text) == (ORIGIN, PUBLIC_KEY)


def test_go_verifier_key_parses() -> None:
    name, public_key = notes.parse_verifier_key(GO_VERIFIER_KEY)
    assert name == "PeterNeumann"
    assert notes.note_key_id(name, public_key).hex() == "c74f20a3"
    assert notes.verifier_key(name, public_key) == GO_VERIFIER_KEY


@pytest.mark.parametrize(
    "text",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong id
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # not lowercase
        "PeterNeumanN+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # other name
        "PeterNeumann+c74f20a3+AhpjNkHFDw4TEHoMMW84SqogX7FZJqqvywxOIs1stdE1",  # key type 2
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",  # bad base64
        "PeterNeumann+c74f20a3",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_bad_verifier_keys_are_rejected(text: str) -> None:
    with pytest.raises(LedgerError) as caught:
        notes.parse_verifier_key(text)
    assert caught.value.code == "checkpoint_key_invalid"


@pytest.mark.parametrize("key_name", ["", "a b", "a+b", "tab\tname", "new\nline", "nul\x00"])
def test_bad_key_names_are_rejected(key_name: str) -> None:
    with pytest.raises(LedgerError) as caught:
        notes.note_key_id(key_name, PUBLIC_KEY)
    assert caught.value.code == "checkpoint_key_invalid"


def test_public_key_must_be_32_bytes() -> None:
    with pytest.raises(LedgerError) as caught:
        notes.note_key_id(ORIGIN, PUBLIC_KEY[:31])
    assert caught.value.code == "checkpoint_key_invalid"


# --- the Go reference note ------------------------------------------------------------------


def test_go_reference_note_is_reproduced_and_verifies() -> None:
    # given the documented Go signer key (0x01 || Ed25519 seed)
    seed = base64.b64decode(GO_PRIVATE_KEY_DATA)[1:]
    private_key = Ed25519PrivateKey.from_private_bytes(seed)
    name, public_key = notes.parse_verifier_key(GO_VERIFIER_KEY)
    assert private_key.public_key().public_bytes_raw() == public_key

    # when the documented text is signed
    note = notes.sign_note(GO_TEXT, name, private_key)

    # then the note is Go's, byte for byte, and verifies
    assert note == GO_NOTE
    assert notes.verify_note(GO_NOTE, name, public_key) == GO_TEXT


def test_spec_example_checkpoint_parses() -> None:
    checkpoint, signatures = notes.parse_checkpoint(SPEC_NOTE)

    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.body() == SPEC_NOTE.split("\n\n")[0] + "\n"
    assert [sig.key_name for sig in signatures] == ["example.com/behind-the-sofa"]
    assert len(signatures[0].key_id) == 4
    assert len(signatures[0].signature) == 64


# --- round trip -----------------------------------------------------------------------------


def test_sign_parse_verify_round_trip() -> None:
    # given a checkpoint
    original = Checkpoint(ORIGIN, 42, ROOT)

    # when it is signed
    note = notes.sign_checkpoint(original, ORIGIN, PRIVATE_KEY)

    # then it has the C2SP shape, parses back and verifies, as text and as bytes
    root_b64 = base64.b64encode(ROOT).decode()
    assert note.startswith(f"{ORIGIN}\n42\n{root_b64}\n\n\u2014 {ORIGIN} ")
    assert note.endswith("\n")
    parsed, signatures = notes.parse_checkpoint(note)
    assert parsed == original
    assert signatures[0].key_id == notes.note_key_id(ORIGIN, PUBLIC_KEY)
    assert notes.verify_checkpoint(note, ORIGIN, PUBLIC_KEY) == original
    assert notes.verify_checkpoint(note.encode(), ORIGIN, PUBLIC_KEY) == original


def test_empty_tree_checkpoint() -> None:
    note = _signed(size=0)
    assert notes.verify_checkpoint(note, ORIGIN, PUBLIC_KEY).size == 0


def test_foreign_signatures_are_ignored() -> None:
    # given a witness cosignature appended to our note
    note = _signed()
    witness_line = notes.sign_note(Checkpoint(ORIGIN, 42, ROOT).body(), "witness.example", OTHER_KEY)
    note += witness_line.split("\n\n")[1]

    # then our signature still verifies, and so does the witness's
    assert notes.verify_checkpoint(note, ORIGIN, PUBLIC_KEY).size == 42
    witness_public = OTHER_KEY.public_key().public_bytes_raw()
    assert notes.verify_checkpoint(note, "witness.example", witness_public).size == 42


# --- tampering ------------------------------------------------------------------------------


def test_tampered_origin_fails() -> None:
    note = _signed().replace(ORIGIN + "\n", "looptrace.example/other\n", 1)
    assert _code(note) == "checkpoint_signature_invalid"


def test_tampered_size_fails() -> None:
    note = _signed(size=42).replace("\n42\n", "\n43\n", 1)
    assert _code(note) == "checkpoint_signature_invalid"


def test_tampered_root_fails() -> None:
    root_b64 = base64.b64encode(ROOT).decode()
    other_b64 = base64.b64encode(hashlib.sha256(b"another root").digest()).decode()
    note = _signed().replace(root_b64, other_b64, 1)
    assert _code(note) == "checkpoint_signature_invalid"


def test_tampered_signature_fails() -> None:
    note = _signed()
    body, signature_line = note.split("\n\n")
    blob = bytearray(base64.b64decode(signature_line.rsplit(" ", 1)[1]))
    blob[10] ^= 1
    forged = f"{body}\n\n\u2014 {ORIGIN} {base64.b64encode(bytes(blob)).decode()}\n"
    assert _code(forged) == "checkpoint_signature_invalid"


def test_one_bad_signature_by_our_key_rejects_the_note() -> None:
    # given a valid note with a second, forged line claiming the same key
    note = _signed()
    forged_blob = notes.note_key_id(ORIGIN, PUBLIC_KEY) + b"\x00" * 64
    note += f"\u2014 {ORIGIN} {base64.b64encode(forged_blob).decode()}\n"

    # then it is refused: a line forged in our name is tampering
    assert _code(note) == "checkpoint_signature_invalid"


def test_truncated_signature_by_our_key_fails() -> None:
    short_blob = notes.note_key_id(ORIGIN, PUBLIC_KEY) + b"\x00" * 10
    note = Checkpoint(ORIGIN, 1, ROOT).body() + f"\n\u2014 {ORIGIN} {base64.b64encode(short_blob).decode()}\n"
    assert _code(note) == "checkpoint_signature_invalid"


def test_wrong_key_name_fails() -> None:
    assert _code(_signed(), key_name="looptrace.example/other") == "checkpoint_signature_missing"


def test_wrong_key_fails() -> None:
    other_public = OTHER_KEY.public_key().public_bytes_raw()
    assert _code(_signed(), public_key=other_public) == "checkpoint_signature_missing"


def test_same_key_id_but_other_key_fails() -> None:
    # given a line carrying our name and key id but signed by another key
    body = Checkpoint(ORIGIN, 42, ROOT).body()
    blob = notes.note_key_id(ORIGIN, PUBLIC_KEY) + OTHER_KEY.sign(body.encode())
    note = f"{body}\n\u2014 {ORIGIN} {base64.b64encode(blob).decode()}\n"

    assert _code(note) == "checkpoint_signature_invalid"


# --- malformed notes --------------------------------------------------------------------------


def _resigned(body: str) -> str:
    """A genuinely signed note around a hand-made body, so only its syntax can be wrong."""
    blob = notes.note_key_id(ORIGIN, PUBLIC_KEY) + PRIVATE_KEY.sign(body.encode())
    return f"{body}\n\u2014 {ORIGIN} {base64.b64encode(blob).decode()}\n"


ROOT_B64 = base64.b64encode(ROOT).decode()
URL_SAFE_ROOT = base64.urlsafe_b64encode(b"\xff" * 32).decode()
SHORT_ROOT = base64.b64encode(ROOT[:31]).decode()


@pytest.mark.parametrize(
    "body",
    [
        f"{ORIGIN}\n01\n{ROOT_B64}\n",  # leading zero
        f"{ORIGIN}\n-1\n{ROOT_B64}\n",
        f"{ORIGIN}\n+1\n{ROOT_B64}\n",
        f"{ORIGIN}\n1_0\n{ROOT_B64}\n",
        f"{ORIGIN}\n\u0661\n{ROOT_B64}\n",  # ARABIC-INDIC DIGIT ONE
        f"{ORIGIN}\n18446744073709551616\n{ROOT_B64}\n",  # 2**64
        f"{ORIGIN}\n{'9' * 5000}\n{ROOT_B64}\n",  # beyond what int() parses
        f"{ORIGIN}\n\n{ROOT_B64}\n",
        f"{ORIGIN}\n42\n{ROOT_B64[:-1]}\n",  # padding lost
        f"{ORIGIN}\n42\n{ROOT_B64}=\n",  # extra padding
        f"{ORIGIN}\n42\n{SHORT_ROOT}\n",  # 31-byte root
        f"{ORIGIN}\n42\n{URL_SAFE_ROOT}\n",  # URL alphabet
        f"{ORIGIN}\n42\n{ROOT_B64} \n",  # trailing space
        f"{ORIGIN} \n42\n{ROOT_B64}\n",
        f"{ORIGIN}\n42 \n{ROOT_B64}\n",
        f" {ORIGIN}\n42\n{ROOT_B64}\n",
        f"\n42\n{ROOT_B64}\n",  # empty origin
        f"{ORIGIN}\n42\n",  # no root
        f"{ORIGIN}\n42\n{ROOT_B64}\nextension line\n",
        f"{ORIGIN}\r\n42\n{ROOT_B64}\n",
        f"{ORIGIN}\t\n42\n{ROOT_B64}\n",
    ],
)
def test_malformed_bodies_are_rejected(body: str) -> None:
    with pytest.raises(LedgerError) as caught:
        notes.parse_checkpoint(_resigned(body))
    assert caught.value.code == "checkpoint_malformed"
    assert _code(_resigned(body)) == "checkpoint_malformed"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda note: note.replace("\n\n", "\n", 1),  # no blank line
        lambda note: note[:-1],  # no final newline
        lambda note: note + "\n",  # blank line after signatures
        lambda note: note.split("\n\n")[0] + "\n\n",  # no signatures
        lambda note: note.replace("\u2014 ", "- ", 1),  # ASCII dash
        lambda note: note.replace("\u2014 ", "\u2014", 1),
        lambda note: note.replace("\u2014 ", "\u2014  ", 1),
        lambda note: note.replace(f"\u2014 {ORIGIN} ", f"\u2014 {ORIGIN}  ", 1),
        lambda note: note[:-1] + " \n",  # trailing space after the signature
        lambda note: note[:-2] + "!\n",  # signature not base64
        lambda note: note[:-3] + "B=\n",  # signature base64 not canonical
        lambda note: note.replace(f"{ORIGIN}\n", f"{ORIGIN}\n\n", 1),  # blank line in the text
        lambda note: "\n" + note,
        lambda note: note.replace(f"\u2014 {ORIGIN} ", "\u2014 a+b ", 1),
        lambda note: note + "\u2014 short AAAA\n",  # signature of 3 bytes
        lambda note: note + "".join(f"\u2014 n{i} AAAAAAAA\n" for i in range(100)),
    ],
)
def test_malformed_notes_are_rejected(mangle: Callable[[str], str]) -> None:
    note = mangle(_signed())
    with pytest.raises(LedgerError) as caught:
        notes.parse_checkpoint(note)
    assert caught.value.code == "checkpoint_malformed"


def test_non_utf8_notes_are_rejected() -> None:
    raw = _signed().encode().replace(b"looptrace", b"loop\xfftrace", 1)
    assert _code(raw) == "checkpoint_malformed"
    surrogate = _signed().replace("looptrace", "loop\udcfftrace", 1)
    assert _code(surrogate) == "checkpoint_malformed"


def test_invalid_checkpoints_cannot_be_built() -> None:
    for origin, size, root in [
        ("", 1, ROOT),
        ("two\nlines", 1, ROOT),
        (" padded", 1, ROOT),
        (ORIGIN, -1, ROOT),
        (ORIGIN, 2**64, ROOT),
        (ORIGIN, 1, ROOT[:31]),
    ]:
        with pytest.raises(LedgerError) as caught:
            Checkpoint(origin, size, root)
        assert caught.value.code == "checkpoint_malformed"
