"""Securing a credential, two ways, both over Ed25519 keys: sign and verify, no I/O.

1. VC-JOSE-COSE (W3C, "Securing Verifiable Credentials using JOSE and COSE", §3.1.1): a compact
   JWS whose payload is the credential itself, header ``alg`` EdDSA (RFC 8037), ``typ``
   ``vc+jwt``, ``cty`` ``vc`` and the ``kid`` of the signing verification method; media type
   ``application/vc+jwt``. The payload bytes are the credential's RFC 8785 form, so the JWT's
   payload hashes to the digest the ledger anchors. Its three parts are canonical base64url:
   a signature whose unused trailing bits are set is refused, as that text is not what was signed.
2. Data Integrity ``eddsa-jcs-2022`` (W3C "Data Integrity EdDSA Cryptosuites v1.0", §3.3): the
   proof carries the unsecured document's ``@context`` (§3.3.1 step 2); the proof configuration
   (the proof without ``proofValue``, its ``@context`` the document's, §3.3.5) and the document
   are each canonicalised with JCS (RFC 8785) and hashed with SHA-256; Ed25519 signs
   ``hash(proofConfig) || hash(document)``; the signature is the proof's ``proofValue`` in multibase base58btc.

``Signer`` makes both forms for many credentials of one key at one time, from each credential's
RFC 8785 bytes computed once (``canonicalised``): the same bytes are the JWT's payload, the
Data Integrity document whose hash is signed, and the digest the ledger anchors.

Verifiers take the public keys as a mapping from verification-method id to raw key: resolving a
DID is the caller's business.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from traceability.credentials.core.errors import CredentialError
from traceability.credentials.core.multibase import (
    base64url_decode,
    base64url_encode,
    multibase_base58btc,
    multibase_base58btc_decode,
)
from traceability.ledger.canonical import canonical_json, sha256

JWT_MEDIA_TYPE = "application/vc+jwt"
JWT_TYP = "vc+jwt"
JWT_CTY = "vc"
JWT_ALG = "EdDSA"
PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-jcs-2022"
ASSERTION_METHOD = "assertionMethod"
SIGNATURE_LENGTH = 64
# An upper bound of a secured credential we verify: far above a passport's few tens of kB.
MAX_CREDENTIAL_BYTES = 1024 * 1024


def xsd_datetime(moment: datetime) -> str:
    """An XSD dateTimeStamp in UTC to the second, as VC 2.0's ``validFrom`` and proofs' ``created``."""
    if moment.utcoffset() is None:
        raise CredentialError("time_naive", "credential times must carry a time zone")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def credential_bytes(credential: Mapping[str, Any]) -> bytes:
    """The credential's RFC 8785 form: what the JWT carries and the ledger's digest hashes."""
    if "proof" in credential:
        raise CredentialError("credential_secured", "the unsecured credential carries no proof")
    return canonical_json(credential)


def credential_digest(credential: Mapping[str, Any]) -> bytes:
    return sha256(credential_bytes(credential))


@dataclass(frozen=True, slots=True)
class Canonical:
    """An unsecured credential with its RFC 8785 bytes and their SHA-256, computed once."""

    credential: Mapping[str, Any]
    data: bytes
    digest: bytes


def canonicalised(credential: Mapping[str, Any]) -> Canonical:
    data = credential_bytes(credential)
    return Canonical(credential=credential, data=data, digest=sha256(data))


def _public(raw: bytes) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise CredentialError("public_key_invalid", "an Ed25519 public key has 32 bytes") from exc


def _verify(raw_public_key: bytes, signature: bytes, message: bytes) -> None:
    if len(signature) != SIGNATURE_LENGTH:
        raise CredentialError("signature_invalid", f"an Ed25519 signature has {SIGNATURE_LENGTH} bytes")
    try:
        _public(raw_public_key).verify(signature, message)
    except InvalidSignature as exc:
        raise CredentialError("signature_invalid", "the signature does not verify") from exc


def _key_for(keys: Mapping[str, bytes], method: object) -> bytes:
    if not isinstance(method, str) or method not in keys:
        raise CredentialError("verification_method_unknown", f"no trusted key for verification method {method!r}")
    return keys[method]


# --- VC-JOSE-COSE: application/vc+jwt ---------------------------------------------------------


def _jwt_header_part(kid: str) -> str:
    return base64url_encode(canonical_json({"alg": JWT_ALG, "typ": JWT_TYP, "cty": JWT_CTY, "kid": kid}))


def _jwt(header_part: str, payload: bytes, private_key: Ed25519PrivateKey) -> str:
    signing_input = f"{header_part}.{base64url_encode(payload)}"
    signature = private_key.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{base64url_encode(signature)}"


def jwt_sign(credential: Mapping[str, Any], *, private_key: Ed25519PrivateKey, kid: str) -> str:
    return _jwt(_jwt_header_part(kid), credential_bytes(credential), private_key)


def jwt_header(token: str) -> dict[str, Any]:
    """The protected header of a compact JWS, unverified (to find its ``kid``)."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        raise CredentialError("jwt_malformed", "a compact JWS has three dot-separated parts")
    return _json_object(base64url_decode(parts[0]), what="JWT header")


