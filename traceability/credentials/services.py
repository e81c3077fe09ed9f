"""Writes of credentials: issue, supersede, revoke, and the status lists behind them.

Issuing a credential (``credential_issue``):

1. the credential gets its id (``urn:uuid:`` unless it has one), the issuer's DID, ``validFrom``
   and a ``credentialStatus`` entry: a random free bit of the issuer's revocation list;
2. the SHA-256 of its RFC 8785 form is appended to the ledger as a ``credential.issued`` fact,
   signed by the issuing organisation's custodial key, as its events are;
3. the same key signs it twice: a ``vc+jwt`` and an ``eddsa-jcs-2022`` Data Integrity proof,
   both kept byte for byte.

Superseding or revoking sets the credential's bit, appends a ``credential.status`` fact and
re-signs the list. Status indices are drawn at random (``secrets``) among the free bits of a
list, not in sequence, so an index says nothing of when or how many credentials were issued
(Bitstring Status List v1.0 §6.4 recommends this); a list takes new credentials until half its
bits are handed out, which keeps a random draw at two tries or fewer on average, then a new
list is opened.
"""

from __future__ import annotations

import copy
import json
import secrets
import uuid
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from traceability.choices import CredentialKind, CredentialState, StatusPurpose
from traceability.credentials import selectors
from traceability.credentials.core import statuslist
from traceability.credentials.core.errors import CredentialError
from traceability.credentials.core.securing import credential_digest, di_sign, jwt_sign, xsd_datetime
from traceability.errors import ApplicationError
from traceability.ledger.chain import KIND_CREDENTIAL_ISSUED, KIND_CREDENTIAL_STATUS
from traceability.models import Credential, LedgerEntry, Organisation, SigningKey, StatusList
from traceability.writer import append_prepared, custodial_signer, prepare_signed

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
LIST_BITS = statuslist.MINIMUM_BITS
# A list stops taking credentials when this many of its bits are handed out (see the docstring).
LIST_FILL_LIMIT = LIST_BITS // 2
MAX_DRAWS = 64
# JSON written for storage and serving: compact, UTF-8, key order as built.
_COMPACT = {"ensure_ascii": False, "separators": (",", ":")}


def _sign_status_list(
    status_list: StatusList, *, key: SigningKey, private_key: Ed25519PrivateKey, now: datetime
) -> None:
    organisation = status_list.organisation
    unsecured = statuslist.status_list_credential(
        list_url=selectors.status_list_url(status_list),
        issuer=selectors.organisation_did(organisation),
        purpose=status_list.purpose,
        bitstring=bytes(status_list.bits),
        valid_from=xsd_datetime(now),
    )
    method, kid = selectors.verification_methods(organisation, key.key_id)
    status_list.jwt = jwt_sign(unsecured, private_key=private_key, kid=kid)
    status_list.secured_json = json.dumps(
        di_sign(unsecured, private_key=private_key, verification_method=method, created=now), **_COMPACT
    )
    status_list.signed_at = now
    status_list.save(update_fields=["bits", "allocated", "jwt", "secured_json", "signed_at"])


def _open_list(organisation: Organisation, purpose: str) -> StatusList:
    """The organisation's list that takes new credentials, locked; a new one when none has room."""
    status_list = (
        StatusList.objects.select_for_update()
        .select_related("organisation")
        .filter(organisation=organisation, purpose=purpose, allocated__lt=LIST_FILL_LIMIT)
        .order_by("number")
        .first()
    )
    if status_list is not None:
        return status_list
    number = (StatusList.objects.filter(organisation=organisation).aggregate(top=Max("number"))["top"] or 0) + 1
    try:
        with transaction.atomic():
            return StatusList.objects.create(
                organisation=organisation,
                number=number,
                purpose=purpose,
                bits=bytes(statuslist.empty_bitstring(LIST_BITS)),
            )
    except IntegrityError:  # another issuance opened this number meanwhile: take the list it opened
        return _open_list(organisation, purpose)


def _draw_index(status_list: StatusList) -> int:
    for _ in range(MAX_DRAWS):
        index = secrets.randbelow(LIST_BITS)
        if not Credential.objects.filter(status_list=status_list, status_index=index).exists():
            return index
    raise ApplicationError("status_list_full", "no free status bit found; try again", status=503)


def _issuer(credential: dict[str, Any], did: str) -> str | dict[str, Any]:
    issuer = credential.get("issuer")
    if issuer is None or issuer == did:
        return did
    if isinstance(issuer, dict) and issuer.get("id") in (None, did):
        return {**issuer, "id": did}
    raise ApplicationError("issuer_invalid", f"the credential's issuer must be the organisation's DID {did}")


def _checked(credential: object) -> dict[str, Any]:
    if not isinstance(credential, dict):
        raise ApplicationError("credential_malformed", "a credential is a JSON object")
    context = credential.get("@context")
    if not isinstance(context, list) or not context or context[0] != VC_V2_CONTEXT:
        raise ApplicationError("credential_malformed", f"the credential's @context must start with {VC_V2_CONTEXT}")
    types = credential.get("type")
    if not isinstance(types, list) or "VerifiableCredential" not in types:
        raise ApplicationError("credential_malformed", "the credential's type must include VerifiableCredential")
    for field in ("proof", "credentialStatus"):
        if field in credential:
            raise ApplicationError("credential_malformed", f"the issuer sets {field}; leave it out")
    if "id" in credential and not isinstance(credential["id"], str):
        raise ApplicationError("credential_malformed", "the credential's id must be a URL")
    return copy.deepcopy(credential)


