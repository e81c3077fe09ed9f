"""Ledger entries, the hash chain and the key ring.

An entry is a document (stored as its RFC 8785 canonical bytes) plus a header::

    {"digest": hex SHA-256 of the document bytes,
     "keyId": hex key id, "kind": "event" | "key.registered" | ...,
     "organisation": slug, "prev": hex entry hash of seq-1 (64 zeros for seq 1),
     "recordedAt": "YYYY-MM-DDTHH:MM:SS.ffffffZ", "seq": n,
     "signature": base64 Ed25519 over the document bytes}

The entry hash is the RFC 9162 leaf hash of the header's canonical bytes, so one
hash is both the chain link and the Merkle leaf: changing any byte of a document,
a signature, an order or a time changes every later link and every later root.

Keys are ledger facts. ``key.registered`` and ``key.revoked`` entries (like the
other platform facts: organisation registrations, passport versions) are signed
by the platform's key; the first entry of every ledger is the platform's own key
registration, signed by that key. Which key may sign entry ``seq`` follows from
the entries before it, so verification needs no clock and no database table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from traceability.ledger.canonical import canonical_json, sha256
from traceability.ledger.errors import LedgerError
from traceability.ledger.merkle import leaf_hash
from traceability.ledger.signing import (
    b64decode,
    b64encode,
    key_id,
    public_key_from_raw,
    verify_bytes,
)

GENESIS_PREV = bytes(32)

KIND_EVENT = "event"
KIND_KEY_REGISTERED = "key.registered"
KIND_KEY_REVOKED = "key.revoked"
KIND_ORGANISATION_REGISTERED = "organisation.registered"
# A passport version: the digests of a battery passport as issued (written by the passport app).
KIND_PASSPORT_VERSION = "passport.version"
# A verifiable credential's digest as issued, and each flip of its status bit: facts of the
# issuing organisation, signed with its own key (custodially for web users), as events are.
KIND_CREDENTIAL_ISSUED = "credential.issued"
KIND_CREDENTIAL_STATUS = "credential.status"
CREDENTIAL_KINDS = frozenset({KIND_CREDENTIAL_ISSUED, KIND_CREDENTIAL_STATUS})
KEY_KINDS = frozenset({KIND_KEY_REGISTERED, KIND_KEY_REVOKED})
# Facts only the platform signs, whatever organisation they concern.
PLATFORM_KINDS = frozenset({KIND_ORGANISATION_REGISTERED, KIND_PASSPORT_VERSION, *KEY_KINDS})
# A key registration's ``custody``: the platform holds the private key. Only such keys of the
# platform's organisation are platform keys (facts, checkpoints); a client key it registers is not.
CUSTODY_PLATFORM = "platform"
ENTRY_KINDS = frozenset({KIND_EVENT, *CREDENTIAL_KINDS, *PLATFORM_KINDS})

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_PLAIN_TEXT = re.compile(r"[ !#-\[\]-~]*")


def format_time(moment: datetime) -> str:
    """UTC, microseconds, ``Z``: the one textual form of times inside headers."""
    offset = moment.utcoffset()
    if offset is None:
        raise LedgerError("time_naive", "times in the ledger must carry a time zone")
    if offset:
        moment = moment.astimezone(UTC)
    return moment.strftime(TIME_FORMAT)


def parse_time(text: str) -> datetime:
    try:
        return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)
    except (TypeError, ValueError) as exc:
        raise LedgerError("time_malformed", f"not a ledger time: {text!r}") from exc


@dataclass(frozen=True, slots=True)
class EntryHeader:
    seq: int
    kind: str
    organisation: str
    digest: bytes
    key_id: str
    signature: bytes
    prev_hash: bytes
    recorded_at: datetime

    def as_json(self) -> dict[str, object]:
        return {
            "digest": self.digest.hex(),
            "keyId": self.key_id,
            "kind": self.kind,
            "organisation": self.organisation,
            "prev": self.prev_hash.hex(),
            "recordedAt": format_time(self.recorded_at),
            "seq": self.seq,
            "signature": b64encode(self.signature),
        }

    def leaf_data(self) -> bytes:
        """The header's RFC 8785 bytes.

        The header is one integer and short strings (hex, base64, a slug, a time). When
        the strings are printable ASCII without quote or backslash, RFC 8785 is exactly
        these keys in this order with no escaping, written out here at a fraction of the
        library's cost (verification does this for every entry). Anything else takes
        the library; a property test holds the two equal.
        """
        digest, prev, signature = self.digest.hex(), self.prev_hash.hex(), b64encode(self.signature)
        recorded = format_time(self.recorded_at)
        if _PLAIN_TEXT.fullmatch(self.key_id + self.kind + self.organisation):
            return (
                f'{{"digest":"{digest}","keyId":"{self.key_id}","kind":"{self.kind}",'
                f'"organisation":"{self.organisation}","prev":"{prev}","recordedAt":"{recorded}",'
                f'"seq":{self.seq},"signature":"{signature}"}}'
            ).encode("ascii")
        return canonical_json(self.as_json())

    def entry_hash(self) -> bytes:
        return leaf_hash(self.leaf_data())


@dataclass(slots=True)
class KeyRecord:
    key_id: str
    organisation: str
    public_key: bytes
    valid_from: datetime
    registered_seq: int
    custody: str = CUSTODY_PLATFORM
    revoked_seq: int | None = None
    revoked_at: datetime | None = None
    _verifier: Ed25519PublicKey | None = field(default=None, repr=False)

    def verifier(self) -> Ed25519PublicKey:
        if self._verifier is None:
            self._verifier = public_key_from_raw(self.public_key)
        return self._verifier


def key_registration_document(
    *, organisation: str, public_key: bytes, valid_from: datetime, custody: str
) -> dict[str, object]:
    return {
        "type": "KeyRegistered",
        "organisation": organisation,
        "keyId": key_id(public_key),
        "publicKey": b64encode(public_key),
        "validFrom": format_time(valid_from),
        "custody": custody,
    }


# The reason of a revocation that retires a key for a newer one (``signing_key_rotate``), as opposed
# to one that withdraws it (a compromise): what the key signed before stays valid.
REASON_ROTATED = "rotated"


def key_revocation_document(
    *, organisation: str, revoked_key_id: str, revoked_at: datetime, reason: str
) -> dict[str, object]:
    return {
        "type": "KeyRevoked",
        "organisation": organisation,
        "keyId": revoked_key_id,
        "revokedAt": format_time(revoked_at),
        "reason": reason,
    }


class KeyRing:
    """Which public key may sign which entry, rebuilt from the key entries in order."""

    def __init__(self) -> None:
        self.keys: dict[str, KeyRecord] = {}
        self.platform: str | None = None

    def apply(self, seq: int, kind: str, organisation: str, document: dict[str, object]) -> None:
        """Take in a key entry (its signature is checked separately, by ``verify_entry``)."""
        if kind == KIND_KEY_REGISTERED:
            self._register(seq, organisation, document)
        elif kind == KIND_KEY_REVOKED:
            self._revoke(seq, document)

    def _register(self, seq: int, signer: str, document: dict[str, object]) -> None:
        public_key = b64decode(str(document.get("publicKey", "")), what="public_key")
        public_key_from_raw(public_key)
        registered_id = key_id(public_key)
        if document.get("keyId") != registered_id:
            raise LedgerError("key_id_mismatch", "keyId is not the SHA-256 of the public key")
        if registered_id in self.keys:
            raise LedgerError("key_duplicate", f"key {registered_id[:16]}… is already registered")
        if self.platform is None:
            self.platform = signer
        elif signer != self.platform:
            raise LedgerError("key_registrar_invalid", "only the platform registers keys")
        self.keys[registered_id] = KeyRecord(
            key_id=registered_id,
            organisation=str(document.get("organisation", "")),
            public_key=public_key,
            valid_from=parse_time(str(document.get("validFrom", ""))),
            registered_seq=seq,
            custody=str(document.get("custody", "")),
        )

    def _revoke(self, seq: int, document: dict[str, object]) -> None:
        record = self.keys.get(str(document.get("keyId", "")))
        if record is None:
            raise LedgerError("key_unknown", "revocation of a key that was never registered")
        if record.revoked_seq is not None:
            raise LedgerError("key_revoked", "the key is already revoked")
        record.revoked_seq = seq
        record.revoked_at = parse_time(str(document.get("revokedAt", "")))

    def key_for(self, *, key_id_hex: str, organisation: str, seq: int, at: datetime) -> KeyRecord:
        """The key that may sign entry ``seq`` of ``organisation`` at time ``at``, or an error."""
        record = self.keys.get(key_id_hex)
        if record is None:
            raise LedgerError("key_unknown", f"no registered key {key_id_hex[:16]}…")
        if record.organisation != organisation:
            raise LedgerError("key_wrong_organisation", "the key belongs to another organisation")
        self_signed_genesis = seq == record.registered_seq == 1
        if record.registered_seq >= seq and not self_signed_genesis:
            raise LedgerError("key_not_yet_registered", "the key was registered after this entry")
        if at < record.valid_from:
            raise LedgerError("key_not_yet_valid", "the entry predates the key's validity")
        if record.revoked_seq is not None and record.revoked_seq < seq:
            raise LedgerError("key_revoked", "the key was revoked before this entry")
        return record


def verify_entry(header: EntryHeader, document: bytes, keyring: KeyRing) -> None:
    """Check one entry on its own: digest, signer and signature."""
    if header.kind not in ENTRY_KINDS:
        raise LedgerError("kind_unknown", f"unknown entry kind {header.kind!r}")
    if sha256(document) != header.digest:
        raise LedgerError("digest_mismatch", "the document does not match its digest")
    signer_organisation = header.organisation
    if header.kind in PLATFORM_KINDS:
        if keyring.platform is not None:
            signer_organisation = keyring.platform
    record = keyring.key_for(
        key_id_hex=header.key_id, organisation=signer_organisation, seq=header.seq, at=header.recorded_at
    )
    if header.kind in PLATFORM_KINDS and record.custody != CUSTODY_PLATFORM:
        raise LedgerError("key_not_platform", "a platform fact is signed by a key the platform does not hold")
    verify_bytes(record.verifier(), document, header.signature)


@dataclass(frozen=True, slots=True)
class Failure:
    seq: int
    code: str
    message: str


class ChainWalker:
    """Checks the links of entries fed in ``seq`` order and yields their leaf hashes.

    Each entry must follow the previous one without a gap and point at its hash;
    a stored entry hash must equal the one recomputed from its header.
    """

    def __init__(self) -> None:
        self.expected_seq = 1
        self.last_hash = GENESIS_PREV

    def feed(self, seq: int, prev_hash: bytes, stored_hash: bytes, computed_hash: bytes) -> list[Failure]:
        failures = []
        if seq != self.expected_seq:
            if seq > self.expected_seq:
                missing = f"{self.expected_seq}" if seq == self.expected_seq + 1 else f"{self.expected_seq}-{seq - 1}"
                failures.append(Failure(seq, "entries_missing", f"entries {missing} are missing before this one"))
            else:
                failures.append(Failure(seq, "seq_out_of_order", f"expected seq {self.expected_seq}"))
        if prev_hash != self.last_hash:
            failures.append(Failure(seq, "chain_broken", "prev does not equal the hash of the entry before"))
        if stored_hash != computed_hash:
            failures.append(Failure(seq, "entry_hash_mismatch", "stored entry hash differs from its header's hash"))
        self.expected_seq = max(self.expected_seq, seq) + 1
        self.last_hash = stored_hash
        return failures
