"""Writes of credentials: issue, supersede, revoke, and the status lists behind them.

Issuing credentials (``credentials_issue``, a batch in one transaction):

1. each credential gets its id (``urn:uuid:`` unless it has one), the issuer's DID, ``validFrom``
   and a ``credentialStatus`` entry: a random free bit of the issuer's revocation list;
2. one ``credential.issued`` fact of type ``CredentialsIssued``, signed by the issuing
   organisation's custodial key as its events are, lists every credential of the batch: its id,
   kind, subject, status bit and ``digest``, the SHA-256 of its RFC 8785 form (a batch too large
   for one ledger document is split over as few facts as fit, in order);
3. the same key signs each credential twice: a ``vc+jwt`` and an ``eddsa-jcs-2022`` Data
   Integrity proof, both over the RFC 8785 bytes the digest hashes, both kept byte for byte.

Superseding or revoking credentials (``credentials_supersede_many``, ``credentials_revoke_many``;
one credential: ``credential_supersede``, ``credential_revoke``) sets their bits, appends one
``credential.status`` fact listing each change and re-signs each touched list once. Status
indices are drawn at random (``secrets``) among the free bits of a
list, not in sequence, so an index says nothing of when or how many credentials were issued
(the privacy considerations of Bitstring Status List v1.0 ask for this); a list takes new credentials until half its
bits are handed out, which keeps a random draw at two tries or fewer on average, then a new
list is opened.
"""

from __future__ import annotations

import json
import os
import secrets
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from traceability.choices import CredentialKind, CredentialState, StatusPurpose
from traceability.credentials import selectors
from traceability.credentials.core import statuslist
from traceability.credentials.core.securing import Canonical, Signer, canonicalised, di_sign, jwt_sign, xsd_datetime
from traceability.errors import ApplicationError
from traceability.ledger.chain import KIND_CREDENTIAL_ISSUED, KIND_CREDENTIAL_STATUS
from traceability.ledger.errors import LedgerError
from traceability.models import Credential, Organisation, SigningKey, StatusList
from traceability.writer import (
    MAX_BATCH_DOCUMENTS,
    MAX_DOCUMENT_BYTES,
    append_prepared,
    custodial_signer,
    prepare_signed,
    take_append_lock,
)

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
LIST_BITS = statuslist.MINIMUM_BITS
# A list stops taking credentials when this many of its bits are handed out (see the docstring).
LIST_FILL_LIMIT = LIST_BITS // 2
# Candidates drawn beyond twice the wanted indices, and rounds of drawing before giving up: a
# round finds no free bit of a list at most half full with probability 2**-DRAW_MARGIN or less.
DRAW_MARGIN = 16
MAX_DRAW_ROUNDS = 4
SUBJECT_MAX_LENGTH = 500
# ``CredentialKind.values`` builds a new list at each read.
_KINDS = frozenset(CredentialKind.values)
CREDENTIAL_ID_MAX_LENGTH = 500
# The ledger fact that anchors a batch: one fact lists every credential of the batch.
CREDENTIALS_ISSUED = "CredentialsIssued"
# The ledger fact of a batch of status flips, listing each.
CREDENTIAL_STATUS_CHANGED = "CredentialStatusChanged"
REASON_MAX_LENGTH = 200
# Room left under the ledger's document limit for the fact's own members.
_FACT_BUDGET = MAX_DOCUMENT_BYTES - 1024
_LISTED_OVERHEAD = 160
# Batches of at least this many credentials are signed on every core, this many per task: enough
# to amortise the hand-over, few enough that the first rows are written early.
PARALLEL_SIGNING_THRESHOLD = 16
SIGNING_CHUNK = 25
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


