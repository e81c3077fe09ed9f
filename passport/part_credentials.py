"""A die-cast part's UNTP Digital Product Passport as a verifiable credential, issued on demand
(``traceability.credentials.on_demand``) by the organisation that cast the part, with its
custodial key, when a reader first asks the part passport's URL for it (``Accept:
application/vc+jwt`` or ``application/vc``).

The part passport is everyone's to read, so the credential is public, and it is made from what
the public sees of it (``untp.part_passport_credential`` as the public reads the passport; the
credential carries no provenance and no factor references, the only parts a reader changes).

When is a new one issued? The part passport is assembled on read, from the stored carbon results
(recomputed when factors or upstream events change) and the part's attributes. At each request
the content is made again under the newest credential's own ``id``, and compared with what that
credential holds, leaving out what the issuer adds or varies (``validFrom``, ``credentialStatus``,
``proof``): the comparison is of the RFC 8785 SHA-256 digests of the two. Any difference in a
figure, a name or a link issues a new credential, which supersedes the old one in its status
list. A basis narrower than the content (the carbon results' ledger size, say) would miss a
change that moves no basis (an attribute, a renamed site); this one misses none, and costs the
same reads the part passport's JSON costs.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.utils import timezone

from passport import untp
from traceability.choices import CredentialKind
from traceability.credentials import selectors
from traceability.credentials.core.securing import credential_digest
from traceability.credentials.on_demand import credential_on_demand, issuer_of
from traceability.errors import ApplicationError
from traceability.models import Credential, TraceableObject

# What the issuing service adds or varies at each issuance: left out of the comparison.
ISSUED_FIELDS = frozenset({"validFrom", "credentialStatus", "proof"})


def content_digest(credential: dict[str, Any]) -> str:
    """The hex SHA-256 of a credential's RFC 8785 form without what issuing adds or varies."""
    return credential_digest({k: v for k, v in credential.items() if k not in ISSUED_FIELDS}).hex()


def part_credential(*, part: TraceableObject) -> Credential:
    """The part's current DPP credential; issued now if it has none or its content has changed."""
    if not part.footprints.exists():
        raise ApplicationError(
            "part_footprint_pending",
            f"{part.identifier}: its footprint is not computed yet; ask again later",
            status=409,
        )
    caster = part.created_by
    issuer, root = issuer_of(caster), selectors.base_url()

    def build(credential_id: str, valid_from: datetime) -> dict[str, Any]:
        try:
            return untp.part_passport_credential(
                part=part, issuer=issuer, credential_id=credential_id, valid_from=valid_from, root=root, reader=None
            )
        except ApplicationError as error:
            # The part's records lack what a passport needs (its site's country): not the request's fault.
            error.status = 409
            raise

    def still_holds(latest: Credential) -> bool:
        fresh = build(latest.credential_id, timezone.now())
        return content_digest(fresh) == content_digest(json.loads(latest.secured_json))

    return credential_on_demand(
        organisation=caster,
        kind=CredentialKind.PRODUCT_PASSPORT,
        subject=part.identifier,
        public=True,
        build=build,
        still_holds=still_holds,
    )
