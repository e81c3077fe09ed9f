"""Signed checkpoints: C2SP tlog-checkpoint bodies in C2SP signed-note envelopes, Ed25519.

A checkpoint commits the log to a size and a root hash. Anyone who keeps one can
later demand a consistency proof to a newer one, so a rewritten history cannot go
unnoticed. The formats are the ones of Go's ``sumdb/note`` and of transparency-log
witnesses, so off-the-shelf tools can check Looptrace checkpoints.

Parsing is strict: a note is accepted only in the exact form this module writes
(plus foreign signature lines), so one checkpoint has one spelling.
"""

import base64
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from traceability.ledger.errors import LedgerError

ED25519_SIGNATURE_TYPE = b"\x01"
KEY_ID_SIZE = 4
ROOT_HASH_SIZE = 32
MAX_TREE_SIZE = 2**64 - 1
MAX_SIGNATURES = 100
"""Go's ``note.Open`` refuses more signatures than this; so do we, to bound the work."""

_SIGNATURE_PREFIX = "\u2014 "  # EM DASH, SPACE
_ED25519_PUBLIC_KEY_SIZE = 32
_ED25519_SIGNATURE_SIZE = 64
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")  # at most 20 digits: 2**64 - 1 has 20
_KEY_ID_HEX = re.compile(r"[0-9a-f]{8}")

