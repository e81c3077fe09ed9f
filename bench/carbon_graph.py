"""The synthetic traceability graph of the carbon benchmarks: about 1,000,000 objects and
2,850,000 mass flows, written with COPY straight into ``traceability_traceableobject``
and ``traceability_massflow`` (no ledger entries or event records back them).

The graph is ``cells`` repetitions of one remelting-and-casting cell of 47 objects,
26 events (19 bring roots in, 7 consume inputs) and 134 flows, each cell linked to
the one before it (so it is one connected graph with diamonds, and the recycled loop
reaches back to the first cell):

    roots (19, 40% of the objects): 12 end-of-life vehicles (hulks), one bought
        post-consumer and one pre-consumer scrap lot, two primary ingot lots, two
        silicon lots and one magnesium lot, each entered by an event of its own;
    shredding (4 events): 3 hulks -> 1 shredded post-consumer scrap lot;
    remelting (2 events, substituting): 2 shredded lots + the bought post-consumer
        lot (or the pre-consumer one) + 500 kg of a primary lot + 40 kg of silicon,
        and in the first remelt the run-around scrap of the cell before -> 2 ingot
        lots;
    die casting (1 event): 500 kg of each of 4 ingot lots (this cell's first lots,
        the cell before's second lots) + 20 kg of magnesium -> 19 castings of 80 kg
        and the run-around scrap (internal).

An event that consumes has 4.0 inputs on average (3 for shredding, 6 and 5 for the
remelts, 5 for die casting; the first cell has fewer), and every input of a mixing
event flows into every output, so the castings, the largest layer, have 5 flows in
each: 134 flows per 28 made objects, 2.85 per object. (With 40% roots, 3 inputs per
event would give 1.8 flows per object, not 3.) There is no dismantling: nothing takes
the engine's unmixed path (explicit flows).

Mass is conserved to the gram. Every event mixes: a flow carries ``kg in * kg out /
kg consumed`` rounded to the gram, and the loss of an event is a fixed share of what
it consumed (``LOSS_SHARE``, by the kind of object it made), which is how the reader
(``bench.footprints``) gets each input's consumed kg back from the flows alone. The
reader derives process burdens the same way: a fixed energy intensity per kind of
event times the mass it made, priced with the current emission factors. The
generator keeps the expected shares and per-kg footprints of a few ingot lots
(``Expected``), worked out by hand from the masses, to check the engine's results.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from traceability.identifiers import vin_check_digit

# Objects, events and flows of one cell (see the module docstring).
NODES_PER_CELL = 47
ROOTS_PER_CELL = 19
EVENTS_PER_CELL = 26
FLOWS_PER_CELL = 134
VEHICLES_PER_CELL = 12
CASTINGS_PER_CELL = 19

# Loss share of an event by the kind of object it made ("part": die casting, whose
# run-around scrap lot is not a "part"); the reader uses the same table.
LOSS_SHARE = {"scrap_lot": 0.02, "ingot_lot": 0.03, "part": 0.015}
# Energy per kg made, by the kind of event (the reader prices it with the factor book).
SHREDDING_KWH_PER_KG = 0.03
REMELTING_KWH_PER_KG = 0.10
REMELTING_GAS_M3_PER_KG = 0.08
DIE_CASTING_KWH_PER_KG = 2.0

MAKES = ("Volta", "Nordwagen", "Cirrus", "Aurelia", "Kestrel")
POWER_SOURCES = ("hydro", "coal", "global")
PRIMARY_G, PRIMARY_USED_G = 1_000_000, 500_000
SILICON_G, SILICON_USED_G = 100_000, 40_000
MAGNESIUM_G, MAGNESIUM_USED_G = 50_000, 20_000
INGOTS_USED_G = 2_000_000
CASTING_G = 80_000

COLUMNS_OBJECT = (
    "id", "identifier", "kind", "label", "status", "created_by_id", "custodian_id", "site_id",
    "attributes", "initial_kg", "remaining_kg", "inflow_kg", "created_seq", "created_at",
    "ended_seq", "ended_at",
)  # fmt: skip
COLUMNS_FLOW = ("source_id", "target_id", "kg", "seq")

SHREDDER, REMELTER, CASTER = 0, 1, 2
START_TIME = datetime(2026, 1, 1, tzinfo=UTC)


def _attributes(value: dict[str, object]) -> str:
    return json.dumps(value, separators=(",", ":"))


SCRAP_COMPOSITION = {"Si": 7.1, "Fe": 0.11, "Mg": 0.32, "Cu": 0.02, "Zn": 0.03}
MELT_COMPOSITION = {"Si": 6.9, "Fe": 0.1, "Mg": 0.3, "Cu": 0.02, "Mn": 0.55, "Zn": 0.03}
ATTRIBUTES = {
    "shredded": _attributes(
        {"alloyFamily": "mixed", "scrapCategory": "post_consumer", "composition": SCRAP_COMPOSITION}
    ),
    "post_consumer": _attributes(
        {"alloyFamily": "cast", "scrapCategory": "post_consumer", "composition": SCRAP_COMPOSITION}
    ),
    "pre_consumer": _attributes(
        {"alloyFamily": "cast", "scrapCategory": "pre_consumer", "composition": SCRAP_COMPOSITION}
    ),
    "primary": {
        power: _attributes({"supplier": "Bench Smelter", "powerSource": power, "composition": {"Si": 0.04}})
        for power in POWER_SOURCES
    },
    "silicon": _attributes({"composition": {"Si": 99.0}}),
    "magnesium": _attributes({"composition": {"Mg": 99.8}}),
    "ingot": _attributes({"composition": MELT_COMPOSITION}),
    "casting": _attributes({"partType": "battery_tray", "composition": MELT_COMPOSITION}),
    "run_around": _attributes({"scrapCategory": "internal", "composition": MELT_COMPOSITION}),
    "vehicle": {
        (make, year): _attributes({"make": make, "model": "E-Compact", "modelYear": year})
        for make in MAKES
        for year in range(2010, 2018)
    },
}


def vin(number: int) -> str:
    body = f"WBCAR24H0KB{number:06d}"
    return body[:8] + vin_check_digit(body) + body[9:]


@dataclass
class _Node:
    id: int
    kind: str
    identifier: str
    label: str
    attributes: str
    grams: int
    seq: int
    owner: int
    inflow: int = 0
    used: int = 0
    ended_seq: int | None = None


@dataclass
class Expected:
    """An ingot lot's footprint and shares worked out from the generator's own masses."""

    node: int
    post_consumer: float
    pre_consumer: float
    # kg CO2e per kg, raw-material stage, given the per-kg burdens of the roots and
    # the energy prices the reader uses.
    raw_material_per_kg: float


@dataclass(frozen=True)
class Prices:
    """The factor values the expected footprints need (from the factor book)."""

    scrap_sorting: float
    primary: dict[str, float]
    silicon: float
    electricity: float
    gas: float


@dataclass
class Cell:
    """One cell's rows: objects as COPY lines (when their consumption is final) and flows."""

    objects: list[str] = field(default_factory=list)
    flows: list[str] = field(default_factory=list)


