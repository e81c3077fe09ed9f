"""The data the carbon engine takes and gives. Plain values: no Django, no database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Lifecycle stages (Art. 7 of Regulation (EU) 2023/1542; the use stage is excluded).
RAW_MATERIAL = "raw_material_acquisition"
MAIN_PRODUCTION = "main_production"
DISTRIBUTION = "distribution"
END_OF_LIFE = "end_of_life_and_recycling"
STAGES = (RAW_MATERIAL, MAIN_PRODUCTION, DISTRIBUTION, END_OF_LIFE)


def assessed_stages(per_kg: Mapping[str, float]) -> tuple[str, ...]:
    """The stages of a footprint (``STAGES`` order) that hold a burden the engine had data for.

    Raw material always does: every source's own burden and every recycling process is there,
    and an end-of-life product entering at zero under cut-off is zero by the method's rule. The
    other stages take only what was recorded or modelled in them (die-casting is main production,
    molten transfer distribution, a CFF product's own end of life the end of life): a zero there
    means nothing was recorded (no energy metered, freight not recorded, an end of life the method
    does not compute), which is no data, not a measured zero.
    """
    return tuple(stage for stage in STAGES if stage == RAW_MATERIAL or per_kg.get(stage, 0.0) != 0.0)


CUT_OFF, ALLOCATION, CFF = "cut_off", "allocation", "cff"
METHODS = (CUT_OFF, ALLOCATION, CFF)
PHYSICAL, MASS_BALANCE = "physical", "mass_balance"
CHAINS_OF_CUSTODY = (PHYSICAL, MASS_BALANCE)

POST_CONSUMER, PRE_CONSUMER, INTERNAL = "post_consumer", "pre_consumer", "internal"


class CarbonError(Exception):
    """The one error of the carbon engine: a graph or factor set it cannot compute on."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True, slots=True)
class Source:
    """A material that enters the graph without inputs in it (a root)."""

    node: int
    mass_kg: float
    # "vehicle", "post_consumer", "pre_consumer", "internal", "primary", "alloying", "other"
    origin: str
    # kg CO2e per kg by stage, as the method sees this root (see ``engine.root_burden``).
    burden_per_kg: dict[str, float] = field(default_factory=dict)
    # kg CO2e per kg of the product whose process generated pre-consumer scrap (allocation).
    generator_per_kg: float = 0.0
    vehicle_make: str | None = None
    # True when the burden is the supplier's own figure (a footprint bound to this lot).
    primary_data: bool = False


@dataclass(frozen=True, slots=True)
class Activity:
    """An event that consumed inputs and made outputs, in the ledger's order (``seq``)."""

    seq: int
    inputs: tuple[tuple[int, float], ...]
    outputs: tuple[tuple[int, float], ...]
    losses_kg: float = 0.0
    # Process burdens of this event (energy x factors, transport), kg CO2e by stage.
    burdens: dict[str, float] = field(default_factory=dict)
    # Explicit flows (source, target, kg) where mass does not mix (dismantling).
    flows: tuple[tuple[int, int, float], ...] = ()
    site: int | None = None
    period: str | None = None
    # Recycled material is remelted here: the CFF substitutes it, mass balance credits it.
    substitutes: bool = False
    # Outputs that are products (their own end of life is counted under the CFF).
    products: frozenset[int] = frozenset()
    # The CFF material of outputs (node, material, kg of the material per kg of the output, e.g.
    # a salt's metal content); an output not named is of ``Parameters.default_material``, whole.
    materials: tuple[tuple[int, str, float], ...] = ()
    # A recorded recycled-content claim (mass balance): its one input and output are the
    # claimed lot, with the lot's mass; it has no burdens and changes nothing under physical.
    claim: Claim | None = None


@dataclass(frozen=True, slots=True)
class Claim:
    """``kg`` of a lot claimed as recycled content of ``category`` (pre- or post-consumer; a
    post-consumer claim naming a ``vehicle_make`` is closed-loop), drawn from its site's account.

    ``lot_pre_kg``, ``lot_post_kg`` and ``lot_by_make`` are the kg claimed on the lot so far,
    this claim included: they set the lot's shares (over its mass), so a claim is computed
    alone, and a walk that saw the lot's earlier claims checks that they add up.
    """

    category: str
    kg: float
    vehicle_make: str | None = None
    lot_pre_kg: float = 0.0
    lot_post_kg: float = 0.0
    lot_by_make: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Shares:
    """Mass fractions of recycled content. ``by_make`` splits post-consumer by vehicle make."""

    pre_consumer: float = 0.0
    post_consumer: float = 0.0
    by_make: tuple[tuple[str, float], ...] = ()

    @property
    def recycled(self) -> float:
        return self.pre_consumer + self.post_consumer

    def closed_loop(self, make: str | None) -> float:
        return dict(self.by_make).get(make, 0.0) if make else 0.0


@dataclass(frozen=True, slots=True)
class Footprint:
    """kg CO2e per kg of a node, by stage, and the recycled-content shares it carries."""

    per_kg: dict[str, float]
    shares: Shares
    primary_data_share: float = 1.0
    # Wholly recycled material not yet remelted (the CFF substitutes it when it is).
    pending_recycled: bool = False

    @property
    def total_per_kg(self) -> float:
        return sum(self.per_kg.values())


@dataclass(frozen=True, slots=True)
class Material:
    """PEF Circular Footprint Formula parameters of one material (Commission Recommendation
    (EU) 2021/2279, Annex C), per kg of the material; kg CO2e unless said otherwise."""

    e_virgin_per_kg: float = 0.0  # E_v: virgin material that recycled input replaces
    e_virgin_star_per_kg: float = 0.0  # E*_v: virgin material that end-of-life recycling replaces
    erec_eol_per_kg: float = 0.0  # E_recyclingEoL: recycling the product at its end of life
    a: float = 0.2
    b: float = 0.0
    qs_in_over_qp: float = 1.0
    qs_out_over_qp: float = 1.0
    r2: float = 0.0
    r3: float = 0.0
    e_er_per_kg: float = 0.0  # E_ER: energy recovery (incineration) of the material
    lhv_mj_per_kg: float = 0.0  # LHV, MJ per kg
    x_er_heat: float = 0.0  # efficiency of the energy recovery process, heat
    x_er_elec: float = 0.0  # efficiency of the energy recovery process, electricity
    e_se_heat_per_mj: float = 0.0  # E_SE,heat: heat substituted, kg CO2e per MJ
    e_se_elec_per_mj: float = 0.0  # E_SE,elec: electricity substituted, kg CO2e per MJ
    ed_per_kg: float = 0.0  # E_D: disposal (landfill)


# A material without parameters is counted as cut-off (A = 1: recycled input keeps its whole
# burden, no virgin burden is replaced) and without an end-of-life term: no credit is guessed.
UNKNOWN_MATERIAL = Material(a=1.0)


@dataclass(frozen=True, slots=True)
class Parameters:
    """Method parameters from the factor registry: the PEF CFF's, by material."""

    materials: Mapping[str, Material] = field(default_factory=dict)
    # The material of an activity output that names none.
    default_material: str = "aluminium"

    def of(self, material: str | None) -> Material:
        """The parameters of ``material`` (the default material's for None)."""
        return self.materials.get(self.default_material if material is None else material, UNKNOWN_MATERIAL)
