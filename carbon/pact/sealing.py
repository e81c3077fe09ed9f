"""Encryption at rest of the client secrets the platform uses to reach partners' PACT hosts.

AES-256-GCM under a key derived (HKDF-SHA256) from ``settings.KEY_ENCRYPTION_KEY`` with its
own context string; the partner's client id is the associated data.
"""

import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from traceability.errors import ApplicationError

NONCE_LENGTH = 12


@lru_cache(maxsize=4)
def _aead(key_encryption_key: str) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"looptrace pact partner secrets v1").derive(
        key_encryption_key.encode("utf-8")
    )
    return AESGCM(derived)


def seal(secret: str, *, client_id: str) -> bytes:
    nonce = os.urandom(NONCE_LENGTH)
    return nonce + _aead(settings.KEY_ENCRYPTION_KEY).encrypt(nonce, secret.encode("utf-8"), client_id.encode())


def unseal(blob: bytes, *, client_id: str) -> str:
    blob = bytes(blob)
    try:
        clear = _aead(settings.KEY_ENCRYPTION_KEY).decrypt(blob[:NONCE_LENGTH], blob[NONCE_LENGTH:], client_id.encode())
    except InvalidTag as exc:
        raise ApplicationError("pact_secret_unreadable", "the partner secret does not decrypt", status=500) from exc
    return clear.decode("utf-8")
