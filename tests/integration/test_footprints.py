"""Footprints computed from the ledger: a hand-computed tray, catch-up equals full recomputation,
the factor registry's versions, and the API."""

from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from rest_framework.test import APIClient

from carbon import services
from carbon.models import EmissionFactor, FootprintResult, LedgerCursor
from tests.factories import make_partner
from tests.loop import at, build_loop
from traceability.choices import ObjectKind
from traceability.errors import ApplicationError
from traceability.models import TraceableObject
from traceability.operations import services as ops
from traceability.services import platform_organisation

pytestmark = pytest.mark.django_db
REL = 1e-9


@pytest.fixture
def loop():
    built = build_loop()
    services.footprints_catch_up()
    return built


def result(identifier: str, method: str = "cut_off", chain: str = "physical") -> FootprintResult:
    return FootprintResult.objects.get(node__identifier=identifier, method=method, chain=chain)


def test_a_trays_cut_off_footprint_matches_the_hand_computation(loop):
    # Vehicles and their parts enter free of burden (cut-off); sorting recorded no energy.
    # Melt inputs: 167.6 kg scrap x 0, 500 kg hydro primary x 4.0, 40 kg silicon x 5.0.
    # Remelting: 66 kWh x 0.380 (DE grid) + 52 m3 x 2.04 (natural gas). Melt: 690.6 kg.
    # Molten transfer: 0.6906 t x 35 km x 0.08 kg/t-km. Die-casting recorded no energy;
    # its 80.6 kg casting loss carries no burden, so the 690.6 kg melt's burden is spread
    # over the 610 kg that came out (550 kg trays, 60 kg run-around scrap).
    # The haul is freight between sites: distribution; the rest is raw material acquisition.
    haul = 0.6906 * 35 * 0.08
    melt_total = 500 * 4.0 + 40 * 5.0 + 66 * 0.380 + 52 * 2.04 + haul
    tray = result(loop.trays[0])

    assert result(loop.melt).total_per_kg == pytest.approx(melt_total / 690.6, rel=REL)
    assert tray.total_per_kg == pytest.approx(melt_total / 610, rel=REL)
    assert tray.per_kg["raw_material_acquisition"] == pytest.approx((melt_total - haul) / 610, rel=REL)
    assert tray.per_kg["distribution"] == pytest.approx(haul / 610, rel=REL)
    assert tray.per_kg["main_production"] == 0
    assert tray.post_consumer_share == pytest.approx(167.6 / 707.6, rel=REL)
    assert tray.pre_consumer_share == 0
    assert tray.post_consumer_by_make == {"Volta": pytest.approx(167.6 / 707.6, rel=REL)}
    assert tray.total_kg == pytest.approx(55 * melt_total / 610, rel=REL)
    assert "primary_aluminium:hydro:v1" in tray.factors
    assert tray.ledger_size == LedgerCursor.objects.get().seq


def test_every_method_and_chain_is_computed_and_cff_with_a_one_is_cut_off(loop):
    methods = set(FootprintResult.objects.filter(node__identifier=loop.trays[0]).values_list("method", "chain"))
    assert methods == {(m, c) for m in ("cut_off", "allocation", "cff") for c in ("physical", "mass_balance")}
    # with A = 0.2, recycled content earns less credit than under cut-off up to the part's own
    # end of life, where the CFF credits the aluminium recycled after it (R2 > 0)
    cff, cut_off = result(loop.trays[0], "cff"), result(loop.trays[0])
    end = "end_of_life_and_recycling"
    assert cff.total_per_kg - cff.per_kg[end] > cut_off.total_per_kg
    assert cff.per_kg[end] < 0

    # A = 1 and no disposal burden: the CFF is cut-off
    services.factor_add(code="cff_a", region="aluminium", value=1, unit="dimensionless", source="test: A = 1")
    services.factor_add(code="cff_e_d", region="aluminium", value=0, unit="kg/kg", source="test: E_D = 0")
    services.footprints_recompute()

    assert result(loop.trays[0], "cff").total_per_kg == pytest.approx(result(loop.trays[0]).total_per_kg, rel=REL)


