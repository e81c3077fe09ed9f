"""The audit export over the API: regulators only, the same verifiable file as the command."""

import io

import pytest
from rest_framework.test import APIClient

from carbon import services as carbon_services
from passport.verify import verify_export
from tests.factories import make_partner
from tests.loop import build_loop

pytestmark = pytest.mark.django_db
URL = "/api/v1/audit/export"


def client_for(partner) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}")
    return client


@pytest.fixture
def loop():
    built = build_loop()
    carbon_services.footprints_catch_up()
    return built


@pytest.fixture
def regulator(loop) -> APIClient:
    return client_for(make_partner("market-surveillance", role="regulator"))


def body(response) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join(response.streaming_content)


def test_a_regulator_downloads_an_export_that_verifies(regulator):
    # when
    response = regulator.get(URL)

    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    assert response["Content-Disposition"].startswith('attachment; filename="looptrace-audit-')
    report = verify_export(io.BytesIO(body(response)))
    assert report.failures == []
    assert report.results > 0


def test_a_regulator_selects_by_organisation_and_dates_in_a_post_body(regulator):
    response = regulator.post(
        URL, {"organisation": "castline", "since": "2000-01-01", "until": "2999-12-31"}, format="json"
    )

    assert response.status_code == 200
    report = verify_export(io.BytesIO(body(response)))
    assert report.failures == []
    assert report.selection["organisation"] == "castline"
    assert report.selected == 1  # castline recorded the die-casting


@pytest.mark.parametrize("party", ["dismantler", "remelter", "die_caster"])
def test_every_other_role_is_refused_with_a_code(loop, party):
    partner = {"dismantler": loop.dismantler, "remelter": loop.remelter, "die_caster": loop.die_caster}[party]

    response = client_for(partner).get(URL)

    assert response.status_code == 403
    assert response.json()["code"] == "role_not_allowed"


@pytest.mark.parametrize("role", ["oem", "battery_maker"])
def test_onlookers_are_refused_too(db, role):
    response = client_for(make_partner(f"onlooker-{role}", role=role)).post(URL, {}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "role_not_allowed"


def test_an_anonymous_caller_is_refused(db):
    response = APIClient().get(URL)

    assert response.status_code in {401, 403}
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"organisation": "nobody"}, 404, "organisation_unknown"),
        ({"since": "last tuesday"}, 400, "date_invalid"),
        ({"since": "0001-01-01T00:00:00+05:00"}, 400, "date_invalid"),
        ({"until": "9999-12-31T23:00:00-23:59"}, 400, "date_invalid"),
        ({"since": "2026-02-01", "until": "2026-01-01"}, 400, "date_range_invalid"),
        ({"consistency_from": "999"}, 404, "checkpoint_unknown"),
        ({"consistency_from": "0"}, 400, "min_value"),
    ],
)
def test_bad_selections_are_refused_with_a_code(regulator, query, status, code):
    response = regulator.get(URL, query)

    assert response.status_code == status
    assert response.json()["code"] == code