def _taken_indices(status_list: StatusList, candidates: list[int]) -> set[int]:
    """Which of ``candidates`` are bits of stored credentials of ``status_list``.

    On PostgreSQL the candidates go as one array parameter: a batch's few hundred placeholders
    of an ``IN`` list cost more to build and parse than the lookup itself."""
    if connection.vendor != "postgresql":
        found = Credential.objects.filter(status_list=status_list, status_index__in=candidates)
        return set(found.values_list("status_index", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status_index FROM traceability_credential WHERE status_list_id = %s AND status_index = ANY(%s)",
            [status_list.pk, candidates],
        )
        return {index for (index,) in cursor.fetchall()}


def _issued_ids(ids: list[str]) -> set[str]:
    """Which of ``ids`` name stored credentials (one array parameter on PostgreSQL, as above)."""
    if connection.vendor != "postgresql":
        return set(Credential.objects.filter(credential_id__in=ids).values_list("credential_id", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT credential_id FROM traceability_credential WHERE credential_id = ANY(%s)", [ids])
        return {credential_id for (credential_id,) in cursor.fetchall()}


class _Allocator:
    """Random free indices of the organisation's open lists, for one transaction's credentials.

    Indices are drawn uniformly over a list's bits and taken ones are drawn again (rejection
    sampling: each index handed out is uniform among the free ones). Candidates for the whole
    batch are checked against the stored credentials in one query, so the cost follows the batch,
    not the list. A list under ``LIST_FILL_LIMIT`` has at least half its bits free, so twice the
    wanted candidates (and a margin) almost always suffice; a list that reaches the limit is left
    for a new one.
    """

    def __init__(self, organisation: Organisation, purpose: str, *, wanted: int) -> None:
        self.organisation, self.purpose, self.wanted = organisation, purpose, wanted
        self.status_list: StatusList | None = None
        self.handed = 0
        # Of the current list: indices handed out in this transaction, and checked free candidates in draw order.
        self.picked: set[int] = set()
        self.free: list[int] = []
        self.touched: list[StatusList] = []

    def draw(self) -> tuple[StatusList, int]:
        if self.status_list is None or self.status_list.allocated >= LIST_FILL_LIMIT:
            full = frozenset(status_list.pk for status_list in self.touched)
            self.status_list = _open_list(self.organisation, self.purpose, full=full)
            self.picked, self.free = set(), []
            self.touched.append(self.status_list)
        if not self.free:
            self.free = self._free_candidates(self.status_list)
        index = self.free.pop()
        self.picked.add(index)
        self.status_list.allocated += 1
        self.handed += 1
        return self.status_list, index

    def _free_candidates(self, status_list: StatusList) -> list[int]:
        room = min(self.wanted - self.handed, LIST_FILL_LIMIT - status_list.allocated)
        for _ in range(MAX_DRAW_ROUNDS):
            drawn = [secrets.randbelow(LIST_BITS) for _ in range(2 * room + DRAW_MARGIN)]
            candidates = [index for index in dict.fromkeys(drawn) if index not in self.picked]
            taken = _taken_indices(status_list, candidates)
            free = [index for index in candidates if index not in taken]
            if free:
                return free[::-1]  # popped from the end: handed out in draw order
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
    if "id" in credential and not (
        isinstance(credential["id"], str) and 0 < len(credential["id"]) <= CREDENTIAL_ID_MAX_LENGTH
    ):
        raise ApplicationError(
            "credential_malformed", f"the credential's id must be a URL of 1 to {CREDENTIAL_ID_MAX_LENGTH} characters"
        )
    # Only top-level members are set (id, issuer, validFrom, credentialStatus): a shallow copy
    # leaves the caller's dict as it was.
    return dict(credential)


@dataclass(frozen=True)
class CredentialRequest:
    """One credential to issue: its kind, what it is about, its unsecured content, whether it is public."""

    kind: str
    subject: str
    credential: dict[str, Any]
    public: bool = False


def _request_checked(request: CredentialRequest, position: int, count: int) -> dict[str, Any]:
    try:
        if request.kind not in _KINDS:
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
    repeated = set(ids) if len(set(ids)) < len(ids) else _issued_ids(ids)
    if repeated:
        raise ApplicationError("credential_exists", f"credential {sorted(repeated)[0]} was issued already", status=409)
    allocator = _Allocator(organisation, StatusPurpose.REVOCATION.value, wanted=len(requests))
    valid_from = xsd_datetime(now)
    listed, canonicals, rows = [], [], []
    for position, (request, unsecured, public_id) in enumerate(zip(requests, unsecured_all, public_ids, strict=True)):
        unsecured["issuer"] = _issuer(unsecured, did)
        unsecured.setdefault("validFrom", valid_from)
        status_list, index = allocator.draw()
        list_url = selectors.status_list_url(status_list)
        unsecured["credentialStatus"] = statuslist.status_entry(
            list_url=list_url, index=index, purpose=StatusPurpose.REVOCATION.value
        )
        try:
            canonical = canonicalised(unsecured)
        except LedgerError as exc:
            raise ApplicationError.from_ledger(exc).at_position(position, len(requests)) from exc
        digest = canonical.digest.hex()
        canonicals.append(canonical)
        listed.append(
            {
                "credentialId": unsecured["id"],
                "credentialKind": request.kind,
                "subject": request.subject,
                "digest": digest,
                "statusListCredential": list_url,
                "statusListIndex": index,
            }
        )
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
    anchors = _append_listing(
        organisation,
        KIND_CREDENTIAL_ISSUED,
        {"type": CREDENTIALS_ISSUED, "organisation": organisation.slug},
        listed,
        public=[request.public for request in requests],
        private_key=private_key,
    )
    for row, anchor_seq in zip(rows, anchors, strict=True):
        row.anchor_seq = anchor_seq
    signer = Signer(private_key=private_key, kid=kid, verification_method=method, created=now)
    _insert_credentials(rows, _secured_forms(signer, canonicals))
    for status_list in allocator.touched:
        if status_list.jwt:
            status_list.save(update_fields=["allocated"])
        else:  # a new list: signed once now, so its URL answers before any flip
            _sign_status_list(status_list, key=key, private_key=private_key, now=now)
    return rows


def _listed_size_bound(listed: dict[str, Any]) -> int:
    """An upper bound of the RFC 8785 size of one credential's member of a fact: a character takes
    at most 6 bytes (a ``\\u00XX`` escape), the names, numbers and punctuation fewer than
    ``_LISTED_OVERHEAD``."""
    return _LISTED_OVERHEAD + 6 * sum(len(value) for value in listed.values() if isinstance(value, str))


def _fact_parts(listed: Sequence[dict[str, Any]], *, public: Sequence[bool]) -> list[list[int]]:
    """Positions of ``listed`` split into as few ledger facts as fit the ledger's document size.

    A public credential's anchor serves its whole fact to anyone, so public and non-public
    credentials never share a fact: a public anchor names no credential its reader may not see.
    One fact for each almost always: a passport credential's member takes about 300 bytes, and
    even members with the longest id and subject allowed, all escaped, fit by the dozen.
    """
    parts: list[list[int]] = []
    for flag in dict.fromkeys(public):
        part: list[int] = []
        size = 0
        for position in (position for position, value in enumerate(public) if value == flag):
            bound = _listed_size_bound(listed[position])
            if part and size + bound > _FACT_BUDGET:
                parts.append(part)
                part, size = [], 0
            part.append(position)
            size += bound
        parts.append(part)
    return parts


def _append_listing(
    organisation: Organisation,
    kind: str,
    document: dict[str, Any],
    listed: Sequence[dict[str, Any]],
    *,
    public: Sequence[bool],
    private_key: Ed25519PrivateKey,
) -> list[int]:
    """Append ``document`` with ``credentials`` listing ``listed``, split by ``_fact_parts``, in one
    append; the ledger entry of each member of ``listed``."""
    parts = _fact_parts(listed, public=public)
    entries = append_prepared(
        [
            prepare_signed(
                organisation, kind, {**document, "credentials": [listed[position] for position in part]}, private_key
            )
            for part in parts
        ],
        locked=True,
    )
    seqs = [0] * len(listed)
    for entry, part in zip(entries, parts, strict=True):
        for position in part:
            seqs[position] = entry.seq
    return seqs


_COPY_COLUMNS = (
    "id",
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


def _sign_chunk(signer: Signer, chunk: Sequence[Canonical]) -> list[tuple[str, str]]:
    return [(signer.jwt(canonical), signer.data_integrity(canonical)) for canonical in chunk]


@lru_cache(maxsize=1)
def _signing_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="credential-signing")


def _secured_forms(signer: Signer, canonicals: Sequence[Canonical]) -> Iterator[tuple[str, str]]:
    """Each credential's ``vc+jwt`` and Data Integrity JSON, in order, as they are signed.

    Ed25519 signing releases the GIL, so a large batch is signed in chunks on every core (as the
    ledger writer checks signatures), and the caller writes the first rows while the rest are
    signed; a small batch is signed as it is consumed.
    """
    if len(canonicals) < PARALLEL_SIGNING_THRESHOLD:
        return (form for canonical in canonicals for form in _sign_chunk(signer, [canonical]))
    pool = _signing_pool()
    chunks = [canonicals[start : start + SIGNING_CHUNK] for start in range(0, len(canonicals), SIGNING_CHUNK)]
    futures = [pool.submit(_sign_chunk, signer, chunk) for chunk in chunks]
    return (form for future in futures for form in future.result())


def _insert_credentials(rows: list[Credential], forms: Iterator[tuple[str, str]]) -> None:
    """Set each row's signed forms from ``forms`` and insert the rows, giving each its primary key.

    On PostgreSQL the keys are drawn from the table's sequence in one query and the rows
    streamed with COPY as their forms arrive, so the server stores the first rows while the
    last are signed (the ORM's bulk INSERT would spend most of its time quoting the signed
    texts in Python, and reading the rows back to learn their keys as much again).
    """
    if connection.vendor != "postgresql":
        for row, (jwt, secured_json) in zip(rows, forms, strict=True):
            row.jwt, row.secured_json = jwt, secured_json
        Credential.objects.bulk_create(rows)
        return
    table = Credential._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, len(rows)]
        )
        # In drawing order, so that ids follow the batch's order as an INSERT's would.
        for row, (pk,) in zip(rows, sorted(cursor.fetchall()), strict=True):
            row.pk = pk
        with cursor.cursor.copy(f"COPY {table} ({', '.join(_COPY_COLUMNS)}) FROM STDIN") as copy:
            for row, (jwt, secured_json) in zip(rows, forms, strict=True):
                row.jwt, row.secured_json = jwt, secured_json
                copy.write_row(tuple(getattr(row, column) for column in _COPY_COLUMNS))
    for row in rows:
        row._state.adding = False
        row._state.db = connection.alias


def credential_issue(
    *, organisation: Organisation, kind: str, subject: str, credential: dict[str, Any], public: bool = False
) -> Credential:
    """Sign ``credential`` as ``organisation`` and anchor it in the ledger (see the module docstring)."""
    (issued,) = credentials_issue(
        organisation=organisation,
        requests=[CredentialRequest(kind=kind, subject=subject, credential=credential, public=public)],
    )
    return issued


def _flip_many(
    *,
    organisation: Organisation,
    changes: Sequence[tuple[Credential, Credential | None]],
    state: str,
    reason: str,
) -> list[Credential]:
    """Set the bits of ``changes`` (each a credential and its successor, if any) in one ledger fact
    (split only as ``_fact_parts`` splits an issuing batch's).

    Locks: the ledger's append lock, then the status lists' rows and the credentials' rows, each
    in primary-key order, so two flips (or a flip and an issuance) never wait on each other in
    a cycle. Each touched list is re-signed once, whatever number of its bits changed.
    """
    if not 1 <= len(changes) <= MAX_BATCH_DOCUMENTS:
        raise ApplicationError("batch_size", f"change between 1 and {MAX_BATCH_DOCUMENTS} credentials at once")
    for position, (credential, _) in enumerate(changes):
        if credential.organisation_id != organisation.pk:
            raise ApplicationError(
                "credential_not_yours", "only the issuer changes a credential's status", status=403
            ).at_position(position, len(changes))
    pks = [credential.pk for credential, _ in changes]
    if len(set(pks)) < len(pks):
        raise ApplicationError("credential_repeated", "a credential's status is changed once per batch")
    take_append_lock()  # before the lists' rows: the lock order of credentials_issue
    status_lists = {
        status_list.pk: status_list
        for status_list in StatusList.objects.select_for_update()
        .select_related("organisation")
        .filter(pk__in={credential.status_list_id for credential, _ in changes})
        .order_by("pk")
    }
    locked = Credential.objects.select_for_update().filter(pk__in=pks).order_by("pk").in_bulk()
    credentials = [locked[pk] for pk in pks]
    for position, credential in enumerate(credentials):
        if credential.state != CredentialState.CURRENT:
            raise ApplicationError(
                "credential_not_current", f"the credential is already {credential.state}", status=409
            ).at_position(position, len(changes))
    key, private_key = custodial_signer(organisation)
    bits = {pk: bytearray(status_list.bits) for pk, status_list in status_lists.items()}
    listed: list[dict[str, Any]] = []
    for credential, (_, superseded_by) in zip(credentials, changes, strict=True):
        status_list = status_lists[credential.status_list_id]
        statuslist.bit_set(bits[status_list.pk], credential.status_index, True)
        change: dict[str, Any] = {
            "credentialId": credential.credential_id,
            "statusListCredential": selectors.status_list_url(status_list),
            "statusListIndex": credential.status_index,
            "statusPurpose": str(status_list.purpose),
        }
        if superseded_by is not None:
            change["supersededBy"] = superseded_by.credential_id
        listed.append(change)
    state_seqs = _append_listing(
        organisation,
        KIND_CREDENTIAL_STATUS,
        {"type": CREDENTIAL_STATUS_CHANGED, "organisation": organisation.slug, "status": True, "reason": reason},
        listed,
        public=[credential.public for credential in credentials],
        private_key=private_key,
    )
    now = timezone.now()
    for pk, status_list in status_lists.items():
        status_list.bits = bytes(bits[pk])
        _sign_status_list(status_list, key=key, private_key=private_key, now=now)
    for credential, (_, superseded_by), state_seq in zip(credentials, changes, state_seqs, strict=True):
        credential.state = state
        credential.state_seq = state_seq
        credential.superseded_by = superseded_by
    Credential.objects.bulk_update(credentials, ["state", "state_seq", "superseded_by"])
    return credentials


@transaction.atomic
def credentials_supersede_many(
    *, organisation: Organisation, pairs: Sequence[tuple[Credential, Credential]]
) -> list[Credential]:
    """Each ``(credential, by)``: ``by`` replaces ``credential`` (a newer passport version), all in
    one transaction and one ``credential.status`` fact; the superseded credentials, in order."""
    for position, (credential, by) in enumerate(pairs):
        if by.organisation_id != credential.organisation_id or by.pk == credential.pk:
            raise ApplicationError(
                "supersession_invalid", "a credential is superseded by another of its issuer's"
            ).at_position(position, len(pairs))
    return _flip_many(
        organisation=organisation, changes=list(pairs), state=CredentialState.SUPERSEDED, reason="superseded"
    )


@transaction.atomic
def credentials_revoke_many(
    *, organisation: Organisation, credentials: Sequence[Credential], reason: str
) -> list[Credential]:
    """Withdraw claims (a ceased passport, a withdrawn declaration) for one ``reason``, in one
    transaction and one ``credential.status`` fact; the revoked credentials, in order."""
    reason = reason.strip()
    if not reason or len(reason) > REASON_MAX_LENGTH:
        raise ApplicationError(
            "reason_invalid", f"a revocation gives its reason in at most {REASON_MAX_LENGTH} characters"
        )
    return _flip_many(
        organisation=organisation,
        changes=[(credential, None) for credential in credentials],
        state=CredentialState.REVOKED,
        reason=reason,
    )


def credential_supersede(*, organisation: Organisation, credential: Credential, by: Credential) -> Credential:
    """``by`` replaces ``credential``: ``credentials_supersede_many`` of one pair."""
    (superseded,) = credentials_supersede_many(organisation=organisation, pairs=[(credential, by)])
    return superseded


def credential_revoke(*, organisation: Organisation, credential: Credential, reason: str) -> Credential:
    """Withdraw one claim: ``credentials_revoke_many`` of one credential."""
    (revoked,) = credentials_revoke_many(organisation=organisation, credentials=[credential], reason=reason)
    return revoked
