"""The pure carbon engine: footprints and recycled-content shares over the traceability
graph. Imports no Django; takes plain data, returns plain values, raises ``CarbonError``."""

from carbon.engine.compute import compute, compute_methods
from carbon.engine.model import (
    ALLOCATION,
    CFF,
    CUT_OFF,
    DISTRIBUTION,
    END_OF_LIFE,
    MAIN_PRODUCTION,
    MASS_BALANCE,
    PHYSICAL,
    RAW_MATERIAL,
    STAGES,
    Activity,
    CarbonError,
    Claim,
    Footprint,
    Material,
    Parameters,
    Shares,
    Source,
)
from carbon.engine.walk import collector_paused, walk

__all__ = [
    "ALLOCATION",
    "CFF",
    "CUT_OFF",
    "DISTRIBUTION",
    "END_OF_LIFE",
    "MAIN_PRODUCTION",
    "MASS_BALANCE",
    "PHYSICAL",
    "RAW_MATERIAL",
    "STAGES",
    "Activity",
    "CarbonError",
    "Claim",
    "Footprint",
    "Material",
    "Parameters",
    "Shares",
    "Source",
    "collector_paused",
    "compute",
    "compute_methods",
    "walk",
]
