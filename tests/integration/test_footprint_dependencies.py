"""Footprints follow every change: a supplier footprint bound after receipt, a factor superseded.

The loop (tests/loop.py): 3 vehicles dismantled into 3 packs and 15 parts, sorted into one
post-consumer scrap lot; 1000 kg hydro primary ingot and 100 kg silicon received; 167.6 kg
scrap + 500 kg primary + 40 kg silicon melted (66 kWh on the DE grid, 52 m3 of gas) into a
690.6 kg melt, hauled 35 km molten and cast into 10 trays of 55 kg and 60 kg of run-around
scrap (80.6 kg casting loss). 36 objects in all.
"""

import io
import socket
import uuid
from datetime import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from carbon import services
from carbon.models import DirtyNode, EmissionFactor, FootprintResult, PactPublication
from carbon.pact import services as pact_services
from tests.factories import make_partner, make_site
from tests.loop import at, build_loop
from traceability.choices import ObjectKind
from traceability.identifiers import local_uri
from traceability.models import TraceableObject
from traceability.operations import services as ops

pytestmark = pytest.mark.django_db
REL = 1e-9
OBJECTS_IN_LOOP = 36
# Every node has one result per method (cut_off, allocation, cff) and chain (physical, mass balance).
RESULTS_PER_NODE = 6


@pytest.fixture
def loop():
    built = build_loop()
    services.footprints_catch_up()
    return built


def client_of(partner) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}")
    return client


def served(client: APIClient, pk: int) -> dict:
    response = client.get(f"/api/v1/objects/{pk}/footprint", {"method": "cut_off", "chain": "physical"})
    assert response.status_code == 200, response.content
    (only,) = response.json()
    return only


def melt_burden(primary_per_kg: float) -> float:
    # 167.6 kg post-consumer scrap x 0 (cut-off), 500 kg primary, 40 kg silicon x 5.0,
    # 66 kWh x 0.380 (DE grid), 52 m3 x 2.04 (gas), 0.6906 t x 35 km x 0.08 kg/t-km.
    return 500 * primary_per_kg + 40 * 5.0 + 66 * 0.380 + 52 * 2.04 + 0.6906 * 35 * 0.08


def test_a_supplier_footprint_bound_after_receipt_changes_the_lot_and_every_part_made_from_it(
    loop, django_capture_on_commit_callbacks
):
    # given: the primary ingot was received, melted and cast with the hydro default (4.0 kg/kg)
    remelter, die_caster = client_of(loop.remelter), client_of(loop.die_caster)
    primary, melt = loop.obj(loop.primary), loop.obj(loop.melt)
    tray = loop.obj(loop.trays[0])
    assert served(remelter, primary.pk)["totalPerKg"] == pytest.approx(4.0, rel=REL)
    assert served(die_caster, tray.pk)["totalPerKg"] == pytest.approx(melt_burden(4.0) / 610, rel=REL)

    # when: its holder binds the supplier's own footprint, 3.1 kg CO2e/kg, over the API
    with django_capture_on_commit_callbacks(execute=True):
        bound = remelter.post(
            "/api/v1/factors",
            {"code": "supplier_footprint", "lot": primary.pk, "value": "3.1", "unit": "kg/kg", "source": "PCF"},
            format="json",
        )

    # then: the lot, the melt and every tray are served with it at once
    assert bound.status_code == 201, bound.content
    lot = served(remelter, primary.pk)
    assert lot["totalPerKg"] == pytest.approx(3.1, rel=REL)
    assert lot["totalKg"] == pytest.approx(1000 * 3.1, rel=REL)
    assert lot["primaryDataShare"] == 1.0
    assert served(remelter, melt.pk)["totalPerKg"] == pytest.approx(melt_burden(3.1) / 690.6, rel=REL)
    for identifier in loop.trays:
        part = served(die_caster, loop.obj(identifier).pk)
        assert part["totalPerKg"] == pytest.approx(melt_burden(3.1) / 610, rel=REL)
        assert part["totalKg"] == pytest.approx(55 * melt_burden(3.1) / 610, rel=REL)
        assert any(reference.startswith("supplier_footprint:*@lot") for reference in part["factors"])
    assert not DirtyNode.objects.exists()


