from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from carbon.models import FootprintResult
from carbon.services import battery_footprint
from traceability.choices import ObjectKind, ObjectStatus, OrganisationRole, ScrapCategory
from traceability.genealogy import genealogy
from traceability.models import EventRecord, LedgerEntry, TraceableObject
from traceability.selectors import MELT_KINDS
from traceability.verification import verify_ledger
from traceability.visibility import is_platform_operator

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def demo(settings, tmp_path, capsys):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", "--vehicles", "12")
    return capsys.readouterr().out


def trays() -> list[TraceableObject]:
    return list(TraceableObject.objects.filter(kind=ObjectKind.PART, attributes__partType="battery_tray"))


def test_every_vehicle_is_dismantled(demo):
    vehicles = TraceableObject.objects.filter(kind=ObjectKind.VEHICLE)
    assert vehicles.count() == 12
    for vehicle in vehicles:
        assert vehicle.events.filter(operation="dismantling").count() == 1
        assert vehicle.flows_out.filter(target__kind=ObjectKind.BATTERY_PACK).count() == 1
        assert vehicle.flows_out.filter(target__kind=ObjectKind.PART).count() >= 5


def test_every_tray_goes_back_to_vehicles_and_its_roots_add_up_to_its_mass(demo):
    cast = trays()
    assert cast
    for tray in cast:
        walk = genealogy(root=tray, direction="backward")
        targets = {edge.target for edge in walk.edges}
        roots = [node for node in walk.nodes if node.id not in targets]
        assert any(node.kind == ObjectKind.VEHICLE for node in roots), tray.label
        assert abs(sum((node.kg for node in roots), Decimal(0)) - tray.initial_kg) <= Decimal("0.01"), tray.label


def test_scrap_of_every_category_is_used_in_the_melts(demo):
    for category in ScrapCategory.values:
        lots = TraceableObject.objects.filter(kind=ObjectKind.SCRAP_LOT, attributes__scrapCategory=category)
        assert lots.exists(), category
        assert any(lot.remaining_kg < lot.initial_kg for lot in lots), category
    melts = EventRecord.objects.filter(operation="remelting")
    assert melts.exists()
    assert melts.filter(warnings=[]).count() > melts.count() / 2  # most melts meet their alloy specification
    assert EventRecord.objects.filter(operation="molten_transfer").exists()
    assert TraceableObject.objects.filter(kind=ObjectKind.INGOT_LOT).exists()


def test_packs_are_graded_and_either_repurposed_or_recycled_into_salts(demo):
    packs = TraceableObject.objects.filter(kind=ObjectKind.BATTERY_PACK).exclude(attributes__has_key="previousIdentity")
    assert packs.count() == 12
    assert all("stateOfHealthPct" in pack.attributes for pack in packs)
    repurposed = packs.filter(status=ObjectStatus.REPURPOSED)
    recycled = packs.filter(status=ObjectStatus.RECYCLED)
    assert repurposed.exists() and recycled.exists()
    assert repurposed.count() + recycled.count() == packs.count()
    assert all(pack.attributes["chemistry"] == "LFP" for pack in repurposed)
    assert all(pack.attributes["route"] == "second_life" for pack in repurposed)
    assert TraceableObject.objects.filter(kind=ObjectKind.BLACK_MASS).exists()
    salts = TraceableObject.objects.filter(kind=ObjectKind.SALT)
    assert {salt.attributes["metal"] for salt in salts} >= {"Ni", "Co", "Mn", "Li"}
    for salt in salts:
        expected = 90.0 if salt.attributes["metal"] == "Li" else 99.3
        assert salt.attributes["recoveryPct"] == pytest.approx(expected, abs=0.05)


def test_the_ledger_verifies_and_a_second_run_changes_nothing(demo, capsys):
    assert verify_ledger(processes=1).ok
    size = LedgerEntry.objects.count()
    objects = TraceableObject.objects.count()

    call_command("seed_demo", "--vehicles", "12")

    assert "already loaded" in capsys.readouterr().out
    assert LedgerEntry.objects.count() == size
    assert TraceableObject.objects.count() == objects


