"""Accessibility, checked by axe-core (vendored: ``tests/data/axe-core/``) in headless Chromium on the
pages each role works in: no violation of impact "serious" or "critical" (WCAG 2 A and AA rules)."""

import hashlib
import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from carbon.services import footprints_catch_up
from passport import services as passports
from passport.models import Passport
from tests.conftest import PROJECT_ROOT
from tests.factories import make_partner
from tests.loop import build_loop
from traceability.models import EventRecord, Membership, TraceableObject
from traceability.operations import services as ops

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "browser-test-password"
AXE = PROJECT_ROOT / "tests" / "data" / "axe-core" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
SERIOUS = ("serious", "critical")
RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


@pytest.fixture
def world(db):  # type: ignore[no-untyped-def]
    built = build_loop()
    ops.battery_grading(
        organisation=built.dismantler.organisation,
        site=built.dismantling_site,
        battery=built.packs[0],
        state_of_health_pct=Decimal("71.5"),
        capacity_kwh=Decimal("53.6"),
        route="recycling",
    )
    footprints_catch_up()
    passports.passports_catch_up()
    built.regulator = make_partner("authority", role="regulator")
    users = get_user_model().objects
    for organisation, username in (
        (built.dismantler.organisation, "yard"),
        (built.remelter.organisation, "melter"),
        (built.die_caster.organisation, "caster"),
        (built.regulator.organisation, "inspector"),
    ):
        Membership.objects.create(
            user=users.create_user(username, password=PASSWORD), organisation=organisation, role="administrator"
        )
    return built


def violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate("rules => axe.run(document, rules)", RULES)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in SERIOUS
    ]


def test_the_vendored_engine_is_the_recorded_one():
    assert hashlib.sha256(AXE.read_bytes()).hexdigest() == AXE_SHA256


def test_every_role_s_pages_have_no_serious_accessibility_violation(world, live_server, chromium):
    base = live_server.url
    melt = TraceableObject.objects.filter(kind="melt_batch").first()
    event = EventRecord.objects.filter(operation="remelting").first()
    passport = Passport.objects.first()
    part = TraceableObject.objects.filter(kind="part", created_by=world.die_caster.organisation).first()
    pages = {
        None: ["/passports/", f"/passport/{passport.pk}", f"/part/{part.pk}"],
        "yard": ["/app/", "/app/record/", "/app/record/dismantling/", "/app/record/custody-transfer/", "/app/lots/"],
        "melter": [
            "/app/",
            "/app/record/remelting/",
            f"/app/lots/{melt.pk}/",
            "/app/events/",
            f"/app/events/{event.entry_id}/",
        ],
        "caster": ["/app/", "/app/record/die-casting/", "/app/sites/", "/app/passports/", "/app/organisation/"],
        "inspector": ["/app/", "/app/reports/", "/app/audit/"],
    }
    found = {}
    for username, paths in pages.items():
        # bypass_csp: the pages forbid inline scripts, and axe is injected as one (the test only)
        context = chromium.new_context(viewport={"width": 1366, "height": 900}, bypass_csp=True)
        page = context.new_page()
        if username:
            page.goto(f"{base}/app/login/")
            page.get_by_label("Username").fill(username)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{base}/app/")
        for path in paths:
            answer = page.goto(f"{base}{path}")
            assert answer is not None and answer.status == 200, (username, path)
            problems = violations(page)
            if problems:
                found[f"{username or 'public'} {path}"] = problems
        context.close()
    assert found == {}, json.dumps(found, indent=1)
