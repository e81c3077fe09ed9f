"""Battery passports: assembled from the ledger and carbon, validated, versioned as ledger facts."""

import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from carbon.models import EmissionFactor
from carbon.services import footprints_catch_up
from passport import services
from passport.choices import PassportStatus
from passport.models import Passport
from passport.schemas import ASPECTS, passport_errors
from tests.factories import battery_code, make_partner, make_site, valid_vin
from tests.loop import PACK_KWH, at, build_loop
from traceability.choices import BATTERY_KINDS
from traceability.errors import ApplicationError
from traceability.identifiers import battery_uri, vehicle_uri
from traceability.ledger.canonical import document_digest
from traceability.ledger.chain import KIND_PASSPORT_VERSION
from traceability.models import LedgerEntry, TraceableObject
from traceability.operations import services as ops
from traceability.verification import verify_ledger

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def follow() -> services.CatchUpReport:
    footprints_catch_up()
    return services.passports_catch_up()


@pytest.fixture
def loop(db):  # type: ignore[no-untyped-def]
    built = build_loop()
    follow()
    return built


def passport_of(identifier: str) -> Passport:
    return Passport.objects.select_related("battery").get(battery__identifier=identifier)


def test_every_battery_gets_a_passport_that_validates_against_all_seven_schemas(loop):
    for pack in loop.packs:
        passport = passport_of(pack)
        (version,) = passport.versions.all()
        assert passport.status == PassportStatus.ORIGINAL and passport.problems == []
        assert set(version.document) == set(ASPECTS)
        assert passport_errors(version.document) == []
        general = version.document["GeneralProductInformation"]
        assert general["productIdentifier"] == pack
        assert general["batteryPassportIdentifier"] == passport.urn
        assert general["batteryMass"] == float(loop.obj(pack).initial_kg)
        assert version.document["MaterialComposition"]["batteryChemistry"]["shortName"] == "NMC"


def test_the_footprint_is_the_makers_declaration_per_kwh_of_lifetime_energy(loop):
    # given: the loop's NMC data sheet declares 62 + 16 + 1.5 + 2.5 kg CO2e per kWh of rated energy
    passport = passport_of(loop.packs[0])
    footprint = passport.versions.get().document["CarbonFootprintForBatteries"]

    # then: bound once as battery_pcf_* factors, and spread over 75 kWh x 60 cycles x 8 years (M1)
    assert EmissionFactor.objects.filter(lot=passport.battery, code__startswith="battery_pcf_").count() == 4
    lifetime = float(PACK_KWH) * 60 * 8
    assert footprint["batteryCarbonFootprint"] == pytest.approx(82 * float(PACK_KWH) / lifetime)
    stages = {s["lifecycleStage"]: s["carbonFootprint"] for s in footprint["carbonFootprintPerLifecycleStage"]}
    assert stages["RawMaterialExtraction"] == pytest.approx(62 * float(PACK_KWH) / lifetime)
    assert footprint["absoluteCarbonFootprint"] == pytest.approx(82 * float(PACK_KWH))


def test_every_version_is_a_platform_signed_ledger_fact_carrying_its_digests(loop):
    for pack in loop.packs:
        version = passport_of(pack).versions.get()
        entry = LedgerEntry.objects.get(seq=version.ledger_seq)
        fact = json.loads(entry.document)
        assert entry.kind == KIND_PASSPORT_VERSION
        assert entry.organisation.slug == "looptrace"
        assert fact["passport"] == version.passport.urn and fact["version"] == 1
        assert fact["digest"] == version.digest == document_digest(version.document).hex()
        assert fact["tierDigests"] == version.tier_digests
        assert fact["tierDigests"]["authorities"] == version.digest
        assert fact["tierDigests"]["public"] != version.digest
    report = verify_ledger(processes=1)
    assert report.ok, report.failures


def test_catching_up_twice_issues_nothing_new(loop):
    before = LedgerEntry.objects.count()
    report = follow()
    assert report.issued == 0 and LedgerEntry.objects.count() == before


def test_grading_for_recycling_issues_a_waste_version_with_the_measured_state_of_health(loop):
    # when
    ops.battery_grading(
        organisation=loop.dismantler.organisation,
        site=loop.dismantling_site,
        battery=loop.packs[0],
        state_of_health_pct=Decimal("71.5"),
        capacity_kwh=Decimal("53.6"),
        route="recycling",
        event_time=at(20),
    )
    follow()

    # then
    passport = passport_of(loop.packs[0])
    first, second = passport.versions.order_by("number")
    condition = second.document["PerformanceAndDurability"]["batteryCondition"]
    assert passport.status == second.status == PassportStatus.WASTE
    assert second.document["GeneralProductInformation"]["batteryStatus"] == "Waste"
    assert condition["stateOfCertifiedEnergy"]["stateOfCertifiedEnergyValue"] == 71.5
    assert condition["remainingEnergy"]["remainingEnergyalue"] == 53.6
    assert second.digest != first.digest and second.basis_seq > first.basis_seq
    assert passport_errors(second.document) == []


