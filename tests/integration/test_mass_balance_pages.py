"""The console's mass-balance account page and claim form: the figures the API states, the
refusal of a claim beyond the credits, and who may open the page."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from carbon.services import footprints_catch_up
from tests.api.test_operations_api import client_for
from tests.api.test_recycled_content_claims import claim, melt, primary, receive, scrap
from tests.factories import make_partner, make_site
from traceability.models import LedgerEntry, Membership

pytestmark = pytest.mark.django_db
KG = re.compile(r'data-kg="([^"]+)"')


def member(partner, username):  # type: ignore[no-untyped-def]
    user = get_user_model().objects.create_user(username, password="pw-for-tests-only")
    Membership.objects.create(user=user, organisation=partner.organisation)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def account():  # type: ignore[no-untyped-def]
    # 600 kg post-consumer + 400 kg primary, 50 kg loss: 0.6 x 950 = 570 kg credited; 500 claimed; 70 left
    partner = make_partner("page-remelt", role="remelter")
    site = make_site(partner, "Melt shop")
    api = client_for(partner)
    scrap_lot, ingot = receive(api, site, [scrap("S-1", 600, "post_consumer"), primary("P-1", 400)])
    lot = melt(api, site, [(scrap_lot, 600), (ingot, 400)], "M-1", 950, 50)
    claim(api, site, lot, 500)
    footprints_catch_up()
    return partner, site, api, lot


def test_the_account_page_shows_the_figures_the_api_states(account):
    partner, site, api, _ = account
    statement = api.get(f"/api/v1/sites/{site.pk}/accounts/2026").json()

    sites_page = member(partner, "clerk").get("/app/sites/")
    page = member(partner, "clerk2").get(f"/app/sites/{site.pk}/account/2026/")

    assert f"/app/sites/{site.pk}/account/" in sites_page.content.decode()
    assert page.status_code == 200
    html = page.content.decode()
    balance, entries = html.split('id="balance"')[1].split("</table>")[0], html.split('id="entries"')[1]
    # the balance table: credited, claimed, available (pre, post)
    assert [float(v) for v in KG.findall(balance)] == [
        statement[row][column]
        for row in ("credited", "claimed", "available")
        for column in ("preConsumerKg", "postConsumerKg")
    ]
    assert [float(v) for v in KG.findall(balance)] == pytest.approx([0, 570, 0, 500, 0, 70], rel=1e-9)
    # the entries: the melt's credits, then the claim, each with the balance after it
    credit, taken = statement["entries"]
    assert [float(v) for v in KG.findall(entries)] == [
        credit["preConsumerKg"],
        credit["postConsumerKg"],
        credit["balance"]["preConsumerKg"],
        credit["balance"]["postConsumerKg"],
        taken["kg"],
        taken["balance"]["preConsumerKg"],
        taken["balance"]["postConsumerKg"],
    ]
    assert "<svg" in html
    # the latest period is the default
    assert member(partner, "clerk3").get(f"/app/sites/{site.pk}/account/").content.decode().count("data-kg") == (
        html.count("data-kg")
    )


def test_the_claim_form_shows_the_refusal_beyond_the_credits_and_stores_nothing(account):
    partner, site, _, lot = account
    console = member(partner, "clerk")
    size = LedgerEntry.objects.count()

    response = console.post(
        "/app/record/recycled-content-claim/",
        {"site": site.pk, "lot": lot, "kg": "100", "category": "post_consumer", "event_time": "2026-03-04T10:00"},
    )

    assert response.status_code == 422
    html = response.content.decode()
    assert "credits_insufficient" in html and "holds 70 kg" in html
    assert LedgerEntry.objects.count() == size


def test_another_organisation_cannot_open_the_account_page(account):
    _, site, _, _ = account
    stranger = member(make_partner("page-stranger", role="remelter"), "stranger")
    regulator = member(make_partner("page-regulator", role="regulator"), "inspector")

    assert stranger.get(f"/app/sites/{site.pk}/account/2026/").status_code == 404
    assert regulator.get(f"/app/sites/{site.pk}/account/2026/").status_code == 200