def test_a_superseded_factor_recomputes_only_the_nodes_that_used_it_and_their_downstream(
    loop, django_capture_on_commit_callbacks
):
    # given: every result's time of computation
    before = dict(
        FootprintResult.objects.values_list("pk", "computed_at"),
    )
    assert len(before) == OBJECTS_IN_LOOP * RESULTS_PER_NODE

    # when: hydro primary aluminium gets a new version, 4.4 kg/kg
    with django_capture_on_commit_callbacks(execute=True):
        services.factor_add(
            code="primary_aluminium", region="hydro", value=Decimal("4.4"), unit="kg/kg", source="test: newer"
        )

    # then: only the primary ingot (1), the melt (1), the 10 trays and the run-around
    # scrap (1) were recomputed: 13 of the 36 objects, each under 3 methods x 2 chains
    after = dict(FootprintResult.objects.values_list("pk", "computed_at"))
    rewritten = {pk for pk, when in after.items() if when != before[pk]}
    nodes = set(FootprintResult.objects.filter(pk__in=rewritten).values_list("node__identifier", flat=True))
    assert nodes == {loop.primary, loop.melt, loop.run_around, *loop.trays}
    assert len(nodes) == 1 + 1 + 10 + 1
    assert len(rewritten) == 13 * RESULTS_PER_NODE
    tray = FootprintResult.objects.get(node__identifier=loop.trays[0], method="cut_off", chain="physical")
    assert tray.total_per_kg == pytest.approx(melt_burden(4.4) / 610, rel=REL)
    assert "primary_aluminium:hydro:v2" in tray.factors
    assert "primary_aluminium:hydro:v1" not in tray.factors
    # the silicon lot, the vehicles and the scrap did not use it and were left alone
    silicon = FootprintResult.objects.get(node__identifier=loop.silicon, method="cut_off", chain="physical")
    assert silicon.computed_at == before[silicon.pk]
    assert not DirtyNode.objects.exists()


def test_a_materials_cff_parameter_marks_only_what_is_made_of_that_material(loop):
    # when: cobalt's E_v gets a new version (no worker runs: the marks stay to be read)
    services.factor_add(code="cff_e_virgin", region="cobalt", value=Decimal("31"), unit="kg/kg", source="test")

    # then: nothing in the aluminium loop is made of cobalt
    assert not DirtyNode.objects.exists()

    # when: aluminium's R2 gets a new version, 0.8
    services.factor_add(code="cff_r2", region="aluminium", value=Decimal("0.8"), unit="dimensionless", source="test")

    # then: the melt (the remelting substitutes its scrap), its 10 trays and the run-around scrap
    dirty = set(DirtyNode.objects.values_list("node__identifier", flat=True))
    assert dirty == {loop.melt, loop.run_around, *loop.trays}
    assert len(dirty) == 1 + 10 + 1

    # when: the worker refreshes them
    services.footprints_refresh()

    # then: a tray's own end of life is (1 - A) R2 (E_recyclingEoL - E*_v Qs_out/Qp) + (1 - R2) E_D
    tray = FootprintResult.objects.get(node__identifier=loop.trays[0], method="cff", chain="physical")
    assert tray.per_kg["end_of_life_and_recycling"] == pytest.approx(0.8 * 0.8 * (0.6 - 16.7) + 0.2 * 0.01, rel=REL)
    assert "cff_r2:aluminium:v2" in tray.factors
    assert not DirtyNode.objects.exists()


def test_a_worker_that_was_down_finds_the_dirty_nodes_later(loop):
    # given: a new version committed while no worker ran (the nudge never came)
    services.factor_add(code="road_freight", value=Decimal("0.1"), unit="kg/(t*km)", source="test: newer")
    # the haul's melt, its 10 trays and the run-around scrap
    assert DirtyNode.objects.count() == 12

    # when: the worker runs its catch-up
    from carbon.tasks import footprints_catch_up_task

    footprints_catch_up_task.apply()

    # then: the melt carries the new haul (0.6906 t x 35 km x 0.1) and nothing is left to do
    melt = FootprintResult.objects.get(node__identifier=loop.melt, method="cut_off", chain="physical")
    expected = 500 * 4.0 + 40 * 5.0 + 66 * 0.380 + 52 * 2.04 + 0.6906 * 35 * 0.1
    assert melt.total_per_kg == pytest.approx(expected / 690.6, rel=REL)
    assert not DirtyNode.objects.exists()


