"""Witnessing: C2SP tlog-witness requests, tlog-cosignature (Ed25519, cosignature/v1) and a
witness's decision whether to cosign a checkpoint.

Pure: bytes and keys in, values out, one error type. The witness process
(``traceability.witness``) keeps the state and speaks HTTP; the platform uses the
same functions to build requests and to check the cosignatures it gets back.

A witness keeps, per log it follows, the last checkpoint it cosigned. It cosigns a
new one only when the log signed it and a consistency proof shows that the new tree
extends the kept one: a log that shows one history to some and another to others
(a split view) cannot get both cosigned by the same witness.
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from traceability.ledger import checkpoint as notes
from traceability.ledger.errors import LedgerError
from traceability.ledger.merkle import EMPTY_ROOT, HASH_SIZE, verify_consistency

COSIGNATURE_TYPE = b"\x04"
"""The signed-note signature type of timestamped Ed25519 checkpoint cosignatures."""
COSIGNATURE_HEADER = "cosignature/v1\n"
MAX_PROOF_LINES = 63
"""tlog-witness: a client MUST NOT send more; a witness refuses more."""
MAX_REQUEST_BYTES = 64 * 1024
"""An add-checkpoint body: 63 proof lines and a checkpoint with 100 signatures fit well within."""
MAX_TIMESTAMP = 2**63 - 1
SIZE_CONTENT_TYPE = "text/x.tlog.size"

_ED25519_PUBLIC_KEY_SIZE = 32
_ED25519_SIGNATURE_SIZE = 64
_TIMESTAMP_SIZE = 8
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")
_KEY_ID_HEX = re.compile(r"[0-9a-f]{8}")
_SIGNATURE_PREFIX = "\u2014 "

# HTTP statuses tlog-witness assigns to each refusal.
BAD_REQUEST, FORBIDDEN, NOT_FOUND, CONFLICT, UNPROCESSABLE = 400, 403, 404, 409, 422

REQUEST_MALFORMED = "witness_request_malformed"
LOG_UNKNOWN = "witness_log_unknown"
LOG_SIGNATURE_INVALID = "witness_log_signature_invalid"
OLD_SIZE_MISMATCH = "witness_old_size_mismatch"
PROOF_INVALID = "witness_proof_invalid"
FORK = "witness_fork"
COSIGNATURE_INVALID = "cosignature_invalid"
COSIGNATURE_MISSING = "cosignature_missing"
KEY_INVALID = "witness_key_invalid"


class WitnessError(LedgerError):
    """A refused submission, with the HTTP status tlog-witness assigns to it.

    ``known_size`` is set on a 409: the size of the last checkpoint the witness cosigned.
    """

    def __init__(self, code: str, message: str, *, status: int, known_size: int | None = None) -> None:
        super().__init__(code, message)
        self.status = status
        self.known_size = known_size


# --- keys -----------------------------------------------------------------------------------


def cosigner_key_id(name: str, public_key: bytes) -> bytes:
    """SHA-256(name || "\\n" || 0x04 || public key)[:4], as tlog-cosignature defines it."""
    notes._check_key_name(name, KEY_INVALID)
    if len(public_key) != _ED25519_PUBLIC_KEY_SIZE:
        raise LedgerError(KEY_INVALID, f"Ed25519 public key is {len(public_key)} bytes")
    return hashlib.sha256(name.encode("utf-8") + b"\n" + COSIGNATURE_TYPE + public_key).digest()[:4]


def cosigner_vkey(name: str, public_key: bytes) -> str:
    """The witness's public key as a vkey, ``<name>+<hex id>+<base64(0x04 || key)>``."""
    key_id = cosigner_key_id(name, public_key)
    return f"{name}+{key_id.hex()}+{base64.b64encode(COSIGNATURE_TYPE + public_key).decode('ascii')}"


def parse_cosigner_vkey(text: str) -> tuple[str, bytes]:
    """The name and raw Ed25519 key of a cosigner vkey (signature type 0x04), key id checked."""
    name, key_id_hex, material = _split_key(text.strip(), "a cosigner vkey is <name>+<key id>+<key>")
    if len(material) != 1 + _ED25519_PUBLIC_KEY_SIZE or material[:1] != COSIGNATURE_TYPE:
        raise LedgerError(KEY_INVALID, "the vkey is not an Ed25519 cosignature key (type 0x04)")
    public_key = material[1:]
    if cosigner_key_id(name, public_key).hex() != key_id_hex:
        raise LedgerError(KEY_INVALID, "key id does not match the key name and key")
    return name, public_key


