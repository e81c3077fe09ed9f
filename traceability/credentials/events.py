"""The UNTP Digital Traceability Event of a ledger event, issued on its first request
(``on_demand``) by the organisation that recorded the event, with its custodial key.

A DTE carries the event's document (its sites, quantities, sensor readings, every object it
names): it is for the readers of that document (``visibility.may_read_documents_of``: the
recorder, regulators, the operator). Anyone else, including an organisation that sees only the
event's outline, is answered as about an event that does not exist. No event is anyone's to read
without an account, so a DTE is never public. Its subject is the event's canonical EPCIS hash
(``ni:///sha-256;...?ver=CBV2.0``), the ``id`` of the event inside it, so
``credentials_about(subject=...)`` finds it by what it says.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from traceability import visibility
from traceability.choices import CredentialKind
from traceability.credentials import selectors
from traceability.credentials.on_demand import credential_on_demand, issuer_of
from traceability.errors import ApplicationError
from traceability.models import Credential, EpcisEvent, Organisation
from traceability.untp import traceability_event_credential

# A sequence number is a PostgreSQL bigint: a larger one names no entry (and must not reach the query).
MAX_SEQ = 2**63 - 1


def event_for_credential(*, seq: int, reader: Organisation | None) -> EpcisEvent:
    """The indexed EPCIS event of ledger entry ``seq``, if ``reader`` may read its document."""
    indexed = None
    if 0 < seq <= MAX_SEQ:
        indexed = (
            EpcisEvent.objects.select_related("entry__organisation")
            .filter(entry_id=seq, error_declaration=False)
            .first()
        )
    if indexed is None or not visibility.may_read_documents_of(reader=reader, owner_id=indexed.entry.organisation_id):
        raise ApplicationError("event_not_found", f"no event {seq} whose document you may read", status=404)
    return indexed


def event_credential(*, seq: int, reader: Organisation | None) -> Credential:
    """The DTE of event ``seq`` for ``reader``: the stored one, or issued now if there is none."""
    indexed = event_for_credential(seq=seq, reader=reader)
    entry = indexed.entry
    recorder = entry.organisation

    def build(credential_id: str, valid_from: datetime) -> dict[str, Any]:
        try:
            return traceability_event_credential(
                entry=entry,
                issuer=issuer_of(recorder),
                credential_id=credential_id,
                valid_from=valid_from,
                root=selectors.base_url(),
            )
        except ApplicationError as error:
            # The stored event cannot be mapped (it names no location): nothing the request can fix.
            error.status = 409
            raise

    return credential_on_demand(
        organisation=recorder,
        kind=CredentialKind.TRACEABILITY_EVENT,
        subject=indexed.event_hash,
        public=False,
        build=build,
    )
