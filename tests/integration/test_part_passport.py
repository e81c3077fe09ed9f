"""Part passports: a die-cast tray's alloy, mass, shares under each chain of custody, footprint
under each method and provenance back to vehicles, for everyone and in detail for those who may."""

import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from carbon.models import FootprintResult
from carbon.services import footprints_catch_up
from tests.factories import make_partner
from tests.loop import build_loop
from traceability.choices import ObjectKind
from traceability.genealogy import WALKS
from traceability.models import TraceableObject
from traceability.operations import services as ops

pytestmark = pytest.mark.django_db
# Mass flows are recorded to the gram at each of the 4 steps from vehicle to tray.
GRAMS = 0.005
WALK_START = WALKS["backward"].lstrip().split("\n")[0]


@pytest.fixture
def loop(db):  # type: ignore[no-untyped-def]
    built = build_loop()
    tray = TraceableObject.objects.get(identifier=built.trays[0])
    tray.attributes = {**tray.attributes, "oem": "Volta"}
    tray.save(update_fields=["attributes"])
    footprints_catch_up()
    return built


def passport_json(pk: int, api_key: str | None = None) -> dict:  # type: ignore[type-arg]
    headers = {"HTTP_AUTHORIZATION": f"Api-Key {api_key}"} if api_key else {}
    response = Client().get(f"/part/{pk}", HTTP_ACCEPT="application/json", **headers)
    assert response.status_code == 200, response.content
    return response.json()


def test_a_trays_passport_carries_its_shares_footprints_and_provenance(loop):
    tray = loop.obj(loop.trays[0])

    document = passport_json(tray.pk)

    # then: one 55 kg tray of the 690.6 kg melt of 167.6 kg post-consumer scrap (wheels and housings
    # of 3 Volta vehicles), 500 kg primary ingot and 40 kg silicon; genealogy follows mass, so
    # the tray holds 55 x 167.6 / 707.6 kg of the vehicles, 55 x 500 / 707.6 kg of primary ...
    assert document["massKg"] == 55.0 and document["partType"] == "battery_tray"
    provenance = document["provenance"]
    assert provenance["vehicles"] == 3
    assert provenance["kgByOrigin"]["vehicle"] == pytest.approx(55 * 167.6 / 707.6, abs=GRAMS)
    assert provenance["kgByOrigin"]["primary"] == pytest.approx(55 * 500 / 707.6, abs=GRAMS)
    assert provenance["kgByOrigin"]["alloying"] == pytest.approx(55 * 40 / 707.6, abs=GRAMS)
    assert provenance["kgByVehicleMake"] == {"Volta": pytest.approx(55 * 167.6 / 707.6, abs=GRAMS)}
    assert "sources" not in provenance  # the public does not see each vehicle
    # ... and 167.6 / 707.6 of it is post-consumer: all from Volta vehicles, the tray's customer
    physical = document["recycledContent"]["physical"]
    assert physical["postConsumer"] == pytest.approx(167.6 / 707.6, rel=1e-9)
    assert physical["preConsumer"] == 0
    assert physical["closedLoop"] == pytest.approx(167.6 / 707.6, rel=1e-9)
    assert set(document["recycledContent"]) == {"physical", "mass_balance"}
    # every method's footprint is the stored result
    assert set(document["footprint"]) == {"cut_off", "allocation", "cff"}
    for method, footprint in document["footprint"].items():
        stored = FootprintResult.objects.get(node=tray, method=method, chain="physical")
        assert footprint["totalPerKg"] == pytest.approx(stored.total_per_kg, rel=1e-9)
        assert footprint["totalKg"] == pytest.approx(stored.total_per_kg * 55, rel=1e-9)


