"""What an operation does to the traceable objects, independent of how it was submitted.

Every operation's event document is parsed into ``Effects``; the same ``Effects`` are
checked against the rules before the event is appended, and applied to the projection
tables after it is (and again, in ``seq`` order, by ``rebuild_projections``).
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class NewObject:
    identifier: str
    kind: str
    label: str
    kg: Decimal
    attributes: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Consumption:
    """``kg`` of ``identifier`` used; ``None`` means the whole remaining mass (serialised items)."""

    identifier: str
    kg: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Flow:
    """An explicit genealogy edge, where mass does not mix (dismantling, repurposing)."""

    source: str
    target: str
    kg: Decimal


@dataclass(frozen=True, slots=True)
class RecycledClaim:
    """``kg`` of the lot ``lot`` claimed as recycled content of ``category`` (mass balance)."""

    lot: str
    category: str
    kg: Decimal
    vehicle_make: str | None = None


@dataclass
class Effects:
    operation: str
    event_time: datetime
    site_id: int | None
    inputs: list[Consumption] = field(default_factory=list)
    outputs: list[NewObject] = field(default_factory=list)
    losses: dict[str, Decimal] = field(default_factory=dict)
    # Status an input takes when it ends here (default: "consumed" once no mass remains).
    input_end_status: str | None = None
    # Inputs mix (a melt): every output gets the same share of every input.
    homogeneous: bool = True
    flows: list[Flow] = field(default_factory=list)
    observed: dict[str, dict[str, object]] = field(default_factory=dict)
    moved: list[str] = field(default_factory=list)
    destination_site_id: int | None = None
    new_custodian: str | None = None
    target_alloy: str | None = None
    # Outputs whose composition is the mass-weighted mix of the inputs' compositions.
    mixes_composition: bool = False
    # Contained metal leaving a chemical conversion, kg per element (checked against the inputs).
    metals_out: dict[str, Decimal] = field(default_factory=dict)
    # A recycled-content claim on one lot (its mass-balance account is the event's site and year).
    claim: RecycledClaim | None = None

    @property
    def touched(self) -> list[str]:
        """Existing objects this event reads or changes."""
        claimed = [self.claim.lot] if self.claim is not None else []
        seen = dict.fromkeys([c.identifier for c in self.inputs] + list(self.observed) + self.moved + claimed)
        return list(seen)

    @property
    def losses_kg(self) -> Decimal:
        return sum(self.losses.values(), Decimal(0))

    @property
    def outputs_kg(self) -> Decimal:
        return sum((o.kg for o in self.outputs), Decimal(0))