def test_a_casting_and_a_melt_refreshed_together_read_the_inputs_an_earlier_melt_of_the_site_made(
    loop, django_capture_on_commit_callbacks
):
    # given: a melt M-200 (100 kg coal primary + 1 kg silicon) hauled 20 km to the die-caster's hall
    # on the Polish grid and cast there with 50 kWh into a 90 kg part and 8 kg of run-around scrap
    # (3 kg lost); the scrap went back to the remelt shop and was melted with 1 kg of silicon (M-300)
    hall = make_site(loop.die_caster, "Hall PL", country="PL")
    with django_capture_on_commit_callbacks(execute=True):
        receive_and_melt(loop, Decimal(100), 20)
    melt = loop.obj(local_uri("lot", "nordic-remelt", "M-200"))
    with django_capture_on_commit_callbacks(execute=True):
        ops.molten_transfer(
            organisation=loop.remelter.organisation,
            site=loop.remelt_site,
            lot=ops.LotIn(melt.identifier, Decimal(101)),
            destination=hall,
            temperature_c=Decimal("715"),
            distance_km=Decimal(20),
            event_time=at(21),
        )
        ops.die_casting(
            organisation=loop.die_caster.organisation,
            site=hall,
            melt=ops.LotIn(melt.identifier, Decimal(101)),
            castings=[ops.PartOut("PL-1", "battery_tray", Decimal(90))],
            scrap=[ops.LotOut(ObjectKind.SCRAP_LOT, Decimal(8), code="RA-PL")],
            losses={"castingLoss": Decimal(3)},
            energy=ops.Energy(electricity_kwh=Decimal(50)),
            event_time=at(22),
        )
    scrap = local_uri("lot", "castline", "RA-PL")
    with django_capture_on_commit_callbacks(execute=True):
        ops.custody_transfer(
            organisation=loop.die_caster.organisation,
            site=hall,
            items=[],
            lots=[ops.LotIn(scrap, Decimal(8))],
            receiver=loop.remelter.organisation,
            event_time=at(23),
        )
        ops.remelting(
            organisation=loop.remelter.organisation,
            site=loop.remelt_site,
            inputs=[ops.LotIn(scrap, Decimal(8)), ops.LotIn(loop.silicon, Decimal(1))],
            output=ops.LotOut(ObjectKind.MELT_BATCH, Decimal(9), code="M-300"),
            melt_loss_kg=Decimal(0),
            dross_kg=Decimal(0),
            electricity_kwh=Decimal(0),
            natural_gas_m3=Decimal(0),
            target_alloy="thin-wall-structural",
            event_time=at(24),
        )
    part = loop.obj(local_uri("part", "castline", "PL-1"))
    before = FootprintResult.objects.get(node=part, method="cut_off", chain="physical").total_per_kg

    # when: the Polish grid factor gets a new version, 0.66 -> 0.70 kg/kWh: the part, the scrap and
    # M-300 depend on it, and are refreshed in one batch with M-300's site account replayed, whose
    # other melt M-200 made the part's input
    with django_capture_on_commit_callbacks(execute=True):
        services.factor_add(code="electricity_grid", region="PL", value=Decimal("0.70"), unit="kg/kWh", source="test")

    # then: all three were refreshed; the part carries 50 kWh x 0.04 more over the 98 kg cast
    assert not DirtyNode.objects.exists()
    after = FootprintResult.objects.get(node=part, method="cut_off", chain="physical")
    assert after.total_per_kg - before == pytest.approx(50 * 0.04 / 98, rel=1e-9)
    assert "electricity_grid:PL:v2" in after.factors
    incremental, full = snapshot(), full_recomputation()
    assert incremental.keys() == full.keys()
    for key, values in full.items():
        assert incremental[key] == pytest.approx(values, rel=1e-9, abs=1e-12), key


# --- every result served equals a full recomputation, whatever happens in between ----------

