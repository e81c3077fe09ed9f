from carbon.models.factors import EmissionFactor
from carbon.models.pact import (
    PactAccessToken,
    PactCheck,
    PactEvent,
    PactPartner,
    PactPublication,
    PactSubscription,
    ProductFootprint,
)
from carbon.models.results import DirtyNode, FootprintResult, LedgerCursor

__all__ = [
    "DirtyNode",
    "EmissionFactor",
    "FootprintResult",
    "LedgerCursor",
    "PactAccessToken",
    "PactCheck",
    "PactEvent",
    "PactPartner",
    "PactPublication",
    "PactSubscription",
    "ProductFootprint",
]
