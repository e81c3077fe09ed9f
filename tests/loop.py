"""A small car-to-car loop built through the operation services, for tests.

Three vehicles are dismantled; their aluminium wheels and motor housings are sorted
into one post-consumer scrap lot, shipped to a remelter, melted with primary ingot
and silicon, delivered molten to a die-caster and cast into battery trays.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from passport.demo import battery_datasheet
from tests.factories import battery_code, make_partner, make_site, valid_vin
from traceability.choices import ObjectKind, ScrapCategory
from traceability.identifiers import local_uri, vehicle_uri
from traceability.models import Site, TraceableObject
from traceability.operations import services as ops

T0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
VEHICLES = 3
WHEEL_KG = Decimal("10.5")
HOUSING_KG = Decimal("14.2")
PACK_KG = Decimal("452.0")
PACK_KWH = Decimal("75")
PACKS_MADE = datetime(2019, 3, 5, tzinfo=UTC)
SCRAP_COMPOSITION = {"Si": 7.1, "Fe": 0.11, "Mg": 0.32, "Cu": 0.02, "Zn": 0.03}
PRIMARY_COMPOSITION = {"Si": 0.04, "Fe": 0.07}


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


@dataclass
class Loop:
    dismantler: object
    remelter: object
    die_caster: object
    dismantling_site: Site
    remelt_site: Site
    casting_site: Site
    vehicles: list[str] = field(default_factory=list)
    packs: list[str] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    scrap_lot: str = ""
    primary: str = ""
    silicon: str = ""
    melt: str = ""
    trays: list[str] = field(default_factory=list)
    run_around: str = ""
    scrap_in_melt_kg: Decimal = Decimal(0)
    melt_inputs_kg: Decimal = Decimal(0)

    def obj(self, identifier: str) -> TraceableObject:
        return TraceableObject.objects.get(identifier=identifier)


def build_loop(*, casting_policy: str = "warn") -> Loop:
    dismantler = make_partner("autocirc", role="dismantler")
    remelter = make_partner("nordic-remelt", role="remelter")
    die_caster = make_partner("castline", role="die_caster")
    loop = Loop(
        dismantler=dismantler,
        remelter=remelter,
        die_caster=die_caster,
        dismantling_site=make_site(dismantler, "Yard", country="DE"),
        remelt_site=make_site(remelter, "Remelt shop", country="DE"),
        casting_site=make_site(die_caster, "Giga-press hall", country="DE", composition_policy=casting_policy),
    )
    for n in range(VEHICLES):
        vin = valid_vin(n + 1)
        ops.vehicle_intake(
            organisation=dismantler.organisation,
            site=loop.dismantling_site,
            vin=vin,
            kg=Decimal("1850"),
            make="Volta",
            model="E-Compact",
            model_year=2017,
            event_time=at(n),
        )
        loop.vehicles.append(vehicle_uri(vin))
        record = ops.dismantling(
            organisation=dismantler.organisation,
            site=loop.dismantling_site,
            vehicle=vehicle_uri(vin),
            batteries=[
                ops.BatteryOut(
                    battery_code(n + 1),
                    "NMC",
                    PACK_KWH,
                    PACK_KG,
                    battery_datasheet(
                        maker="EUC",
                        chemistry="NMC",
                        kwh=PACK_KWH,
                        made=PACKS_MADE,
                        read_at=at(n + 0.5),
                        code=battery_code(n + 1),
                    ),
                )
            ],
            parts=[ops.PartOut(f"W{n}-{w}", "wheel", WHEEL_KG, {"alloy": "A356"}) for w in range(4)]
            + [ops.PartOut(f"H{n}", "motor_housing", HOUSING_KG, {"alloy": "A380"})],
            event_time=at(n + 0.5),
        )
        involved = list(record.involved.values_list("identifier", "kind"))
        loop.packs += [i for i, kind in involved if kind == ObjectKind.BATTERY_PACK]
        loop.parts += [i for i, kind in involved if kind == ObjectKind.PART]
    parts_kg = VEHICLES * (4 * WHEEL_KG + HOUSING_KG)
    sorting_loss = Decimal("1.000")
    ops.scrap_sorting(
        organisation=dismantler.organisation,
        site=loop.dismantling_site,
        parts=loop.parts,
        lots=[],
        outputs=[
            ops.LotOut(
                ObjectKind.SCRAP_LOT,
                parts_kg - sorting_loss,
                code="PC-1",
                attributes={
                    "alloyFamily": "cast",
                    "scrapCategory": ScrapCategory.POST_CONSUMER,
                    "composition": SCRAP_COMPOSITION,
                },
            )
        ],
        losses={"sortingLoss": sorting_loss},
        event_time=at(10),
    )
    loop.scrap_lot = local_uri("lot", "autocirc", "PC-1")
    ops.custody_transfer(
        organisation=dismantler.organisation,
        site=loop.dismantling_site,
        items=[],
        lots=[ops.LotIn(loop.scrap_lot, parts_kg - sorting_loss)],
        receiver=remelter.organisation,
        event_time=at(11),
    )
    ops.material_receipt(
        organisation=remelter.organisation,
        site=loop.remelt_site,
        event_time=at(12),
        lots=[
            ops.LotOut(
                ObjectKind.PRIMARY_INGOT,
                Decimal("1000"),
                code="P-1",
                attributes={"supplier": "Hydro Smelter", "powerSource": "hydro", "composition": PRIMARY_COMPOSITION},
            ),
            ops.LotOut(ObjectKind.ALLOYING, Decimal("100"), code="SI-1", attributes={"composition": {"Si": 99.0}}),
        ],
    )
    loop.primary = local_uri("lot", "nordic-remelt", "P-1")
    loop.silicon = local_uri("lot", "nordic-remelt", "SI-1")
    scrap_kg = parts_kg - sorting_loss
    inputs = [
        ops.LotIn(loop.scrap_lot, scrap_kg),
        ops.LotIn(loop.primary, Decimal("500")),
        ops.LotIn(loop.silicon, Decimal("40")),
    ]
    loop.melt_inputs_kg = sum((i.kg for i in inputs), Decimal(0))
    loop.scrap_in_melt_kg = scrap_kg
    melt_loss, dross = Decimal("12.000"), Decimal("5.000")
    melt_kg = loop.melt_inputs_kg - melt_loss - dross
    ops.remelting(
        organisation=remelter.organisation,
        site=loop.remelt_site,
        inputs=inputs,
        output=ops.LotOut(ObjectKind.MELT_BATCH, melt_kg, code="M-1"),
        melt_loss_kg=melt_loss,
        dross_kg=dross,
        natural_gas_m3=Decimal("52"),
        electricity_kwh=Decimal("66"),
        target_alloy="thin-wall-structural",
        event_time=at(13),
    )
    loop.melt = local_uri("lot", "nordic-remelt", "M-1")
    ops.molten_transfer(
        organisation=remelter.organisation,
        site=loop.remelt_site,
        lot=ops.LotIn(loop.melt, melt_kg),
        destination=loop.casting_site,
        temperature_c=Decimal("720"),
        distance_km=Decimal("35"),
        event_time=at(14),
    )
    tray_kg, trays = Decimal("55"), 10
    run_around = Decimal("60")
    casting_loss = melt_kg - trays * tray_kg - run_around
    ops.die_casting(
        organisation=die_caster.organisation,
        site=loop.casting_site,
        melt=ops.LotIn(loop.melt, melt_kg),
        castings=[ops.PartOut(f"TRAY-{t:04d}", "battery_tray", tray_kg) for t in range(trays)],
        scrap=[ops.LotOut(ObjectKind.SCRAP_LOT, run_around, code="RA-1")],
        losses={"castingLoss": casting_loss},
        event_time=at(16),
    )
    loop.trays = [local_uri("part", "castline", f"TRAY-{t:04d}") for t in range(trays)]
    loop.run_around = local_uri("lot", "castline", "RA-1")
    return loop