def _split_key(text: str, shape: str) -> tuple[str, str, bytes]:
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise LedgerError(KEY_INVALID, shape)
    name, key_id_hex, encoded = parts
    if not _KEY_ID_HEX.fullmatch(key_id_hex):
        raise LedgerError(KEY_INVALID, f"key id {key_id_hex!r} is not 8 lowercase hex digits")
    return name, key_id_hex, notes._strict_b64decode(encoded, KEY_INVALID, "key")


def signer_key_text(name: str, private_key: Ed25519PrivateKey) -> str:
    """A witness's private key as one line, ``PRIVATE+KEY+<name>+<hex id>+<base64(0x04 || seed)>``.

    The shape of Go's note signer keys, so the name travels with the key.
    """
    public_key = private_key.public_key().public_bytes_raw()
    key_id = cosigner_key_id(name, public_key)
    seed = base64.b64encode(COSIGNATURE_TYPE + private_key.private_bytes_raw()).decode("ascii")
    return f"PRIVATE+KEY+{name}+{key_id.hex()}+{seed}"


def parse_signer_key(text: str) -> tuple[str, Ed25519PrivateKey]:
    """The name and private key of :func:`signer_key_text`'s line, key id checked."""
    prefix = "PRIVATE+KEY+"
    text = text.strip()
    if not text.startswith(prefix):
        raise LedgerError(KEY_INVALID, "a witness key is PRIVATE+KEY+<name>+<key id>+<key>")
    name, key_id_hex, material = _split_key(text[len(prefix) :], "a witness key is PRIVATE+KEY+<name>+<key id>+<key>")
    if len(material) != 33 or material[:1] != COSIGNATURE_TYPE:
        raise LedgerError(KEY_INVALID, "the key is not an Ed25519 cosignature key (type 0x04)")
    private_key = Ed25519PrivateKey.from_private_bytes(material[1:])
    if cosigner_key_id(name, private_key.public_key().public_bytes_raw()).hex() != key_id_hex:
        raise LedgerError(KEY_INVALID, "key id does not match the key name and key")
    return name, private_key


# --- cosignatures ---------------------------------------------------------------------------


