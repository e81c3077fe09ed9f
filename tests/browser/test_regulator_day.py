"""A regulator's day in a real browser: the passports of the batteries on the market, one read at
the authorities' tier with its verifiable credentials, then the Art. 8 and Annex XII reports and an
audit export downloaded from the console, each step's screenshot saved."""

import io
import json

import pytest
from django.contrib.auth import get_user_model
from openpyxl import load_workbook

from carbon.services import footprints_catch_up
from passport.models import Passport
from passport.services import passports_catch_up
from tests.recycling import build_recycling
from traceability.models import Membership

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "browser-test-password"
LAPTOP = {"width": 1366, "height": 900}


@pytest.fixture
def world(db):  # type: ignore[no-untyped-def]
    built = build_recycling()
    footprints_catch_up()
    passports_catch_up()
    user = get_user_model().objects.create_user("inspector", password=PASSWORD)
    Membership.objects.create(user=user, organisation=built.regulator.organisation)
    return built


def test_a_regulator_reads_passports_and_downloads_its_reports_and_an_audit_export(
    world, live_server, chromium, screenshots, tmp_path
):
    base = live_server.url
    page = chromium.new_context(viewport=LAPTOP, accept_downloads=True).new_page()
    page.goto(f"{base}/app/login/")
    page.get_by_label("Username").fill("inspector")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/app/")
    page.screenshot(path=screenshots / "01-regulator-dashboard.png", full_page=True)

    # the passports, and one at the authorities' tier
    page.get_by_role("link", name="Passports", exact=True).click()
    page.wait_for_url("**/app/passports/")
    passport = Passport.objects.filter(versions__isnull=False).distinct().order_by("-ceased_at").first()
    assert page.get_by_text(passport.battery.label).first.is_visible()
    page.screenshot(path=screenshots / "02-passport-list.png", full_page=True)
    page.goto(f"{base}/passport/{passport.pk}?tier=authorities")
    assert page.get_by_text("Reading at the").is_visible() and page.get_by_text("Authorities").first.is_visible()
    assert page.get_by_role("heading", name="Verifiable credentials").is_visible()
    assert page.get_by_text("Digital product passport").first.is_visible()
    assert "manufacturerInformation/" not in page.content()  # labels, not schema paths
    page.screenshot(path=screenshots / "03-passport-authorities-tier.png", full_page=True)

    # the reports
    page.goto(f"{base}/app/")
    page.get_by_role("link", name="Reports", exact=True).click()
    page.wait_for_url("**/app/reports/")
    page.screenshot(path=screenshots / "04-reports.png", full_page=True)
    page.get_by_label("Year (empty: every year)").last.fill("2026")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download").last.click()
    download = download_info.value
    assert download.suggested_filename == "looptrace-recycling-2026.xlsx"
    workbook = load_workbook(io.BytesIO(open(download.path(), "rb").read()), read_only=True)
    header, *rows = list(workbook["Report"].iter_rows(values_only=True))
    assert "recycling efficiency (%)" in header and rows

    # an audit export of everything, verified offline by the tools it names
    page.get_by_role("link", name="Audit export", exact=True).click()
    page.wait_for_url("**/app/audit/")
    page.screenshot(path=screenshots / "05-audit-export.png", full_page=True)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download").click()
    lines = open(download_info.value.path(), encoding="utf-8").read().splitlines()
    assert lines and all(isinstance(json.loads(line), dict) for line in lines)
