"""Sites through the API and the console: a partner adds its sites (country, grid region) and
records at them without the Django admin; another organisation's site answers like a missing one;
bad input is refused with ``{code, detail}`` and stores nothing; the grid region selects the
electricity factor of the energy recorded there."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from carbon.services import footprints_catch_up
from tests.api.test_operations_api import client_for, post
from tests.factories import make_partner, make_site, valid_vin
from traceability.models import Membership, Organisation, Site, TraceableObject
from traceability.services import platform_organisation

pytestmark = pytest.mark.django_db


def add_site(client, body: dict, *, status: int = 201) -> dict:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/sites", body, format="json")
    assert response.status_code == status, response.json()
    return response.json()


def member(organisation: Organisation, username: str) -> Client:
    user = get_user_model().objects.create_user(username, password="pw-for-tests-only")
    Membership.objects.create(user=user, organisation=organisation)
    client = Client()
    client.force_login(user)
    return client


# --- create, list, read -----------------------------------------------------------------------


def test_a_partner_creates_lists_and_reads_its_sites():
    yard = client_for(make_partner("autocirc", role="dismantler"))

    made = add_site(yard, {"name": "Leipzig yard", "country": "de", "address": "Am Hafen 3, Leipzig"})
    other = add_site(yard, {"name": "Oslo yard", "country": "NO", "gridRegion": "DE"})
    listed = yard.get("/api/v1/sites").json()
    read = yard.get(f"/api/v1/sites/{made['id']}").json()

    # the country is stored upper-case; with no region named, the country's own (the registry has DE)
    assert made == {
        "id": made["id"],
        "organisation": "autocirc",
        "name": "Leipzig yard",
        "country": "DE",
        "gridRegion": "DE",
        "electricityRegion": "DE",
        "address": "Am Hafen 3, Leipzig",
        "gln": "",
    }
    # a named grid region wins over the country
    assert (other["country"], other["gridRegion"], other["electricityRegion"]) == ("NO", "DE", "DE")
    # paged like every list, in name order
    assert listed["count"] == 2
    assert [site["name"] for site in listed["results"]] == ["Leipzig yard", "Oslo yard"]
    assert read == made
    assert Site.objects.get(pk=made["id"]).organisation.slug == "autocirc"


def test_a_country_the_registry_has_no_grid_for_falls_back_to_the_registry_default():
    yard = client_for(make_partner("autocirc", role="dismantler"))

    made = add_site(yard, {"name": "Lyon yard", "country": "FR"})

    # blank: the registry's default electricity factor (region "")
    assert (made["gridRegion"], made["electricityRegion"]) == ("", "FR")


def test_an_organisation_lists_only_its_own_sites_and_another_ones_answers_like_a_missing_one():
    mine = client_for(make_partner("autocirc", role="dismantler"))
    theirs = make_partner("nordic-remelt", role="remelter")
    hidden = make_site(theirs, "Sundsvall remelt", country="NO")
    add_site(mine, {"name": "Leipzig yard", "country": "DE"})
    missing = Site.objects.order_by("-pk").values_list("pk", flat=True).first() + 1000

    listed = mine.get("/api/v1/sites").json()
    other = mine.get(f"/api/v1/sites/{hidden.pk}")
    absent = mine.get(f"/api/v1/sites/{missing}")

    assert [site["name"] for site in listed["results"]] == ["Leipzig yard"]
    assert other.status_code == absent.status_code == 404
    assert other.json() == absent.json() == {"code": "not_found", "detail": "not found"}
    assert "Sundsvall" not in other.content.decode()


def test_a_regulator_reads_every_site_but_adds_none():
    make_site(make_partner("autocirc", role="dismantler"), "Leipzig yard", country="DE")
    hidden = make_site(make_partner("nordic-remelt", role="remelter"), "Sundsvall remelt", country="NO")
    regulator = client_for(make_partner("kba", role="regulator"))

    listed = regulator.get("/api/v1/sites").json()
    read = regulator.get(f"/api/v1/sites/{hidden.pk}")
    refused = add_site(regulator, {"name": "Office", "country": "DE"}, status=403)

    assert {site["name"] for site in listed["results"]} == {"Leipzig yard", "Sundsvall remelt"}
    assert read.status_code == 200 and read.json()["organisation"] == "nordic-remelt"
    assert refused["code"] == "site_not_allowed"
    assert not Site.objects.filter(name="Office").exists()


def test_sites_need_a_caller():
    assert Client().get("/api/v1/sites").status_code in (401, 403)
    assert Client().post("/api/v1/sites", {"name": "x", "country": "DE"}).status_code in (401, 403)
    assert Site.objects.count() == 0


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": "Yard", "country": "XX"}, "country_unknown"),
        ({"name": "Yard", "country": "EU"}, "country_unknown"),
        ({"name": "Yard", "country": "DEU"}, "max_length"),
        ({"name": "Yard", "country": "DE", "gridRegion": "ATLANTIS"}, "grid_region_unknown"),
        ({"name": "Yard", "country": "DE", "gridRegion": "FR"}, "grid_region_unknown"),
        ({"name": "   ", "country": "DE"}, "blank"),
        ({"country": "DE"}, "required"),
        ({"name": "Yard"}, "required"),
    ],
)
def test_bad_input_is_refused_with_a_code_and_stores_nothing(body, code):
    yard = client_for(make_partner("autocirc", role="dismantler"))

    refused = add_site(yard, body, status=400)

    assert refused["code"] == code and refused["detail"]
    assert Site.objects.count() == 0


def test_a_second_site_of_the_same_name_is_refused_but_another_organisation_may_use_the_name():
    yard = client_for(make_partner("autocirc", role="dismantler"))
    other = client_for(make_partner("second-yard", role="dismantler"))
    add_site(yard, {"name": "Main yard", "country": "DE"})

    again = add_site(yard, {"name": "Main yard", "country": "PL"}, status=409)
    theirs = add_site(other, {"name": "Main yard", "country": "PL"})

    assert again["code"] == "site_exists" and "Main yard" in again["detail"]
    assert Site.objects.filter(name="Main yard").count() == 2
    assert theirs["organisation"] == "second-yard"


# --- the first hour, without the admin ----------------------------------------------------------


def test_a_new_partner_adds_a_site_through_the_api_then_records_a_vehicle_intake_there():
    yard = client_for(make_partner("autocirc", role="dismantler"))

    site = add_site(yard, {"name": "Leipzig yard", "country": "DE"})
    intake = post(
        yard,
        "vehicle-intake",
        {"site": site["id"], "vin": valid_vin(5), "mass": "1.6 t", "make": "Volta", "model": "E-Compact"},
    )
    vehicle = yard.get("/api/v1/items").json()["results"]

    assert [obj["identifier"] for obj in vehicle] == intake["created"]
    assert vehicle[0]["site"] == site["id"]
    assert TraceableObject.objects.get(identifier=intake["created"][0]).site_id == site["id"]


def test_a_site_of_another_organisation_cannot_be_recorded_at():
    yard = client_for(make_partner("autocirc", role="dismantler"))
    theirs = add_site(client_for(make_partner("second-yard", role="dismantler")), {"name": "Y", "country": "DE"})

    refused = yard.post(
        "/api/v1/operations/vehicle-intake",
        {"site": theirs["id"], "vin": valid_vin(6), "mass": "1.6 t", "make": "V", "model": "M"},
        format="json",
    )

    assert refused.status_code == 400 and refused.json()["code"] == "site_not_yours"
    assert TraceableObject.objects.count() == 0


def test_the_grid_region_selects_the_electricity_factor_of_what_is_recorded_at_the_site():
    # given: two sites in Germany, one on the German grid, one drawing Norwegian power
    partner = make_partner("nordic-remelt", role="remelter")
    remelter = client_for(partner)
    german = add_site(remelter, {"name": "Berlin", "country": "DE"})
    norwegian = add_site(remelter, {"name": "Berlin hydro line", "country": "DE", "gridRegion": "NO"})
    melts = {}
    for site in (german, norwegian):
        receipt = post(
            remelter,
            "material-receipt",
            {
                "site": site["id"],
                "eventTime": "2026-10-07T08:00:00Z",
                "lots": [{"code": f"P-{site['id']}", "kind": "primary_ingot", "mass": "500 kg", "supplier": "S"}],
            },
        )
        melts[site["name"]] = post(
            remelter,
            "remelting",
            {
                "site": site["id"],
                "eventTime": "2026-10-08T08:00:00Z",
                "inputs": [{"identifier": receipt["created"][0], "mass": "500 kg"}],
                "output": {"code": f"M-{site['id']}", "mass": "490 kg"},
                "meltLoss": "10 kg",
                "naturalGas": "0 m**3",
                "electricity": "1000 kWh",
            },
        )["created"][0]

    # when
    footprints_catch_up()

    # then: the same melt, 1000 kWh apart in grid: 1000 * (0.380 DE - 0.02 NO) = 360 kg CO2e
    def cut_off(identifier: str) -> dict:
        pk = TraceableObject.objects.get(identifier=identifier).pk
        (result,) = remelter.get(f"/api/v1/objects/{pk}/footprint?method=cut_off&chain=physical").json()
        return result

    on_german, on_norwegian = cut_off(melts["Berlin"]), cut_off(melts["Berlin hydro line"])
    assert "electricity_grid:DE:v1" in on_german["factors"]
    assert "electricity_grid:NO:v1" in on_norwegian["factors"]
    assert on_german["totalKg"] - on_norwegian["totalKg"] == pytest.approx(1000 * (0.380 - 0.02), rel=1e-9)


# --- the console --------------------------------------------------------------------------------


def test_the_console_lists_own_sites_and_adds_one_that_the_record_forms_then_offer():
    partner = make_partner("autocirc", role="dismantler")
    make_site(make_partner("second-yard", role="dismantler"), "Their yard", country="PL")
    console = member(partner.organisation, "yard-hand")

    empty = console.get("/app/sites/").content.decode()
    added = console.post("/app/sites/", {"name": "Leipzig yard", "country": "de", "grid_region": "NO"})
    page = console.get("/app/sites/").content.decode()
    picker = console.get("/app/record/vehicle-intake/").content.decode()
    site = Site.objects.get(organisation=partner.organisation)

    assert "No sites yet" in empty and 'href="/app/sites/"' in empty  # linked from the navigation
    assert added.status_code == 302 and added["Location"] == "/app/sites/"
    assert (site.name, site.country, site.grid_region) == ("Leipzig yard", "DE", "NO")
    assert "Leipzig yard" in page and "Their yard" not in page
    assert f'<option value="{site.pk}">Leipzig yard</option>' in picker


def test_the_console_shows_a_refused_site_at_its_field_and_stores_nothing():
    partner = make_partner("autocirc", role="dismantler")
    console = member(partner.organisation, "yard-hand")

    refused = console.post("/app/sites/", {"name": "Yard", "country": "XX"})

    assert refused.status_code == 422
    assert "is not an ISO 3166-1 alpha-2 country code" in refused.content.decode()
    assert Site.objects.count() == 0


def test_the_operator_console_has_no_form_to_add_a_site():
    console = member(platform_organisation(), "operator")

    page = console.get("/app/sites/")
    refused = console.post("/app/sites/", {"name": "HQ", "country": "DE"})

    assert page.status_code == 200 and "Add a site" not in page.content.decode()
    assert refused.status_code == 422 and Site.objects.count() == 0


def test_the_record_page_sends_a_partner_without_sites_to_add_one_first():
    partner = make_partner("autocirc", role="dismantler")
    console = member(partner.organisation, "yard-hand")

    before = console.get("/app/record/").content.decode()
    console.post("/app/sites/", {"name": "Leipzig yard", "country": "DE"})
    after = console.get("/app/record/").content.decode()

    assert "you have none yet" in before and 'href="/app/sites/">add a site</a>' in before
    assert "you have none yet" not in after


def test_site_lists_cost_the_same_queries_with_more_sites():
    partner = make_partner("autocirc", role="dismantler")
    api, console = client_for(partner), member(partner.organisation, "yard-hand")

    def cost() -> list[int]:
        counts = []
        for client, url in ((api, "/api/v1/sites"), (console, "/app/sites/")):
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url).status_code == 200
            counts.append(len(captured.captured_queries))
        return counts

    add_site(api, {"name": "Site 0", "country": "DE"})
    one = cost()
    for n in range(1, 6):
        add_site(api, {"name": f"Site {n}", "country": "PL"})

    assert cost() == one
    assert api.get("/api/v1/sites").json()["count"] == 6