FACTOR_CHANGES = st.one_of(
    st.tuples(
        st.just("registry"),
        st.sampled_from(
            [
                ("primary_aluminium", "hydro", "kg/kg"),
                ("primary_aluminium", "coal", "kg/kg"),
                ("alloying_element", "Si", "kg/kg"),
                ("electricity_grid", "DE", "kg/kWh"),
                ("natural_gas_combustion", "", "kg/m**3"),
                ("road_freight", "", "kg/(t*km)"),
                ("cff_a", "aluminium", "dimensionless"),
                ("cff_e_virgin", "aluminium", "kg/kg"),
                ("cff_r2", "aluminium", "dimensionless"),
                ("secondary_aluminium", "", "kg/kg"),
                ("primary_aluminium", "global", "kg/kg"),
            ]
        ),
        st.decimals(min_value=Decimal("0.1"), max_value=Decimal("0.9"), places=2),
    ),
    st.tuples(
        st.just("bound"),
        st.sampled_from(["primary", "silicon", "new_lot"]),
        st.decimals(min_value=Decimal("0.5"), max_value=Decimal("9"), places=2),
    ),
)
# Recorded events, through the operation services the API calls: a primary ingot lot received and
# melted at once with silicon; the newest melt still at the remelt shop hauled molten to the
# die-caster; the newest melt delivered there cast into parts and run-around scrap.
EVENTS = st.one_of(
    st.tuples(st.just("melt"), st.just(None), st.decimals(min_value=Decimal(10), max_value=Decimal(50), places=0)),
    st.tuples(st.just("transfer"), st.just(None), st.decimals(min_value=Decimal(5), max_value=Decimal(80), places=0)),
    st.tuples(st.just("cast"), st.just(None), st.integers(min_value=1, max_value=3)),
    # A recycled-content claim on the newest melt still at the shop, drawn from the remelter's 2026
    # account (the loop's melt credited it with 167.6 / 707.6 x 690.6 = 163.6 kg of post-consumer scrap).
    st.tuples(st.just("claim"), st.sampled_from([None, "Volta"]), st.decimals(min_value=1, max_value=9, places=1)),
)
STEPS = st.one_of(FACTOR_CHANGES, EVENTS)
ServedKey = tuple[int, str, str]


def snapshot() -> dict[tuple[int, str, str], tuple[float, float, float, float]]:
    return {
        (r.node_id, r.method, r.chain): (r.total_per_kg, r.pre_consumer_share, r.post_consumer_share, r.total_kg)
        for r in FootprintResult.objects.all()
    }


def full_recomputation() -> dict[tuple[int, str, str], tuple[float, float, float, float]]:
    """What ``manage.py recompute_footprints`` gives now; rolled back, so the incremental state goes on."""

    class Undo(Exception):
        pass

    try:
        with transaction.atomic():
            call_command("recompute_footprints", stdout=io.StringIO())
            full = snapshot()
            raise Undo
    except Undo:
        return full


def served_all(client: APIClient) -> dict[ServedKey, tuple[float, float, float, float]]:
    """Every result the API serves, object by object (a regulator reads every object)."""
    found = {}
    for pk in TraceableObject.objects.order_by("pk").values_list("pk", flat=True):
        response = client.get(f"/api/v1/objects/{pk}/footprint")
        assert response.status_code == 200, (pk, response.content)
        for result in response.json():
            found[(pk, result["method"], result["chain"])] = (
                result["totalPerKg"],
                result["preConsumerShare"],
                result["postConsumerShare"],
                result["totalKg"],
            )
    return found


@pytest.fixture
def regulator():
    return make_partner("market-surveillance", role="regulator")


@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=st.lists(STEPS, min_size=1, max_size=5))
# one sequence that surely reaches every kind of event, with changes between them
@example(
    steps=[
        ("melt", None, Decimal(20)),
        ("claim", "Volta", Decimal("3.5")),
        ("registry", ("electricity_grid", "DE", "kg/kWh"), Decimal("0.5")),
        ("transfer", None, Decimal(30)),
        ("bound", "new_lot", Decimal(2)),
        ("cast", None, 2),
        ("registry", ("road_freight", "", "kg/(t*km)"), Decimal("0.3")),
    ]
)
def test_every_result_served_equals_a_full_recomputation_after_any_events_and_factor_changes(
    loop, regulator, django_capture_on_commit_callbacks, steps
):
    sid = transaction.savepoint()
    try:
        api = client_of(regulator)
        state = Steps(loop)
        for kind, what, amount in steps:
            # each step commits, and its followers run as the worker runs them (catch-up, refresh)
            with django_capture_on_commit_callbacks(execute=True):
                state.apply(kind, what, amount)
            assert not DirtyNode.objects.exists()
            served, full = served_all(api), full_recomputation()
            assert served.keys() == full.keys()
            for key, values in full.items():
                assert served[key] == pytest.approx(values, rel=1e-9, abs=1e-12), (key, kind, what)
    finally:
        transaction.savepoint_rollback(sid)