def test_run_around_scrap_is_not_recycled_content_itself_but_carries_the_melt(loop):
    run_around, tray = result(loop.run_around), result(loop.trays[0])

    assert run_around.total_per_kg == tray.total_per_kg
    assert run_around.post_consumer_share == tray.post_consumer_share


def test_catching_up_event_by_event_equals_a_full_recomputation(db, monkeypatch):
    # given: the loop, followed one event per catch-up as workers nudged after each commit do
    loop = build_loop()
    monkeypatch.setattr(services, "CATCH_UP_BATCH", 1)
    LedgerCursor.objects.all().delete()
    while services.footprints_catch_up().events:
        pass

    def snapshot():  # type: ignore[no-untyped-def]
        return {
            (r.node_id, r.method, r.chain): (r.total_per_kg, r.pre_consumer_share, r.post_consumer_share)
            for r in FootprintResult.objects.all()
        }

    stepwise = snapshot()
    # the tray's result was computed in a later batch than the melt; it still names the
    # primary ingot's factor behind the melt, so it can be reproduced from its own record
    tray_factors = result(loop.trays[0]).factors
    assert "primary_aluminium:hydro:v1" in tray_factors
    assert "electricity_grid:DE:v1" in tray_factors

    # when
    services.footprints_recompute()

    # then
    full = snapshot()
    assert stepwise.keys() == full.keys()
    assert len(full) > 6 * 20
    for key, values in full.items():
        assert stepwise[key] == pytest.approx(values, rel=1e-9, abs=1e-12), key


def test_catch_up_twice_changes_nothing(loop):
    before = list(FootprintResult.objects.order_by("pk").values_list("pk", "total_per_kg"))

    report = services.footprints_catch_up()

    assert report.events == 0
    assert list(FootprintResult.objects.order_by("pk").values_list("pk", "total_per_kg")) == before


def test_a_new_factor_version_supersedes_and_versions_are_never_edited(db):
    current = EmissionFactor.objects.get(code="electricity_grid", region="DE")

    newer = services.factor_add(
        code="electricity_grid", region="DE", value="0.36", unit="kg/kWh", source="test: a newer national figure"
    )

    assert (newer.version, newer.supersedes_id) == (current.version + 1, current.pk)
    assert (
        EmissionFactor.objects.filter(code="electricity_grid", region="DE", superseded_by__isnull=True).get() == newer
    )
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE carbon_emissionfactor SET value = 1 WHERE id = %s", [current.pk])
    with pytest.raises(ApplicationError, match="unit_invalid"):
        services.factor_add(code="x", value=1, unit="furlongs per banana", source="s")
    with pytest.raises(ApplicationError, match="factor_unit_incompatible"):
        services.factor_add(code="electricity_grid", region="DE", value=1, unit="kg/m**3", source="s")
    with pytest.raises(ApplicationError, match="source_missing"):
        services.factor_add(code="x", value=1, unit="kg/kg", source=" ")


def test_a_supplier_footprint_bound_to_a_lot_is_used_as_primary_data(loop):
    primary = TraceableObject.objects.get(identifier=loop.primary)
    services.factor_add(
        code="supplier_footprint", lot=primary, value="3.1", unit="kg/kg", source="supplier PCF via PACT, test"
    )

    services.footprints_recompute()

    assert result(loop.primary).total_per_kg == pytest.approx(3.1, rel=REL)
    assert result(loop.primary).primary_data_share == 1.0
    assert 0 < result(loop.trays[0]).primary_data_share < 1


def test_the_footprint_api_serves_what_the_caller_may_read(loop):
    tray = TraceableObject.objects.get(identifier=loop.trays[0])
    die_caster, dismantler = APIClient(), APIClient()
    die_caster.credentials(HTTP_AUTHORIZATION=f"Api-Key {loop.die_caster.api_key}")
    dismantler.credentials(HTTP_AUTHORIZATION=f"Api-Key {loop.dismantler.api_key}")

    every = die_caster.get(f"/api/v1/objects/{tray.pk}/footprint").json()
    one = die_caster.get(f"/api/v1/objects/{tray.pk}/footprint", {"method": "cff", "chain": "physical"}).json()
    bad = die_caster.get(f"/api/v1/objects/{tray.pk}/footprint", {"method": "magic"})

    assert len(every) == 6
    assert [(r["method"], r["chain"]) for r in one] == [("cff", "physical")]
    assert one[0]["perKg"]["raw_material_acquisition"] > 0
    assert bad.status_code == 400
    assert dismantler.get(f"/api/v1/objects/{tray.pk}/footprint").status_code == 404


