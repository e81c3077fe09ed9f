"""A realistic car-to-car demo loop, built only through the operation services.

End-of-life vehicles are taken in and dismantled; their packs are graded and either
repurposed for second life or shipped to a battery recycler, shredded into black mass
and fractions and partly refined into salts. Their aluminium wheels, motor housings and
subframes are sorted into post-consumer scrap lots and shipped to a remelter, who melts
them with run-around scrap returned by the die-caster, bought-in pre-consumer scrap,
primary ingot and silicon and magnesium. Most melts go hot to the nearby die-caster;
the others are cast into ingots, shipped, and remelted there. The die-caster casts
battery trays and returns its run-around scrap and rejects.

Every step is one signed ledger event written by ``traceability.operations.services``,
so every rule of the engine applies (mass balance, remaining mass, custody, event time
order, composition against the alloy specification). Numbers that are domain facts
carry their source as ``file:line`` in ``shared/seeds`` (see ``shared/docs/DOMAIN.md``);
the others are marked as assumptions of the demo.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Protocol

from traceability.choices import ObjectKind, ScrapCategory
from traceability.identifiers import battery_uri, local_uri, vehicle_uri
from traceability.models import EventRecord, Organisation, Site, TraceableObject
from traceability.operations import services as ops

from .facts import (
    ALLOYING_SUPPLIER,
    ALLOYS,
    BLACK_MASS,
    CHARGE_TARGET,
    DEMO_DAYS,
    DEMO_SEED,
    DIE_CASTING_KWH_PER_T,
    DISMANTLING_KWH_PER_VEHICLE,
    DROSS_SHARE,
    ELECTRICITY_KWH_PER_T,
    GRAM,
    HOLDING_LOSS_SHARE,
    INGOT_ROUTE_EVERY,
    MAGNESIUM_INGOT,
    MAGNESIUM_UNIT_KG,
    MELT_LOSS_INGOT_ROUTE,
    MELT_LOSS_MOLTEN_ROUTE,
    MELT_LOSS_REMELTING_INGOTS,
    MOLTEN_DISTANCE_KM,
    MOLTEN_TEMPERATURE_C,
    NATURAL_GAS_M3_PER_T,
    PACK_SPLIT,
    PRE_CONSUMER_BALE_KG,
    PRE_CONSUMER_SCRAP,
    PRE_CONSUMER_SHARE,
    PRE_CONSUMER_SUPPLIER,
    PREMIUM_LOT_EVERY,
    PRIMARY_BUNDLE_KG,
    PRIMARY_INGOT,
    PRIMARY_SUPPLIERS,
    RECOVERY,
    REFINED_SHARE,
    REJECT_SHARE,
    RUN_AROUND_SHARE,
    SALTS,
    SECOND_LIFE_APPLICATION,
    SECOND_LIFE_CATEGORY,
    SECOND_LIFE_CHEMISTRY,
    SECOND_LIFE_MIN_SOH_PCT,
    SERVICE_LIFE_YEARS,
    SILICON_BAG_KG,
    SILICON_METAL,
    SORTING_GROUP_VEHICLES,
    SORTING_KWH_PER_T,
    SORTING_LOSS,
    STATE_OF_HEALTH_PCT,
    TARGET_ALLOY,
    TRAY_ALLOY,
    TRAY_CUSTOMER,
    TRAY_DESIGNS,
    TRAYS_PER_VEHICLE,
    Composition,
)
from .stock import Pool, Stock, grams, mix, round_up
from .vehicles import MODELS, demo_vin, gbt_battery_code


class Datasheet(Protocol):
    """The attributes a pack is registered with, from its maker's data sheet: the Battery Pass aspects are
    the passport app's to build (``passport.demo``), so the loop is handed the builder."""

    def __call__(
        self, *, maker: str, chemistry: str, kwh: Decimal, made: datetime, read_at: datetime, code: str | None = None
    ) -> dict: ...  # type: ignore[type-arg]


