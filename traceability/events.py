"""Appending partner and operation events: the writer with the projectors every event runs.

In this order, inside the append transaction: the operations' rules and projection
(an event breaking a rule rolls the batch back), then the EPCIS query index (which
refuses duplicates by canonical event hash).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from traceability.choices import OrganisationRole
from traceability.epcis.core.schema import EVENT_TYPES
from traceability.epcis.index import EPCIS_INDEX
from traceability.errors import ApplicationError
from traceability.ledger.chain import KIND_EVENT
from traceability.models import LedgerEntry, Organisation
from traceability.operations.projector import OPERATION_RULES
from traceability.writer import Proceeded, SubmittedDocument, append_submissions, append_submissions_proceeding

EVENT_PROJECTORS = (OPERATION_RULES, EPCIS_INDEX)


def _event_kind(document: object) -> str:
    if not isinstance(document, dict) or document.get("type") not in EVENT_TYPES:
        raise ApplicationError(
            "document_type_invalid",
            f"a partner document must be an EPCIS event with type one of {sorted(EVENT_TYPES)}",
        )
    return KIND_EVENT


def ledger_append_batch(*, organisation: Organisation, items: Sequence[SubmittedDocument]) -> list[LedgerEntry]:
    """Append many partner documents atomically: all are stored, in order, or none is."""
    if organisation.role == OrganisationRole.REGULATOR:
        raise ApplicationError("role_not_allowed", "regulators read the ledger; they do not write to it", status=403)
    # No bootstrap here: a partner signs with a registered key, and registering one wrote the genesis.
    return append_submissions(organisation=organisation, items=items, kind_of=_event_kind, projectors=EVENT_PROJECTORS)


def ledger_append_proceeding(*, organisation: Organisation, items: Sequence[SubmittedDocument]) -> Proceeded:
    """Append every partner document that keeps the rules, in order; the others are reported by position."""
    if organisation.role == OrganisationRole.REGULATOR:
        raise ApplicationError("role_not_allowed", "regulators read the ledger; they do not write to it", status=403)
    return append_submissions_proceeding(
        organisation=organisation, items=items, kind_of=_event_kind, projectors=EVENT_PROJECTORS
    )


def ledger_append(
    *,
    organisation: Organisation,
    document: object,
    signature: str | None = None,
    key_id: str | None = None,
    annotations: Mapping[str, object] | None = None,
) -> LedgerEntry:
    """Append one document signed client-side (``signature`` and ``key_id``) or custodially."""
    item = SubmittedDocument(document=document, signature=signature, key_id=key_id, annotations=annotations or {})
    (entry,) = ledger_append_batch(organisation=organisation, items=[item])
    return entry
