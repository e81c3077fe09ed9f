"""The public passport page: by id and by GS1 Digital Link, HTML for people and JSON for machines,
each tier's fields only, with a QR code of its address and charts of footprint and recycled content."""

import pytest
from django.test import Client
from django.utils import timezone

from carbon.services import footprints_catch_up
from passport import services
from passport.models import Passport
from passport.qr import qr_code
from tests.factories import make_partner
from tests.loop import build_loop
from traceability.identifiers import gtin_check_digit

pytestmark = pytest.mark.django_db
GTIN = "0950600013435" + gtin_check_digit("0950600013435")


@pytest.fixture
def passport(db) -> Passport:  # type: ignore[no-untyped-def]
    loop = build_loop()
    footprints_catch_up()
    services.passports_catch_up()
    found = Passport.objects.select_related("battery").get(battery__identifier=loop.packs[0])
    battery = found.battery
    battery.attributes = {**battery.attributes, "gtin": GTIN, "serialNumber": "PACK-0001"}
    battery.save(update_fields=["attributes"])
    return found


def test_the_public_page_shows_the_public_tier_with_charts_and_its_qr_code(passport):
    # when: anyone, signed in or not, opens the page
    page = Client().get(f"/passport/{passport.pk}")

    # then
    html = page.content.decode()
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert passport.battery.identifier in html and passport.urn in html
    assert "Carbon footprint by lifecycle stage" in html and "kg CO2e/kWh" in html
    assert "Recycled content against the Art. 8 minimums" in html and "minimum from 2031" in html
    assert f"/passport/{passport.pk}/qr.svg" in html
    # the state of health is for persons with a legitimate interest, not the public
    assert "State of certified energy" not in html
    assert ">Battery identifier</th>" in html


def unsigned(document: dict) -> dict:
    document.pop("servedSignature")
    return document


def test_json_at_the_same_address_is_the_apis_passport(passport):
    api = Client().get(f"/api/v1/passports/{passport.pk}").json()

    by_accept = Client().get(f"/passport/{passport.pk}", HTTP_ACCEPT="application/json")
    # the Digital Link redirects a JSON reader to the passport JSON at its tier (passport.web.resolver)
    by_link = Client().get(f"/01/{GTIN}/21/PACK-0001", HTTP_ACCEPT="application/json", follow=True)

    # the same JSON, each signed by the platform as it was served (servedSignature, its time differs)
    key = api.pop("servedSignature")["keyId"]
    assert [answer.json()["servedSignature"]["keyId"] for answer in (by_accept, by_link)] == [key, key]
    assert by_accept.status_code == 200 and unsigned(by_accept.json()) == api
    assert by_link.redirect_chain[0][1] == 307
    assert by_link.status_code == 200 and unsigned(by_link.json()) == api
    assert api["tier"] == "public"


def test_a_regulator_reads_the_authorities_tier_and_the_public_cannot_ask_for_it(passport):
    regulator = make_partner("market-surveillance", role="regulator")

    as_regulator = Client().get(
        f"/passport/{passport.pk}", HTTP_ACCEPT="application/json", HTTP_AUTHORIZATION=f"Api-Key {regulator.api_key}"
    )
    as_public = Client().get(f"/passport/{passport.pk}?tier=authorities", HTTP_ACCEPT="application/json")

    assert as_regulator.json()["tier"] == "authorities"
    condition = as_regulator.json()["passport"]["PerformanceAndDurability"]["batteryCondition"]
    assert "stateOfCertifiedEnergy" in condition
    assert as_public.status_code == 403 and as_public.json()["code"] == "tier_not_allowed"


def test_the_digital_link_leads_to_the_same_page(passport):
    page = Client().get(f"/01/{GTIN}/21/PACK-0001", follow=True)

    assert page.redirect_chain == [(f"http://testserver/passport/{passport.pk}", 307)]
    assert page.status_code == 200
    assert passport.urn in page.content.decode()
    assert f"http://testserver/01/{GTIN}/21/PACK-0001" in page.content.decode()


def test_bad_or_unknown_digital_links_are_clear_errors(passport):
    wrong_check_digit = GTIN[:-1] + str((int(GTIN[-1]) + 1) % 10)

    bad = Client().get(f"/01/{wrong_check_digit}/21/PACK-0001", HTTP_ACCEPT="application/json")
    unknown = Client().get(f"/01/{GTIN}/21/PACK-9999", HTTP_ACCEPT="application/json")
    unknown_page = Client().get(f"/01/{GTIN}/21/PACK-9999")

    assert bad.status_code == 400 and bad.json()["code"] == "gtin_check_digit_invalid"
    assert unknown.status_code == 404 and unknown.json()["code"] == "passport_not_found"
    assert unknown_page.status_code == 404 and "passport_not_found" in unknown_page.content.decode()


@pytest.mark.parametrize(("kind", "content_type"), [("svg", "image/svg+xml"), ("png", "image/png")])
def test_the_qr_code_encodes_the_digital_link(passport, kind, content_type):
    response = Client().get(f"/passport/{passport.pk}/qr.{kind}")

    assert response.status_code == 200 and response["Content-Type"] == content_type
    # the same symbol as the Digital Link's own QR code, so it encodes exactly that address
    assert response.content == qr_code(f"http://testserver/01/{GTIN}/21/PACK-0001", kind=kind)


def test_the_qr_code_of_a_battery_without_gtin_points_at_the_passport_id(passport, settings):
    settings.PASSPORT_BASE_URL = "https://id.looptrace.example"
    battery = passport.battery
    battery.attributes = {k: v for k, v in battery.attributes.items() if k not in {"gtin", "serialNumber"}}
    battery.save(update_fields=["attributes"])

    response = Client().get(f"/passport/{passport.pk}/qr.svg")

    assert response.content == qr_code(f"https://id.looptrace.example/passport/{passport.pk}", kind="svg")


def test_the_index_lists_and_finds_passports_in_few_queries(passport, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        listing = Client().get("/passports/")
    found = Client().get("/passports/", {"q": "PACK-0001"})
    missing = Client().get("/passports/", {"q": "nothing-like-this"})

    assert listing.status_code == 200 and listing.content.decode().count("<tr>") == Passport.objects.count() + 1
    assert f"/passport/{passport.pk}" in found.content.decode() and found.content.decode().count("<tr>") == 2
    assert "No passport matches" in missing.content.decode()


def test_the_public_view_is_cached_until_the_passport_changes(passport, django_assert_max_num_queries):
    # given: a first reader fills the cache
    first = Client().get(f"/api/v1/passports/{passport.pk}").json()

    # when: the next readers come, and then the battery is recycled
    with django_assert_max_num_queries(0):
        again = Client().get(f"/api/v1/passports/{passport.pk}").json()
    services.passport_cease(passport=passport, at=timezone.now(), basis_seq=passport.versions.get().basis_seq)
    after = Client().get(f"/api/v1/passports/{passport.pk}").json()

    # then: the cached view until the change, the new version right after it
    assert again == first
    assert after["ceased"] is True and after["version"] == first["version"] + 1
    assert after["status"] == "Waste" and first["status"] != "Waste"