def test_trays_and_batteries_show_footprints_and_recycled_shares_under_each_method(
    settings, tmp_path, django_capture_on_commit_callbacks
):
    # given: the demo, whose nudge after the load runs the catch-up task eagerly on commit
    settings.VAR_DIR = tmp_path
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", "--vehicles", "12")
    packs = TraceableObject.objects.filter(kind=ObjectKind.BATTERY_PACK)

    # then: every tray and every pack has a result for each method and chain of custody
    for node in [*trays(), *packs]:
        ways = set(FootprintResult.objects.filter(node=node).values_list("method", "chain"))
        assert ways == {(m, c) for m in ("cut_off", "allocation", "cff") for c in ("physical", "mass_balance")}, node
    tray_results = FootprintResult.objects.filter(node__in=trays(), chain="physical")
    assert all(r.total_per_kg > 0 for r in tray_results if r.method != "cff")
    # under the CFF a tray's own end of life is the credit for the aluminium recycled after it
    # (R2 = 0.9 > 0), which may outweigh its production: only the stages before it are positive
    end = "end_of_life_and_recycling"
    assert all(r.total_per_kg - r.per_kg[end] > 0 > r.per_kg[end] for r in tray_results if r.method == "cff")
    assert all(0 < r.post_consumer_share <= 1 for r in tray_results)
    # die-casting's metered energy is every tray's main production
    assert all(r.per_kg["main_production"] > 0 for r in tray_results)
    # the CFF substitutes the recycled scrap in the melts: its trays differ from cut-off's
    by_method = {m: {r.node_id: r.total_per_kg for r in tray_results if r.method == m} for m in ("cut_off", "cff")}
    assert by_method["cut_off"] != by_method["cff"]
    # mass balance is not physical under another name: the premium lot's trays carry the claimed
    # credits, the others none, and the remelter's hot-metal plant drew its account down
    tray_mb = FootprintResult.objects.filter(node__in=trays(), method="cut_off", chain="mass_balance")
    mb_shares = {r.node_id: r.post_consumer_share for r in tray_mb}
    physical_shares = {r.node_id: r.post_consumer_share for r in tray_results if r.method == "cut_off"}
    assert mb_shares != pytest.approx(physical_shares)
    assert any(share == 0 for share in mb_shares.values())
    assert any(share > physical_shares[node] for node, share in mb_shares.items())
    assert EventRecord.objects.filter(operation="recycled_content_claim").exists()
    # and a battery's Art. 7 footprint is per kWh of its lifetime energy
    footprint = battery_footprint(battery=packs.first())
    assert footprint["lifetimeEnergyKWh"] > 0 and footprint["totalPerKWh"] >= 0


def test_the_demo_prints_an_operator_login_and_its_members_are_not_operators(demo):
    users = {user.username: user for user in get_user_model().objects.all()}

    assert "operator: platform operator" in demo
    assert "recycled-content claims (mass balance)" in demo
    assert "mass balance nordic-remelt / Hot-metal plant" in demo
    assert "autocirc-dismantling, nordic-remelt" in demo
    assert is_platform_operator(users["operator"]) and is_platform_operator(users["admin"])
    members = [user for name, user in users.items() if name not in {"operator", "admin"}]
    assert len(members) == 5 and all(user.is_staff for user in members)
    assert not any(is_platform_operator(user) for user in members)
    # each demo login administers its organisation: it can try the organisation page's changes
    assert all(user.membership.is_administrator for user in [*members, users["operator"]])


def test_the_summary_prints_the_recycled_content_of_the_melts_and_parts_as_the_engine_computed_it(
    settings, tmp_path, capsys, django_capture_on_commit_callbacks
):
    # given: the demo with its footprints computed (the nudge after the load runs on commit)
    settings.VAR_DIR = tmp_path
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", "--vehicles", "12")
    capsys.readouterr()

    # when: the summary is printed again
    call_command("seed_demo", "--vehicles", "12")
    out = capsys.readouterr().out

    # then: per group, the stored results' shares (physical custody, what the footprint API serves)
    # weighted by mass: sum(share x kg) / sum(kg), each percentage to one decimal of the unrounded value
    groups = {
        "the remelter's melts": TraceableObject.objects.filter(
            kind__in=MELT_KINDS, created_by__role=OrganisationRole.REMELTER
        ),
        "the die-cast parts": TraceableObject.objects.filter(
            kind=ObjectKind.PART, created_by__role=OrganisationRole.DIE_CASTER
        ),
    }
    assert "recycled content (the footprints' shares" in out and "post-consumer scrap in the melts" not in out
    for name, nodes in groups.items():
        results = FootprintResult.objects.filter(node__in=nodes, method="cut_off", chain="physical")
        kg = {r.node_id: float(r.node.initial_kg) for r in results.select_related("node")}
        total = sum(kg.values())
        pre = sum(r.pre_consumer_share * kg[r.node_id] for r in results) / total
        post = sum(r.post_consumer_share * kg[r.node_id] for r in results) / total
        recycled = sum((r.pre_consumer_share + r.post_consumer_share) * kg[r.node_id] for r in results) / total
        assert len(kg) == nodes.count() > 0
        assert (
            f"  {name} ({len(kg)}, {total:,.1f} kg): recycled {recycled * 100:.1f} % "
            f"(pre-consumer {pre * 100:.1f} %, post-consumer {post * 100:.1f} %)"
        ) in out.splitlines()