def test_repurposing_issues_a_new_passport_linked_to_the_old(loop):
    # when: the pack continues as a stationary storage battery under a new identity
    new_code = battery_code(90)
    ops.battery_grading(
        organisation=loop.dismantler.organisation,
        site=loop.dismantling_site,
        battery=loop.packs[1],
        state_of_health_pct=Decimal("88"),
        capacity_kwh=Decimal("66"),
        route="second_life",
        event_time=at(20),
    )
    ops.repurposing(
        organisation=loop.dismantler.organisation,
        site=loop.dismantling_site,
        battery=loop.packs[1],
        new_battery=ops.BatteryOut(new_code, "NMC", Decimal("66"), Decimal("452"), {"batteryCategory": "stationary"}),
        application="stationary energy storage",
        event_time=at(21),
    )
    follow()

    # then
    old, new = passport_of(loop.packs[1]), passport_of(battery_uri(new_code))
    assert new.previous == old and new.status == PassportStatus.REPURPOSED
    assert list(old.successors.all()) == [new]
    document = new.versions.get().document
    general = document["GeneralProductInformation"]
    assert general["batteryStatus"] == "Repurposed" and general["batteryCategory"] == "stationary"
    assert general["batteryPassportIdentifier"] == new.urn != old.urn
    # the maker's data sheet and footprint carry over from the original battery
    assert general["manufacturerInformation"]["identifier"] == "EUC"
    assert (
        document["CarbonFootprintForBatteries"]["carbonFootprintPerLifecycleStage"]
        == old.versions.order_by("-number")
        .first()
        .document["CarbonFootprintForBatteries"]["carbonFootprintPerLifecycleStage"]
    )
    assert not EmissionFactor.objects.filter(lot=new.battery).exists()
    assert json.loads(LedgerEntry.objects.get(seq=new.versions.get().ledger_seq).document)["previous"] == old.urn


def test_recycling_marks_the_passport_ceased(loop):
    # given: the pack shipped to a battery recycler
    recycler = make_partner("voltcycle", role="battery_recycler")
    plant = make_site(recycler, "Pretreatment plant", country="PL")
    ops.custody_transfer(
        organisation=loop.dismantler.organisation,
        site=loop.dismantling_site,
        items=[loop.packs[2]],
        lots=[],
        receiver=recycler.organisation,
        event_time=at(20),
    )

    # when
    record = ops.battery_recycling(
        organisation=recycler.organisation,
        site=plant,
        batteries=[loop.packs[2]],
        outputs=[ops.LotOut("black_mass", Decimal("200"), code="BM-1")],
        losses={"processLoss": Decimal("252")},
        event_time=at(22),
    )
    follow()

    # then
    passport = passport_of(loop.packs[2])
    last = passport.versions.order_by("-number").first()
    assert passport.ceased and passport.ceased_seq == record.entry_id
    assert last.ceased and last.reason == "ceased" and last.status == PassportStatus.WASTE
    assert json.loads(LedgerEntry.objects.get(seq=last.ledger_seq).document)["ceasedAt"] is not None
    with pytest.raises(ApplicationError, match="passport_ceased"):
        services.passport_version_issue(passport=passport, reason="updated", basis_seq=record.entry_id)


def test_a_battery_without_its_makers_data_gets_no_passport_but_the_reasons(loop):
    # given: a pack registered with nothing but chemistry and rated energy
    vin = valid_vin(77)
    bare = battery_code(77)
    ops.vehicle_intake(
        organisation=loop.dismantler.organisation,
        site=loop.dismantling_site,
        vin=vin,
        kg=Decimal("1800"),
        make="Volta",
        model="E-Compact",
        event_time=at(20),
    )
    ops.dismantling(
        organisation=loop.dismantler.organisation,
        site=loop.dismantling_site,
        vehicle=vehicle_uri(vin),
        batteries=[ops.BatteryOut(bare, "NMC", Decimal("75"), Decimal("450"))],
        event_time=at(21),
    )

    # when
    follow()

    # then: a passport without versions, and each failing place named
    passport = passport_of(battery_uri(bare))
    assert not passport.versions.exists()
    (problem,) = passport.problems
    assert problem["code"] == "passport_invalid"
    failing = {(f["aspect"], f["message"]) for f in problem["fields"]}
    assert ("GeneralProductInformation", "'manufacturerInformation' is a required property") in failing
    assert ("CarbonFootprintForBatteries", "no footprint: neither the maker's nor the ledger's") in failing
    assert {aspect for aspect, _ in failing} == set(ASPECTS)
    assert services.passport_version_issue(passport=passport, reason="updated", basis_seq=1) is None


@pytest.mark.django_db(transaction=True)
def test_passports_follow_every_committed_append_without_being_asked():
    # when: the loop is recorded, each operation committing on its own
    loop = build_loop()

    # then: carbon ran first on each commit, and passports caught up after it
    for pack in loop.packs:
        assert passport_of(pack).versions.count() == 1
    assert Passport.objects.count() == len(loop.packs)


@pytest.mark.slow
def test_every_demo_battery_has_a_passport_valid_against_all_seven_schemas(settings, tmp_path):
    # given
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", "--vehicles", "12", stdout=io.StringIO())

    # when: the one nudge of the load, followed here (outside a commit)
    follow()

    # then
    batteries = TraceableObject.objects.filter(kind__in=BATTERY_KINDS)
    assert batteries.count() > 12  # packs and their second-life successors
    for battery in batteries:
        passport = Passport.objects.get(battery=battery)
        assert passport.problems == [], (battery.label, passport.problems)
        for version in passport.versions.all():
            assert passport_errors(version.document) == [], battery.label
        if battery.status == "recycled":
            assert passport.ceased
        if (battery.attributes or {}).get("previousIdentity"):
            assert passport.previous is not None and passport.status == PassportStatus.REPURPOSED
            assert passport.versions.first().document["GeneralProductInformation"]["batteryCategory"] == "stationary"
    assert Passport.objects.filter(ceased_at__isnull=False).exists()
    assert verify_ledger(processes=1).ok