@dataclass(frozen=True)
class Partners:
    dismantler: Organisation
    remelter: Organisation
    die_caster: Organisation
    battery_recycler: Organisation
    yard: Site
    hot_metal_plant: Site  # the remelter's plant near the die-caster (molten route)
    remelt_shop: Site  # the remelter's ingot shop (ingot route)
    casting_hall: Site
    pretreatment_plant: Site
    hydrometallurgy_plant: Site


@dataclass
class Wave:
    """One slice of the timeline: vehicles in, one melt, one casting run, scrap back."""

    index: int
    start: datetime
    length: timedelta

    def at(self, fraction: float) -> datetime:
        """The moment ``fraction`` of the way through the wave, to the minute."""
        return (self.start + fraction * self.length).replace(second=0, microsecond=0)

    def after(self, moment: datetime, fraction: float) -> datetime:
        return (moment + fraction * self.length).replace(second=0, microsecond=0)


class DemoLoop:
    def __init__(
        self,
        partners: Partners,
        *,
        vehicles: int,
        end: datetime,
        datasheet: Datasheet,
        progress: Callable[[int], object] | None = None,
    ) -> None:
        self.p = partners
        self.datasheet = datasheet
        self.vehicles = vehicles
        self.end = end
        self.start = end - timedelta(days=DEMO_DAYS)
        self.progress = progress or (lambda n: None)
        self.rng = random.Random(DEMO_SEED)
        self.counters: Counter[str] = Counter()
        self.post_consumer = Pool()  # at the remelter
        self.internal = Pool()  # returned run-around scrap and rejects, at the remelter
        self.pre_consumer = Pool()
        self.primary = Pool()
        self.silicon = Pool()
        self.magnesium = Pool()
        self.primary_receipts = 0
        # Post-consumer credits of each (site, year) not claimed yet, as the remelter reckons
        # them: the post-consumer scrap's share of each melt's charge times the kg out.
        self.credits: Counter[tuple[int, int]] = Counter()
        self.molten_melts = 0

    # --- helpers -------------------------------------------------------------------------

    def code(self, prefix: str) -> str:
        self.counters[prefix] += 1
        return f"{prefix}-{self.counters[prefix]:04d}"

    def record(self, operation: Callable[..., EventRecord], **arguments: object) -> EventRecord:
        record = operation(**arguments)
        self.progress(1)
        return record

    @staticmethod
    def composition_of(identifier: str) -> Composition:
        return dict(TraceableObject.objects.get(identifier=identifier).attributes.get("composition") or {})

    # --- the loop ------------------------------------------------------------------------

    def waves(self) -> list[tuple[Wave, range]]:
        count = min(self.vehicles, max(3, round(self.vehicles / 30)))
        length = (self.end - self.start) / count
        sizes = [self.vehicles // count + (1 if k < self.vehicles % count else 0) for k in range(count)]
        result, first = [], 0
        for k, size in enumerate(sizes):
            result.append((Wave(k, self.start + k * length, length), range(first, first + size)))
            first += size
        return result

    def run(self) -> None:
        for wave, numbers in self.waves():
            parts, packs = self.vehicles_in(wave, numbers)
            lots = self.sort_scrap(wave, parts)
            self.record(
                ops.custody_transfer,
                organisation=self.p.dismantler,
                site=self.p.yard,
                items=[],
                lots=[ops.LotIn(lot.identifier, lot.kg) for lot in lots],
                receiver=self.p.remelter,
                event_time=wave.at(0.52),
            )
            self.post_consumer.lots += lots
            if packs:
                self.recycle_batteries(wave, packs)
            self.melt_and_cast(wave, trays=TRAYS_PER_VEHICLE * len(numbers))

    def vehicles_in(
        self, wave: Wave, numbers: range
    ) -> tuple[list[list[tuple[str, str, Decimal]]], list[tuple[str, str, Decimal]]]:
        """Intake, dismantling and grading; LFP packs fit for reuse are repurposed at once."""
        groups: list[list[tuple[str, str, Decimal]]] = []
        recycle: list[tuple[str, str, Decimal]] = []
        for position, number in enumerate(numbers):
            model = MODELS[number % len(MODELS)]
            age = self.rng.randint(*SERVICE_LIFE_YEARS)
            model_year = self.end.year - age
            vin = demo_vin(model, number + 1, model_year)
            arrived = wave.at(0.40 * position / len(numbers))
            self.record(
                ops.vehicle_intake,
                organisation=self.p.dismantler,
                site=self.p.yard,
                vin=vin,
                kg=Decimal(model.kg + self.rng.randint(-40, 40)),
                make=model.make,
                model=model.model,
                model_year=model_year,
                event_time=arrived,
            )
            made = datetime(model_year - 1, self.rng.randint(1, 12), self.rng.randint(1, 28), tzinfo=self.end.tzinfo)
            code = gbt_battery_code(
                model.battery_maker, model.chemistry, model.battery_spec, f"T{number + 1}", made, number + 1
            )
            parts = [(f"{vin}-W{w}", "wheel", "A356.2", model.wheel_kg) for w in range(1, 5)]
            parts.append((f"{vin}-MH", "motor_housing", "AlSi10MnMg", model.housing_kg))
            if model.subframe_kg is not None:
                parts.append((f"{vin}-SF", "subframe", "AlSi7Mg0.3", model.subframe_kg))
            parts_out = [
                ops.PartOut(serial, kind, grams(kg + Decimal(self.rng.randint(-20, 20)) / 100), {"alloy": alloy})
                for serial, kind, alloy, kg in parts
            ]
            dismantled = wave.after(arrived, 0.05)
            self.record(
                ops.dismantling,
                organisation=self.p.dismantler,
                site=self.p.yard,
                vehicle=vehicle_uri(vin),
                batteries=[
                    ops.BatteryOut(
                        code,
                        model.chemistry,
                        model.kwh,
                        model.pack_kg,
                        self.datasheet(
                            maker=model.battery_maker,
                            chemistry=model.chemistry,
                            kwh=model.kwh,
                            made=made,
                            read_at=dismantled,
                            code=code,
                        ),
                    )
                ],
                parts=parts_out,
                energy=ops.Energy(electricity_kwh=DISMANTLING_KWH_PER_VEHICLE),
                event_time=dismantled,
            )
            if position % SORTING_GROUP_VEHICLES == 0:
                groups.append([])
            groups[-1] += [
                (local_uri("part", self.p.dismantler.slug, part.serial), str(part.attributes["alloy"]), part.kg)
                for part in parts_out
            ]
            soh = round(self.rng.uniform(*STATE_OF_HEALTH_PCT[model.chemistry]), 1)
            second_life = model.chemistry == SECOND_LIFE_CHEMISTRY and soh >= SECOND_LIFE_MIN_SOH_PCT
            capacity = (model.kwh * Decimal(str(soh)) / 100).quantize(Decimal("0.1"))
            pack = battery_uri(code)
            self.record(
                ops.battery_grading,
                organisation=self.p.dismantler,
                site=self.p.yard,
                battery=pack,
                state_of_health_pct=Decimal(str(soh)),
                capacity_kwh=capacity,
                route="second_life" if second_life else "recycling",
                event_time=wave.after(dismantled, 0.01),
            )
            if second_life:
                repurposed = wave.at(0.50 + 0.001 * position)
                self.record(
                    ops.repurposing,
                    organisation=self.p.dismantler,
                    site=self.p.yard,
                    battery=pack,
                    new_battery=ops.BatteryOut(
                        gbt_battery_code("ACR", model.chemistry, model.battery_spec, "R2L", repurposed, number + 1),
                        model.chemistry,
                        capacity,
                        model.pack_kg,
                        {"batteryCategory": SECOND_LIFE_CATEGORY},
                    ),
                    application=SECOND_LIFE_APPLICATION,
                    event_time=repurposed,
                )
            else:
                recycle.append((pack, model.chemistry, model.pack_kg))
        return groups, recycle

    def sort_scrap(self, wave: Wave, groups: list[list[tuple[str, str, Decimal]]]) -> list[Stock]:
        """Each group of vehicles gives a lot of cast wheels and a lot of structural castings."""
        lots = []
        sorted_at = wave.at(0.47)
        for group in groups:
            for family, alloys in (("wheel", {"A356.2"}), ("structural", {"AlSi10MnMg", "AlSi7Mg0.3"})):
                parts = [(uri, alloy, kg) for uri, alloy, kg in group if alloy in alloys]
                if not parts:
                    continue
                parts_kg = sum((kg for _, _, kg in parts), Decimal(0))
                loss = grams(parts_kg * SORTING_LOSS[family])
                composition = mix([(kg, ALLOYS[alloy]) for _, alloy, kg in parts])
                code = self.code("PC-W" if family == "wheel" else "PC-S")
                self.record(
                    ops.scrap_sorting,
                    organisation=self.p.dismantler,
                    site=self.p.yard,
                    parts=[uri for uri, _, _ in parts],
                    lots=[],
                    outputs=[
                        ops.LotOut(
                            ObjectKind.SCRAP_LOT,
                            parts_kg - loss,
                            code=code,
                            attributes={
                                "scrapCategory": ScrapCategory.POST_CONSUMER,
                                "alloyFamily": "cast wheels" if family == "wheel" else "cast structural parts",
                                "composition": composition,
                            },
                        )
                    ],
                    losses={"sortingLoss": loss},
                    energy=ops.Energy(electricity_kwh=metered(parts_kg, SORTING_KWH_PER_T)),
                    event_time=sorted_at,
                )
                lots.append(
                    Stock(
                        local_uri("lot", self.p.dismantler.slug, code),
                        parts_kg - loss,
                        composition,
                    )
                )
        return lots

    # --- batteries ------------------------------------------------------------------------

    def recycle_batteries(self, wave: Wave, packs: list[tuple[str, str, Decimal]]) -> None:
        self.record(
            ops.custody_transfer,
            organisation=self.p.dismantler,
            site=self.p.yard,
            items=[uri for uri, _, _ in packs],
            lots=[],
            receiver=self.p.battery_recycler,
            event_time=wave.at(0.52),
        )
        for chemistry in ("NMC", "LFP"):
            batch = [(uri, kg) for uri, chem, kg in packs if chem == chemistry]
            if not batch:
                continue
            total = sum((kg for _, kg in batch), Decimal(0))
            outputs = []
            black_mass = ""
            for fraction, share in PACK_SPLIT[chemistry].items():
                kg = grams(total * Decimal(share))
                if fraction == "black mass":
                    code = self.code("BM")
                    black_mass = local_uri("lot", self.p.battery_recycler.slug, code)
                    attributes: dict[str, object] = {"chemistry": chemistry, "composition": BLACK_MASS[chemistry]}
                    outputs.append(ops.LotOut(ObjectKind.BLACK_MASS, kg, code=code, attributes=attributes))
                else:
                    code = self.code(f"FR-{fraction[:2].upper()}")
                    attributes = {"fraction": fraction}
                    outputs.append(ops.LotOut(ObjectKind.BATTERY_FRACTION, kg, code=code, attributes=attributes))
            self.record(
                ops.battery_recycling,
                organisation=self.p.battery_recycler,
                site=self.p.pretreatment_plant,
                batteries=[uri for uri, _ in batch],
                outputs=outputs,
                losses={"processLoss": total - sum((o.kg for o in outputs), Decimal(0))},
                event_time=wave.at(0.56),
            )
            self.refine(wave, chemistry, black_mass, outputs[0].kg)

    def refine(self, wave: Wave, chemistry: str, black_mass: str, kg: Decimal) -> None:
        used = grams(kg * REFINED_SHARE[chemistry])
        assay = BLACK_MASS[chemistry]
        salts = []
        for metal, (compound, content) in SALTS.items():
            if metal not in assay:
                continue
            contained = used * Decimal(str(assay[metal])) / 100
            salt_kg = (contained * RECOVERY[metal] / content * 100).quantize(GRAM, rounding=ROUND_DOWN)
            salts.append(
                ops.LotOut(
                    ObjectKind.SALT,
                    salt_kg,
                    code=self.code(f"S-{metal.upper()}"),
                    attributes={"compound": compound, "metal": metal, "metalContentPct": float(content)},
                )
            )
        recovered = sum((s.kg * Decimal(str(s.attributes["metalContentPct"])) / 100 for s in salts), Decimal(0))
        self.record(
            ops.black_mass_refining,
            organisation=self.p.battery_recycler,
            site=self.p.hydrometallurgy_plant,
            inputs=[ops.LotIn(black_mass, used)],
            salts=salts,
            losses={"processLoss": grams(used - recovered)},
            event_time=wave.at(0.85),
        )

    # --- aluminium ------------------------------------------------------------------------

    def plan_charge(
        self, charge: float, fixed: list[tuple[Decimal, Composition]], post_consumer: Composition
    ) -> Callable[[float], tuple[float, float, float, float]]:
        """For p kg of post-consumer scrap: kg of primary, silicon, magnesium and the Fe % of the melt."""
        fixed_kg = sum(float(kg) for kg, _ in fixed)

        def content(element: str) -> float:
            return sum(float(kg) * c.get(element, 0.0) for kg, c in fixed) / 100

        def solve(p: float) -> tuple[float, float, float, float]:
            magnesium = (CHARGE_TARGET["Mg"] * charge / 100 - content("Mg") - p * post_consumer.get("Mg", 0) / 100) / (
                MAGNESIUM_INGOT["Mg"] / 100
            )
            magnesium = max(magnesium, 0.0)
            rest = charge - fixed_kg - p - magnesium
            silicon_needed = CHARGE_TARGET["Si"] * charge / 100 - content("Si") - p * post_consumer.get("Si", 0) / 100
            si_primary, si_metal = PRIMARY_INGOT["Si"] / 100, SILICON_METAL["Si"] / 100
            silicon = max((silicon_needed - si_primary * rest) / (si_metal - si_primary), 0.0)
            primary = rest - silicon
            iron = (
                content("Fe")
                + p * post_consumer.get("Fe", 0) / 100
                + primary * PRIMARY_INGOT["Fe"] / 100
                + silicon * SILICON_METAL["Fe"] / 100
            )
            return primary, silicon, magnesium, iron / charge * 100

        return solve

    def post_consumer_kg(self, solve: Callable[[float], tuple[float, float, float, float]]) -> float:
        """The most post-consumer scrap the charge takes while Fe stays at its target."""

        def fits(p: float) -> bool:
            primary, _, _, iron = solve(p)
            return primary >= 0 and iron <= CHARGE_TARGET["Fe"]

        high = float(self.post_consumer.kg)
        if fits(high):
            return high
        low = 0.0
        if not fits(low):
            return 0.0
        for _ in range(40):
            middle = (low + high) / 2
            low, high = (middle, high) if fits(middle) else (low, middle)
        return low

    def buy(
        self, pool: Pool, kg: Decimal, unit: Decimal, composition: Composition, lot: Callable[[Decimal], ops.LotOut]
    ) -> ops.LotOut | None:
        """Receive enough of a material to cover ``kg`` (in whole purchase units)."""
        if pool.kg >= kg:
            return None
        out = lot(round_up(kg - pool.kg, unit))
        pool.lots.append(Stock(out.uri(self.p.remelter), out.kg, composition))
        return out

    def melt_and_cast(self, wave: Wave, *, trays: int) -> None:
        if trays == 0:
            return
        ingot_route = wave.index % INGOT_ROUTE_EVERY == INGOT_ROUTE_EVERY - 1
        design, tray_kg = TRAY_DESIGNS[wave.index % len(TRAY_DESIGNS)]
        rejects = max(1, round(trays * REJECT_SHARE))
        castings_kg = (trays + rejects) * tray_kg
        run_around_kg = grams(castings_kg * RUN_AROUND_SHARE)
        melt_needed = (castings_kg + run_around_kg) / (1 - HOLDING_LOSS_SHARE)
        if ingot_route:
            melt_needed /= 1 - MELT_LOSS_REMELTING_INGOTS - DROSS_SHARE
        melt_loss_share = MELT_LOSS_INGOT_ROUTE if ingot_route else MELT_LOSS_MOLTEN_ROUTE
        charge = grams(melt_needed / (1 - melt_loss_share - DROSS_SHARE))

        # The charge: all returned internal scrap, pre-consumer scrap, as much post-consumer
        # scrap as the Fe target allows, topped up with primary ingot, silicon and magnesium.
        internal = [(lot.kg, lot.composition) for lot in self.internal.lots]
        pre_consumer_kg = grams(float(charge) * PRE_CONSUMER_SHARE)
        fixed = [*internal, (pre_consumer_kg, PRE_CONSUMER_SCRAP)]
        post_consumer: Composition = mix([(lot.kg, lot.composition) for lot in self.post_consumer.lots])
        p = Decimal(0)
        for _ in range(3):  # the FIFO lots taken decide the assay, which decides how much
            solve = self.plan_charge(float(charge), fixed, post_consumer)
            p = min(grams(self.post_consumer_kg(solve)), self.post_consumer.kg)
            post_consumer = mix([(kg, lot.composition) for lot, kg in self.post_consumer.plan(p)]) if p else {}
        primary, silicon, magnesium, _ = self.plan_charge(float(charge), fixed, post_consumer)(float(p))
        primary_kg, silicon_kg, magnesium_kg = grams(primary), grams(silicon), grams(magnesium)

        remelter, shop = self.p.remelter, self.p.remelt_shop if ingot_route else self.p.hot_metal_plant
        received = wave.at(0.50)
        supplier = PRIMARY_SUPPLIERS[self.primary_receipts % len(PRIMARY_SUPPLIERS)]
        buying = [
            self.buy(
                self.primary,
                primary_kg,
                PRIMARY_BUNDLE_KG,
                PRIMARY_INGOT,
                lambda kg: ops.LotOut(
                    ObjectKind.PRIMARY_INGOT,
                    kg,
                    code=self.code("P"),
                    attributes={**supplier, "composition": PRIMARY_INGOT},
                ),
            ),
            self.buy(
                self.pre_consumer,
                pre_consumer_kg,
                PRE_CONSUMER_BALE_KG,
                PRE_CONSUMER_SCRAP,
                lambda kg: ops.LotOut(
                    ObjectKind.SCRAP_LOT,
                    kg,
                    code=self.code("PRE"),
                    attributes={
                        "supplier": PRE_CONSUMER_SUPPLIER,
                        "scrapCategory": ScrapCategory.PRE_CONSUMER,
                        "alloyFamily": "cast structural parts",
                        "composition": PRE_CONSUMER_SCRAP,
                    },
                ),
            ),
            self.buy(
                self.silicon,
                silicon_kg,
                SILICON_BAG_KG,
                SILICON_METAL,
                lambda kg: ops.LotOut(
                    ObjectKind.ALLOYING,
                    kg,
                    code=self.code("SI"),
                    attributes={"supplier": ALLOYING_SUPPLIER, "composition": SILICON_METAL},
                ),
            ),
            self.buy(
                self.magnesium,
                magnesium_kg,
                MAGNESIUM_UNIT_KG,
                MAGNESIUM_INGOT,
                lambda kg: ops.LotOut(
                    ObjectKind.ALLOYING,
                    kg,
                    code=self.code("MG"),
                    attributes={"supplier": ALLOYING_SUPPLIER, "composition": MAGNESIUM_INGOT},
                ),
            ),
        ]
        if buying[0] is not None:
            self.primary_receipts += 1
        for lot in buying:
            if lot is not None:
                self.record(ops.material_receipt, organisation=remelter, site=shop, lots=[lot], event_time=received)

        inputs = [ops.LotIn(lot.identifier, lot.kg) for lot in self.internal.lots]
        self.internal.lots = []
        inputs += self.pre_consumer.take(pre_consumer_kg)
        if p:
            inputs += self.post_consumer.take(p)
        for pool, kg in ((self.primary, primary_kg), (self.silicon, silicon_kg), (self.magnesium, magnesium_kg)):
            if kg:
                inputs += pool.take(kg)
        charged = sum((i.kg for i in inputs), Decimal(0))
        melt_loss, dross = grams(charged * melt_loss_share), grams(charged * DROSS_SHARE)
        melt_kg = charged - melt_loss - dross
        melted = wave.at(0.60)
        melt_code = self.code("ING" if ingot_route else "M")
        melt = local_uri("lot", remelter.slug, melt_code)
        self.record(
            ops.remelting,
            organisation=remelter,
            site=shop,
            inputs=inputs,
            output=ops.LotOut(ObjectKind.INGOT_LOT if ingot_route else ObjectKind.MELT_BATCH, melt_kg, code=melt_code),
            melt_loss_kg=melt_loss,
            dross_kg=dross,
            natural_gas_m3=self.energy(charged, NATURAL_GAS_M3_PER_T),
            electricity_kwh=self.energy(charged, ELECTRICITY_KWH_PER_T),
            target_alloy=TARGET_ALLOY,
            event_time=melted,
        )
        self.credits[(shop.pk, melted.year)] += p / charged * melt_kg
        if not ingot_route:
            self.molten_melts += 1
            if self.molten_melts % PREMIUM_LOT_EVERY == 0:
                self.claim_premium(wave, shop, melt, melt_kg, melted.year)
        if ingot_route:
            self.record(
                ops.custody_transfer,
                organisation=remelter,
                site=shop,
                items=[],
                lots=[ops.LotIn(melt, melt_kg)],
                receiver=self.p.die_caster,
                event_time=wave.at(0.62),
            )
            remelt_loss = grams(melt_kg * MELT_LOSS_REMELTING_INGOTS)
            remelt_dross = grams(melt_kg * DROSS_SHARE)
            remelt_code = self.code("DM")
            self.record(
                ops.remelting,
                organisation=self.p.die_caster,
                site=self.p.casting_hall,
                inputs=[ops.LotIn(melt, melt_kg)],
                output=ops.LotOut(ObjectKind.MELT_BATCH, melt_kg - remelt_loss - remelt_dross, code=remelt_code),
                melt_loss_kg=remelt_loss,
                dross_kg=remelt_dross,
                natural_gas_m3=self.energy(melt_kg, NATURAL_GAS_M3_PER_T),
                electricity_kwh=self.energy(melt_kg, ELECTRICITY_KWH_PER_T),
                target_alloy=TARGET_ALLOY,
                event_time=wave.at(0.66),
            )
            melt_kg -= remelt_loss + remelt_dross
            melt = local_uri("lot", self.p.die_caster.slug, remelt_code)
        else:
            self.record(
                ops.molten_transfer,
                organisation=remelter,
                site=shop,
                lot=ops.LotIn(melt, melt_kg),
                destination=self.p.casting_hall,
                temperature_c=Decimal(round(self.rng.uniform(*MOLTEN_TEMPERATURE_C))),
                distance_km=MOLTEN_DISTANCE_KM,
                event_time=wave.at(0.62),
            )
        self.cast(wave, melt, melt_kg, design, tray_kg, trays, rejects, run_around_kg)

    def claim_premium(self, wave: Wave, site: Site, melt: str, melt_kg: Decimal, year: int) -> None:
        """Claim the plant's post-consumer credits of the year on this melt, before it leaves.

        The reckoning leaves out the run-around scrap's claimed content (it only adds credits) and
        keeps a gram back for rounding, so the account always holds what is claimed.
        """
        kg = (min(self.credits[(site.pk, year)], melt_kg) - Decimal("0.001")).quantize(Decimal("0.001"), ROUND_DOWN)
        if kg <= 0 or wave.at(0.61).year != year:  # a claim draws on the account of its own year
            return
        self.record(
            ops.recycled_content_claim,
            organisation=self.p.remelter,
            site=site,
            lot=melt,
            kg=kg,
            category=ScrapCategory.POST_CONSUMER,
            event_time=wave.at(0.61),
        )
        self.credits[(site.pk, year)] -= kg

    def energy(self, kg: Decimal, per_tonne: tuple[float, float]) -> Decimal:
        return (kg / 1000 * Decimal(str(self.rng.uniform(*per_tonne)))).quantize(Decimal("0.1"))

    def cast(
        self,
        wave: Wave,
        melt: str,
        melt_kg: Decimal,
        design: str,
        tray_kg: Decimal,
        trays: int,
        rejects: int,
        run_around_kg: Decimal,
    ) -> None:
        run = wave.index + 1
        castings = [
            ops.PartOut(
                f"{design}-{run:02d}-{t:04d}",
                "battery_tray",
                tray_kg,
                {"alloy": TRAY_ALLOY, "design": design, "oem": TRAY_CUSTOMER},
            )
            for t in range(1, trays + 1)
        ]
        rejects_kg = rejects * tray_kg
        casting_loss = melt_kg - trays * tray_kg - rejects_kg - run_around_kg
        if casting_loss < 0:
            raise ValueError(f"melt {melt} ({melt_kg} kg) is too small for its casting run")
        run_around_code, rejects_code = self.code("RA"), self.code("REJ")
        self.record(
            ops.die_casting,
            organisation=self.p.die_caster,
            site=self.p.casting_hall,
            melt=ops.LotIn(melt, melt_kg),
            castings=castings,
            scrap=[
                ops.LotOut(
                    ObjectKind.SCRAP_LOT, run_around_kg, code=run_around_code, attributes={"scrapSource": "runAround"}
                ),
                ops.LotOut(ObjectKind.SCRAP_LOT, rejects_kg, code=rejects_code, attributes={"scrapSource": "rejects"}),
            ],
            losses={"castingLoss": casting_loss},
            energy=ops.Energy(electricity_kwh=metered(melt_kg, DIE_CASTING_KWH_PER_T)),
            event_time=wave.at(0.70),
        )
        returned = [
            (local_uri("lot", self.p.die_caster.slug, run_around_code), run_around_kg),
            (local_uri("lot", self.p.die_caster.slug, rejects_code), rejects_kg),
        ]
        self.record(
            ops.custody_transfer,
            organisation=self.p.die_caster,
            site=self.p.casting_hall,
            items=[],
            lots=[ops.LotIn(uri, kg) for uri, kg in returned],
            receiver=self.p.remelter,
            event_time=wave.at(0.80),
        )
        self.internal.lots += [Stock(uri, kg, self.composition_of(uri)) for uri, kg in returned]


def metered(kg: Decimal, per_tonne: Decimal) -> Decimal:
    """Energy of a step at a fixed rate (no random draw: the demo's other figures stay as they were)."""
    return (kg / 1000 * per_tonne).quantize(Decimal("0.1"))


def estimated_events(vehicles: int) -> int:
    """About how many ledger events a loop of this many vehicles writes (for progress bars)."""
    waves = min(vehicles, max(3, round(vehicles / 30)))
    return 4 * vehicles + 2 * math.ceil(vehicles / SORTING_GROUP_VEHICLES) + 14 * waves


def build_loop(
    partners: Partners,
    *,
    vehicles: int,
    end: datetime,
    datasheet: Datasheet,
    progress: Callable[[int], object] | None = None,
) -> None:
    DemoLoop(partners, vehicles=vehicles, end=end, datasheet=datasheet, progress=progress).run()
