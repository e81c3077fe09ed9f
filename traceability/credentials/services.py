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
(the privacy considerations of Bitstring Status List v1.0 ask for this); a list takes new credentials until half its
bits are handed out, which keeps a random draw at two tries or fewer on average, then a new
list is opened.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import IntegrityError, connection, transaction
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
from traceability.writer import (
    MAX_BATCH_DOCUMENTS,
    append_prepared,
    custodial_signer,
    prepare_signed,
    take_append_lock,
)

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
LIST_BITS = statuslist.MINIMUM_BITS
# A list stops taking credentials when this many of its bits are handed out (see the docstring).
LIST_FILL_LIMIT = LIST_BITS // 2
MAX_DRAWS = 64
SUBJECT_MAX_LENGTH = 500
# JSON written for storage and serving: compact, UTF-8, key order as built.
_COMPACT = {"ensure_ascii": False, "separators": (",", ":")}


def _sign_status_list(
    status_list: StatusList, *, key: SigningKey, private_key: Ed25519PrivateKey, now: datetime
) -> None:
    organisation = status_list.organisation
    unsecured = statuslist.status_list_credential(
        list_url=selectors.status_list_url(status_list),
        issuer=selectors.organisation_did(organisation),
        purpose=str(status_list.purpose),
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


def _open_list(organisation: Organisation, purpose: str, *, full: frozenset[int] = frozenset()) -> StatusList:
    """The organisation's list that takes new credentials, locked; a new one when none has room.

    ``full``: lists this transaction has filled, whose stored count is not yet written."""
    status_list = (
        StatusList.objects.select_for_update()
        .select_related("organisation")
        .filter(organisation=organisation, purpose=purpose, allocated__lt=LIST_FILL_LIMIT)
        .exclude(pk__in=full)
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
        return _open_list(organisation, purpose, full=full)


class _Allocator:
    """Random free indices of the organisation's open lists, for one transaction's credentials.

    A list's taken indices are read once (one query, at most ``LIST_FILL_LIMIT`` integers), and
    draws are made in memory; a list that reaches ``LIST_FILL_LIMIT`` is left for a new one.
    """

    def __init__(self, organisation: Organisation, purpose: str) -> None:
        self.organisation, self.purpose = organisation, purpose
        self.status_list: StatusList | None = None
        self.taken: set[int] = set()
        self.touched: list[StatusList] = []

    def draw(self) -> tuple[StatusList, int]:
        if self.status_list is None or self.status_list.allocated >= LIST_FILL_LIMIT:
            full = frozenset(status_list.pk for status_list in self.touched)
            self.status_list = _open_list(self.organisation, self.purpose, full=full)
            self.taken = set(
                Credential.objects.filter(status_list=self.status_list).values_list("status_index", flat=True)
            )
            self.touched.append(self.status_list)
        for _ in range(MAX_DRAWS):
            index = secrets.randbelow(LIST_BITS)
            if index not in self.taken:
                self.taken.add(index)
                self.status_list.allocated += 1
                return self.status_list, index
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
    # Only top-level members are set (id, issuer, validFrom, credentialStatus): a shallow copy
    # leaves the caller's dict as it was.
    return dict(credential)


def _append_fact(
    organisation: Organisation, kind: str, document: dict[str, object], private_key: Ed25519PrivateKey
) -> LedgerEntry:
    (entry,) = append_prepared([prepare_signed(organisation, kind, document, private_key)])
    return entry


@dataclass(frozen=True)
class CredentialRequest:
    """One credential to issue: its kind, what it is about, its unsecured content, whether it is public."""

    kind: str
    subject: str
    credential: dict[str, Any]
    public: bool = False


def _request_checked(request: CredentialRequest, position: int, count: int) -> dict[str, Any]:
    try:
        if request.kind not in CredentialKind.values:
            raise ApplicationError("credential_kind_unknown", f"kind must be one of {sorted(CredentialKind.values)}")
        if not request.subject or len(request.subject) > SUBJECT_MAX_LENGTH:
            raise ApplicationError("subject_invalid", "a credential names its subject in at most 500 characters")
        return _checked(request.credential)
    except ApplicationError as error:
        raise error.at_position(position, count) from None


@transaction.atomic
def credentials_issue(*, organisation: Organisation, requests: Sequence[CredentialRequest]) -> list[Credential]:
    """Issue several credentials as ``organisation`` in one transaction and one ledger append.

    All or nothing: a request that breaks a rule refuses the batch before anything is written.
    """
    if not 1 <= len(requests) <= MAX_BATCH_DOCUMENTS:
        raise ApplicationError("batch_size", f"issue between 1 and {MAX_BATCH_DOCUMENTS} credentials at once")
    unsecured_all = [_request_checked(r, position, len(requests)) for position, r in enumerate(requests)]
    # Lock order: the ledger's append lock before any status list row. An issuer holding a list
    # while waiting for the append lock, and an appender holding that lock while waiting for the
    # list, would deadlock; the append below needs the lock anyway.
    take_append_lock()
    key, private_key = custodial_signer(organisation)
    now = timezone.now()
    did = selectors.organisation_did(organisation)
    method, kid = selectors.verification_methods(organisation, key.key_id)
    public_ids = [uuid.uuid4() for _ in requests]
    for unsecured, public_id in zip(unsecured_all, public_ids, strict=True):
        unsecured.setdefault("id", f"urn:uuid:{public_id}")
    ids = [unsecured["id"] for unsecured in unsecured_all]
    repeated = (
        set(ids)
        if len(set(ids)) < len(ids)
        else set(Credential.objects.filter(credential_id__in=ids).values_list("credential_id", flat=True))
    )
    if repeated:
        raise ApplicationError("credential_exists", f"credential {sorted(repeated)[0]} was issued already", status=409)
    allocator = _Allocator(organisation, StatusPurpose.REVOCATION.value)
    facts, rows = [], []
    for request, unsecured, public_id in zip(requests, unsecured_all, public_ids, strict=True):
        unsecured["issuer"] = _issuer(unsecured, did)
        unsecured.setdefault("validFrom", xsd_datetime(now))
        status_list, index = allocator.draw()
        list_url = selectors.status_list_url(status_list)
        unsecured["credentialStatus"] = statuslist.status_entry(
            list_url=list_url, index=index, purpose=StatusPurpose.REVOCATION.value
        )
        try:
            digest = credential_digest(unsecured).hex()
        except CredentialError as exc:
            raise ApplicationError.from_ledger(exc) from exc
        fact = {
            "type": "CredentialIssued",
            "organisation": organisation.slug,
            "credentialId": unsecured["id"],
            "credentialKind": request.kind,
            "subject": request.subject,
            "digest": digest,
            "statusListCredential": list_url,
            "statusListIndex": index,
        }
        facts.append(prepare_signed(organisation, KIND_CREDENTIAL_ISSUED, fact, private_key))
        rows.append(
            Credential(
                public_id=public_id,
                credential_id=unsecured["id"],
                organisation=organisation,
                kind=request.kind,
                subject=request.subject,
                public=request.public,
                status_list=status_list,
                status_index=index,
                key_id=key.key_id,
                digest=digest,
                created_at=now,
            )
        )
    # The digests are in the ledger before anything is signed with them.
    entries = append_prepared(facts)
    for row, unsecured, entry in zip(rows, unsecured_all, entries, strict=True):
        row.anchor_seq = entry.seq
        row.jwt = jwt_sign(unsecured, private_key=private_key, kid=kid)
        secured = di_sign(unsecured, private_key=private_key, verification_method=method, created=now)
        row.secured_json = json.dumps(secured, **_COMPACT)
    rows = _insert_credentials(rows)
    for status_list in allocator.touched:
        if status_list.jwt:
            status_list.save(update_fields=["allocated"])
        else:  # a new list: signed once now, so its URL answers before any flip
            _sign_status_list(status_list, key=key, private_key=private_key, now=now)
    return rows


_COPY_COLUMNS = (
    "public_id",
    "credential_id",
    "organisation_id",
    "kind",
    "subject",
    "public",
    "status_list_id",
    "status_index",
    "key_id",
    "jwt",
    "secured_json",
    "digest",
    "anchor_seq",
    "state",
    "created_at",
)


def _insert_credentials(rows: list[Credential]) -> list[Credential]:
    """Insert the rows (on PostgreSQL with COPY, as the ledger writer does: the ORM's bulk INSERT
    spends most of its time quoting the signed texts in Python) and read them back, in order."""
    if connection.vendor != "postgresql":
        return Credential.objects.bulk_create(rows)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {Credential._meta.db_table} ({', '.join(_COPY_COLUMNS)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(tuple(getattr(row, column) for column in _COPY_COLUMNS))
    stored = Credential.objects.select_related("organisation", "status_list").in_bulk(
        [row.public_id for row in rows], field_name="public_id"
    )
    return [stored[row.public_id] for row in rows]


def credential_issue(
    *, organisation: Organisation, kind: str, subject: str, credential: dict[str, Any], public: bool = False
) -> Credential:
    """Sign ``credential`` as ``organisation`` and anchor it in the ledger (see the module docstring)."""
    (issued,) = credentials_issue(
        organisation=organisation,
        requests=[CredentialRequest(kind=kind, subject=subject, credential=credential, public=public)],
    )
    return issued


def _flip(
    *, organisation: Organisation, credential: Credential, state: str, reason: str, superseded_by: Credential | None
) -> Credential:
    if credential.organisation_id != organisation.pk:
        raise ApplicationError("credential_not_yours", "only the issuer changes a credential's status", status=403)
    take_append_lock()  # before the list's row: the lock order of credentials_issue
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
        "statusPurpose": str(status_list.purpose),
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