class Steps:
    """Applies drawn steps to the loop; an event with nothing to act on (no melt to haul or cast) is skipped."""

    def __init__(self, loop) -> None:  # type: ignore[no-untyped-def]
        self.loop = loop
        self.hours = 100.0
        self.received: list[TraceableObject] = []
        self.at_shop: list[TraceableObject] = []
        self.delivered: list[TraceableObject] = []
        self.claimed: dict[int, Decimal] = {}

    def apply(self, kind: str, what, amount) -> None:  # type: ignore[no-untyped-def]
        loop = self.loop
        self.hours += 1
        if kind == "registry":
            code, region, unit = what
            current = EmissionFactor.objects.get(code=code, region=region, lot=None, superseded_by=None)
            value = (current.value * (1 + amount)).quantize(Decimal("0.000001"))
            services.factor_add(code=code, region=region, value=value, unit=unit, source="test")
        elif kind == "bound":
            lot = (
                self.received[-1]
                if what == "new_lot" and self.received
                else loop.obj(loop.silicon if what == "silicon" else loop.primary)
            )
            services.factor_add(code="supplier_footprint", lot=lot, value=amount, unit="kg/kg", source="test PCF")
        elif kind == "melt":
            lot = receive_and_melt(loop, amount, self.hours)
            self.received.append(lot)
            self.at_shop.append(loop.obj(local_uri("lot", "nordic-remelt", f"M-{int(self.hours * 10)}")))
        elif kind == "claim" and self.at_shop:
            melt = self.at_shop[-1]
            claimed = self.claimed.get(melt.pk, Decimal(0))
            if claimed + amount <= melt.initial_kg:  # never more than the lot's mass
                ops.recycled_content_claim(
                    organisation=loop.remelter.organisation,
                    site=loop.remelt_site,
                    lot=melt.identifier,
                    kg=amount,
                    category="post_consumer",
                    vehicle_make=what,
                    event_time=at(self.hours),
                )
                self.claimed[melt.pk] = claimed + amount
        elif kind == "transfer" and self.at_shop:
            melt = self.at_shop.pop()
            ops.molten_transfer(
                organisation=loop.remelter.organisation,
                site=loop.remelt_site,
                lot=ops.LotIn(melt.identifier, melt.initial_kg),
                destination=loop.casting_site,
                temperature_c=Decimal("715"),
                distance_km=amount,
                event_time=at(self.hours),
            )
            self.delivered.append(melt)
        elif kind == "cast" and self.delivered:
            melt = self.delivered.pop()
            # n parts of a whole kg each, 2 kg of run-around scrap, the rest lost
            each = Decimal(int((melt.initial_kg - 3) / amount))
            ops.die_casting(
                organisation=loop.die_caster.organisation,
                site=loop.casting_site,
                melt=ops.LotIn(melt.identifier, melt.initial_kg),
                castings=[ops.PartOut(f"T{int(self.hours * 10)}-{n}", "battery_tray", each) for n in range(amount)],
                scrap=[ops.LotOut(ObjectKind.SCRAP_LOT, Decimal(2), code=f"RA-{int(self.hours * 10)}")],
                losses={"castingLoss": melt.initial_kg - 2 - amount * each},
                energy=ops.Energy(electricity_kwh=Decimal(3) * amount),
                event_time=at(self.hours),
            )


def receive_and_melt(loop, kg: Decimal, hours: float) -> TraceableObject:  # type: ignore[no-untyped-def]
    """A new primary ingot lot received and melted at once with some of the silicon."""
    code = f"P-{int(hours * 10)}"
    ops.material_receipt(
        organisation=loop.remelter.organisation,
        site=loop.remelt_site,
        event_time=at(hours),
        lots=[ops.LotOut(ObjectKind.PRIMARY_INGOT, kg, code=code, attributes={"powerSource": "coal"})],
    )
    lot = loop.obj(local_uri("lot", "nordic-remelt", code))
    ops.remelting(
        organisation=loop.remelter.organisation,
        site=loop.remelt_site,
        inputs=[ops.LotIn(lot.identifier, kg), ops.LotIn(loop.silicon, Decimal(1))],
        output=ops.LotOut(ObjectKind.MELT_BATCH, kg + 1, code=f"M-{int(hours * 10)}"),
        melt_loss_kg=Decimal(0),
        dross_kg=Decimal(0),
        electricity_kwh=Decimal(5),
        natural_gas_m3=Decimal(0),
        target_alloy="thin-wall-structural",
        event_time=at(hours + 0.5),
    )
    return lot