def _append_fact(
    organisation: Organisation, kind: str, document: dict[str, object], private_key: Ed25519PrivateKey
) -> LedgerEntry:
    (entry,) = append_prepared([prepare_signed(organisation, kind, document, private_key)])
    return entry


@transaction.atomic
def credential_issue(
    *, organisation: Organisation, kind: str, subject: str, credential: dict[str, Any], public: bool = False
) -> Credential:
    """Sign ``credential`` as ``organisation`` and anchor it in the ledger (see the module docstring)."""
    if kind not in CredentialKind.values:
        raise ApplicationError("credential_kind_unknown", f"kind must be one of {sorted(CredentialKind.values)}")
    if not subject or len(subject) > Credential._meta.get_field("subject").max_length:  # type: ignore[operator]
        raise ApplicationError("subject_invalid", "a credential names its subject in at most 500 characters")
    unsecured = _checked(credential)
    key, private_key = custodial_signer(organisation)
    now = timezone.now()
    public_id = uuid.uuid4()
    unsecured.setdefault("id", f"urn:uuid:{public_id}")
    if Credential.objects.filter(credential_id=unsecured["id"]).exists():
        raise ApplicationError("credential_exists", f"credential {unsecured['id']} was issued already", status=409)
    unsecured["issuer"] = _issuer(unsecured, selectors.organisation_did(organisation))
    unsecured.setdefault("validFrom", xsd_datetime(now))
    status_list = _open_list(organisation, StatusPurpose.REVOCATION)
    index = _draw_index(status_list)
    list_url = selectors.status_list_url(status_list)
    unsecured["credentialStatus"] = statuslist.status_entry(
        list_url=list_url, index=index, purpose=StatusPurpose.REVOCATION
    )
    try:
        digest = credential_digest(unsecured).hex()
    except CredentialError as exc:
        raise ApplicationError.from_ledger(exc) from exc
    entry = _append_fact(
        organisation,
        KIND_CREDENTIAL_ISSUED,
        {
            "type": "CredentialIssued",
            "organisation": organisation.slug,
            "credentialId": unsecured["id"],
            "credentialKind": kind,
            "subject": subject,
            "digest": digest,
            "statusListCredential": list_url,
            "statusListIndex": index,
        },
        private_key,
    )
    method, kid = selectors.verification_methods(organisation, key.key_id)
    secured = di_sign(unsecured, private_key=private_key, verification_method=method, created=now)
    record = Credential.objects.create(
        public_id=public_id,
        credential_id=unsecured["id"],
        organisation=organisation,
        kind=kind,
        subject=subject,
        public=public,
        status_list=status_list,
        status_index=index,
        key_id=key.key_id,
        jwt=jwt_sign(unsecured, private_key=private_key, kid=kid),
        secured_json=json.dumps(secured, **_COMPACT),
        digest=digest,
        anchor_seq=entry.seq,
        created_at=now,
    )
    status_list.allocated += 1
    if status_list.jwt:
        status_list.save(update_fields=["allocated"])
    else:  # a new list: signed once now, so its URL answers before any flip
        _sign_status_list(status_list, key=key, private_key=private_key, now=now)
    return record


def _flip(
    *, organisation: Organisation, credential: Credential, state: str, reason: str, superseded_by: Credential | None
) -> Credential:
    if credential.organisation_id != organisation.pk:
        raise ApplicationError("credential_not_yours", "only the issuer changes a credential's status", status=403)
    status_list = (
        StatusList.objects.select_for_update().select_related("organisation").get(pk=credential.status_list_id)
    )
    credential = Credential.objects.select_for_update().get(pk=credential.pk)
    if credential.state != CredentialState.CURRENT:
        raise ApplicationError("credential_not_current", f"the credential is already {credential.state}", status=409)
    key, private_key = custodial_signer(organisation)
    bits = bytearray(status_list.bits)
    statuslist.bit_set(bits, credential.status_index, True)
    document: dict[str, object] = {
        "type": "CredentialStatusChanged",
        "organisation": organisation.slug,
        "credentialId": credential.credential_id,
        "statusListCredential": selectors.status_list_url(status_list),
        "statusListIndex": credential.status_index,
        "statusPurpose": status_list.purpose,
        "status": True,
        "reason": reason,
    }
    if superseded_by is not None:
        document["supersededBy"] = superseded_by.credential_id
    entry = _append_fact(organisation, KIND_CREDENTIAL_STATUS, document, private_key)
    status_list.bits = bytes(bits)
    _sign_status_list(status_list, key=key, private_key=private_key, now=timezone.now())
    credential.state = state
    credential.state_seq = entry.seq
    credential.superseded_by = superseded_by
    credential.save(update_fields=["state", "state_seq", "superseded_by"])
    return credential


@transaction.atomic
def credential_supersede(*, organisation: Organisation, credential: Credential, by: Credential) -> Credential:
    """``by`` replaces ``credential`` (a newer passport version): the old one's revocation bit is set."""
    if by.organisation_id != credential.organisation_id or by.pk == credential.pk:
        raise ApplicationError("supersession_invalid", "a credential is superseded by another of its issuer's")
    return _flip(
        organisation=organisation,
        credential=credential,
        state=CredentialState.SUPERSEDED,
        reason="superseded",
        superseded_by=by,
    )


@transaction.atomic
def credential_revoke(*, organisation: Organisation, credential: Credential, reason: str) -> Credential:
    """Withdraw a claim (a ceased passport, a withdrawn declaration): its revocation bit is set."""
    reason = reason.strip()
    if not reason or len(reason) > 200:
        raise ApplicationError("reason_invalid", "a revocation gives its reason in at most 200 characters")
    return _flip(
        organisation=organisation,
        credential=credential,
        state=CredentialState.REVOKED,
        reason=reason,
        superseded_by=None,
    )
