"""Pages show back what was recorded, in words: a lot's facts under their names (a vehicle's make,
model and year; a graded pack's state of health and route, the route's code beside its sentence),
an intake as mass entering the ledger (never a negative balance), a stage nobody recorded as "not
assessed" (never a zero), a passport's attributes under the Battery Pass Data Attribute Longlist's
names with units (never a schema path), a part's provenance with its origins totalled apart from
the vehicles-by-make breakdown, and access tiers by their names."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from carbon.services import footprints_catch_up
from passport import services as passports
from passport.models import Passport
from tests.integration.test_page_figures import Page, intensity, kg, kg_co2e
from tests.loop import at, build_loop
from traceability.models import Membership, TraceableObject
from traceability.operations import services as ops

pytestmark = pytest.mark.django_db
# The mass balance row of a transformation, as the page heads it.
BALANCE_ROW = "inputs \N{MINUS SIGN} outputs \N{MINUS SIGN} losses"
BATTERY_PASS = Path(__file__).resolve().parents[2] / "passport" / "data" / "batterypass-1.2.0"


def console(organisation) -> Client:  # type: ignore[no-untyped-def]
    user = get_user_model().objects.create_user(f"member-{organisation.slug}", password="pw-for-tests-only")
    Membership.objects.create(user=user, organisation=organisation)
    client = Client()
    client.force_login(user)
    return client


def api(partner) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}")
    return client


@pytest.fixture
def loop(db):  # type: ignore[no-untyped-def]
    built = build_loop()
    ops.battery_grading(
        organisation=built.dismantler.organisation,
        site=built.dismantling_site,
        battery=built.packs[0],
        state_of_health_pct=Decimal("83.5"),
        capacity_kwh=Decimal("61"),
        route="second_life",
        event_time=at(30),
    )
    footprints_catch_up()
    passports.passports_catch_up()
    return built


def pk(identifier: str) -> int:
    return TraceableObject.objects.get(identifier=identifier).pk


def facts(page: Page) -> dict[str, str]:
    return {row[0]: row[1] for row in page.rows if len(row) == 2}


# --- the lot page --------------------------------------------------------------------------------


def test_a_vehicles_page_shows_its_make_model_and_year_and_its_intake_as_mass_entering(loop):
    # given: what the API serves of the vehicle
    vehicle = pk(loop.vehicles[0])
    served = api(loop.dismantler).get(f"/api/v1/objects/{vehicle}").json()

    # when
    html = console(loop.dismantler.organisation).get(f"/app/lots/{vehicle}/").content.decode()
    page = Page(html)

    # then: what the dismantler typed at intake, named
    shown = facts(page)
    recorded = served["attributes"]
    assert (shown["Make"], shown["Model"], shown["Model year"]) == (
        recorded["make"],
        recorded["model"],
        str(recorded["modelYear"]),
    )
    assert (shown["Make"], shown["Model"], shown["Model year"]) == ("Volta", "E-Compact", "2017")
    assert shown["Initial mass"] == f"{kg(served['initialKg'])} kg" == "1,850.000 kg"
    # the intake consumed nothing: its mass entered the ledger, it is no imbalance of -1,850 kg
    assert BALANCE_ROW not in html.split("Vehicle intake", 1)[1].split("Dismantling", 1)[0]
    assert not re.search(r">\s*-1,?850", html)
    assert f"{kg(served['initialKg'])} kg entered the ledger here" in html
    # operations by name, not by code
    assert "Vehicle intake" in html and "vehicle_intake" not in html


def test_a_graded_packs_page_shows_its_state_of_health_and_route_with_the_code(loop):
    pack = pk(loop.packs[0])
    recorded = api(loop.dismantler).get(f"/api/v1/objects/{pack}").json()["attributes"]

    page = Page(console(loop.dismantler.organisation).get(f"/app/lots/{pack}/").content.decode())

    shown = facts(page)
    assert shown["State of health"] == f"{recorded['stateOfHealthPct']:g} %" == "83.5 %"
    assert shown["Measured capacity"] == "61 kWh"
    assert shown["Route"] == f"Second life: to be repurposed or reused {recorded['route']}"
    assert shown["Graded"] == "2026-10-02 14:00 UTC"
    assert shown["GTIN"].startswith("0")  # an identifier as typed, no thousands in it
    assert "batteryPass" not in shown


def test_a_melts_losses_are_named_and_balanced_in_grouped_kg(loop):
    melt = pk(loop.melt)

    page = Page(console(loop.remelter.organisation).get(f"/app/lots/{melt}/").content.decode())

    losses = {row[1]: row[2] for row in page.rows if len(row) == 3 and row[0] == "loss"}
    assert losses == {"Dross": kg(5), "Melt loss": kg(12)}
    assert page.row(BALANCE_ROW) == [kg(0)]


def test_stages_nobody_recorded_read_not_assessed_and_the_others_are_the_apis(loop):
    # given: the melt was delivered molten (distribution) but not yet cast (no main production),
    # and neither cut-off nor allocation computes an end of life
    melt = pk(loop.melt)
    cut_off = next(
        r
        for r in api(loop.remelter).get(f"/api/v1/objects/{melt}/footprint", {"chain": "physical"}).json()
        if r["method"] == "cut_off"
    )
    assert cut_off["assessedStages"] == ["raw_material_acquisition", "distribution"]
    assert cut_off["perKg"]["main_production"] == 0.0  # what "not assessed" stands for

    page = Page(console(loop.remelter.organisation).get(f"/app/lots/{melt}/").content.decode())

    assert page.row("Main production") == ["not assessed"] * 3
    assert page.row("End of life and recycling") == ["not assessed"] * 3
    assert page.row("Distribution")[0] == intensity(cut_off["perKg"]["distribution"]) != "not assessed"


# --- the battery passport ------------------------------------------------------------------------


def test_the_passport_page_names_attributes_as_the_longlist_never_as_schema_paths(loop):
    passport = Passport.objects.get(battery__identifier=loop.packs[1])
    served = Client().get(f"/api/v1/passports/{passport.pk}").json()["passport"]
    general = served["GeneralProductInformation"]

    html = Client().get(f"/passport/{passport.pk}").content.decode()
    shown = facts(Page(html))

    # no row is a path of the data model
    assert not [label for label in shown if "/" in label or "[" in label]
    assert "manufacturerInformation" not in html and "warrentyPeriod" not in html
    # nested attributes read as words, countries by name with the code beside them
    country = general["manufacturerInformation"]["postalAddress"]["addressCountry"]
    assert shown["Manufacturer · Postal address · Country"] == f"Germany {country}" == "Germany DE"
    # a gMonth period as months, its code beside it; a category as a sentence with its code
    assert shown["Warranty period"] == f"8 months {general['warrentyPeriod']}"
    assert shown["Battery category"] == f"Electric vehicle battery {general['batteryCategory']}"
    assert shown["Manufacturing date"] == general["manufacturingDate"][:10]
    # units from the longlist, figures as the API serves them
    assert shown["Battery mass"] == f"{general['batteryMass']:g} kg"
    footprint = served["CarbonFootprintForBatteries"]
    assert shown["Absolute carbon footprint"] == f"{kg_co2e(footprint['absoluteCarbonFootprint'])} kg CO2e"
    # list items named by their own name
    cobalt = next(c for c in served["Circularity"]["recycledContent"] if c["recycledMaterial"] == "Cobalt")
    assert shown["Recycled content · Cobalt · Pre-consumer recycled share"] == f"{cobalt['preConsumerShare']:g} %"
    # the schema's explanation is there for whoever points at a name
    assert 'title="The battery passport must include information about the period' in html


def test_every_attribute_of_the_data_model_has_a_name():
    named = json.loads((BATTERY_PASS / "labels.json").read_text())["attributes"]
    properties: set[str] = set()

    def collect(node: object) -> None:
        if isinstance(node, dict):
            properties.update((node.get("properties") or {}).keys())
            for inner in node.values():
                collect(inner)
        elif isinstance(node, list):
            for inner in node:
                collect(inner)

    for schema in BATTERY_PASS.glob("*-schema.json"):
        collect(json.loads(schema.read_text()))

    assert properties and properties == set(named)
    assert all(each["name"] and not re.search(r"\b[a-z]+[A-Z]", each["name"]) for each in named.values())


def test_the_console_names_access_tiers_in_words(loop):
    html = console(loop.dismantler.organisation).get("/app/passports/").content.decode()

    assert "Persons with a legitimate interest" in html
    assert "Legitimateinterest" not in html


# --- the part passport ---------------------------------------------------------------------------


def test_the_part_passport_totals_origins_apart_from_the_vehicles_by_make(loop):
    tray = pk(loop.trays[0])
    provenance = Client().get(f"/part/{tray}", HTTP_ACCEPT="application/json").json()["provenance"]

    html = Client().get(f"/part/{tray}").content.decode()
    page = Page(html)

    origins = provenance["kgByOrigin"]
    assert page.row("End-of-life vehicles") == [kg(origins["vehicle"])]
    assert page.row("Primary aluminium") == [kg(origins["primary"])]
    assert page.row("All origins") == [kg(sum(origins.values()))]
    # the make breakdown is its own table, under its own heading, not another origin row
    assert "Of which end-of-life vehicles, by make" in html
    assert page.row("Volta") == [kg(provenance["kgByVehicleMake"]["Volta"])]
    assert "vehicles of Volta" not in html
    # identifiers may wrap where they must, never by breaking every word anywhere
    assert "break-all" not in html
