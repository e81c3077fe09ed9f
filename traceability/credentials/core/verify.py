"""Verify a credential offline against its issuer's DID document: the pure verifier.

``verify_credential`` takes the secured credential (the JSON with its ``eddsa-jcs-2022`` proof,
or the ``vc+jwt`` text), the issuer's DID document and, optionally, the status list credential
its ``credentialStatus`` names, all as fetched by the caller, and checks:

- the proof or JWT signature, with a key the document lists under ``assertionMethod``;
- that the signing method was not ``revoked`` before the proof's ``created`` (Controlled
  Identifiers 1.0 §2.2) and that the credential's issuer is the document's DID;
- when a status list is given: its own proof, by the same issuer, and the credential's bit.

Run as ``python -m traceability.credentials.core CREDENTIAL DID_JSON [STATUS_LIST_JSON]``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from traceability.credentials.core import securing, statuslist
from traceability.credentials.core.did import keys_of_document
from traceability.credentials.core.errors import CredentialError


@dataclass
class Verdict:
    verified: bool = False
    form: str = ""
    credential: dict[str, Any] = field(default_factory=dict)
    status_set: bool | None = None
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "verified": self.verified,
            "form": self.form,
            "id": self.credential.get("id"),
            "statusSet": self.status_set,
            "errors": self.errors,
        }


def _issuer_id(credential: dict[str, Any]) -> object:
    issuer = credential.get("issuer")
    return issuer.get("id") if isinstance(issuer, dict) else issuer


def _assertion_keys(document: dict[str, Any]) -> dict[str, bytes]:
    asserted = set(document.get("assertionMethod", []))
    return {method: key for method, key in keys_of_document(document).items() if method in asserted}


def _method(document: dict[str, Any], method_id: object) -> dict[str, Any]:
    for method in document.get("verificationMethod", []):
        if isinstance(method, dict) and method.get("id") == method_id:
            return method
    raise CredentialError("verification_method_unknown", f"the DID document lists no {method_id!r}")


def _instant(text: object, *, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError as exc:
        raise CredentialError("time_malformed", f"{what} is not an XSD dateTime: {text!r}") from exc
    if moment.utcoffset() is None:
        raise CredentialError("time_malformed", f"{what} has no time zone")
    return moment


def _signed_before_revocation(method: dict[str, Any], signed: object) -> None:
    """A revoked method verifies only what it signed before its ``revoked`` time."""
    if "revoked" not in method:
        return
    revoked = _instant(method["revoked"], what="the method's revoked")
    if signed is None or _instant(signed, what="the signing time") >= revoked:
        raise CredentialError("key_revoked", f"signed at or after its key's revocation ({method['revoked']})")


def _check_secured(text: str, document: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    keys = _assertion_keys(document)
    if text.lstrip().startswith("{"):
        secured = json.loads(text)
        if not isinstance(secured, dict):
            raise CredentialError("credential_malformed", "the credential is not a JSON object")
        proof = securing.di_verify(secured, keys=keys)
        credential = {key: value for key, value in secured.items() if key != "proof"}
        _signed_before_revocation(_method(document, proof["verificationMethod"]), proof.get("created"))
        form = securing.CRYPTOSUITE
    else:
        token = text.strip()
        credential = securing.jwt_verify(token, keys=keys)
        # A vc+jwt carries no signing time of its own: the credential's validFrom stands for it.
        _signed_before_revocation(_method(document, securing.jwt_header(token).get("kid")), credential.get("validFrom"))
        form = securing.JWT_MEDIA_TYPE
    if _issuer_id(credential) != document.get("id"):
        raise CredentialError("issuer_mismatch", "the credential's issuer is not the DID document's subject")
    return form, credential


def verify_credential(text: str, *, did_document: dict[str, Any], status_list: str | None = None) -> Verdict:
    verdict = Verdict()
    try:
        verdict.form, verdict.credential = _check_secured(text, did_document)
        verdict.verified = True
        entry = verdict.credential.get("credentialStatus")
        if status_list is not None and isinstance(entry, dict):
            _, listed = _check_secured(status_list, did_document)
            verdict.status_set = statuslist.status_of(entry, listed)
    except (CredentialError, ValueError) as error:
        verdict.verified = False
        verdict.errors.append(str(error))
    return verdict
