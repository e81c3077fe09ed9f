"""Encryption at rest of the private keys the platform holds for custodial signing.

AES-256-GCM under a key derived (HKDF-SHA256) from ``settings.KEY_ENCRYPTION_KEY``;
the key id is the associated data, so a ciphertext moved to another key's row
does not decrypt. Private keys never leave this module except to sign.
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

FORMAT_VERSION = b"\x01"
NONCE_LENGTH = 12


@lru_cache(maxsize=4)
def _aead(key_encryption_key: str) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"looptrace custodial signing keys v1").derive(
        key_encryption_key.encode("utf-8")
    )
    return AESGCM(derived)


def encrypt_private_key(private_key: Ed25519PrivateKey, *, key_id: str) -> bytes:
    nonce = os.urandom(NONCE_LENGTH)
    sealed = _aead(settings.KEY_ENCRYPTION_KEY).encrypt(nonce, private_key_raw(private_key), key_id.encode())
    return FORMAT_VERSION + nonce + sealed


def decrypt_private_key(blob: bytes, *, key_id: str) -> Ed25519PrivateKey:
    blob = bytes(blob)
    if not blob.startswith(FORMAT_VERSION):
        raise ApplicationError("custodial_key_unreadable", "unknown custodial key format", status=500)
    nonce, sealed = blob[1 : 1 + NONCE_LENGTH], blob[1 + NONCE_LENGTH :]
    try:
        raw = _aead(settings.KEY_ENCRYPTION_KEY).decrypt(nonce, sealed, key_id.encode())
    except InvalidTag as exc:
        raise ApplicationError(
            "custodial_key_unreadable",
            "the custodial key does not decrypt with the configured KEY_ENCRYPTION_KEY",
            status=500,
        ) from exc
    return private_key_from_raw(raw)
