"""Reads of credentials: URLs and DIDs, DID documents, credentials by handle, status lists, proofs.

A credential marked public is anyone's to read; any other is for the readers of its issuer's
documents (the issuer, regulators and the operator: ``visibility.documents_readable_by``): to
anyone else it does not exist.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from traceability.credentials.core.did import KeyValidity, did_document, jwk_fragment, multikey_fragment
from traceability.credentials.core.did import organisation_did as did_of
from traceability.errors import ApplicationError
from traceability.ledger.chain import REASON_ROTATED
from traceability.models import Credential, LedgerEntry, Organisation, SigningKey, StatusList
from traceability.tlog.proofs import ledger_fact, ledger_proof
from traceability.visibility import documents_readable_by


def base_url() -> str:
    return str(settings.CREDENTIALS_BASE_URL).rstrip("/")


def organisation_did(organisation: Organisation) -> str:
    return did_of(host=str(settings.CREDENTIALS_DID_HOST), slug=organisation.slug)


def verification_methods(organisation: Organisation, key_id: str) -> tuple[str, str]:
    """The Data Integrity verification method and the JWT ``kid`` of one of ``organisation``'s keys."""
    did = organisation_did(organisation)
    return did + multikey_fragment(key_id), did + jwk_fragment(key_id)


def status_list_url(status_list: StatusList) -> str:
    return f"{base_url()}/orgs/{status_list.organisation.slug}/status/{status_list.number}"


def credential_url(credential: Credential) -> str:
    return f"{base_url()}/credentials/{credential.public_id}"


def organisation_by_slug(slug: str) -> Organisation:
    organisation = Organisation.objects.filter(slug=slug).first()
    if organisation is None:
        raise ApplicationError("organisation_not_found", f"no organisation {slug!r}", status=404)
    return organisation


def organisation_did_document(organisation: Organisation) -> dict[str, Any]:
    """The organisation's DID document: every key it ever had, current ones for assertions."""
    keys = list(SigningKey.objects.filter(organisation=organisation).order_by("registered_seq"))
    revocations = LedgerEntry.objects.filter(seq__in=[k.revoked_seq for k in keys if k.revoked_seq is not None])
    rotated = {
        seq
        for seq, document in revocations.values_list("seq", "document")
        if json.loads(document).get("reason") == REASON_ROTATED
    }
    return did_document(
        did=organisation_did(organisation),
        keys=[
            KeyValidity(k.key_id, bytes(k.public_key), k.valid_from, k.revoked_at, rotated=k.revoked_seq in rotated)
            for k in keys
        ],
    )


def _readable(reader: Organisation | None) -> QuerySet[Credential]:
    """Public credentials, and the others to whoever may read their issuer's documents (a
    credential that is not public carries them): the issuer, regulators, the operator."""
    credentials = Credential.objects.select_related("organisation", "superseded_by")
    if reader is None:
        return credentials.filter(public=True)
    return credentials.filter(Q(public=True) | documents_readable_by(organisation=reader))


def credential_get(*, public_id: str, reader: Organisation | None) -> Credential:
    """The credential ``/credentials/<public_id>`` names, if ``reader`` (None: the public) may read it."""
    try:
        handle = uuid.UUID(public_id)
    except ValueError:
        raise ApplicationError("credential_not_found", "no such credential", status=404) from None
    credential = _readable(reader).filter(public_id=handle).first()
    if credential is None:
        raise ApplicationError("credential_not_found", "no such credential", status=404)
    return credential


def credentials_of(*, organisation: Organisation, reader: Organisation | None) -> QuerySet[Credential]:
    """``organisation``'s credentials that ``reader`` may read, newest first."""
    return _readable(reader).filter(organisation=organisation).order_by("-created_at", "-id")


def credentials_about(*, subject: str, reader: Organisation | None) -> QuerySet[Credential]:
    return _readable(reader).filter(subject=subject).order_by("-created_at", "-id")


# A list number is a PostgreSQL integer: a larger one in a URL names no list (and must not reach the query).
MAX_LIST_NUMBER = 2**31 - 1


def status_list_get(*, organisation: Organisation, number: int) -> StatusList:
    status_list = None
    if 0 < number <= MAX_LIST_NUMBER:
        status_list = StatusList.objects.filter(organisation=organisation, number=number).exclude(jwt="").first()
    if status_list is None:
        raise ApplicationError("status_list_not_found", "no such status list", status=404)
    return status_list


def credential_anchor(credential: Credential) -> dict[str, object]:
    """The credential's anchoring ledger fact and its C2SP tlog-proof bundle, outside the signed credential.

    The bundle needs a signed checkpoint covering the fact; until one is signed (checkpoints
    follow the ledger), ``ledgerProof`` is null with the reason, and the same URL answers with
    the proof later. The fact is served now: a ``CredentialsIssued`` fact lists every credential
    of the batch that issued this one (public credentials' facts only public ones), and its
    member whose ``credentialId`` is this credential's carries the credential's ``digest``.
    """
    return {
        "credentialId": credential.credential_id,
        "digest": credential.digest,
        # What the status list says, with the ledger entry that recorded the change and the successor.
        "state": credential.state,
        "stateLedgerEntry": credential.state_seq,
        "supersededBy": credential.superseded_by.credential_id if credential.superseded_by else None,
        "ledgerEntry": credential.anchor_seq,
        "ledgerFact": ledger_fact(seq=credential.anchor_seq),
        **ledger_proof(seq=credential.anchor_seq),
    }
