"""Encryption at rest of what the platform holds in confidence: the private keys of custodial
signing here, and any other app's secrets through ``seal`` and ``unseal``.

AES-256-GCM under a key derived (HKDF-SHA256) from ``settings.KEY_ENCRYPTION_KEY`` with a
context string per purpose, so a ciphertext of one purpose never decrypts as another; the
caller's associated data (a key id, a client id) ties each ciphertext to its row. Sealed
bytes are the 12-byte nonce followed by the ciphertext and tag. Private keys never leave
this module except to sign.
"""

import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from traceability.errors import ApplicationError
from traceability.ledger.signing import private_key_from_raw, private_key_raw

NONCE_LENGTH = 12
CUSTODIAL_KEYS = b"looptrace custodial signing keys v1"
# Custodial keys are stored behind a format byte, so their format can change without a guess.
FORMAT_VERSION = b"\x01"


class SealedDataUnreadable(Exception):
    """The sealed bytes do not decrypt under the configured key, purpose and associated data."""


@lru_cache(maxsize=8)
def _aead(key_encryption_key: str, purpose: bytes) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        key_encryption_key.encode("utf-8")
    )
    return AESGCM(derived)


def seal(clear: bytes, *, purpose: bytes, associated_data: bytes) -> bytes:
    nonce = os.urandom(NONCE_LENGTH)
    return nonce + _aead(settings.KEY_ENCRYPTION_KEY, purpose).encrypt(nonce, clear, associated_data)


def unseal(blob: bytes, *, purpose: bytes, associated_data: bytes) -> bytes:
    blob = bytes(blob)
    try:
        return _aead(settings.KEY_ENCRYPTION_KEY, purpose).decrypt(
            blob[:NONCE_LENGTH], blob[NONCE_LENGTH:], associated_data
        )
    except InvalidTag as exc:
        raise SealedDataUnreadable from exc


def encrypt_private_key(private_key: Ed25519PrivateKey, *, key_id: str) -> bytes:
    return FORMAT_VERSION + seal(private_key_raw(private_key), purpose=CUSTODIAL_KEYS, associated_data=key_id.encode())


def decrypt_private_key(blob: bytes, *, key_id: str) -> Ed25519PrivateKey:
    blob = bytes(blob)
    if not blob.startswith(FORMAT_VERSION):
        raise ApplicationError("custodial_key_unreadable", "unknown custodial key format", status=500)
    try:
        raw = unseal(blob[len(FORMAT_VERSION) :], purpose=CUSTODIAL_KEYS, associated_data=key_id.encode())
    except SealedDataUnreadable as exc:
        raise ApplicationError(
            "custodial_key_unreadable",
            "the custodial key does not decrypt with the configured KEY_ENCRYPTION_KEY",
            status=500,
        ) from exc
    return private_key_from_raw(raw)
