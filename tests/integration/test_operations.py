from decimal import Decimal

import pytest
from django.core.management import call_command

from tests.factories import battery_code, make_partner, make_site, valid_vin
from tests.loop import PACK_KG, VEHICLES, at, build_loop
from traceability.choices import ObjectKind, ObjectStatus
from traceability.errors import ApplicationError
from traceability.genealogy import genealogy
from traceability.identifiers import local_uri, vehicle_uri
from traceability.models import EventRecord, LedgerEntry, MassFlow, TraceableObject
from traceability.operations import services as ops
from traceability.verification import verify_ledger

pytestmark = pytest.mark.django_db

KG = Decimal("0.01")


@pytest.fixture
def loop():
    return build_loop()


def test_the_loop_records_one_signed_event_per_operation(loop):
    records = list(EventRecord.objects.order_by("entry_id").values_list("operation", flat=True))

    assert records == (
        ["vehicle_intake", "dismantling"] * VEHICLES
        + ["scrap_sorting", "custody_transfer", "material_receipt", "remelting", "molten_transfer", "die_casting"]
    )
    assert verify_ledger(processes=1).ok
    melt = loop.obj(loop.melt)
    assert melt.custodian == loop.die_caster.organisation
    assert melt.status == ObjectStatus.CONSUMED
    assert melt.attributes["deliveredTemperatureC"] == 720.0
    assert loop.obj(loop.scrap_lot).custodian == loop.remelter.organisation
    assert all(loop.obj(p).status == ObjectStatus.CONSUMED for p in loop.parts)


def test_a_vehicle_keeps_its_hulk_after_dismantling(loop):
    vehicle = loop.obj(loop.vehicles[0])
    removed = PACK_KG + 4 * Decimal("10.5") + Decimal("14.2")

    assert vehicle.status == ObjectStatus.ACTIVE
    assert vehicle.remaining_kg == Decimal("1850") - removed


def test_a_melts_composition_is_the_mass_weighted_mix_of_its_inputs(loop):
    melt = loop.obj(loop.melt)
    scrap, primary, silicon = loop.scrap_in_melt_kg, Decimal(500), Decimal(40)
    expected_si = (scrap * Decimal("7.1") + primary * Decimal("0.04") + silicon * Decimal(99)) / loop.melt_inputs_kg

    assert melt.attributes["composition"]["Si"] == pytest.approx(float(expected_si), abs=1e-4)
    tray = loop.obj(loop.trays[0])
    assert tray.attributes["composition"] == melt.attributes["composition"]
    assert loop.obj(loop.run_around).attributes["scrapCategory"] == "internal"


def test_a_trays_genealogy_reaches_its_vehicles_with_kilograms_that_add_up(loop):
    # given
    tray = loop.obj(loop.trays[0])

    # when
    backward = genealogy(root=tray, direction="backward")

    # then: the roots of the ancestry account for the tray's whole mass
    by_identifier = {node.identifier: node for node in backward.nodes}
    roots = [n for n in backward.nodes if not MassFlow.objects.filter(target_id=n.id).exists()]
    assert {n.kind for n in roots} == {ObjectKind.VEHICLE, ObjectKind.PRIMARY_INGOT, ObjectKind.ALLOYING}
    assert sum(n.kg for n in roots) == pytest.approx(tray.initial_kg, abs=KG)
    # and: each vehicle gave its share of the scrap that went into the melt
    expected_per_vehicle = tray.initial_kg * loop.scrap_in_melt_kg / loop.melt_inputs_kg / VEHICLES
    for vehicle in loop.vehicles:
        assert by_identifier[vehicle].kg == pytest.approx(expected_per_vehicle, abs=KG)
    assert by_identifier[loop.primary].kg == pytest.approx(tray.initial_kg * 500 / loop.melt_inputs_kg, abs=KG)
    assert by_identifier[loop.melt].depth == 1
    # and: no battery pack went into the tray
    assert not set(loop.packs) & set(by_identifier)


def test_forward_genealogy_of_a_vehicle_matches_the_backward_kilograms(loop):
    vehicle = loop.obj(loop.vehicles[1])

    forward = genealogy(root=vehicle, direction="forward")
    backward = genealogy(root=loop.obj(loop.trays[3]), direction="backward")

    reached = {node.identifier: node.kg for node in forward.nodes}
    assert set(loop.trays) <= set(reached)
    assert loop.packs[1] in reached
    assert reached[loop.packs[1]] == PACK_KG
    from_backward = {node.identifier: node.kg for node in backward.nodes}[loop.vehicles[1]]
    assert reached[loop.trays[3]] == pytest.approx(from_backward, abs=KG)


