from traceability.models.keys import ApiCredential, SigningKey
from traceability.models.ledger import Checkpoint, LedgerEntry, MerkleNode
from traceability.models.organisations import Membership, Organisation, Site

__all__ = [
    "ApiCredential",
    "Checkpoint",
    "LedgerEntry",
    "Membership",
    "MerkleNode",
    "Organisation",
    "SigningKey",
    "Site",
]