MALFORMED = "checkpoint_malformed"
KEY_INVALID = "checkpoint_key_invalid"
SIGNATURE_MISSING = "checkpoint_signature_missing"
SIGNATURE_INVALID = "checkpoint_signature_invalid"


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a note, not yet verified."""

    key_name: str
    key_id: bytes
    signature: bytes


@dataclass(frozen=True)
class Checkpoint:
    """What the log commits to: its origin (the log's name), tree size and root hash.

    Validated on construction, so every instance has a body that parses back to it.
    """

    origin: str
    size: int
    root_hash: bytes

    def __post_init__(self) -> None:
        if not _is_trimmed_line(self.origin):
            raise LedgerError(MALFORMED, f"origin {self.origin!r} is not a single trimmed line")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise LedgerError(MALFORMED, f"tree size {self.size} is out of range")
        if len(self.root_hash) != ROOT_HASH_SIZE:
            raise LedgerError(MALFORMED, f"root hash is {len(self.root_hash)} bytes")

    def body(self) -> str:
        """The note text that gets signed: origin, size and root, each on its own line."""
        root = base64.b64encode(self.root_hash).decode("ascii")
        return f"{self.origin}\n{self.size}\n{root}\n"


def _is_utf8(text: str) -> bool:
    """False for strings holding lone surrogates, which have no UTF-8 encoding."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_clean(text: str) -> bool:
    """UTF-8 without ASCII control characters other than newline, as signed-note requires."""
    return _is_utf8(text) and not any((ord(char) < 0x20 and char != "\n") or char == "\x7f" for char in text)


def _is_trimmed_line(text: str) -> bool:
    """One non-empty line with no leading or trailing whitespace."""
    return bool(text) and "\n" not in text and text == text.strip() and _is_clean(text)


def _strict_b64decode(text: str, code: str, what: str) -> bytes:
    """Decode standard padded base64, accepting only the one canonical spelling of the bytes."""
    try:
        decoded = base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error, or characters outside ASCII
        raise LedgerError(code, f"{what} is not base64") from None
    if base64.b64encode(decoded).decode("ascii") != text:
        raise LedgerError(code, f"{what} is not canonical base64")
    return decoded


def _check_key_name(key_name: str, code: str = KEY_INVALID) -> None:
    """Key names are non-empty UTF-8 without spaces or '+', which delimit them in notes and vkeys."""
    if not _is_trimmed_line(key_name) or "+" in key_name or any(char.isspace() for char in key_name):
        raise LedgerError(code, f"{key_name!r} is not a valid key name")


def note_key_id(key_name: str, public_key: bytes) -> bytes:
    """The 4-byte key id: SHA-256(name || "\\n" || 0x01 || public key)[:4], as C2SP signed-note says."""
    _check_key_name(key_name)
    if len(public_key) != _ED25519_PUBLIC_KEY_SIZE:
        raise LedgerError(KEY_INVALID, f"Ed25519 public key is {len(public_key)} bytes")
    material = key_name.encode("utf-8") + b"\n" + ED25519_SIGNATURE_TYPE + public_key
    return hashlib.sha256(material).digest()[:KEY_ID_SIZE]


def verifier_key(key_name: str, public_key: bytes) -> str:
    """The public key as a signed-note verifier key, ``<name>+<hex id>+<base64(0x01 || key)>``."""
    key_id = note_key_id(key_name, public_key)
    encoded = base64.b64encode(ED25519_SIGNATURE_TYPE + public_key).decode("ascii")
    return f"{key_name}+{key_id.hex()}+{encoded}"


def parse_verifier_key(text: str) -> tuple[str, bytes]:
    """The key name and raw Ed25519 public key of a verifier key, after checking its key id."""
    parts = text.split("+", 2)  # base64 may itself contain '+'
    if len(parts) != 3:
        raise LedgerError(KEY_INVALID, "a verifier key is <name>+<key id>+<key>")
    key_name, key_id_hex, encoded = parts
    if not _KEY_ID_HEX.fullmatch(key_id_hex):
        raise LedgerError(KEY_INVALID, f"key id {key_id_hex!r} is not 8 lowercase hex digits")
    material = _strict_b64decode(encoded, KEY_INVALID, "verifier key")
    if len(material) != 1 + _ED25519_PUBLIC_KEY_SIZE or material[:1] != ED25519_SIGNATURE_TYPE:
        raise LedgerError(KEY_INVALID, "verifier key is not an Ed25519 key")
    public_key = material[1:]
    if note_key_id(key_name, public_key).hex() != key_id_hex:
        raise LedgerError(KEY_INVALID, "key id does not match the key name and key")
    return key_name, public_key


# --- signed notes ----------------------------------------------------------------------


def _check_text(text: str) -> None:
    """A note text is UTF-8 lines, each non-empty and ended by a newline, without control characters.

    Blank lines are refused: the last one separates text from signatures, so a
    text with one of its own would read differently to different parsers.
    """
    if not text.endswith("\n") or text.startswith("\n") or "\n\n" in text:
        raise LedgerError(MALFORMED, "note text must be non-empty lines, each ending in a newline")
    if not _is_clean(text):
        raise LedgerError(MALFORMED, "note text holds control characters or is not UTF-8")


def sign_note(text: str, key_name: str, private_key: Ed25519PrivateKey) -> str:
    """``text`` followed by a blank line and one Ed25519 signature line by ``key_name``."""
    _check_text(text)
    public_key = private_key.public_key().public_bytes_raw()
    key_id = note_key_id(key_name, public_key)
    signature = private_key.sign(text.encode("utf-8"))
    encoded = base64.b64encode(key_id + signature).decode("ascii")
    return f"{text}\n{_SIGNATURE_PREFIX}{key_name} {encoded}\n"


def _parse_signature_line(line: str) -> NoteSignature:
    if not line.startswith(_SIGNATURE_PREFIX):
        raise LedgerError(MALFORMED, f"{line!r} is not a signature line")
    key_name, separator, encoded = line[len(_SIGNATURE_PREFIX) :].partition(" ")
    if not separator:
        raise LedgerError(MALFORMED, f"{line!r} has no signature")
    _check_key_name(key_name, MALFORMED)
    blob = _strict_b64decode(encoded, MALFORMED, "signature")
    if len(blob) <= KEY_ID_SIZE:
        raise LedgerError(MALFORMED, f"signature of {key_name!r} is too short")
    return NoteSignature(key_name, blob[:KEY_ID_SIZE], blob[KEY_ID_SIZE:])


def parse_note(note: str | bytes) -> tuple[str, list[NoteSignature]]:
    """Split a signed note into its text and signature lines, checking only their syntax.

    The text ends at the last blank line, as in Go's ``note.Open``; any malformed
    signature line rejects the whole note rather than being skipped.
    """
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise LedgerError(MALFORMED, "note is not UTF-8") from None
    split = note.rfind("\n\n")
    if split < 0:
        raise LedgerError(MALFORMED, "note has no blank line before its signatures")
    text, signature_block = note[: split + 1], note[split + 2 :]
    _check_text(text)
    if not signature_block:
        raise LedgerError(MALFORMED, "note has no signatures")
    if not signature_block.endswith("\n"):
        raise LedgerError(MALFORMED, "note must end with a newline")
    lines = signature_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise LedgerError(MALFORMED, f"note has more than {MAX_SIGNATURES} signatures")
    return text, [_parse_signature_line(line) for line in lines]


def verify_note(note: str | bytes, key_name: str, public_key: bytes) -> str:
    """The text of ``note`` once it is shown to be signed by the given Ed25519 key.

    Lines from other keys are ignored (cosigners may add theirs), but every line
    claiming this key must verify: a bad one means tampering, not noise.
    """
    key_id = note_key_id(key_name, public_key)
    text, signatures = parse_note(note)
    verifier = Ed25519PublicKey.from_public_bytes(public_key)
    ours = [sig for sig in signatures if sig.key_name == key_name and sig.key_id == key_id]
    if not ours:
        raise LedgerError(SIGNATURE_MISSING, f"note carries no signature by key {key_name!r}")
    for signature in ours:
        if len(signature.signature) != _ED25519_SIGNATURE_SIZE:
            raise LedgerError(SIGNATURE_INVALID, "signature is not an Ed25519 signature")
        try:
            verifier.verify(signature.signature, text.encode("utf-8"))
        except InvalidSignature:
            raise LedgerError(SIGNATURE_INVALID, f"signature by key {key_name!r} does not verify") from None
    return text


# --- checkpoints -------------------------------------------------------------------------


def _parse_body(text: str) -> Checkpoint:
    """The checkpoint of a note text: exactly origin, size and root lines.

    C2SP allows extension lines after these; Looptrace writes none, so any are
    refused rather than silently carried along.
    """
    lines = text.split("\n")
    if len(lines) != 4 or lines[3]:
        raise LedgerError(MALFORMED, "checkpoint must be three lines: origin, size, root hash")
    origin, size_text, root_text = lines[:3]
    if not _DECIMAL.fullmatch(size_text):
        raise LedgerError(MALFORMED, f"tree size {size_text!r} is not a plain decimal")
    root_hash = _strict_b64decode(root_text, MALFORMED, "root hash")
    return Checkpoint(origin, int(size_text), root_hash)


def sign_checkpoint(checkpoint: Checkpoint, key_name: str, private_key: Ed25519PrivateKey) -> str:
    """The checkpoint as a signed note, ready to publish."""
    return sign_note(checkpoint.body(), key_name, private_key)


def parse_checkpoint(note: str | bytes) -> tuple[Checkpoint, list[NoteSignature]]:
    """The checkpoint and signature lines of a note, checked for syntax only: NOT trusted."""
    text, signatures = parse_note(note)
    return _parse_body(text), signatures


def verify_checkpoint(note: str | bytes, key_name: str, public_key: bytes) -> Checkpoint:
    """The checkpoint of ``note``, if the Ed25519 key ``key_name`` / ``public_key`` signed it."""
    return _parse_body(verify_note(note, key_name, public_key))
