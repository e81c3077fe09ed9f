"""Objects an operation's typed input names: lots in and out, parts and batteries out.

Quantities are validated and unit-converted before they get here: kilograms as Decimal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from traceability.identifiers import local_uri, validate_uri
from traceability.models import Organisation


@dataclass(frozen=True)
class LotOut:
    """A new mass lot: ``code`` is numbered by the organisation, or ``identifier`` is an EPC of its own."""

    kind: str
    kg: Decimal
    code: str = ""
    identifier: str = ""
    attributes: dict[str, object] = field(default_factory=dict)

    def uri(self, organisation: Organisation) -> str:
        return validate_uri(self.identifier) if self.identifier else local_uri("lot", organisation.slug, self.code)

    def label(self) -> str:
        return self.code or self.identifier.rsplit(":", 1)[-1]


@dataclass(frozen=True)
class PartOut:
    serial: str
    part_type: str
    kg: Decimal
    attributes: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class BatteryOut:
    code: str
    chemistry: str
    rated_energy_kwh: Decimal
    kg: Decimal
    attributes: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class LotIn:
    identifier: str
    kg: Decimal


@dataclass(frozen=True)
class Energy:
    """Process energy an operation used, as metered (validated and unit-converted, non-negative)."""

    electricity_kwh: Decimal = Decimal(0)
    natural_gas_m3: Decimal = Decimal(0)
