from traceability.models.credentials import Credential, StatusList
from traceability.models.epcis import CaptureJob, EpcisEvent, EpcisEventEpc
from traceability.models.epcis_master_data import EpcisLocationChild
from traceability.models.epcis_subscriptions import EpcisDelivery, EpcisNamedQuery, EpcisSubscription
from traceability.models.idempotency import IdempotencyRecord
from traceability.models.keys import ApiCredential, SigningKey
from traceability.models.ledger import Checkpoint, LedgerEntry, MerkleNode, ledger_entry_columns
from traceability.models.objects import AlloySpecification, EventRecord, MassFlow, TraceableObject
from traceability.models.organisations import Membership, Organisation, Site
from traceability.models.witnessing import WitnessCosignature

__all__ = [
    "AlloySpecification",
    "ApiCredential",
    "CaptureJob",
    "Checkpoint",
    "Credential",
    "EpcisDelivery",
    "EpcisEvent",
    "EpcisEventEpc",
    "EpcisLocationChild",
    "EpcisNamedQuery",
    "EpcisSubscription",
    "EventRecord",
    "IdempotencyRecord",
    "LedgerEntry",
    "MassFlow",
    "Membership",
    "MerkleNode",
    "Organisation",
    "SigningKey",
    "Site",
    "StatusList",
    "TraceableObject",
    "WitnessCosignature",
    "ledger_entry_columns",
]
