"""``did:web`` identifiers and documents of organisations.

did:web (W3C CCG "did:web Method Specification" §3.2): ``did:web:<host>:<path segments>``
resolves to ``https://<host>/<path>/did.json``; a port's colon is percent-encoded (``%3A``).
An organisation's DID is ``did:web:<host>:orgs:<slug>``, its document at ``/orgs/<slug>/did.json``.

Each Ed25519 key is listed twice, as one key seen by two kinds of verifier (W3C Controlled
Identifiers 1.0 §2.2.2 and §2.2.3):

- ``#<key id[:16]>``: a ``Multikey`` (``publicKeyMultibase``, ed25519-pub, base58btc): the
  ``verificationMethod`` of Data Integrity proofs;
- ``#<key id[:16]>-jwk``: a ``JsonWebKey`` (OKP/Ed25519 ``publicKeyJwk``): the ``kid`` of JWTs.

The key id is the ledger's (hex SHA-256 of the raw public key), so fragments never change.
Rotated and revoked keys stay listed, so that credentials they signed still resolve, with
their validity from the ledger: ``validFrom`` (when the key became valid) and ``revoked``
(Controlled Identifiers 1.0 §2.2's property: proofs made at or after it must not verify), both
XSD dateTimes, and ``ledgerKeyId``, the full key id of the ``key.registered`` fact.

``assertionMethod`` names the current keys and the keys retired by a rotation: a credential
signed before the rotation still verifies with any verifier, and one checking ``revoked`` (as
the controlled-identifier specification asks) refuses a proof made later. A key revoked for any
other reason (a compromise) is left out of ``assertionMethod``: nothing it signed verifies, as
its signer could write any ``created`` time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from traceability.credentials.core.errors import CredentialError
from traceability.credentials.core.multibase import (
    ed25519_from_jwk,
    ed25519_from_multikey,
    ed25519_jwk,
    ed25519_multikey,
)
from traceability.credentials.core.securing import xsd_datetime

DID_CONTEXT = [
    "https://www.w3.org/ns/did/v1",
    "https://w3id.org/security/multikey/v1",
    "https://w3id.org/security/jwk/v1",
]
DID_MEDIA_TYPE = "application/did+json"
FRAGMENT_HEX = 16
_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")


@dataclass(frozen=True)
class KeyValidity:
    """An organisation's key as the ledger has it."""

    key_id: str
    public_key: bytes
    valid_from: datetime
    revoked_at: datetime | None
    # Revoked by a rotation (still asserts what it signed before ``revoked_at``), not a compromise.
    rotated: bool = False


def did_host(text: str) -> str:
    """The method-specific host of a did:web: ``host`` or ``host%3Aport``, lowercase."""
    host = text.strip().lower().replace("%3a", ":")
    if not host or "/" in host or "@" in host:
        raise CredentialError("did_host_invalid", f"{text!r} is not a host[:port]")
    return quote(host, safe=".-")


def organisation_did(*, host: str, slug: str) -> str:
    if not _SEGMENT.fullmatch(slug):
        raise CredentialError("did_path_invalid", f"{slug!r} cannot be a did:web path segment")
    return f"did:web:{did_host(host)}:orgs:{slug}"


def multikey_fragment(key_id: str) -> str:
    return f"#{key_id[:FRAGMENT_HEX]}"


def jwk_fragment(key_id: str) -> str:
    return f"#{key_id[:FRAGMENT_HEX]}-jwk"


def _validity(key: KeyValidity) -> dict[str, str]:
    validity = {"validFrom": xsd_datetime(key.valid_from), "ledgerKeyId": key.key_id}
    if key.revoked_at is not None:
        validity["revoked"] = xsd_datetime(key.revoked_at)
    return validity


def did_document(*, did: str, keys: Iterable[KeyValidity]) -> dict[str, Any]:
    methods: list[dict[str, Any]] = []
    current: list[str] = []  # the methods of assertionMethod (see the module docstring)
    for key in keys:
        multikey_id, jwk_id = did + multikey_fragment(key.key_id), did + jwk_fragment(key.key_id)
        methods.append(
            {
                "id": multikey_id,
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": ed25519_multikey(key.public_key),
                **_validity(key),
            }
        )
        methods.append(
            {
                "id": jwk_id,
                "type": "JsonWebKey",
                "controller": did,
                "publicKeyJwk": ed25519_jwk(key.public_key),
                **_validity(key),
            }
        )
        if key.revoked_at is None or key.rotated:
            current += [multikey_id, jwk_id]
    return {
        "@context": DID_CONTEXT,
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": current,
    }


def keys_of_document(document: dict[str, Any]) -> dict[str, bytes]:
    """The raw public keys a DID document lists, by verification-method id (for the verifiers)."""
    keys: dict[str, bytes] = {}
    for method in document.get("verificationMethod", []):
        if not isinstance(method, dict) or not isinstance(method.get("id"), str):
            continue
        if method.get("type") == "Multikey":
            keys[method["id"]] = ed25519_from_multikey(str(method.get("publicKeyMultibase", "")))
        elif method.get("type") == "JsonWebKey":
            keys[method["id"]] = ed25519_from_jwk(method.get("publicKeyJwk"))
    return keys
