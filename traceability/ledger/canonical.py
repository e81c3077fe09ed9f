"""RFC 8785 canonical JSON and SHA-256 digests.

Every byte string the ledger hashes or signs is produced here, so a verifier in
another language only needs an RFC 8785 implementation to reproduce them.
"""

import hashlib
from typing import Any

import rfc8785

from traceability.ledger.errors import LedgerError


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 (JCS) serialisation of ``value``, as UTF-8 bytes."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise LedgerError("document_not_canonicalisable", str(exc)) from exc


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def document_digest(document: Any) -> bytes:
    """SHA-256 of the canonical form of ``document``: what the ledger stores as its digest."""
    return sha256(canonical_json(document))
