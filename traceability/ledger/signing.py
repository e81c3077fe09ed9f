"""Ed25519 keys and signatures over canonical documents.

A document's signature is Ed25519 over its RFC 8785 canonical bytes, so a partner
signs exactly what the ledger hashes. Key ids are the hex SHA-256 of the raw
32-byte public key.
"""

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from traceability.ledger.canonical import canonical_json, sha256
from traceability.ledger.errors import LedgerError

PUBLIC_KEY_LENGTH = 32
SIGNATURE_LENGTH = 64


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_key_raw(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def private_key_raw(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )


def private_key_from_raw(raw: bytes) -> Ed25519PrivateKey:
    try:
        return Ed25519PrivateKey.from_private_bytes(raw)
    except ValueError as exc:
        raise LedgerError("private_key_invalid", str(exc)) from exc


def private_key_pem(private_key: Ed25519PrivateKey) -> str:
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def load_private_key_pem(pem: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise LedgerError("private_key_invalid", f"not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise LedgerError("private_key_invalid", "the key is not an Ed25519 key")
    return key


def public_key_from_raw(raw: bytes) -> Ed25519PublicKey:
    if len(raw) != PUBLIC_KEY_LENGTH:
        raise LedgerError("public_key_invalid", f"an Ed25519 public key has {PUBLIC_KEY_LENGTH} bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def key_id(public_raw: bytes) -> str:
    """The key id: lowercase hex SHA-256 of the raw public key."""
    return sha256(public_raw).hex()


def sign_bytes(private_key: Ed25519PrivateKey, message: bytes) -> bytes:
    return private_key.sign(message)


def verify_bytes(public_key: Ed25519PublicKey, message: bytes, signature: bytes) -> None:
    if len(signature) != SIGNATURE_LENGTH:
        raise LedgerError("signature_invalid", f"an Ed25519 signature has {SIGNATURE_LENGTH} bytes")
    try:
        public_key.verify(signature, message)
    except InvalidSignature as exc:
        raise LedgerError("signature_invalid", "the signature does not verify") from exc


def sign_document(private_key: Ed25519PrivateKey, document: object) -> bytes:
    return private_key.sign(canonical_json(document))


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str, *, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, AttributeError) as exc:
        raise LedgerError(f"{what}_malformed", f"{what} is not valid base64") from exc
