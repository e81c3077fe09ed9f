"""No list answers more than MAX_PAGE_SIZE rows, whatever the caller asks for: larger asks are clamped."""

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from carbon import services as carbon_services
from tests.api.test_pact import get, pact
from tests.factories import make_partner, make_site, object_event
from tests.loop import build_loop
from traceability import events, paging, writer
from traceability.choices import ObjectKind
from traceability.models import Membership
from traceability.operations import services as ops
from traceability.paging import MAX_PAGE_SIZE

pytestmark = pytest.mark.django_db

HUGE = 100_000_000


def client_for(partner) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}")
    return client


@pytest.fixture
def crowded():
    """A partner with more EPCIS events in the ledger than one page may hold."""
    partner = make_partner("busy-remelt", role="remelter")
    documents = [writer.SubmittedDocument(document=object_event(n)) for n in range(MAX_PAGE_SIZE + 5)]
    for start in range(0, len(documents), writer.MAX_BATCH_DOCUMENTS):
        events.ledger_append_batch(
            organisation=partner.organisation, items=documents[start : start + writer.MAX_BATCH_DOCUMENTS]
        )
    return partner


def test_a_huge_limit_on_the_ledger_gets_one_capped_page_and_a_next_link(crowded):
    response = client_for(crowded).get("/api/v1/ledger/entries", {"limit": HUGE})

    assert response.status_code == 200
    body = response.json()
    assert len(body["results"]) == MAX_PAGE_SIZE
    assert body["count"] > MAX_PAGE_SIZE
    assert parse_qs(urlsplit(body["next"]).query)["limit"] == [str(MAX_PAGE_SIZE)]


def test_a_huge_epcis_per_page_is_clamped_and_links_the_next_page(crowded):
    response = client_for(crowded).get("/epcis/events", {"perPage": HUGE})

    assert response.status_code == 200
    assert len(response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == MAX_PAGE_SIZE
    assert response["Link"].endswith('rel="next"')


def test_a_huge_cursor_page_size_is_clamped():
    partner = make_partner("many-lots", role="remelter")
    ops.material_receipt(
        organisation=partner.organisation,
        site=make_site(partner),
        lots=[
            ops.LotOut(ObjectKind.PRIMARY_INGOT, Decimal("10"), code=f"P-{n}", attributes={"supplier": "Smelter"})
            for n in range(MAX_PAGE_SIZE + 1)
        ],
    )

    body = client_for(partner).get("/api/v1/lots", {"page_size": HUGE}).json()

    assert len(body["results"]) == MAX_PAGE_SIZE and body["next"]
    # the web console's list has a fixed page of its own, whatever the query string says
    user = get_user_model().objects.create_user("many-lots-user")
    Membership.objects.create(user=user, organisation=partner.organisation)
    web = Client()
    web.force_login(user)
    page = web.get("/app/lots/", {"page_size": HUGE, "limit": HUGE}).context["page"]
    assert len(page.object_list) == page.paginator.per_page <= MAX_PAGE_SIZE


def test_every_other_list_shares_the_one_cap(monkeypatch):
    # given: a cap of two rows (the signing keys list, factors and PACT all page through it)
    loop = build_loop()
    carbon_services.footprints_catch_up()
    monkeypatch.setattr(paging, "MAX_PAGE_SIZE", 2)
    from traceability.api.pagination import CappedLimitOffset

    monkeypatch.setattr(CappedLimitOffset, "max_limit", 2)
    client = client_for(loop.die_caster)

    # then: PACT's limit is clamped, with a next link carrying the clamped limit
    footprints = get(pact(loop.die_caster), "/3/footprints", limit=HUGE)
    assert footprints.status_code == 200 and len(footprints.json()["data"]) == 2
    assert "limit=2&" in footprints.headers["Link"]
    # and the public signing keys and the factors are paged like every DRF list
    for url in ("/api/v1/ledger/keys", "/api/v1/factors"):
        body = client.get(url, {"limit": HUGE}).json()
        assert len(body["results"]) == 2 and body["count"] > 2, url