def cosignature_message(note_text: str, timestamp: int) -> bytes:
    """What an Ed25519 cosignature signs: ``cosignature/v1``, ``time <t>``, then the note text."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise LedgerError(COSIGNATURE_INVALID, f"timestamp {timestamp} is out of range")
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{note_text}".encode()


def cosign(note_text: str, name: str, private_key: Ed25519PrivateKey, timestamp: int) -> str:
    """The cosignature line (ending in a newline) of the witness ``name`` over ``note_text`` at ``timestamp``."""
    if timestamp <= 0:
        raise LedgerError(COSIGNATURE_INVALID, "a cosignature carries a non-zero timestamp")
    key_id = cosigner_key_id(name, private_key.public_key().public_bytes_raw())
    signature = private_key.sign(cosignature_message(note_text, timestamp))
    blob = key_id + struct.pack(">Q", timestamp) + signature
    return f"{_SIGNATURE_PREFIX}{name} {base64.b64encode(blob).decode('ascii')}\n"


def verify_cosignature(note: str | bytes, name: str, public_key: bytes) -> int:
    """The timestamp of the witness's cosignature on ``note``; raises unless one is there and verifies.

    Lines of other keys are ignored; every line claiming this key must verify.
    """
    key_id = cosigner_key_id(name, public_key)
    text, signatures = notes.parse_note(note)
    ours = [sig for sig in signatures if sig.key_name == name and sig.key_id == key_id]
    if not ours:
        raise LedgerError(COSIGNATURE_MISSING, f"no cosignature by witness {name!r}")
    verifier = Ed25519PublicKey.from_public_bytes(public_key)
    timestamps = []
    for signature in ours:
        blob = signature.signature
        if len(blob) != _TIMESTAMP_SIZE + _ED25519_SIGNATURE_SIZE:
            raise LedgerError(COSIGNATURE_INVALID, f"cosignature by {name!r} is not a timestamped Ed25519 one")
        timestamp: int = struct.unpack(">Q", blob[:_TIMESTAMP_SIZE])[0]
        try:
            verifier.verify(blob[_TIMESTAMP_SIZE:], cosignature_message(text, timestamp))
        except InvalidSignature:
            raise LedgerError(COSIGNATURE_INVALID, f"cosignature by witness {name!r} does not verify") from None
        timestamps.append(timestamp)
    return max(timestamps)


def signature_lines(response: bytes | str) -> list[str]:
    """The note signature lines of an add-checkpoint answer, each with its newline; raises if malformed."""
    if isinstance(response, bytes):
        try:
            response = response.decode("utf-8")
        except UnicodeDecodeError:
            raise LedgerError(COSIGNATURE_INVALID, "the answer is not UTF-8") from None
    if not response.endswith("\n"):
        raise LedgerError(COSIGNATURE_INVALID, "the answer must be signature lines ending in a newline")
    lines = [line + "\n" for line in response[:-1].split("\n")]
    if len(lines) > notes.MAX_SIGNATURES:
        raise LedgerError(COSIGNATURE_INVALID, "the answer has too many signature lines")
    for line in lines:
        try:
            notes._parse_signature_line(line[:-1])
        except LedgerError as exc:
            raise LedgerError(COSIGNATURE_INVALID, exc.message) from None
    return lines


def cosignature_from_answer(note: str, answer: bytes | str, name: str, public_key: bytes) -> tuple[str, int]:
    """The witness's line in an add-checkpoint answer, and its timestamp, once it verifies on ``note``.

    Lines of other keys are ignored, as tlog-witness tells clients to; one of this key must be there.
    """
    key_id = cosigner_key_id(name, public_key)
    for line in signature_lines(answer):
        parsed = notes._parse_signature_line(line[:-1])
        if parsed.key_name == name and parsed.key_id == key_id:
            return line, verify_cosignature(note + line, name, public_key)
    raise LedgerError(COSIGNATURE_MISSING, f"the answer holds no cosignature by witness {name!r}")


# --- checkpoints with extension lines -------------------------------------------------------


@dataclass(frozen=True)
class Observed:
    """A checkpoint as a witness reads it: origin, size, root, and the note text cosigned as is."""

    origin: str
    size: int
    root_hash: bytes
    text: str


def read_checkpoint_text(text: str) -> Observed:
    """Origin, size and root of a checkpoint's note text; extension lines may follow (C2SP allows them)."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1]:
        raise LedgerError(notes.MALFORMED, "a checkpoint starts with origin, size and root hash lines")
    origin, size_text, root_text = lines[:3]
    if not _DECIMAL.fullmatch(size_text) or int(size_text) > notes.MAX_TREE_SIZE:
        raise LedgerError(notes.MALFORMED, f"tree size {size_text!r} is not a plain decimal")
    root = notes._strict_b64decode(root_text, notes.MALFORMED, "root hash")
    if len(root) != HASH_SIZE or not origin:
        raise LedgerError(notes.MALFORMED, "the checkpoint's origin or root hash is malformed")
    return Observed(origin, int(size_text), root, text)


# --- add-checkpoint requests ----------------------------------------------------------------


@dataclass(frozen=True)
class AddCheckpoint:
    """A parsed ``add-checkpoint`` body: the old size, the consistency proof and the checkpoint note."""

    old_size: int
    proof: tuple[bytes, ...]
    note: str