def _grams(value: int) -> str:
    return f"{value // 1000}.{value % 1000:03d}"


def _time(seq: int, first_seq: int) -> str:
    return (START_TIME + timedelta(minutes=seq - first_seq)).isoformat()


class Generator:
    """Yields the graph cell by cell; an object's row is emitted once nothing else consumes it."""

    def __init__(
        self,
        *,
        cells: int,
        first_id: int,
        first_seq: int,
        organisations: tuple[int, int, int],
        sites: tuple[int, int, int],
        prices: Prices,
        check_cells: frozenset[int],
    ) -> None:
        self.cells = cells
        self.first_id = first_id
        self.first_seq = first_seq
        self.organisations = organisations
        self.sites = sites
        self.prices = prices
        self.check_cells = check_cells
        self.expected: list[Expected] = []
        self.flow_count = 0
        self.object_count = 0

    @property
    def last_seq(self) -> int:
        return self.first_seq + self.cells * EVENTS_PER_CELL - 1

    def __iter__(self) -> Iterator[Cell]:
        previous: list[_Node] = []
        for number in range(self.cells):
            cell = Cell()
            nodes = self._cell(number, previous, cell)
            cell.objects = [self._row(node) for node in previous]
            previous = nodes
            yield cell
        yield Cell(objects=[self._row(node) for node in previous])

    # --- one cell -----------------------------------------------------------------

    def _cell(self, number: int, previous: list[_Node], cell: Cell) -> list[_Node]:
        base_id = self.first_id + number * NODES_PER_CELL
        seq = self.first_seq + number * EVENTS_PER_CELL
        nodes: list[_Node] = []

        def add(kind: str, code: str, attributes: str, grams: int, at: int, owner: int) -> _Node:
            node = _Node(
                id=base_id + len(nodes),
                kind=kind,
                identifier=f"urn:looptrace:{'part' if kind == 'part' else 'lot'}:bench-carbon-{code}",
                label=code,
                attributes=attributes,
                grams=grams,
                seq=at,
                owner=owner,
            )
            nodes.append(node)
            return node

        # Roots, one intake or receipt event each.
        vehicles = []
        for v in range(VEHICLES_PER_CELL):
            n = number * VEHICLES_PER_CELL + v
            code = vin(n)
            node = add(
                "vehicle",
                code,
                ATTRIBUTES["vehicle"][(MAKES[n % len(MAKES)], 2010 + n % 8)],
                1_100_000 + n * 7919 % 700_000,
                seq + v,
                SHREDDER,
            )
            node.identifier = f"urn:looptrace:vin:{code}"
            vehicles.append(node)
        at = seq + VEHICLES_PER_CELL
        post = add(
            "scrap_lot",
            f"PC-{number:06d}",
            ATTRIBUTES["post_consumer"],
            1_500_000 + number * 31 % 500_000,
            at,
            REMELTER,
        )
        pre = add(
            "scrap_lot",
            f"NS-{number:06d}",
            ATTRIBUTES["pre_consumer"],
            1_000_000 + number * 17 % 300_000,
            at + 1,
            REMELTER,
        )
        primaries = [
            add(
                "primary_ingot",
                f"P-{number:06d}-{p}",
                ATTRIBUTES["primary"][POWER_SOURCES[(number + p) % len(POWER_SOURCES)]],
                PRIMARY_G,
                at + 2 + p,
                REMELTER,
            )
            for p in range(2)
        ]
        silicons = [
            add("alloying", f"SI-{number:06d}-{s}", ATTRIBUTES["silicon"], SILICON_G, at + 4 + s, REMELTER)
            for s in range(2)
        ]
        magnesium = add("alloying", f"MG-{number:06d}", ATTRIBUTES["magnesium"], MAGNESIUM_G, at + 6, CASTER)
        at += 7

        # Shredding: three hulks into one post-consumer lot each.
        shredded = []
        for s in range(4):
            inputs = [(v, v.grams) for v in vehicles[3 * s : 3 * s + 3]]
            out = add("scrap_lot", f"SH-{number:06d}-{s}", ATTRIBUTES["shredded"], 0, at, SHREDDER)
            self._mix(inputs, [out], "scrap_lot", at, cell)
            shredded.append(out)
            at += 1

        # Remelting: two ingot lots each.
        run_around = previous[-1] if previous else None
        ingots = []
        for r in range(2):
            inputs = [(shredded[2 * r], shredded[2 * r].grams), (shredded[2 * r + 1], shredded[2 * r + 1].grams)]
            inputs.append((post, post.grams) if r == 0 else (pre, pre.grams))
            inputs += [(primaries[r], PRIMARY_USED_G), (silicons[r], SILICON_USED_G)]
            if r == 0 and run_around is not None:
                inputs.append((run_around, run_around.grams))
            outs = [add("ingot_lot", f"IL-{number:06d}-{r}{i}", ATTRIBUTES["ingot"], 0, at, REMELTER) for i in range(2)]
            self._mix(inputs, outs, "ingot_lot", at, cell)
            if r == 1 and number in self.check_cells:
                self.expected.append(self._expect(outs[0], inputs))
            ingots.append(outs)
            at += 1

        # Die casting: this cell's first ingot lots, the cell before's second ones.
        lots = [ingots[0][0], ingots[1][0]]
        if previous:
            lots += [node for node in previous if node.kind == "ingot_lot" and node.label.endswith("1")]
        # 2 t of ingot in all (the first cell has only its own two lots).
        inputs = [(lot, INGOTS_USED_G // len(lots)) for lot in lots] + [(magnesium, MAGNESIUM_USED_G)]
        castings = [
            add("part", f"TRAY-{number:06d}-{c:02d}", ATTRIBUTES["casting"], CASTING_G, at, CASTER)
            for c in range(CASTINGS_PER_CELL)
        ]
        scrap = add("scrap_lot", f"RA-{number:06d}", ATTRIBUTES["run_around"], 0, at, CASTER)
        self._mix(inputs, [*castings, scrap], "part", at, cell, remainder=scrap)
        return nodes

    def _mix(
        self,
        inputs: list[tuple[_Node, int]],
        outputs: list[_Node],
        made: str,
        seq: int,
        cell: Cell,
        remainder: _Node | None = None,
    ) -> None:
        """Consume ``inputs``; outputs of mass 0 share what is made equally (the rest goes to ``remainder``)."""
        consumed = sum(grams for _, grams in inputs)
        made_g = consumed - round(consumed * LOSS_SHARE[made])
        if remainder is not None:
            remainder.grams = made_g - sum(o.grams for o in outputs if o is not remainder)
            if remainder.grams <= 0:
                raise ValueError(f"event {seq} makes less than its fixed outputs")
        else:
            for position, output in enumerate(outputs):
                output.grams = made_g // len(outputs) + (made_g % len(outputs) if position == 0 else 0)
        for source, grams in inputs:
            source.used += grams
            if source.used >= source.grams:
                source.ended_seq = seq
            for output in outputs:
                kg = round(grams * output.grams / consumed)
                output.inflow += kg
                cell.flows.append(f"{source.id}\t{output.id}\t{_grams(kg)}\t{seq}")
        self.flow_count += len(inputs) * len(outputs)

    def _expect(self, ingot: _Node, inputs: list[tuple[_Node, int]]) -> Expected:
        """The second remelt: two shredded lots (hulks + shredding energy), pre-consumer, primary, silicon."""
        prices = self.prices
        consumed = sum(grams for _, grams in inputs)
        burden = 0.0
        for node, grams in inputs:
            if node.kind == "scrap_lot" and node.label.startswith("SH-"):
                # A shredded lot: the hulks bring nothing (cut-off); shredding energy per kg made.
                burden += grams * SHREDDING_KWH_PER_KG * prices.electricity
            elif node.kind == "scrap_lot":
                burden += grams * prices.scrap_sorting
            elif node.kind == "primary_ingot":
                power = json.loads(node.attributes)["powerSource"]
                burden += grams * prices.primary[power]
            else:
                burden += grams * prices.silicon
        made = consumed - round(consumed * LOSS_SHARE["ingot_lot"])
        burden += made * (REMELTING_KWH_PER_KG * prices.electricity + REMELTING_GAS_M3_PER_KG * prices.gas)
        post = sum(g for n, g in inputs if n.label.startswith("SH-"))
        pre = sum(g for n, g in inputs if n.label.startswith("NS-"))
        return Expected(
            node=ingot.id, post_consumer=post / consumed, pre_consumer=pre / consumed, raw_material_per_kg=burden / made
        )

    def _row(self, node: _Node) -> str:
        organisation = self.organisations[node.owner]
        remaining = max(node.grams - node.used, 0)
        ended = node.ended_seq
        self.object_count += 1
        return "\t".join(
            (
                str(node.id),
                node.identifier,
                node.kind,
                node.label,
                "consumed" if ended is not None else "active",
                str(organisation),
                str(organisation),
                str(self.sites[node.owner]),
                node.attributes,
                _grams(node.grams),
                _grams(remaining),
                _grams(node.inflow),
                str(node.seq),
                _time(node.seq, self.first_seq),
                "\\N" if ended is None else str(ended),
                "\\N" if ended is None else _time(ended, self.first_seq),
            )
        )
