"""What a regulator brings from outside the export: the platform's public key and a checkpoint."""

from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

from passport.verify.errors import VerificationError
from traceability.ledger import checkpoint as notes
from traceability.ledger.errors import LedgerError
from traceability.ledger.signing import PUBLIC_KEY_LENGTH


def load_trusted_key(data: bytes) -> bytes:
    """The raw Ed25519 public key in ``data``.

    Accepted spellings: a PEM public key, a signed-note verifier key
    (``name+id+base64``), or the raw 32 bytes in base64 (as ``/api/v1/ledger/keys``
    publishes them) or hex.
    """
    text = data.decode("utf-8", errors="replace").strip()
    if text.startswith("-----BEGIN"):
        try:
            key = load_pem_public_key(text.encode("ascii"))
        except (ValueError, TypeError) as exc:
            raise VerificationError("trusted_key_malformed", f"not a PEM public key: {exc}") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise VerificationError("trusted_key_malformed", "the trusted key is not an Ed25519 key")
        return key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    if text.count("+") >= 2 and not _is_base64_key(text):
        try:
            return notes.parse_verifier_key(text)[1]
        except LedgerError as exc:
            raise VerificationError("trusted_key_malformed", exc.message) from exc
    if len(text) == 2 * PUBLIC_KEY_LENGTH:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    if _is_base64_key(text):
        return base64.b64decode(text, validate=True)
    raise VerificationError(
        "trusted_key_malformed", "expected a PEM public key, a verifier key, or 32 raw bytes in base64 or hex"
    )


def _is_base64_key(text: str) -> bool:
    try:
        return len(base64.b64decode(text, validate=True)) == PUBLIC_KEY_LENGTH
    except (binascii.Error, ValueError):
        return False


def load_trusted_checkpoint(data: bytes) -> notes.Checkpoint:
    """The checkpoint of a signed note kept from earlier; its signature is checked against the export's keys."""
    try:
        checkpoint, _ = notes.parse_checkpoint(data)
    except LedgerError as exc:
        raise VerificationError("trusted_checkpoint_malformed", exc.message) from exc
    return checkpoint
