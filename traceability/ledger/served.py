"""The platform's signature over a document as it served it (``servedSignature``).

A passport JSON holds two kinds of statement. Most of it is logged: the ledger fact of the
version (its exact signed bytes) and the tier view whose digest the fact states are proven
by the tlog proof. Some of it cannot be logged, because it is only known when the passport is
read: the later passports that name this one (``successors``), whether the checkpoint the proof
uses meets the operator's witness policy, a part passport's figures computed on read.

So the platform also signs the whole document when it serves it, with the same Ed25519 key
that signs its checkpoints and facts. The signed message is a fixed context line, then the
RFC 8785 form of the document in which ``servedSignature`` holds only ``keyId`` and
``signedAt``::

    b"looptrace served document v1\\n" + JCS(document with servedSignature minus "signature")

Reformatting the JSON (indentation, key order) keeps it valid; changing, adding or removing
any value or name breaks it. The context line keeps the signature from being read as a
signature over a ledger fact, whose message is the bare document.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from traceability.ledger.canonical import canonical_json
from traceability.ledger.chain import format_time
from traceability.ledger.errors import LedgerError
from traceability.ledger.signing import b64decode, b64encode, key_id, public_key_from_raw, sign_bytes, verify_bytes

FIELD = "servedSignature"
CONTEXT = b"looptrace served document v1\n"


def _message(document: Mapping[str, Any], wrapper: Mapping[str, Any]) -> bytes:
    unsigned = {**document, FIELD: {"keyId": wrapper["keyId"], "signedAt": wrapper["signedAt"]}}
    return CONTEXT + canonical_json(unsigned)


def sign_served(
    document: Mapping[str, Any], *, public_key: bytes, private_key: Ed25519PrivateKey, signed_at: datetime
) -> dict[str, Any]:
    """``document`` (JSON values only) with its ``servedSignature``."""
    body = {name: value for name, value in document.items() if name != FIELD}
    wrapper = {"keyId": key_id(public_key), "signedAt": format_time(signed_at)}
    signature = sign_bytes(private_key, _message(body, wrapper))
    return {**body, FIELD: {**wrapper, "signature": b64encode(signature)}}


def verify_served(document: Mapping[str, Any], public_keys: Iterable[bytes]) -> str:
    """The key id that signed ``document`` as served; :class:`LedgerError` when none did."""
    wrapper = document.get(FIELD)
    if not isinstance(wrapper, dict) or set(wrapper) != {"keyId", "signedAt", "signature"}:
        raise LedgerError("served_signature_missing", f"no {FIELD} with keyId, signedAt and signature")
    if not all(isinstance(wrapper[name], str) for name in wrapper):
        raise LedgerError("served_signature_malformed", f"{FIELD} holds text only")
    keys = {key_id(raw): raw for raw in public_keys}
    signer = wrapper["keyId"]
    if signer not in keys:
        raise LedgerError("served_signature_key_unknown", f"signed by key {signer[:16]}..., not one of the log's keys")
    body = {name: value for name, value in document.items() if name != FIELD}
    signature = b64decode(wrapper["signature"], what="servedSignature.signature")
    if b64encode(signature) != wrapper["signature"]:  # base64's spare bits would let a changed byte pass
        raise LedgerError("served_signature_malformed", f"{FIELD}.signature is not canonical base64")
    verify_bytes(public_key_from_raw(keys[signer]), _message(body, wrapper), signature)
    return str(signer)
