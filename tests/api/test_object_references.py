"""Objects addressed by id or by identifier: writes answer with identifiers (EPC URNs, GS1 Digital
Link URIs), and every read that takes an object in its path takes them too, URL-encoded. Whatever
stands in the place of an object, the answer is JSON ``{code, detail}``: an unknown, malformed or
another organisation's object is the same 404, never Django's HTML page."""

from urllib.parse import quote

import pytest

from carbon.services import footprints_catch_up
from tests.api.test_operations_api import client_for, post
from tests.factories import make_partner, make_site
from traceability.models import TraceableObject

pytestmark = pytest.mark.django_db

DIGITAL_LINK = "https://id.example.com/01/04012345000009/10/LOT-7"
SUBRESOURCES = ["", "/genealogy", "/footprint", "/battery-footprint"]
# A lot is found by either address, and is not a battery: the battery footprint says so.
FOUND = {"": 200, "/genealogy": 200, "/footprint": 200, "/battery-footprint": 400}


@pytest.fixture
def remelter():  # type: ignore[no-untyped-def]
    partner = make_partner("nordic-remelt", role="remelter")
    site = make_site(partner, "Sundsvall remelt", country="NO")
    client = client_for(partner)
    made = post(
        client,
        "material-receipt",
        {
            "site": site.pk,
            "eventTime": "2026-10-07T08:00:00Z",
            "lots": [
                {"code": "P-1", "kind": "primary_ingot", "mass": "500 kg", "supplier": "S"},
                {"identifier": DIGITAL_LINK, "kind": "primary_ingot", "mass": "200 kg", "supplier": "S"},
            ],
        },
    )["created"]
    footprints_catch_up()
    return client, made


def encoded(identifier: str) -> str:
    return quote(identifier, safe="")


@pytest.mark.parametrize("subresource", SUBRESOURCES)
def test_an_object_answers_the_same_by_id_by_urn_and_by_digital_link(remelter, subresource):
    client, (urn_lot, link_lot) = remelter
    for identifier in (urn_lot, link_lot):
        pk = TraceableObject.objects.get(identifier=identifier).pk

        by_id = client.get(f"/api/v1/objects/{pk}{subresource}")
        by_identifier = client.get(f"/api/v1/objects/{encoded(identifier)}{subresource}")

        assert by_id.status_code == FOUND[subresource], by_id.json()
        assert by_identifier.status_code == FOUND[subresource], (identifier, by_identifier.json())
        assert by_identifier.json() == by_id.json()
        assert by_id.json() != {"code": "not_found", "detail": "not found"}


def test_the_writes_identifier_is_the_reads_address(remelter):
    client, (urn_lot, link_lot) = remelter

    # the identifier as a write answered it, unencoded too (a URN has no character to encode)
    read = client.get(f"/api/v1/objects/{urn_lot}").json()
    linked = client.get(f"/api/v1/objects/{encoded(link_lot)}").json()

    assert urn_lot.startswith("urn:") and read["identifier"] == urn_lot
    assert linked["identifier"] == DIGITAL_LINK and linked["label"] == read["label"].replace("P-1", linked["label"])


@pytest.mark.parametrize("subresource", SUBRESOURCES)
def test_another_organisations_object_by_identifier_answers_as_a_missing_one(remelter, subresource):
    _, (urn_lot, link_lot) = remelter
    stranger = client_for(make_partner("castline", role="die_caster"))
    missing = "urn:looptrace:lot:nordic-remelt:NO-SUCH-LOT"

    answers = [
        stranger.get(f"/api/v1/objects/{encoded(identifier)}{subresource}")
        for identifier in (urn_lot, link_lot, missing)
    ]

    assert [a.status_code for a in answers] == [404, 404, 404]
    assert answers[0].json() == answers[1].json() == answers[2].json()
    assert answers[0].json()["code"] in {"not_found"}
    assert not any(urn_lot in a.content.decode() or DIGITAL_LINK in a.content.decode() for a in answers)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/objects/not-an-object",
        "/api/v1/objects/99999999999999999999999",  # beyond a 64-bit id
        "/api/v1/objects/urn:epc:id:sgtin:4012345.000001.1001",
        "/api/v1/objects/urn%3Aepc%3Aid%3Asgtin%3A4012345.000001.1001/genealogy",
        "/api/v1/objects/https%3A%2F%2Fid.example.com%2F01%2F04012345000009%2F10%2FNONE/footprint",
        "/api/v1/objects/urn:x:y/no-such-subresource",
        "/api/v1/objects/17/no-such-subresource",
        "/api/v1/no-such-resource",
        "/api/no-such-version/objects",
        "/api/v1/sites/not-a-site",
        "/api/v1/events/urn:x",
    ],
)
def test_every_unknown_object_or_path_under_the_api_answers_json_404(remelter, path):
    client, _ = remelter

    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "not_found" and isinstance(body["detail"], str)
