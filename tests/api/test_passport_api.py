"""Passports over the API: the caller's tier decides which attributes the same passport shows."""

import json

import pytest
from rest_framework.test import APIClient

from carbon.services import footprints_catch_up
from passport.models import Passport
from passport.services import passports_catch_up
from passport.tiers import TIERS_FILE
from tests.factories import make_partner
from tests.loop import build_loop
from traceability.ledger.canonical import document_digest

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
NON_PUBLIC = [
    path for row in json.loads(TIERS_FILE.read_text())["attributes"] if row["tier"] != "public" for path in row["paths"]
]


def client_for(partner=None) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    if partner is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}")
    return client


def has(document: object, path: str) -> bool:
    nodes = [document]
    for part in path.split("/"):
        nodes = [
            child
            for node in nodes
            for child in (
                node if part == "*" and isinstance(node, list) else [node.get(part)] if isinstance(node, dict) else []
            )
            if child is not None
        ]
    return bool(nodes)


@pytest.fixture
def world(db):  # type: ignore[no-untyped-def]
    loop = build_loop()
    footprints_catch_up()
    passports_catch_up()
    passport = Passport.objects.get(battery__identifier=loop.packs[0])
    return {
        "loop": loop,
        "passport": passport,
        "regulator": make_partner("eu-authority", role="regulator"),
        "stranger": make_partner("other-oem", role="oem"),
    }


def get(client: APIClient, passport: Passport, suffix: str = "", **params: str):  # type: ignore[no-untyped-def]
    return client.get(f"/api/v1/passports/{passport.urn}{suffix}", params)


def test_anonymous_readers_and_strangers_see_the_public_tier_only(world):
    for client in (client_for(), client_for(world["stranger"])):
        response = get(client, world["passport"])
        body = response.json()
        assert response.status_code == 200 and body["tier"] == "public"
        assert body["passport"]["GeneralProductInformation"]["productIdentifier"] == world["loop"].packs[0]
        assert [path for path in NON_PUBLIC if has(body["passport"], path)] == []
        assert body["digest"] == document_digest(body["passport"]).hex()


def test_a_partner_linked_to_the_battery_reads_legitimate_interest_and_may_ask_for_less(world):
    dismantler = client_for(world["loop"].dismantler)
    body = get(dismantler, world["passport"]).json()
    assert body["tier"] == "legitimate_interest"
    assert body["passport"]["GeneralProductInformation"]["batteryStatus"] == "Original"
    assert "resultOfTestReport" not in body["passport"]["Labeling"]
    lower = get(dismantler, world["passport"], tier="public").json()
    assert lower["tier"] == "public" and "batteryStatus" not in lower["passport"]["GeneralProductInformation"]
    refused = get(dismantler, world["passport"], tier="authorities")
    assert refused.status_code == 403 and refused.json()["code"] == "tier_not_allowed"


def test_a_regulator_reads_every_attribute_and_the_digest_of_the_whole_document(world):
    body = get(client_for(world["regulator"]), world["passport"]).json()
    version = world["passport"].versions.get()
    assert body["tier"] == "authorities" and body["passport"] == version.document
    assert all(has(body["passport"], path) for path in NON_PUBLIC)
    assert body["digest"] == version.digest and body["ledgerSeq"] == version.ledger_seq


def test_versions_list_each_version_with_its_ledger_fact(world):
    body = get(client_for(), world["passport"], "/versions").json()
    (version,) = body["versions"]
    assert body["passportId"] == world["passport"].urn
    assert version["version"] == 1 and version["reason"] == "registered"
    assert version["digest"] == world["passport"].versions.get().tier_digests["public"]
    assert client_for().get(f"/api/v1/passports/{world['passport'].id}/versions").json() == body


def test_unknown_passports_and_tiers_are_clear_errors(world):
    missing = client_for().get("/api/v1/passports/urn:looptrace:00000000000000000000000000000000")
    assert missing.status_code == 404 and missing.json()["code"] == "passport_not_found"
    bad = get(client_for(), world["passport"], tier="everyone")
    assert bad.status_code == 400 and bad.json()["code"] == "tier_invalid"