def test_factor_registry_api(loop):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {loop.remelter.api_key}")
    primary = TraceableObject.objects.get(identifier=loop.primary)

    listed = client.get("/api/v1/factors", {"code": "primary_aluminium"}).json()["results"]
    default = client.post(
        "/api/v1/factors",
        {"code": "primary_aluminium", "region": "hydro", "value": "3", "unit": "kg/kg", "source": "x"},
        format="json",
    )
    bound = client.post(
        "/api/v1/factors",
        {"code": "supplier_footprint", "lot": primary.pk, "value": "3.3", "unit": "kg/kg", "source": "supplier PCF"},
        format="json",
    )

    assert {f["region"] for f in listed} == {"global", "hydro", "coal"}
    assert default.status_code == 403
    assert bound.status_code == 201 and bound.json()["version"] == 1


def test_factor_add_decides_who_may_write_to_the_registry(loop):
    # given: a lot the remelter holds, a partner that does not hold it, a regulator and the operator
    primary = TraceableObject.objects.get(identifier=loop.primary)
    regulator = make_partner("market-authority", role="regulator").organisation
    bound = {"code": "supplier_footprint", "lot": primary, "value": Decimal("3.3"), "unit": "kg/kg", "source": "PCF"}
    default = {"code": "primary_aluminium", "region": "hydro", "value": Decimal(3), "unit": "kg/kg", "source": "x"}

    # when
    with pytest.raises(ApplicationError) as not_holder:
        services.factor_add(**bound, organisation=loop.dismantler.organisation)
    with pytest.raises(ApplicationError) as regulating:
        services.factor_add(**default, organisation=regulator)
    with pytest.raises(ApplicationError) as not_operator:
        services.factor_add(**default, organisation=loop.remelter.organisation)
    held = services.factor_add(**bound, organisation=loop.remelter.organisation)
    operator_default = services.factor_add(**default, organisation=platform_organisation())

    # then
    assert (not_holder.value.code, not_holder.value.status) == ("not_custodian", 403)
    assert (regulating.value.code, regulating.value.status) == ("role_not_allowed", 403)
    assert (not_operator.value.code, not_operator.value.status) == ("role_not_allowed", 403)
    assert held.version == 1 and operator_default.version == 2


def test_battery_footprint_per_kwh_of_lifetime_energy_and_article_8(loop):
    # given: the maker's footprint bound to a pack of the loop (75 kWh rated, graded at 61.1 kWh)
    pack = TraceableObject.objects.get(identifier=loop.packs[0])
    pack.attributes = {**pack.attributes, "capacityKWh": 61.1, "recycledContent": {"Co": 0.2, "Li": 0.05}}
    pack.save(update_fields=["attributes"])
    services.factor_add(code="battery_pcf_raw_material", lot=pack, value="55", unit="kg/kWh", source="maker PCF")
    services.factor_add(code="battery_pcf_main_production", lot=pack, value="12", unit="kg/kWh", source="maker")

    # when
    footprint = services.battery_footprint(battery=pack, vehicle_category="M1")

    # then: lifetime energy = 75 kWh rated at beginning of life (not the graded 61.1 kWh) x 60
    # cycles/year x 8 years; the maker's 67 kg/kWh x 75 kWh
    lifetime = 75 * 60 * 8
    assert footprint["lifetimeEnergyKWh"] == pytest.approx(lifetime, rel=REL)
    assert footprint["perKWh"]["raw_material_acquisition"] == pytest.approx(55 * 75 / lifetime, rel=REL)
    assert footprint["totalPerKWh"] == pytest.approx(67 * 75 / lifetime, rel=REL)
    assert footprint["makerDataIncluded"] is True
    assert footprint["performanceClass"] is None  # no class bounds published yet
    assert footprint["article8"]["2031"]["Co"] == {"share": 0.2, "minimum": 0.16, "met": True}
    assert footprint["article8"]["2036"]["Co"]["met"] is False
    assert footprint["article8"]["2031"]["Li"]["met"] is False
    with pytest.raises(ApplicationError, match="not_a_battery"):
        services.battery_footprint(battery=TraceableObject.objects.get(identifier=loop.melt))
    with pytest.raises(ApplicationError, match="vehicle_category_unknown"):
        services.battery_footprint(battery=pack, vehicle_category="Z9")


