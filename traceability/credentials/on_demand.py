"""Credentials issued on demand: on the first request for one, never on the path that records the
facts it is made of, then served as stored.

A subject (an event, a part) has one current credential of a kind from one issuer. The first
request that finds none issues it; the requests after it read the stored row, so they get the
same bytes. When the content a credential was made from has changed (a part's figures were
recomputed), the next request issues a new one, which supersedes the old one in its status list.

Two first requests at once must not issue two credentials: the issuing request holds a lock of
the subject (a PostgreSQL advisory lock, to the end of its transaction) and looks again once it
has it, so the second finds what the first issued. On SQLite one writer at a time gives the same.
The subject lock is taken before the ledger's append lock that issuing takes, and nothing takes
them the other way round.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from traceability.choices import CredentialState
from traceability.credentials import selectors
from traceability.credentials.services import credential_issue, credential_supersede
from traceability.errors import ApplicationError
from traceability.locks import take_name_lock
from traceability.models import Credential, Organisation

# The first key of the two-key advisory lock form for subjects' locks (the ledger's append lock
# uses the one-key form; idempotency keys another class).
SUBJECT_LOCK_CLASS = 0x4C54_4344
CUSTODIAL_KEY_MISSING = "custodial_key_missing"

Build = Callable[[str, datetime], dict[str, Any]]


def issuer_of(organisation: Organisation) -> dict[str, object]:
    """The ``issuer`` a UNTP content builder takes: the organisation's DID and name."""
    return {"id": selectors.organisation_did(organisation), "name": organisation.name}


def _take_subject_lock(organisation: Organisation, kind: str, subject: str) -> None:
    take_name_lock(SUBJECT_LOCK_CLASS, str(organisation.pk), kind, subject)


def latest_credential(*, organisation: Organisation, kind: str, subject: str) -> Credential | None:
    """The newest credential ``organisation`` issued of this kind about ``subject``."""
    return (
        Credential.objects.select_related("organisation", "superseded_by")
        .filter(organisation=organisation, kind=kind, subject=subject)
        .order_by("-created_at", "-id")
        .first()
    )


def _holds(found: Credential, still_holds: Callable[[Credential], bool] | None) -> bool:
    # A revoked credential is served as it is: issuing again would undo its issuer's withdrawal.
    return still_holds is None or found.state != CredentialState.CURRENT or still_holds(found)


def credential_on_demand(
    *,
    organisation: Organisation,
    kind: str,
    subject: str,
    public: bool,
    build: Build,
    still_holds: Callable[[Credential], bool] | None = None,
) -> Credential:
    """The newest credential of ``organisation`` of ``kind`` about ``subject``, issued now if there is
    none, or if ``still_holds`` says the newest no longer matches its content (the new one then
    supersedes it). ``build(credential_id, valid_from)`` makes the unsigned content.

    Issuing signs with the organisation's custodial key: without one, 409 ``custodial_key_missing``.
    """
    found = latest_credential(organisation=organisation, kind=kind, subject=subject)
    if found is not None and _holds(found, still_holds):
        return found
    try:
        with transaction.atomic():
            _take_subject_lock(organisation, kind, subject)
            again = latest_credential(organisation=organisation, kind=kind, subject=subject)
            if again is not None and (found is None or again.pk != found.pk):
                return again  # another request issued it while this one waited
            content = build(f"urn:uuid:{uuid.uuid4()}", timezone.now())
            issued = credential_issue(
                organisation=organisation, kind=kind, subject=subject, credential=content, public=public
            )
            if again is not None and again.state == CredentialState.CURRENT:
                credential_supersede(organisation=organisation, credential=again, by=issued)
            return issued
    except ApplicationError as error:
        if error.code == CUSTODIAL_KEY_MISSING:
            raise ApplicationError(
                CUSTODIAL_KEY_MISSING,
                f"{organisation.slug} holds no key on the platform to issue this credential with",
                status=409,
            ) from error
        raise
