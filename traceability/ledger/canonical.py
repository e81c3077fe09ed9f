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
    writes (``_same_as_json``) are written by it, three times faster; so are values that only
    differ by whole-number floats (``450.0``, which JCS writes ``450``), once those are made
    integers (``_with_whole_floats_as_ints``; figures such as a passport's masses and shares are
    often whole). Everything else is written by ``rfc8785``. A property test holds the paths to
    the same bytes.
    """
    fast = value if _same_as_json(value) else _with_whole_floats_as_ints(value)
    if fast is not _NOT_FAST:
        try:
            return _JSON(fast).encode("utf-8")
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


# What ``_with_whole_floats_as_ints`` answers for a value the standard library cannot write as JCS.
_NOT_FAST: Any = object()


def _with_whole_floats_as_ints(value: Any) -> Any:
    """``value`` with each whole-number float of the safe integer range as an int (ECMAScript,
    hence JCS, writes ``450.0`` and ``-0.0`` as ``450`` and ``0``), when that makes it a value
    ``_same_as_json`` accepts; ``_NOT_FAST`` otherwise."""
    kind = type(value)
    if kind is float:
        if value.is_integer():
            return int(value) if abs(value) <= _SAFE_INTEGER else _NOT_FAST
        return value if _same_as_json(value) else _NOT_FAST
    if kind is dict:
        converted = {}
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                return _NOT_FAST
            converted[key] = item = _with_whole_floats_as_ints(item)
            if item is _NOT_FAST:
                return _NOT_FAST
        return converted
    if kind is list:
        items = [_with_whole_floats_as_ints(item) for item in value]
        return _NOT_FAST if any(item is _NOT_FAST for item in items) else items
    return value if _same_as_json(value) else _NOT_FAST


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def document_digest(document: Any) -> bytes:
    """SHA-256 of the canonical form of ``document``: what the ledger stores as its digest."""
    return sha256(canonical_json(document))