def _json_object(data: bytes, *, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise CredentialError("jwt_malformed", f"the {what} is not JSON") from exc
    if not isinstance(value, dict):
        raise CredentialError("jwt_malformed", f"the {what} is not a JSON object")
    return value


def jwt_verify(token: str, *, keys: Mapping[str, bytes]) -> dict[str, Any]:
    """The credential a ``vc+jwt`` carries, once its header and EdDSA signature check out."""
    if len(token) > MAX_CREDENTIAL_BYTES:
        raise CredentialError("credential_too_large", "the JWT exceeds the size verified here")
    header = jwt_header(token)
    if header.get("alg") != JWT_ALG:
        raise CredentialError("jwt_alg_unsupported", f"alg must be {JWT_ALG}")
    if header.get("typ") != JWT_TYP:
        raise CredentialError("jwt_typ_invalid", f"typ must be {JWT_TYP}")
    if "crit" in header:
        raise CredentialError("jwt_crit_unsupported", "no critical header extension is understood here")
    header_part, payload_part, signature_part = token.split(".")
    _verify(
        _key_for(keys, header.get("kid")),
        base64url_decode(signature_part),
        f"{header_part}.{payload_part}".encode("ascii"),
    )
    return _json_object(base64url_decode(payload_part), what="JWT payload")


# --- Data Integrity eddsa-jcs-2022 -------------------------------------------------------------


def _config_hash(unsecured: Mapping[str, Any], proof_options: Mapping[str, Any]) -> bytes:
    """§3.3.5 proof configuration, canonicalised and hashed (§3.3.4)."""
    if proof_options.get("type") != PROOF_TYPE or proof_options.get("cryptosuite") != CRYPTOSUITE:
        raise CredentialError("proof_type_invalid", f"the proof must be a {PROOF_TYPE} of {CRYPTOSUITE}")
    proof_config = dict(proof_options)
    if "@context" in unsecured:
        proof_config["@context"] = unsecured["@context"]
    return sha256(canonical_json(proof_config))


def _hash_data(unsecured: Mapping[str, Any], proof_options: Mapping[str, Any]) -> bytes:
    """§3.3.5 proof configuration, §3.3.3 transformation and §3.3.4 hashing."""
    return _config_hash(unsecured, proof_options) + sha256(canonical_json(unsecured))


def _proof_options(credential: Mapping[str, Any], *, verification_method: str, created: str) -> dict[str, Any]:
    proof: dict[str, Any] = {}
    if "@context" in credential:  # §3.3.1 step 2: the proof carries the document's context
        proof["@context"] = copy.deepcopy(credential["@context"])
    proof |= {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": verification_method,
        "proofPurpose": ASSERTION_METHOD,
    }
    return proof


def di_sign(
    credential: Mapping[str, Any],
    *,
    private_key: Ed25519PrivateKey,
    verification_method: str,
    created: datetime,
) -> dict[str, Any]:
    """The credential with an ``eddsa-jcs-2022`` proof (§3.3.1 Create Proof)."""
    if "proof" in credential:
        raise CredentialError("credential_secured", "the credential already carries a proof")
    proof = _proof_options(credential, verification_method=verification_method, created=xsd_datetime(created))
    proof["proofValue"] = multibase_base58btc(private_key.sign(_hash_data(credential, proof)))
    # A new top-level object; nested values are shared with ``credential``, which is not changed.
    return {**credential, "proof": proof}


class Signer:
    """One key signing many credentials in both forms at one time (an issuing batch).

    What all of them share is computed once: the JWT's protected header, and per ``@context``
    the proof configuration's hash and JSON. Each credential then costs its two signatures and
    a few string joins, on the bytes of ``canonicalised``.
    """

    def __init__(
        self, *, private_key: Ed25519PrivateKey, kid: str, verification_method: str, created: datetime
    ) -> None:
        self._private_key = private_key
        self._header_part = _jwt_header_part(kid)
        self._verification_method = verification_method
        self._created = xsd_datetime(created)
        # JSON of a credential's @context (absent: "") -> its proof configuration's hash, and the
        # proof's JSON up to where its proofValue goes.
        self._proofs: dict[str, tuple[bytes, str]] = {}

    def jwt(self, canonical: Canonical) -> str:
        """The ``vc+jwt`` whose payload is ``canonical.data``."""
        return _jwt(self._header_part, canonical.data, self._private_key)

    def data_integrity(self, canonical: Canonical) -> str:
        """The ``eddsa-jcs-2022`` form as JSON text: the credential's RFC 8785 members, then ``proof``.

        The document hash is ``canonical.digest``: SHA-256 of the same JCS bytes ``di_verify``
        rebuilds from the parsed text once the proof is taken out.
        """
        config_hash, proof_head = self._proof(canonical.credential)
        signature = self._private_key.sign(config_hash + canonical.digest)
        members = canonical.data.decode("utf-8")[1:-1]
        separator = "," if members else ""
        return f'{{{members}{separator}"proof":{proof_head},"proofValue":"{multibase_base58btc(signature)}"}}}}'

    def _proof(self, credential: Mapping[str, Any]) -> tuple[bytes, str]:
        context_key = json.dumps(credential["@context"]) if "@context" in credential else ""
        known = self._proofs.get(context_key)
        if known is None:
            options = _proof_options(credential, verification_method=self._verification_method, created=self._created)
            head = json.dumps(options, ensure_ascii=False, separators=(",", ":"))[:-1]
            known = self._proofs[context_key] = (_config_hash(credential, options), head)
        return known


def di_verify(
    secured: Mapping[str, Any], *, keys: Mapping[str, bytes], purpose: str = ASSERTION_METHOD
) -> dict[str, Any]:
    """The proof of ``secured`` once it verifies (§3.3.2 Verify Proof), else ``CredentialError``.

    One proof only: a proof set or chain is refused rather than half-checked.
    """
    proof = secured.get("proof")
    if not isinstance(proof, dict):
        raise CredentialError("proof_missing", "the credential carries no single proof object")
    unsecured = {key: value for key, value in secured.items() if key != "proof"}
    options = {key: value for key, value in proof.items() if key != "proofValue"}
    if options.get("proofPurpose") != purpose:
        raise CredentialError("proof_purpose_invalid", f"the proof's purpose must be {purpose}")
    if "previousProof" in options:
        raise CredentialError("proof_chain_unsupported", "proof chains are not verified here")
    if "@context" in options:
        wanted = _as_list(options["@context"])
        if _as_list(unsecured.get("@context"))[: len(wanted)] != wanted:
            raise CredentialError("proof_context_mismatch", "the document's @context does not start with the proof's")
        unsecured["@context"] = options["@context"]
    value = proof.get("proofValue")
    if not isinstance(value, str):
        raise CredentialError("proof_value_missing", "the proof has no proofValue")
    signature = multibase_base58btc_decode(value)
    _verify(_key_for(keys, options.get("verificationMethod")), signature, _hash_data(unsecured, options))
    return dict(proof)


def _as_list(value: object) -> list[object]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
