"""Writes of battery passports' verifiable credentials: each version issued as UNTP 0.7.0 credentials.

Every battery passport version the ledger records is issued, beside its Battery Pass 1.2.0 JSON,
as up to three W3C Verifiable Credentials (``passport.untp`` makes their content):

- ``dpp``: the UNTP Digital Product Passport of the version;
- ``art-7``: a Digital Conformity Credential of its carbon footprint declaration (Art. 7);
- ``art-8``: a Digital Conformity Credential of its recycled-content check (Art. 8).

Each is made from the version's public-tier view and is public: a credential carries nothing the
public tier withholds. The issuer is the organisation whose event brought the battery into being
(the one that placed it on the ledger; the repurposer for a second-life battery), signing with the
key the platform holds for it. An organisation that signs only client-side has no such key: its
passports get no credentials, and their pages say so by offering none.

A claim the version's view cannot support (no manufacturing country, no declared footprint) is not
issued. A new version supersedes the previous version's credential of the same claim (its status
bit is set, by a ledger fact naming the successor); a claim the new version no longer makes is
revoked, and when the passport ceases (the battery was recycled) all its current credentials are.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.db import transaction

from passport import selectors
from passport.models import PassportVersion
from passport.untp import (
    battery_passport_credential,
    carbon_footprint_declaration_credential,
    recycled_content_check_credential,
)
from traceability.choices import CredentialKind, CredentialState
from traceability.credentials import selectors as credential_selectors
from traceability.credentials.on_demand import issuer_of
from traceability.credentials.services import (
    CredentialRequest,
    credentials_issue,
    credentials_revoke_many,
    credentials_supersede_many,
)
from traceability.errors import ApplicationError
from traceability.models import Credential

Builder = Callable[..., dict[str, object]]
# claim -> (credential kind, content builder), in the order a version's credentials are listed.
CLAIMS: dict[str, tuple[str, Builder]] = {
    selectors.PRODUCT_PASSPORT_CLAIM: (CredentialKind.PRODUCT_PASSPORT, battery_passport_credential),
    selectors.FOOTPRINT_CLAIM: (CredentialKind.CONFORMITY_CREDENTIAL, carbon_footprint_declaration_credential),
    selectors.RECYCLED_CONTENT_CLAIM: (CredentialKind.CONFORMITY_CREDENTIAL, recycled_content_check_credential),
}
# What an unmet claim raises: the view lacks what UNTP requires of it.
NOT_ISSUABLE = frozenset({"passport_incomplete"})
# The issuer has no key the platform may sign with now (it signs client-side, or its custodial key is
# not valid yet): its passports go on without credentials rather than stall.
NO_CUSTODIAL_SIGNER = frozenset({"custodial_key_missing", "key_not_yet_valid", "key_revoked"})


def _requests(version: PassportVersion) -> list[CredentialRequest]:
    identity = issuer_of(version.passport.battery.created_by)
    requests = []
    for claim, (kind, build) in CLAIMS.items():
        try:
            content = build(
                version=version,
                issuer=identity,
                credential_id=f"urn:uuid:{uuid.uuid4()}",
                valid_from=version.issued_at,
                root=credential_selectors.base_url(),
            )
        except ApplicationError as exc:
            if exc.code in NOT_ISSUABLE:
                continue
            raise
        requests.append(
            CredentialRequest(
                kind=kind, subject=selectors.version_credential_subject(version, claim), credential=content, public=True
            )
        )
    return requests


def _current(version: PassportVersion) -> dict[str, Credential]:
    """The version's credentials that are still current, by claim."""
    return {
        selectors.credential_claim(credential): credential
        for credential in selectors.version_credentials(version=version)
        if credential.state == CredentialState.CURRENT
    }


@transaction.atomic
def version_credentials_issue(*, version: PassportVersion, previous: PassportVersion | None) -> list[Credential]:
    """Issue ``version``'s credentials; ``previous`` (the version it follows) has its own superseded or revoked."""
    requests = _requests(version)
    organisation = version.passport.battery.created_by
    issued: list[Credential] = []
    if requests:
        try:
            issued = credentials_issue(organisation=organisation, requests=requests)
        except ApplicationError as exc:
            if exc.code not in NO_CUSTODIAL_SIGNER:
                raise
            return []
    if previous is not None:
        successors = {selectors.credential_claim(credential): credential for credential in issued}
        current = _current(previous)
        superseded = [(old, successors[claim]) for claim, old in current.items() if claim in successors]
        withdrawn = [old for claim, old in current.items() if claim not in successors]
        if superseded:
            credentials_supersede_many(organisation=organisation, pairs=superseded)
        if withdrawn:
            credentials_revoke_many(
                organisation=organisation,
                credentials=withdrawn,
                reason=f"not claimed by passport version {version.number}",
            )
    return issued


@transaction.atomic
def version_credentials_revoke(*, version: PassportVersion, reason: str) -> list[Credential]:
    """Revoke the credentials of ``version`` (a passport's last issued version) that are still current."""
    current = list(_current(version).values())
    if not current:
        return []
    return credentials_revoke_many(organisation=current[0].organisation, credentials=current, reason=reason)