def test_rebuilding_the_projections_from_the_ledger_gives_the_same_state(loop):
    def snapshot():
        objects = list(
            TraceableObject.objects.order_by("identifier").values_list(
                "identifier",
                "kind",
                "label",
                "status",
                "custodian__slug",
                "site_id",
                "attributes",
                "initial_kg",
                "remaining_kg",
                "inflow_kg",
                "created_seq",
                "created_at",
                "ended_seq",
                "ended_at",
            )
        )
        flows = sorted(MassFlow.objects.values_list("source__identifier", "target__identifier", "kg", "seq"))
        events = list(EventRecord.objects.order_by("entry_id").values_list("entry_id", "operation", "warnings"))
        return objects, flows, events

    before = snapshot()

    call_command("rebuild_projections", verbosity=0)

    assert snapshot() == before
    assert len(before[0]) > 20


def rejected(code: str, action) -> ApplicationError:  # type: ignore[no-untyped-def]
    size = LedgerEntry.objects.count()
    with pytest.raises(ApplicationError) as error:
        action()
    assert error.value.code == code, error.value
    assert LedgerEntry.objects.count() == size
    return error.value


def test_an_unbalanced_melt_is_refused(loop):
    ops.material_receipt(
        organisation=loop.remelter.organisation,
        site=loop.remelt_site,
        event_time=at(20),
        lots=[ops.LotOut(ObjectKind.PRIMARY_INGOT, Decimal("300"), code="P-2")],
    )
    error = rejected(
        "mass_unbalanced",
        lambda: ops.remelting(
            organisation=loop.remelter.organisation,
            site=loop.remelt_site,
            inputs=[ops.LotIn(local_uri("lot", "nordic-remelt", "P-2"), Decimal("100"))],
            output=ops.LotOut(ObjectKind.MELT_BATCH, Decimal("110"), code="M-2"),
            melt_loss_kg=Decimal(2),
            dross_kg=Decimal(0),
            natural_gas_m3=Decimal(8),
            electricity_kwh=Decimal(9),
            event_time=at(21),
        ),
    )
    assert error.extra["inputsKg"] == "100.000"


def test_a_lot_cannot_be_consumed_beyond_what_remains(loop):
    rejected(
        "lot_overconsumed",
        lambda: ops.remelting(
            organisation=loop.remelter.organisation,
            site=loop.remelt_site,
            inputs=[ops.LotIn(loop.primary, Decimal("600"))],
            output=ops.LotOut(ObjectKind.MELT_BATCH, Decimal("590"), code="M-3"),
            melt_loss_kg=Decimal(10),
            dross_kg=Decimal(0),
            natural_gas_m3=Decimal(8),
            electricity_kwh=Decimal(9),
            event_time=at(21),
        ),
    )


def test_an_input_cannot_be_used_before_it_exists(loop):
    rejected(
        "input_not_yet_existing",
        lambda: ops.remelting(
            organisation=loop.remelter.organisation,
            site=loop.remelt_site,
            inputs=[ops.LotIn(loop.primary, Decimal("100"))],
            output=ops.LotOut(ObjectKind.MELT_BATCH, Decimal("98"), code="M-4"),
            melt_loss_kg=Decimal(2),
            dross_kg=Decimal(0),
            natural_gas_m3=Decimal(8),
            electricity_kwh=Decimal(9),
            event_time=at(11),
        ),
    )


def test_a_consumed_item_never_reappears(loop):
    rejected(
        "object_ended",
        lambda: ops.scrap_sorting(
            organisation=loop.dismantler.organisation,
            site=loop.dismantling_site,
            parts=[loop.parts[0]],
            lots=[],
            outputs=[
                ops.LotOut(
                    ObjectKind.SCRAP_LOT, Decimal("10.5"), code="PC-2", attributes={"scrapCategory": "post_consumer"}
                )
            ],
            losses={},
            event_time=at(30),
        ),
    )


def test_only_the_custodian_transforms(loop):
    # the remelter never held the dismantler's vehicle: to it, the vehicle is unknown
    rejected(
        "object_unknown",
        lambda: ops.remelting(
            organisation=loop.remelter.organisation,
            site=loop.remelt_site,
            inputs=[ops.LotIn(loop.vehicles[0], Decimal("100"))],
            output=ops.LotOut(ObjectKind.MELT_BATCH, Decimal("98"), code="M-5"),
            melt_loss_kg=Decimal(2),
            dross_kg=Decimal(0),
            natural_gas_m3=Decimal(8),
            electricity_kwh=Decimal(9),
            event_time=at(30),
        ),
    )


