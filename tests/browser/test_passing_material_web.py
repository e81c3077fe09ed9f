"""Passing material along in a real browser: a dismantler follows its dashboard's next step to
transfer the packs graded for recycling to a battery recycler, who follows its own to shred them
into black mass and fractions, has an unbalanced recycling refused at its field, and records it."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from tests.factories import make_partner, make_site
from tests.loop import PACK_KG, build_loop
from traceability.choices import ObjectKind, ObjectStatus
from traceability.models import EventRecord, Membership, TraceableObject
from traceability.operations import services as ops

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "browser-test-password"
LAPTOP = {"width": 1366, "height": 900}


def sign_in(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/app/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/app/")


@pytest.fixture
def loop(db):  # type: ignore[no-untyped-def]
    built = build_loop()
    built.recycler = make_partner("cellcycle", role="battery_recycler")
    built.recycler_site = make_site(built.recycler, "Pretreatment plant", country="DE")
    make_partner("authority", role="regulator")
    for pack in built.packs:
        ops.battery_grading(
            organisation=built.dismantler.organisation,
            site=built.dismantling_site,
            battery=pack,
            state_of_health_pct=Decimal("55"),
            capacity_kwh=Decimal("40"),
            route="recycling",
        )
    users = get_user_model().objects
    for organisation, username in ((built.dismantler.organisation, "yard"), (built.recycler.organisation, "recycler")):
        Membership.objects.create(user=users.create_user(username, password=PASSWORD), organisation=organisation)
    return built


def test_a_dismantler_transfers_packs_and_the_recycler_shreds_them_through_the_forms(
    loop, live_server, chromium, screenshots
):
    base = live_server.url
    page = chromium.new_context(viewport=LAPTOP).new_page()
    packs = len(loop.packs)

    # given: the yard's dashboard says what waits for it
    sign_in(page, base, "yard")
    page.screenshot(path=screenshots / "01-dismantler-next-steps.png", full_page=True)

    # when: it follows the link and transfers the packs to the recycler
    page.get_by_role("link", name=f"{packs} packs to transfer").click()
    page.wait_for_url("**/app/record/custody-transfer/")
    page.get_by_label("Site").select_option(label=loop.dismantling_site.name)
    page.get_by_label("Items").select_option(loop.packs)
    receivers = page.get_by_label("Receiver").locator("option").all_inner_texts()
    assert "Cellcycle (Battery recycler)" in receivers
    assert not [r for r in receivers if "Authority" in r or "Autocirc" in r]
    page.get_by_label("Receiver").select_option(label="Cellcycle (Battery recycler)")
    page.screenshot(path=screenshots / "02-custody-transfer-form.png", full_page=True)
    page.get_by_role("button", name="Record and sign").click()
    page.wait_for_url("**/app/events/?q=*")

    # then: the recycler holds them
    assert page.get_by_text("Custody transfer recorded as ledger entry").is_visible()
    assert {loop.obj(p).custodian_id for p in loop.packs} == {loop.recycler.organisation.pk}
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/app/login/")

    # given: the recycler's dashboard offers the packs to recycle
    sign_in(page, base, "recycler")
    page.get_by_role("link", name=f"{packs} packs to recycle").click()
    page.wait_for_url("**/app/record/battery-recycling/")

    # when: a recycling whose outputs and loss miss the packs' mass is refused at the loss
    page.get_by_label("Site").select_option(label=loop.recycler_site.name)
    page.get_by_label("Packs").select_option(loop.packs)
    page.get_by_label("Black mass lot code").fill("BM-1")
    page.get_by_label("Black mass (kg)").fill("480")
    page.get_by_label("Black mass assay").fill("Ni=20.5 Co=6.4 Mn=6.1 Li=3.7")
    page.get_by_label("Aluminium fraction (kg)").fill("280")
    page.get_by_label("Copper fraction (kg)").fill("120")
    page.get_by_label("Steel fraction (kg)").fill("160")
    page.get_by_label("Plastics fraction (kg)").fill("170")
    page.get_by_label("Process loss (kg)").fill("10")
    page.get_by_role("button", name="Record and sign").click()
    assert "mass_unbalanced" in page.locator("#id_process_loss_kg_error").inner_text()
    page.screenshot(path=screenshots / "03-recycling-refused.png", full_page=True)
    assert not TraceableObject.objects.filter(label="BM-1").exists()

    # and: with the loss that balances, it is recorded and opens the black mass lot
    page.get_by_label("Packs").select_option(loop.packs)
    page.get_by_label("Process loss (kg)").fill(str(packs * PACK_KG - 1210))
    page.get_by_role("button", name="Record and sign").click()
    page.wait_for_url("**/app/lots/*/")
    black_mass = TraceableObject.objects.get(label="BM-1")
    assert page.url == f"{base}/app/lots/{black_mass.pk}/"
    page.screenshot(path=screenshots / "04-black-mass-lot.png", full_page=True)
    assert black_mass.kind == ObjectKind.BLACK_MASS and black_mass.custodian == loop.recycler.organisation
    assert (
        EventRecord.objects.filter(operation="battery_recycling", organisation=loop.recycler.organisation).count() == 1
    )
    assert all(loop.obj(p).status == ObjectStatus.RECYCLED for p in loop.packs)
