"""The pre-consumer generator footprint through the partner API: a bought pre-consumer scrap lot may
carry its supplier's footprint of the product whose process generated it (kg CO2e per kg), which
the allocation method charges the scrap with; without it the registry's default applies, and the
footprint says which was used. Anything else is refused with nothing stored."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from carbon.services import footprints_catch_up
from tests.factories import make_partner, make_site
from traceability.models import EventRecord, LedgerEntry, Membership, TraceableObject

pytestmark = pytest.mark.django_db
REL = 1e-9
# The shipped registry (carbon/data/factors.json): collection, sorting and handling of bought scrap
# per kg (a lot's own burden), and the default generator footprint of pre-consumer scrap.
SCRAP_COLLECTION_SORTING = 0.05
PRE_CONSUMER_GENERATOR_DEFAULT = 8.0


@pytest.fixture
def remelter(db):  # type: ignore[no-untyped-def]
    partner = make_partner("nordic-remelt", role="remelter")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}")
    return client, make_site(partner, "Remelt shop")


def receipt(client: APIClient, site, **lot: object):  # type: ignore[no-untyped-def]
    body = {
        "site": site.pk,
        "eventTime": "2026-10-07T08:00:00Z",
        "lots": [{"code": "NEW-1", "kind": "scrap_lot", "mass": "200 kg", "supplier": "Stamping plant", **lot}],
    }
    return client.post("/api/v1/operations/material-receipt", body, format="json")


def footprints(client: APIClient, identifier: str) -> dict[str, dict]:
    lot = TraceableObject.objects.get(identifier=identifier)
    served = client.get(f"/api/v1/objects/{lot.pk}/footprint", {"chain": "physical"}).json()
    return {result["method"]: result for result in served}


def lot_page(identifier: str) -> str:
    """The lot's page in the console, as a member of the organisation that received it."""
    lot = TraceableObject.objects.get(identifier=identifier)
    user = get_user_model().objects.create_user("melter", password="pw-for-tests-only")
    Membership.objects.create(user=user, organisation=lot.created_by)
    console = Client()
    console.force_login(user)
    return console.get(f"/app/lots/{lot.pk}/").content.decode()


def test_the_suppliers_generator_footprint_is_charged_by_allocation_and_named_as_the_suppliers(remelter):
    client, site = remelter

    # when: pre-consumer scrap with its supplier's generator footprint, in grams per kg
    response = receipt(client, site, scrapCategory="pre_consumer", generatorFootprint="7500 g/kg")
    footprints_catch_up()

    # then: allocation charges 7.5 kg CO2e/kg on top of the lot's own 0.05; cut-off only the 0.05
    assert response.status_code == 201, response.json()
    (identifier,) = response.json()["created"]
    results = footprints(client, identifier)
    assert results["allocation"]["totalPerKg"] == pytest.approx(7.5 + SCRAP_COLLECTION_SORTING, rel=REL)
    assert results["allocation"]["totalKg"] == pytest.approx(200 * (7.5 + SCRAP_COLLECTION_SORTING), rel=REL)
    assert results["cut_off"]["totalPerKg"] == pytest.approx(SCRAP_COLLECTION_SORTING, rel=REL)
    for result in results.values():
        assert result["generatorFootprint"] == {"kgPerKg": 7.5, "source": "supplier", "factor": None}
        assert not any(f.startswith("pre_consumer_generator:") for f in result["factors"])
    # the lot's page says the same
    page = lot_page(identifier)
    assert "charges this pre-consumer scrap 7.5000 kg CO2e per kg" in page and "the supplier's figure" in page


def test_without_the_suppliers_figure_the_registry_default_is_charged_and_its_version_named(remelter):
    client, site = remelter

    # when
    response = receipt(client, site, scrapCategory="pre_consumer")
    footprints_catch_up()

    # then: 8.0 (the registry's placeholder) + 0.05, and the version used is named twice
    assert response.status_code == 201, response.json()
    (identifier,) = response.json()["created"]
    results = footprints(client, identifier)
    allocation = results["allocation"]
    assert allocation["totalPerKg"] == pytest.approx(PRE_CONSUMER_GENERATOR_DEFAULT + SCRAP_COLLECTION_SORTING)
    assert allocation["generatorFootprint"] == {
        "kgPerKg": PRE_CONSUMER_GENERATOR_DEFAULT,
        "source": "registry_default",
        "factor": "pre_consumer_generator:*:v1",
    }
    assert "pre_consumer_generator:*:v1" in allocation["factors"]
    page = lot_page(identifier)
    assert "8.0000 kg CO2e per kg" in page and "<code>pre_consumer_generator:*:v1</code>" in page


def test_other_lots_have_no_generator_footprint(remelter):
    client, site = remelter

    response = receipt(client, site, scrapCategory="post_consumer")
    footprints_catch_up()

    (identifier,) = response.json()["created"]
    assert all(r["generatorFootprint"] is None for r in footprints(client, identifier).values())


@pytest.mark.parametrize(
    ("lot", "code"),
    [
        # only pre-consumer scrap has a generator
        ({"scrapCategory": "post_consumer", "generatorFootprint": "7.5 kg/kg"}, "generator_footprint_not_pre_consumer"),
        ({"scrapCategory": "internal", "generatorFootprint": "7.5 kg/kg"}, "generator_footprint_not_pre_consumer"),
        ({"kind": "primary_ingot", "generatorFootprint": "7.5 kg/kg"}, "generator_footprint_not_pre_consumer"),
        ({"generatorFootprint": "7.5 kg/kg"}, "generator_footprint_not_pre_consumer"),
        # a non-negative number of kg CO2e per kg, with its unit
        ({"scrapCategory": "pre_consumer", "generatorFootprint": "-1 kg/kg"}, "quantity_negative"),
        ({"scrapCategory": "pre_consumer", "generatorFootprint": "lots kg/kg"}, "unit_missing"),
        ({"scrapCategory": "pre_consumer", "generatorFootprint": 7.5}, "unit_missing"),
        ({"scrapCategory": "pre_consumer", "generatorFootprint": "7.5 kg"}, "unit_incompatible"),
        # the same rules for the attribute written directly (as an EPCIS document carries it)
        (
            {"scrapCategory": "pre_consumer", "attributes": {"generatorFootprintKgPerKg": "7.5"}},
            "generator_footprint_invalid",
        ),
        (
            {"scrapCategory": "pre_consumer", "attributes": {"generatorFootprintKgPerKg": -0.5}},
            "generator_footprint_invalid",
        ),
        (
            {"scrapCategory": "post_consumer", "attributes": {"generatorFootprintKgPerKg": 7.5}},
            "generator_footprint_not_pre_consumer",
        ),
    ],
)
def test_a_generator_footprint_that_is_not_a_non_negative_figure_for_pre_consumer_scrap_is_refused(remelter, lot, code):
    client, site = remelter
    entries, objects = LedgerEntry.objects.count(), TraceableObject.objects.count()

    response = receipt(client, site, **lot)

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == code
    assert (LedgerEntry.objects.count(), TraceableObject.objects.count()) == (entries, objects)
    assert not EventRecord.objects.filter(operation="material_receipt").exists()
