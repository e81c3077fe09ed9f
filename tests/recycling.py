"""Batteries and recyclers for the regulator reports, on top of ``tests.loop``.

The loop's three NMC packs (EuroCell, made 2019) go to the recycler Cyclemet in October
2026: shredded into black mass and fractions, part of the black mass refined into salts.
Three packs of another model (made 2032, declaring their own recycled content) stay at the
dismantler. One LFP pack without a data sheet is recycled by Recyco in 2025.
Every figure the reports should give is worked out by hand in the tests.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from tests.factories import battery_code, make_partner, make_site, valid_vin
from tests.loop import Loop, at, build_loop
from traceability.choices import ObjectKind
from traceability.identifiers import battery_uri, local_uri, vehicle_uri
from traceability.operations import services as ops

OTHER_GTIN = "09506000000053"
OTHER_PLACE = {"addressCountry": "FR", "streetAddress": "5 Rue Exemple", "postalCode": "59000"}
OTHER_KG = Decimal("400")
LFP_KG = Decimal("300")
BLACK_MASS_KG = Decimal("490")
BLACK_MASS = {"Ni": 20.0, "Co": 6.0, "Li": 4.0, "Mn": 6.0}
FRACTIONS_KG = {
    "aluminium": Decimal("270"),
    "copper": Decimal("120"),
    "steel": Decimal("160"),
    "plastics": Decimal("170"),
}
REFINED_KG = Decimal("400")
# (metal, salt kg, metal content %): 76 kg Ni, 20.4 kg Co, 8 kg Li
SALTS = [("Ni", Decimal("380"), 20.0), ("Co", Decimal("102"), 20.0), ("Li", Decimal("40"), 20.0)]


def other_datasheet(recycled: list[dict[str, object]], materials: list[str]) -> dict[str, object]:
    return {
        "gtin": OTHER_GTIN,
        "batteryPass": {
            "GeneralProductInformation": {
                "manufacturerInformation": {"identifier": "TST", "contactName": "Test Cells"},
                "manufacturingPlace": OTHER_PLACE,
                "manufacturingDate": "2032-05-01T00:00:00Z",
            },
            "Circularity": {"recycledContent": recycled},
            "MaterialComposition": {"batteryMaterials": [{"batteryMaterialName": name} for name in materials]},
        },
    }


# Cobalt, lithium and nickel declared by two packs; the third holds no lithium and holds nickel
# without declaring its recycled share.
OTHER_PACKS = [
    other_datasheet(
        [
            {"recycledMaterial": "Cobalt", "preConsumerShare": 10.0, "postConsumerShare": 8.0},
            {"recycledMaterial": "Lithium", "preConsumerShare": 4.0, "postConsumerShare": 3.0},
            {"recycledMaterial": "Nickel", "preConsumerShare": 3.0, "postConsumerShare": 1.0},
        ],
        ["Cobalt", "Lithium", "Nickel"],
    ),
    other_datasheet(
        [
            {"recycledMaterial": "Cobalt", "preConsumerShare": 12.0, "postConsumerShare": 6.0},
            {"recycledMaterial": "Lithium", "preConsumerShare": 3.0, "postConsumerShare": 2.0},
            {"recycledMaterial": "Nickel", "preConsumerShare": 4.0, "postConsumerShare": 1.0},
        ],
        ["Cobalt", "Lithium", "Nickel"],
    ),
    other_datasheet(
        [{"recycledMaterial": "Cobalt", "preConsumerShare": 20.0, "postConsumerShare": 10.0}],
        ["Cobalt", "Nickel"],
    ),
]


@dataclass
class Recycling:
    loop: Loop
    cyclemet: object
    recyco: object
    regulator: object
    other_packs: list[str]
    lfp_pack: str


def _vehicle_with_pack(
    loop: Loop, number: int, battery: ops.BatteryOut, when: datetime, *, vehicle_kg: Decimal = Decimal("1700")
) -> str:
    vin = valid_vin(number)
    ops.vehicle_intake(
        organisation=loop.dismantler.organisation,
        site=loop.dismantling_site,
        vin=vin,
        kg=vehicle_kg,
        make="Testa",
        model="Model T",
        event_time=when,
    )
    ops.dismantling(
        organisation=loop.dismantler.organisation,
        site=loop.dismantling_site,
        vehicle=vehicle_uri(vin),
        batteries=[battery],
        event_time=when.replace(hour=when.hour + 1),
    )
    return battery_uri(battery.code)


def build_recycling() -> Recycling:
    loop = build_loop()
    cyclemet = make_partner("cyclemet", role="battery_recycler")
    recyco = make_partner("recyco", role="battery_recycler")
    regulator = make_partner("market-surveillance", role="regulator")
    shredder = make_site(cyclemet, "Pretreatment", country="DE")
    hydromet = make_site(cyclemet, "Hydrometallurgy", country="DE")
    recyco_plant = make_site(recyco, "Shredder", country="PL")

    other_packs = [
        _vehicle_with_pack(
            loop, 10 + n, ops.BatteryOut(battery_code(10 + n), "NMC", Decimal("80"), OTHER_KG, sheet), at(30 + 2 * n)
        )
        for n, sheet in enumerate(OTHER_PACKS)
    ]

    # 2026: the loop's three packs, 3 x 452 kg = 1356 kg, become 1210 kg of outputs.
    ops.custody_transfer(
        organisation=loop.dismantler.organisation,
        site=loop.dismantling_site,
        items=loop.packs,
        lots=[],
        receiver=cyclemet.organisation,
        event_time=at(20),
    )
    outputs = [
        ops.LotOut(ObjectKind.BLACK_MASS, BLACK_MASS_KG, code="BM-1", attributes={"composition": BLACK_MASS}),
        *(
            ops.LotOut(ObjectKind.BATTERY_FRACTION, kg, code=f"FR-{name}", attributes={"fraction": name})
            for name, kg in FRACTIONS_KG.items()
        ),
    ]
    packs_kg = sum((loop.obj(p).initial_kg for p in loop.packs), Decimal(0))
    ops.battery_recycling(
        organisation=cyclemet.organisation,
        site=shredder,
        batteries=loop.packs,
        outputs=outputs,
        losses={"processLoss": packs_kg - sum((o.kg for o in outputs), Decimal(0))},
        event_time=at(21),
    )
    ops.black_mass_refining(
        organisation=cyclemet.organisation,
        site=hydromet,
        inputs=[ops.LotIn(local_uri("lot", "cyclemet", "BM-1"), REFINED_KG)],
        salts=[
            ops.LotOut(ObjectKind.SALT, kg, code=f"S-{metal}", attributes={"metal": metal, "metalContentPct": content})
            for metal, kg, content in SALTS
        ],
        losses={},
        event_time=at(22),
    )

    # 2025: an LFP pack registered without a data sheet, 300 kg in, 180 kg out.
    june = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
    lfp_pack = _vehicle_with_pack(
        loop, 20, ops.BatteryOut(battery_code(20), "LFP", Decimal("50"), LFP_KG), june, vehicle_kg=Decimal("1500")
    )
    ops.custody_transfer(
        organisation=loop.dismantler.organisation,
        site=loop.dismantling_site,
        items=[lfp_pack],
        lots=[],
        receiver=recyco.organisation,
        event_time=june.replace(day=3),
    )
    ops.battery_recycling(
        organisation=recyco.organisation,
        site=recyco_plant,
        batteries=[lfp_pack],
        outputs=[
            ops.LotOut(ObjectKind.BLACK_MASS, Decimal("102"), code="BM-1", attributes={"composition": {"Li": 3.9}}),
            ops.LotOut(ObjectKind.BATTERY_FRACTION, Decimal("78"), code="FR-1", attributes={"fraction": "aluminium"}),
        ],
        losses={"processLoss": Decimal("120")},
        event_time=june.replace(day=4),
    )
    return Recycling(
        loop=loop,
        cyclemet=cyclemet,
        recyco=recyco,
        regulator=regulator,
        other_packs=other_packs,
        lfp_pack=lfp_pack,
    )