def test_a_serialised_item_is_not_split_in_a_mix(loop):
    rejected(
        "item_not_divisible",
        lambda: ops.scrap_sorting(
            organisation=loop.dismantler.organisation,
            site=loop.dismantling_site,
            parts=[],
            lots=[ops.LotIn(loop.vehicles[0], Decimal("100"))],
            outputs=[
                ops.LotOut(
                    ObjectKind.SCRAP_LOT, Decimal("100"), code="PC-3", attributes={"scrapCategory": "post_consumer"}
                )
            ],
            losses={},
            event_time=at(30),
        ),
    )


def test_identifiers_are_validated(db):
    dismantler = make_partner("autocirc", role="dismantler")
    site = make_site(dismantler)
    bad_check_digit = valid_vin(7)[:8] + ("1" if valid_vin(7)[8] != "1" else "2") + valid_vin(7)[9:]

    rejected(
        "vin_check_digit_invalid",
        lambda: ops.vehicle_intake(
            organisation=dismantler.organisation,
            site=site,
            vin=bad_check_digit,
            kg=Decimal(1500),
            make="V",
            model="M",
        ),
    )
    rejected(
        "vin_invalid",
        lambda: ops.vehicle_intake(
            organisation=dismantler.organisation,
            site=site,
            vin="WVWZZZ1JZ3W38675I",
            kg=Decimal(1500),
            make="V",
            model="M",
        ),
    )
    ops.vehicle_intake(
        organisation=dismantler.organisation,
        site=site,
        vin=valid_vin(7),
        kg=Decimal(1500),
        make="V",
        model="M",
        event_time=at(0),
    )
    rejected(
        "battery_code_invalid",
        lambda: ops.dismantling(
            organisation=dismantler.organisation,
            site=site,
            vehicle=vehicle_uri(valid_vin(7)),
            batteries=[ops.BatteryOut("NOT-A-GBT-CODE", "LFP", Decimal(60), Decimal(400))],
            event_time=at(1),
        ),
    )
    # a European VIN has no mandatory check digit
    ops.vehicle_intake(
        organisation=dismantler.organisation,
        site=site,
        vin="WVWZZZ1JZ3W386752",
        kg=Decimal(1500),
        make="V",
        model="M",
        event_time=at(0),
    )


def test_a_regulator_records_nothing(db):
    regulator = make_partner("eu-authority", role="regulator")
    site = make_site(regulator)

    rejected(
        "role_not_allowed",
        lambda: ops.vehicle_intake(
            organisation=regulator.organisation,
            site=site,
            vin=valid_vin(9),
            kg=Decimal(1500),
            make="V",
            model="M",
        ),
    )


def test_a_melt_out_of_specification_warns_or_is_refused_by_site_policy(db):
    remelter = make_partner("nordic-remelt", role="remelter")
    warn_site = make_site(remelter, "Warn shop")
    strict_site = make_site(remelter, "Strict shop", composition_policy="refuse")
    for site, code in [(warn_site, "W"), (strict_site, "S")]:
        ops.material_receipt(
            organisation=remelter.organisation,
            site=site,
            event_time=at(0),
            lots=[
                ops.LotOut(
                    ObjectKind.SCRAP_LOT,
                    Decimal(200),
                    code=f"IRONY-{code}",
                    attributes={"scrapCategory": "post_consumer", "composition": {"Fe": 0.4, "Si": 7}},
                )
            ],
        )

    def melt(site, code):  # type: ignore[no-untyped-def]
        return ops.remelting(
            organisation=remelter.organisation,
            site=site,
            inputs=[ops.LotIn(local_uri("lot", "nordic-remelt", f"IRONY-{code}"), Decimal(100))],
            output=ops.LotOut(ObjectKind.MELT_BATCH, Decimal(98), code=f"M-{code}"),
            melt_loss_kg=Decimal(2),
            dross_kg=Decimal(0),
            natural_gas_m3=Decimal(8),
            electricity_kwh=Decimal(9),
            target_alloy="thin-wall-structural",
            event_time=at(1),
        )

    warned = melt(warn_site, "W")
    assert warned.warnings == ["Fe 0.4% exceeds thin-wall-structural max 0.12%"]
    rejected("composition_out_of_spec", lambda: melt(strict_site, "S"))


