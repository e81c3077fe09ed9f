from carbon.models.factors import EmissionFactor
from carbon.models.results import FootprintResult, LedgerCursor

__all__ = ["EmissionFactor", "FootprintResult", "LedgerCursor"]
