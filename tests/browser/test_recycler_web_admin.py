"""A person's day in the web admin, in a real browser against a live server.

A dismantler signs in, dismantles a vehicle through the form and downloads the new pack's
passport (QR code and JSON); a remelter signs in, has a melt refused for a broken mass balance,
records it right, sees the new lot's footprint and recycled share once the task has run, and
opens its genealogy. Tasks run eagerly on commit, as they do without a broker.
"""

import json
import time
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from passport.demo import battery_datasheet
from tests.factories import battery_code, valid_vin
from tests.loop import build_loop
from traceability.identifiers import vehicle_uri
from traceability.models import MassFlow, Membership, TraceableObject
from traceability.operations import services as ops

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "browser-test-password"
FOOTPRINT_WAIT_SECONDS = 20
TABLET = {"width": 800, "height": 1100}
LAPTOP = {"width": 1366, "height": 900}


def sign_in(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/app/")
    assert "/app/login/" in page.url
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/app/")


def sign_out(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/app/login/")


@pytest.fixture
def loop(db):  # type: ignore[no-untyped-def]
    built = build_loop()
    users = get_user_model().objects
    for organisation, username in ((built.dismantler.organisation, "yard"), (built.remelter.organisation, "melter")):
        Membership.objects.create(user=users.create_user(username, password=PASSWORD), organisation=organisation)
    built.vin = valid_vin(501)
    ops.vehicle_intake(
        organisation=built.dismantler.organisation,
        site=built.dismantling_site,
        vin=built.vin,
        kg=Decimal("1790"),
        make="Volta",
        model="E-Compact",
        event_time=timezone.now() - timezone.timedelta(hours=2),
    )
    return built


def test_dismantle_and_melt_in_the_browser_then_see_footprint_genealogy_and_passport(
    loop, live_server, chromium, screenshots, tmp_path
):
    base = live_server.url
    context = chromium.new_context(viewport=LAPTOP, accept_downloads=True)
    page = context.new_page()

    # given: a dismantler signs in
    sign_in(page, base, "yard")
    page.screenshot(path=screenshots / "01-dismantler-dashboard.png", full_page=True)
    assert page.get_by_text("Vehicles received").is_visible()

    # when: it dismantles the new vehicle through the form (pack with its maker's data sheet, two parts)
    page.get_by_role("link", name="Record", exact=True).click()
    page.get_by_role("link", name="Dismantling").click()
    page.get_by_label("Site").select_option(label=loop.dismantling_site.name)
    page.get_by_label("Vehicle").select_option(vehicle_uri(loop.vin))
    code = battery_code(501)
    page.get_by_label("Battery code").fill(code)
    page.get_by_label("Battery chemistry").select_option("NMC")
    page.get_by_label("Rated energy (kWh)").fill("64")
    page.get_by_label("Battery mass (kg)").fill("410")
    now = timezone.now()
    sheet = battery_datasheet(maker="EUC", chemistry="NMC", kwh=Decimal("64"), made=now, read_at=now, code=code)
    page.get_by_label("Battery datasheet").fill(json.dumps(sheet))
    page.get_by_label("Parts").fill("W501-1 wheel 10.5 A356\nH501 motor_housing 14.2 A380")
    page.screenshot(path=screenshots / "02-dismantling-form.png", full_page=True)
    page.get_by_role("button", name="Record and sign").click()

    # then: the pack's page, with its passport to download as a QR code and as JSON
    page.wait_for_selector("#qr-download")
    pack = TraceableObject.objects.get(label=code)
    assert page.url == f"{base}/app/lots/{pack.pk}/"
    assert page.get_by_text("Dismantling recorded as ledger entry").is_visible()
    page.screenshot(path=screenshots / "03-pack-with-passport.png", full_page=True)
    with page.expect_download() as qr:
        page.click("#qr-download")
    qr_file = tmp_path / qr.value.suggested_filename
    qr.value.save_as(qr_file)
    assert qr_file.suffix == ".svg" and b"<svg" in qr_file.read_bytes()
    with page.expect_download() as document:
        page.click("#json-download")
    passport = json.loads(document.value.path().read_text())
    assert passport["passport"]["GeneralProductInformation"]["productIdentifier"] == pack.identifier
    sign_out(page)

    # given: a remelter signs in, on a tablet
    page.set_viewport_size(TABLET)
    sign_in(page, base, "melter")
    page.screenshot(path=screenshots / "04-remelter-dashboard-tablet.png", full_page=True)

    # when: a melt whose losses do not balance is refused next to the field, and nothing is stored
    page.get_by_role("link", name="Record", exact=True).click()
    page.get_by_role("link", name="Remelting").click()
    page.get_by_label("Site").select_option(label=loop.remelt_site.name)
    page.get_by_label("Inputs").fill("P-1 300\nSI-1 20")
    page.get_by_label("New lot code").fill("M-501")
    page.get_by_label("Output mass (kg)").fill("310")
    page.get_by_label("Melt loss (kg)").fill("2")
    page.get_by_label("Natural gas (m³)").fill("25")
    page.get_by_label("Electricity (kWh)").fill("31")
    page.get_by_role("button", name="Record and sign").click()
    rule = page.locator("#id_melt_loss_kg_error")
    assert "mass_unbalanced" in rule.inner_text()
    page.screenshot(path=screenshots / "05-melt-refused.png", full_page=True)
    assert not TraceableObject.objects.filter(label="M-501").exists()

    # and: corrected, it is recorded
    page.get_by_label("Melt loss (kg)").fill("7")
    page.get_by_label("Dross (kg)").fill("3")
    page.get_by_role("button", name="Record and sign").click()
    page.wait_for_url("**/app/lots/*/")
    melt = TraceableObject.objects.get(label="M-501")
    assert melt.initial_kg == Decimal("310.000")

    # then: its footprint and recycled share appear once the carbon task has run
    deadline = time.monotonic() + FOOTPRINT_WAIT_SECONDS
    while page.locator("[data-total]").count() == 0 and time.monotonic() < deadline:
        page.wait_for_timeout(500)
        page.reload()
    assert page.locator("[data-total]").count() >= 1
    assert float(page.locator("[data-total]").first.inner_text()) > 0
    assert page.locator("[data-recycled]").count() >= 1
    page.screenshot(path=screenshots / "06-melt-footprint.png", full_page=True)

    # and: its genealogy shows where its kilograms came from; an input's page shows the melt downstream
    graph = page.locator("#genealogy-card svg")
    assert graph.is_visible()
    # the melt is drawn at the right of its sources, inside the page's width
    subject = graph.locator("text.subject")
    assert subject.text_content() == "M-501"
    box, viewport = subject.bounding_box(), page.viewport_size
    assert box is not None and viewport is not None and box["x"] + box["width"] <= viewport["width"]
    primary = MassFlow.objects.select_related("source__created_by").get(source__label="P-1", target=melt).source
    assert f"{primary.get_kind_display()}, {primary.created_by.name}" in graph.inner_html()
    page.locator("#genealogy-card details").get_by_role("link", name="P-1").click()
    page.wait_for_url("**/app/lots/*/")
    assert page.locator("h1").inner_text() == "P-1"
    assert "M-501" in page.locator("#genealogy-card").inner_text()
    page.screenshot(path=screenshots / "07-input-genealogy.png", full_page=True)
    context.close()