def test_a_makers_declared_usable_energy_is_the_functional_unit_before_the_rated_energy(loop):
    # given: a pack of the loop (75 kWh rated) whose maker declared 70 kWh usable at beginning of life
    pack = TraceableObject.objects.get(identifier=loop.packs[0])
    services.factor_add(code="battery_pcf_raw_material", lot=pack, value="56", unit="kg/kWh", source="maker PCF")
    pack.attributes = {**pack.attributes, "usableEnergyKWh": 70, "capacityKWh": 52.5, "stateOfHealthPct": 75}
    pack.save(update_fields=["attributes"])

    # when
    footprint = services.battery_footprint(battery=pack, vehicle_category="M1")
    pack.attributes = {**pack.attributes, "usableEnergyKWh": "seventy"}
    pack.save(update_fields=["attributes"])
    with pytest.raises(ApplicationError) as not_a_number:
        services.battery_footprint(battery=pack, vehicle_category="M1")

    # then: 70 kWh x 60 cycles/year x 8 years = 33,600 kWh (neither the rated 75 nor the graded 52.5);
    # the maker's 56 kg/kWh x 75 kWh rated = 4,200 kg; 4,200 / 33,600 = 0.125 kg CO2e/kWh
    assert footprint["usableEnergyBasis"] == "declared_usable_energy"
    assert footprint["lifetimeEnergyKWh"] == pytest.approx(33_600, rel=REL)
    assert footprint["totalPerKWh"] == pytest.approx(0.125, rel=REL)
    assert (not_a_number.value.code, not_a_number.value.status) == ("battery_energy_invalid", 400)


def test_battery_performance_class_follows_configured_bounds(loop):
    # given: the maker's 67 kg CO2e/kWh of rated energy, and class bounds an operator configured
    # (the delegated act under Art. 7(2) has not set them; they are registry rows, not code)
    pack = TraceableObject.objects.get(identifier=loop.packs[0])
    services.factor_add(code="battery_pcf_raw_material", lot=pack, value="67", unit="kg/kWh", source="maker PCF")
    total = services.battery_footprint(battery=pack)["totalPerKWh"]
    for name, upper in (("A", total / 2), ("B", total * 1.01), ("C", total * 3)):
        services.factor_add(
            code="battery_class_upper_bound", region=name, value=str(upper), unit="kg/kWh", source="operator"
        )

    # when
    classed = services.battery_footprint(battery=pack)
    services.factor_add(
        code="battery_class_upper_bound", region="A", value=str(total * 1.001), unit="kg/kWh", source="revised"
    )
    reclassed = services.battery_footprint(battery=pack)

    # then: the first class whose upper bound the footprint does not exceed; a new version re-ranks
    assert classed["performanceClass"] == "B"
    assert reclassed["performanceClass"] == "A"


def test_a_pre_consumer_lot_accounted_differently_by_its_generator_is_flagged(loop):
    ops.material_receipt(
        organisation=loop.remelter.organisation,
        site=loop.remelt_site,
        event_time=at(30),
        lots=[
            ops.LotOut(
                ObjectKind.SCRAP_LOT,
                Decimal(200),
                code="NEW-1",
                attributes={
                    "scrapCategory": "pre_consumer",
                    "generatorMethod": "cut_off",
                    "generatorFootprintKgPerKg": 7.5,
                },
            )
        ],
    )
    services.footprints_catch_up()
    lot = TraceableObject.objects.get(label="NEW-1")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {loop.remelter.api_key}")

    results = {r["method"]: r for r in client.get(f"/api/v1/objects/{lot.pk}/footprint", {"chain": "physical"}).json()}

    assert results["cut_off"]["flags"] == []
    assert results["allocation"]["flags"] == [
        "pre_consumer_method_mismatch: generator used cut_off, this result allocation"
    ]
    assert results["allocation"]["totalPerKg"] == pytest.approx(7.5 + 0.05, rel=REL)


