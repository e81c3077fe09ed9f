"""RFC 8785 canonical JSON and SHA-256 digests.

Every byte string the ledger hashes or signs is produced here, so a verifier in
another language only needs an RFC 8785 implementation to reproduce them.
"""

import hashlib
import json
from typing import Any

import rfc8785

from traceability.ledger.errors import LedgerError


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 (JCS) serialisation of ``value``, as UTF-8 bytes.

    Values whose JCS form is exactly what the standard library's compact, key-sorted JSON
    writes (``_same_as_json``) are written by it, three times faster; everything else by
    ``rfc8785``. A property test holds the two to the same bytes.
    """
    if _same_as_json(value):
        try:
            return _JSON(value).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: rfc8785 names the error
            pass
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise LedgerError("document_not_canonicalisable", str(exc)) from exc


_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")).encode
# JCS numbers are ECMAScript's: integers in the double's exact range print alike; so do
# fractional doubles from 1e-4 up to 1e16, where Python's shortest repr uses no exponent
# either. JCS sorts keys by UTF-16 code units, which is code point order for ASCII keys.
_SAFE_INTEGER = 2**53 - 1


def _same_as_json(value: Any) -> bool:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-_SAFE_INTEGER <= value <= _SAFE_INTEGER)
    if kind is float:
        return bool(1e-4 <= abs(value) < 1e16 and not value.is_integer())
    if kind is dict:
        return all(type(key) is str and key.isascii() and _same_as_json(item) for key, item in value.items())
    if kind is list:
        return all(_same_as_json(item) for item in value)
    return False


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def document_digest(document: Any) -> bytes:
    """SHA-256 of the canonical form of ``document``: what the ledger stores as its digest."""
    return sha256(canonical_json(document))
