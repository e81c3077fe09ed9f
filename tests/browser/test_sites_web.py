"""A new partner's first hour in the console, in a real browser: it has no site, adds one from
the navigation's Sites page, and records a vehicle intake there through the form."""

import pytest
from django.contrib.auth import get_user_model

from tests.factories import make_partner, valid_vin
from traceability.identifiers import vehicle_uri
from traceability.models import Membership, Site, TraceableObject

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "browser-test-password"


def test_a_new_dismantler_adds_its_site_in_the_console_and_records_there(live_server, chromium, screenshots):
    partner = make_partner("fresh-yard", role="dismantler")
    user = get_user_model().objects.create_user("fresh", password=PASSWORD)
    Membership.objects.create(user=user, organisation=partner.organisation)
    base = live_server.url
    page = chromium.new_context(viewport={"width": 1366, "height": 900}).new_page()

    # given: signed in, with no site yet
    page.goto(f"{base}/app/login/")
    page.get_by_label("Username").fill("fresh")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/app/")
    page.get_by_role("link", name="Sites", exact=True).click()
    page.wait_for_url(f"{base}/app/sites/")
    assert page.get_by_text("No sites yet").is_visible()

    # when: it adds a site on the Norwegian grid, then records an intake there
    page.get_by_label("Name").fill("Drammen yard")
    page.get_by_label("Country").fill("no")
    page.get_by_label("Grid region").select_option("NO")
    page.get_by_role("button", name="Add site").click()
    page.wait_for_selector("text=Site Drammen yard added")
    page.screenshot(path=screenshots / "01-site-added.png", full_page=True)
    page.get_by_role("link", name="Record", exact=True).click()
    page.get_by_role("link", name="Vehicle intake").click()
    page.get_by_label("Site").select_option(label="Drammen yard")
    page.get_by_label("VIN").fill(valid_vin(901))
    page.get_by_label("Mass (kg)").fill("1650")
    page.get_by_label("Make").fill("Volta")
    page.get_by_label("Model", exact=True).fill("E-Compact")
    page.get_by_role("button", name="Record and sign").click()
    page.wait_for_url("**/app/lots/*/")

    # then: the site is the partner's, and the vehicle was received at it
    site = Site.objects.get(organisation=partner.organisation)
    assert (site.name, site.country, site.grid_region) == ("Drammen yard", "NO", "NO")
    assert TraceableObject.objects.get(identifier=vehicle_uri(valid_vin(901))).site_id == site.pk