def test_a_factor_in_another_unit_is_converted(loop):
    services.factor_add(code="electricity_grid", region="DE", value="380", unit="g/kWh", source="same, in grams")

    services.footprints_recompute()

    melt_total = 500 * 4.0 + 40 * 5.0 + 66 * 0.380 + 52 * 2.04 + 0.6906 * 35 * 0.08
    assert result(loop.melt).total_per_kg == pytest.approx(melt_total / 690.6, rel=REL)
    assert "electricity_grid:DE:v2" in result(loop.melt).factors


def test_a_trays_cff_footprint_matches_the_hand_computation(loop):
    # The shipped aluminium parameters (carbon/data/factors.json, region "aluminium"): A = 0.2,
    # E_v = E*_v = 16.7 (IAI global primary), E_recyclingEoL = 0.6, Qs_in/Qp = Qs_out/Qp = 1,
    # R2 = 0.9, R3 = 0, B = 0, E_D = 0.01.
    a, e_v, r2, e_rec_eol, e_d = 0.2, 16.7, 0.9, 0.6, 0.01
    # Remelting: 167.6 kg post-consumer scrap (no burden: vehicles enter free, sorting recorded no
    # energy), 500 kg hydro primary x 4.0, 40 kg silicon x 5.0 = 707.6 kg in, 690.6 kg melt.
    # R1 = 167.6 / 707.6. The remelting's own 66 kWh x 0.380 + 52 m3 x 2.04: its R1 share
    # processes recycled scrap and is E_recycled (times A), the rest stays whole.
    r1 = 167.6 / 707.6
    remelting = 66 * 0.380 + 52 * 2.04
    melt_raw = (a * (0 + r1 * remelting) + 500 * 4.0 + 40 * 5.0 + (1 - r1) * remelting) / 690.6
    # The virgin aluminium the scrap replaces: (1 - A) E_v Qs_in/Qp R1 per kg of melt.
    melt_raw += (1 - a) * e_v * 1.0 * r1
    haul = 0.6906 * 35 * 0.08
    # Die-casting spreads the 690.6 kg melt's burden over the 610 kg out and adds the tray's own
    # end of life: (1 - A) R2 (E_recyclingEoL - E*_v Qs_out/Qp) + (1 - R2 - R3) E_D.
    end_of_life = (1 - a) * r2 * (e_rec_eol - e_v * 1.0) + (1 - r2 - 0) * e_d

    tray = result(loop.trays[0], method="cff")

    assert result(loop.melt, method="cff").per_kg["raw_material_acquisition"] == pytest.approx(melt_raw, rel=REL)
    assert tray.per_kg["raw_material_acquisition"] == pytest.approx(melt_raw * 690.6 / 610, rel=REL)
    assert tray.per_kg["distribution"] == pytest.approx(haul / 610, rel=REL)
    assert tray.per_kg["end_of_life_and_recycling"] == pytest.approx(end_of_life, rel=REL)
    assert tray.per_kg["end_of_life_and_recycling"] < 0
    assert {"cff_r2:aluminium:v1", "cff_e_virgin:aluminium:v1", "cff_a:aluminium:v1"} <= set(tray.factors)
    assert not {f for f in tray.factors if f.split(":")[1] in {"cobalt", "nickel", "lithium"}}
    # the run-around scrap is no product: it carries no end of life of its own
    assert result(loop.run_around, method="cff").per_kg["end_of_life_and_recycling"] == 0
    assert result(loop.trays[0], method="cut_off").per_kg["end_of_life_and_recycling"] == 0