def test_the_die_caster_sees_every_source_folded_regulators_by_identifier_others_not_at_all(loop):
    tray = loop.obj(loop.trays[0])
    stranger = make_partner("other-foundry", role="die_caster")
    regulator = make_partner("authority", role="regulator")

    own = passport_json(tray.pk, loop.die_caster.api_key)
    audited = passport_json(tray.pk, regulator.api_key)
    foreign = passport_json(tray.pk, stranger.api_key)

    # the vehicles are the dismantler's: the die-caster sees each one's kind and kg, not its VIN
    own_vehicles = [s for s in own["provenance"]["sources"] if s["kind"] == "vehicle"]
    assert len(own_vehicles) == len(loop.vehicles)
    assert {s["identifier"] for s in own_vehicles} == {None}
    assert not any(vin in json.dumps(own) for vin in loop.vehicles)
    assert sum(s["kg"] for s in own["provenance"]["sources"]) == pytest.approx(55.0, abs=GRAMS)
    vins = {s["identifier"] for s in audited["provenance"]["sources"] if s["kind"] == "vehicle"}
    assert vins == set(loop.vehicles)
    assert sorted((s["kind"], s["kg"]) for s in audited["provenance"]["sources"]) == sorted(
        (s["kind"], s["kg"]) for s in own["provenance"]["sources"]
    )
    assert "sources" not in foreign["provenance"]


def test_the_part_page_shows_charts_and_no_vehicle_to_the_public(loop):
    tray = loop.obj(loop.trays[0])

    page = Client().get(f"/part/{tray.pk}")

    html = page.content.decode()
    assert page.status_code == 200
    assert "Carbon footprint per kg, by method" in html and "Recycled content by chain of custody" in html
    assert "3 end-of-life vehicles" in html
    assert not any(vin in html for vin in loop.vehicles)


def test_only_die_cast_parts_have_part_passports(loop):
    wheel = TraceableObject.objects.filter(kind="part", attributes__partType="wheel").first()
    wheel = wheel or TraceableObject.objects.filter(kind="part").exclude(identifier__in=loop.trays).first()

    as_json = Client().get(f"/part/{wheel.pk}", HTTP_ACCEPT="application/json")
    as_page = Client().get(f"/part/{wheel.pk}")

    assert as_json.status_code == 404 and as_json.json()["code"] == "part_not_found"
    assert as_page.status_code == 404


def walks(queries: CaptureQueriesContext) -> int:
    """How many genealogy walks the captured queries ran."""
    return sum(1 for q in queries.captured_queries if q["sql"].lstrip().startswith(WALK_START))


def test_the_public_part_page_reads_its_genealogy_once_until_the_ledger_grows(loop):
    # given: the public reads a tray's passport once
    tray = loop.obj(loop.trays[0])
    with CaptureQueriesContext(connection) as first_queries:
        first = passport_json(tray.pk)

    # when: it reads it again
    with CaptureQueriesContext(connection) as second_queries:
        second = passport_json(tray.pk)

    # then: the same page (signed again as served), without walking the genealogy again
    assert second.pop("servedSignature")["signedAt"] >= first.pop("servedSignature")["signedAt"]
    assert second == first
    assert walks(first_queries) == 1 and walks(second_queries) == 0

    # given: a vehicle's make changed behind the ledger's back: the cached page does not see it
    vehicle = loop.obj(loop.vehicles[0])
    TraceableObject.objects.filter(pk=vehicle.pk).update(attributes={**vehicle.attributes, "make": "Renamed"})
    assert passport_json(tray.pk)["provenance"] == first["provenance"]

    # when: the ledger grows by one event
    ops.material_receipt(
        organisation=loop.remelter.organisation,
        site=loop.remelt_site,
        lots=[ops.LotOut(ObjectKind.PRIMARY_INGOT, Decimal("1"), code="P-2", attributes={"supplier": "Smelter"})],
    )
    with CaptureQueriesContext(connection) as after_queries:
        after = passport_json(tray.pk)

    # then: the page is built again from what is under it now
    assert walks(after_queries) == 1
    assert "Renamed" in after["provenance"]["kgByVehicleMake"]
    assert after["provenance"] != first["provenance"]