def test_a_bound_supplier_footprint_reissues_the_parts_pact_footprints_with_their_predecessors(
    loop, django_capture_on_commit_callbacks
):
    from tests.api.test_pact import RequesterHost, assert_valid, listed, pact

    with RequesterHost() as host:
        # given: the die-caster's own PACT host is registered, and it has read a tray's PACT footprint
        pact_services.partner_register(
            organisation=loop.die_caster.organisation,
            base_url=host.url,
            client_id=host.client_id,
            client_secret=host.secret,
        )
        client = pact(loop.die_caster)
        (first,) = listed(client, productId=loop.trays[0])

        # when: the primary ingot's supplier binds its own footprint (no full recomputation runs)
        with django_capture_on_commit_callbacks(execute=True):
            services.factor_add(
                code="supplier_footprint", lot=loop.obj(loop.primary), value=Decimal("3.1"), unit="kg/kg", source="PCF"
            )

        # then: a new immutable version replaces it, naming it as its predecessor; a tray is a piece,
        # declared per piece: 55 kg x the melt's burden over the 610 kg cast
        old, new = listed(client, productId=loop.trays[0])
        assert (old["id"], old["status"], old["pcf"]) == (first["id"], "Deprecated", first["pcf"])
        assert new["status"] == "Active" and new["precedingPfIds"] == [first["id"]]
        assert float(new["pcf"]["pcfExcludingBiogenicUptake"]) == pytest.approx(55 * melt_burden(3.1) / 610, rel=1e-6)
        # and the die-caster's host was told, with the PACT 3 PublishedEvent naming the new version
        # only (it read no other footprint), posted to its /3/events with its own token
        [(path, content_type, event)] = host.events
    assert path == "/3/events" and content_type.startswith("application/cloudevents+json")
    assert_valid("3", "PublishedEvent", event)
    assert event["type"] == "org.wbcsd.pact.ProductFootprint.PublishedEvent.3"
    assert event["specversion"] == "1.0"
    assert event["source"] == "//testserver/3/events"
    assert uuid.UUID(event["id"])
    assert datetime.fromisoformat(event["time"].replace("Z", "+00:00")).tzinfo is not None
    assert event["data"] == {"pfIds": [new["id"]]}
    (publication,) = PactPublication.objects.all()
    assert (publication.state, publication.attempts, publication.delivery_error) == ("delivered", 1, "")


def test_a_partner_host_that_cannot_be_reached_keeps_the_published_event_and_the_recomputation_stands(
    loop, django_capture_on_commit_callbacks
):
    from tests.api.test_pact import listed, pact

    # given: the die-caster read a tray's footprint, and registered a host that is down
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    pact_services.partner_register(
        organisation=loop.die_caster.organisation,
        base_url=f"http://127.0.0.1:{port}",
        client_id="looptrace",
        client_secret="secret",
    )
    client = pact(loop.die_caster)
    (first,) = listed(client, productId=loop.trays[0])

    # when: a supplier footprint is bound
    with django_capture_on_commit_callbacks(execute=True):
        services.factor_add(
            code="supplier_footprint", lot=loop.obj(loop.primary), value=Decimal("3.1"), unit="kg/kg", source="PCF"
        )

    # then: the results are refreshed all the same, and the undelivered event is kept with its error
    assert not DirtyNode.objects.exists()
    tray = FootprintResult.objects.get(node__identifier=loop.trays[0], method="cut_off", chain="physical")
    assert tray.total_per_kg == pytest.approx(melt_burden(3.1) / 610, rel=REL)
    (publication,) = PactPublication.objects.all()
    assert publication.state == "undelivered" and publication.attempts == 1
    assert "127.0.0.1" in publication.delivery_error
    (_, new) = listed(client, productId=loop.trays[0])
    assert publication.body["data"] == {"pfIds": [new["id"]]}
    assert new["precedingPfIds"] == [first["id"]]