def add_checkpoint_body(old_size: int, proof: Sequence[bytes], note: str) -> bytes:
    """The request body of ``POST <prefix>/add-checkpoint``."""
    lines = [f"old {old_size}\n", *(base64.b64encode(h).decode("ascii") + "\n" for h in proof), "\n"]
    return ("".join(lines) + note).encode("utf-8")


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """Split an add-checkpoint body; any deviation from tlog-witness's syntax is a 400."""

    def bad(message: str) -> WitnessError:
        return WitnessError(REQUEST_MALFORMED, message, status=BAD_REQUEST)

    if len(body) > MAX_REQUEST_BYTES:
        raise bad(f"the body is over {MAX_REQUEST_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise bad("the body is not UTF-8") from None
    head, separator, note = text.partition("\n\n")
    if not separator:
        raise bad("the body needs an old size line, proof lines, an empty line and the checkpoint")
    lines = head.split("\n")
    old_line, proof_lines = lines[0], lines[1:]
    if not old_line.startswith("old ") or not _DECIMAL.fullmatch(old_line[4:]):
        raise bad("the first line must be 'old <size>' in plain decimal")
    old_size = int(old_line[4:])
    if old_size > notes.MAX_TREE_SIZE:
        raise bad("the old size is out of range")
    if len(proof_lines) > MAX_PROOF_LINES:
        raise bad(f"more than {MAX_PROOF_LINES} consistency proof lines")
    proof = []
    for line in proof_lines:
        try:
            digest = notes._strict_b64decode(line, REQUEST_MALFORMED, "proof line")
        except LedgerError as exc:
            raise bad(exc.message) from None
        if len(digest) != HASH_SIZE:
            raise bad(f"a proof line holds {len(digest)} bytes, not a SHA-256 hash")
        proof.append(digest)
    return AddCheckpoint(old_size, tuple(proof), note)


# --- the witness's decision -----------------------------------------------------------------


@dataclass(frozen=True)
class LogState:
    """What a witness keeps per log: the last checkpoint it cosigned and the note it returned it with."""

    size: int
    root_hash: bytes
    note: str


def check_add_checkpoint(
    request: AddCheckpoint, *, log_keys: Mapping[str, Sequence[tuple[str, bytes]]], latest: Mapping[str, LogState]
) -> Observed:
    """The checkpoint to cosign, if every rule of tlog-witness's add-checkpoint holds.

    ``log_keys`` maps each followed origin to its trusted (key name, Ed25519 key) pairs;
    ``latest`` maps origins to the last cosigned state. Raises :class:`WitnessError`
    with the status the specification gives each failure, in its order.
    """
    try:
        text, _signatures = notes.parse_note(request.note)
        observed = read_checkpoint_text(text)
    except LedgerError as exc:
        raise WitnessError(REQUEST_MALFORMED, exc.message, status=BAD_REQUEST) from None
    keys = log_keys.get(observed.origin)
    if not keys:
        raise WitnessError(LOG_UNKNOWN, f"this witness follows no log {observed.origin!r}", status=NOT_FOUND)
    _check_log_signatures(request.note, keys)
    if request.old_size > observed.size:
        raise WitnessError(
            REQUEST_MALFORMED,
            f"old size {request.old_size} exceeds the checkpoint's {observed.size}",
            status=BAD_REQUEST,
        )
    state = latest.get(observed.origin)
    known_size = state.size if state else 0
    if request.old_size != known_size:
        raise WitnessError(
            OLD_SIZE_MISMATCH,
            f"the last checkpoint cosigned for this log has size {known_size}, not {request.old_size}",
            status=CONFLICT,
            known_size=known_size,
        )
    if observed.size == 0 and observed.root_hash != EMPTY_ROOT:
        raise WitnessError(PROOF_INVALID, "a tree of size 0 has the empty tree's root", status=UNPROCESSABLE)
    if state is None or state.size == 0:
        if request.proof:
            raise WitnessError(PROOF_INVALID, "from size 0 the consistency proof is empty", status=UNPROCESSABLE)
        return observed
    if observed.size == state.size:
        if request.proof or observed.root_hash != state.root_hash:
            raise WitnessError(
                FORK,
                f"fork: size {state.size} was cosigned with root {_b64(state.root_hash)}, "
                f"this checkpoint gives root {_b64(observed.root_hash)}",
                status=UNPROCESSABLE,
            )
        return observed
    try:
        verify_consistency(state.size, observed.size, state.root_hash, observed.root_hash, request.proof)
    except LedgerError as exc:
        raise WitnessError(
            FORK,
            f"fork or bad proof: size {observed.size} root {_b64(observed.root_hash)} is not shown to extend "
            f"the cosigned size {state.size} root {_b64(state.root_hash)} ({exc.message})",
            status=UNPROCESSABLE,
        ) from None
    return observed


def _check_log_signatures(note: str, keys: Sequence[tuple[str, bytes]]) -> None:
    """403 unless a trusted key signed the note; any trusted key's failing signature is a 403 too."""
    verified = False
    for name, public_key in keys:
        try:
            notes.verify_note(note, name, public_key)
        except LedgerError as exc:
            if exc.code == notes.SIGNATURE_MISSING:
                continue
            raise WitnessError(LOG_SIGNATURE_INVALID, exc.message, status=FORBIDDEN) from None
        verified = True
    if not verified:
        raise WitnessError(LOG_SIGNATURE_INVALID, "no trusted key of the log signed the checkpoint", status=FORBIDDEN)


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def origin_hash(origin: str) -> str:
    """The lowercase hex SHA-256 of an origin: the monitoring path's key (``/<hash>/checkpoint``)."""
    return hashlib.sha256(origin.encode("utf-8")).hexdigest()


# --- policies (C2SP tlog-policy) ------------------------------------------------------------


@dataclass(frozen=True)
class PolicyWitness:
    name: str
    key_name: str
    public_key: bytes
    url: str


@dataclass(frozen=True)
class Policy:
    """Witnesses by policy name, groups as (threshold, members), the quorum's name, and the logs'
    verifier keys (``(origin, public key)``) its ``log`` lines name."""

    witnesses: dict[str, PolicyWitness]
    groups: dict[str, tuple[int, tuple[str, ...]]]
    quorum: str
    logs: tuple[tuple[str, bytes], ...] = ()

    def satisfied_by(self, cosigned: set[str]) -> bool:
        """Whether the witnesses named in ``cosigned`` (policy names) meet the quorum."""
        return self._witnessed(self.quorum, cosigned)

    def _witnessed(self, name: str, cosigned: set[str]) -> bool:
        if name == "none":
            return True
        if name in self.witnesses:
            return name in cosigned
        threshold, members = self.groups[name]
        return sum(self._witnessed(member, cosigned) for member in members) >= threshold


POLICY_INVALID = "policy_invalid"
MAX_POLICY_NAMES = 64


def parse_policy(text: str) -> Policy:
    """A tlog-policy file's logs, witnesses, groups and quorum."""

    def bad(number: int, message: str) -> LedgerError:
        return LedgerError(POLICY_INVALID, f"line {number}: {message}")

    witnesses: dict[str, PolicyWitness] = {}
    groups: dict[str, tuple[int, tuple[str, ...]]] = {}
    quorum = None
    logs: list[tuple[str, bytes]] = []
    seen_keys: set[bytes] = set()
    for number, raw in enumerate(text.split("\n"), start=1):
        if any(ord(c) < 0x20 and c != "\t" for c in raw):
            raise bad(number, "control characters are not allowed")
        words = raw.split()
        if not words or words[0].startswith("#"):
            continue
        keyword, args = words[0], words[1:]
        if len(witnesses) + len(groups) > MAX_POLICY_NAMES:
            raise bad(number, f"more than {MAX_POLICY_NAMES} witnesses and groups")
        if keyword == "log":
            if not 1 <= len(args) <= 2:
                raise bad(number, "log <vkey> [<url>]")
            try:
                logs.append(notes.parse_verifier_key(args[0]))
            except LedgerError as exc:
                raise bad(number, exc.message) from None
        elif keyword == "witness":
            if not 2 <= len(args) <= 3:
                raise bad(number, "witness <name> <vkey> [<url>]")
            name = args[0]
            if name in witnesses or name in groups or name == "none":
                raise bad(number, f"name {name!r} is already defined")
            try:
                key_name, public_key = parse_cosigner_vkey(args[1])
            except LedgerError as exc:
                raise bad(number, exc.message) from None
            if public_key in seen_keys:
                raise bad(number, "a witness key appears twice")
            seen_keys.add(public_key)
            witnesses[name] = PolicyWitness(name, key_name, public_key, args[2] if len(args) == 3 else "")
        elif keyword == "group":
            if len(args) < 3:
                raise bad(number, "group <name> all|any|<k> <name>...")
            name, rule, members = args[0], args[1], tuple(args[2:])
            if name in witnesses or name in groups or name == "none":
                raise bad(number, f"name {name!r} is already defined")
            if len(set(members)) != len(members):
                raise bad(number, "a member is listed twice")
            for member in members:
                if member not in witnesses and member not in groups:
                    raise bad(number, f"{member!r} is not defined on an earlier line")
            if rule == "all":
                threshold = len(members)
            elif rule == "any":
                threshold = 1
            elif _DECIMAL.fullmatch(rule) and 1 <= int(rule) <= len(members):
                threshold = int(rule)
            else:
                raise bad(number, f"threshold {rule!r} is not all, any or 1..{len(members)}")
            groups[name] = (threshold, members)
        elif keyword == "quorum":
            if len(args) != 1 or quorum is not None:
                raise bad(number, "exactly one 'quorum <name>' line")
            if args[0] != "none" and args[0] not in witnesses and args[0] not in groups:
                raise bad(number, f"{args[0]!r} is not defined on an earlier line")
            quorum = args[0]
        else:
            raise bad(number, f"unknown keyword {keyword!r}")
    if quorum is None:
        raise LedgerError(POLICY_INVALID, "the policy has no quorum line")
    return Policy(witnesses, groups, quorum, tuple(logs))