def test_a_late_event_that_is_consistent_is_accepted(loop):
    # given: the die-casting at hour 16 is recorded; grading of a pack happened at hour 2 but arrives now
    pack = loop.packs[0]

    # when
    record = ops.battery_grading(
        organisation=loop.dismantler.organisation,
        site=loop.dismantling_site,
        battery=pack,
        state_of_health_pct=Decimal("81.5"),
        capacity_kwh=Decimal("61.1"),
        route="second_life",
        event_time=at(2),
    )

    # then
    assert record.entry_id == LedgerEntry.objects.count()
    assert loop.obj(pack).attributes["stateOfHealthPct"] == 81.5
    assert loop.obj(pack).attributes["route"] == "second_life"


def test_repurposing_ends_the_old_identity_and_links_the_new(loop):
    old = loop.packs[0]
    ops.repurposing(
        organisation=loop.dismantler.organisation,
        site=loop.dismantling_site,
        battery=old,
        new_battery=ops.BatteryOut(battery_code(900), "NMC", Decimal("75"), PACK_KG),
        application="stationary storage",
        event_time=at(20),
    )

    new = TraceableObject.objects.get(label=battery_code(900))
    assert loop.obj(old).status == ObjectStatus.REPURPOSED
    assert new.attributes["previousIdentity"] == old
    assert [n.identifier for n in genealogy(root=new, direction="backward").nodes][:2] == [old, loop.vehicles[0]]
    rejected(
        "object_ended",
        lambda: ops.battery_grading(
            organisation=loop.dismantler.organisation,
            site=loop.dismantling_site,
            battery=old,
            state_of_health_pct=Decimal(80),
            capacity_kwh=Decimal(60),
            route="recycling",
            event_time=at(21),
        ),
    )


def test_battery_recycling_and_refining_balance_contained_metal(db):
    recycler = make_partner("voltcycle", role="battery_recycler")
    dismantler = make_partner("autocirc", role="dismantler")
    site, yard = make_site(recycler), make_site(dismantler)
    ops.vehicle_intake(
        organisation=dismantler.organisation,
        site=yard,
        vin=valid_vin(1),
        kg=Decimal(1800),
        make="V",
        model="M",
        event_time=at(0),
    )
    ops.dismantling(
        organisation=dismantler.organisation,
        site=yard,
        vehicle=vehicle_uri(valid_vin(1)),
        batteries=[ops.BatteryOut(battery_code(1), "NMC", Decimal(75), Decimal(450))],
        event_time=at(1),
    )
    pack = TraceableObject.objects.get(kind=ObjectKind.BATTERY_PACK).identifier
    ops.custody_transfer(
        organisation=dismantler.organisation,
        site=yard,
        items=[pack],
        lots=[],
        receiver=recycler.organisation,
        event_time=at(2),
    )
    ops.battery_recycling(
        organisation=recycler.organisation,
        site=site,
        batteries=[pack],
        event_time=at(3),
        outputs=[
            ops.LotOut(
                ObjectKind.BLACK_MASS,
                Decimal(180),
                code="BM-1",
                attributes={"composition": {"Ni": 30.0, "Co": 8.0, "Li": 4.5}},
            ),
            ops.LotOut(ObjectKind.BATTERY_FRACTION, Decimal(260), code="FR-1", attributes={"material": "Al/Cu/steel"}),
        ],
        losses={"electrolyte": Decimal(10)},
    )
    assert TraceableObject.objects.get(identifier=pack).status == ObjectStatus.RECYCLED
    black_mass = local_uri("lot", "voltcycle", "BM-1")

    def refine(nickel_salt_kg):  # type: ignore[no-untyped-def]
        return ops.black_mass_refining(
            organisation=recycler.organisation,
            site=site,
            inputs=[ops.LotIn(black_mass, Decimal(100))],
            salts=[
                ops.LotOut(
                    ObjectKind.SALT,
                    nickel_salt_kg,
                    code=f"NS-{nickel_salt_kg}",
                    attributes={"compound": "NiSO4·6H2O", "metal": "Ni", "metalContentPct": 22.3},
                )
            ],
            losses={},
            event_time=at(4),
        )

    rejected("recovery_exceeds_input", lambda: refine(Decimal(140)))
    refine(Decimal(130))
    salt = TraceableObject.objects.get(kind=ObjectKind.SALT)
    assert salt.attributes["recoveryPct"] == pytest.approx(130 * 22.3 / 30, abs=0.01)
