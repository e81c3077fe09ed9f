"""Input parsing refuses with a 4xx and stores nothing: non-finite and out-of-range numbers, NUL
characters, impossible times and excessive JSON nesting, on the API, EPCIS and PACT alike."""

import json
from pathlib import Path

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from tests.api.test_pact import token_of
from tests.factories import make_partner, make_site, object_event, valid_vin
from traceability.jsonbody import MAX_JSON_DEPTH
from traceability.models import CaptureJob, EpcisEvent, LedgerEntry, TraceableObject
from traceability.units import MAX_PLAUSIBLE_MASS_KG

pytestmark = pytest.mark.django_db

INTAKE = "/api/v1/operations/vehicle-intake"


@pytest.fixture
def dismantler(db):  # type: ignore[no-untyped-def]
    partner = make_partner("autocirc", role="dismantler")
    partner.site = make_site(partner, "Yard")
    partner.client = APIClient(raise_request_exception=False)
    partner.client.credentials(HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}")
    return partner


def intake(site, **fields: object) -> dict:  # type: ignore[no-untyped-def]
    return {"site": site.pk, "vin": valid_vin(1), "mass": "1.85 t", "make": "Volta", "model": "E", **fields}


def post_raw(client, path: str, text: str, **extra: object):  # type: ignore[no-untyped-def]
    return client.post(path, data=text.encode(), content_type="application/json", **extra)


def refused(response, status: int = 400, *, keys: tuple[str, str] = ("code", "detail")) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content[:300]
    # EPCIS answers its errors as RFC 7807 problems (application/problem+json).
    epcis = response.wsgi_request.path.startswith("/epcis/")
    assert response["Content-Type"].startswith("application/problem+json" if epcis else "application/json")
    body = response.json()
    assert all(isinstance(body.get(key), str) and body[key] for key in keys), body
    return body


def stored() -> tuple[int, int, int]:
    return LedgerEntry.objects.count(), TraceableObject.objects.count(), EpcisEvent.objects.count()


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mass", "code"),
    [
        ("1e309 kg", "quantity_out_of_range"),
        ({"value": "NaN", "unit": "kg"}, "quantity_invalid"),
        ({"value": "Infinity", "unit": "kg"}, "quantity_invalid"),
        ({"value": "-Infinity", "unit": "t"}, "quantity_invalid"),
        ("1e13 kg", "mass_out_of_range"),
        (f"{MAX_PLAUSIBLE_MASS_KG + 1} kg", "mass_out_of_range"),
        ("1e99999999999 kg", "quantity_out_of_range"),
        ({"value": 1, "unit": "9**9**9 kg"}, "unit_invalid"),
        ("1 9**9**9 kg", "unit_invalid"),
    ],
)
def test_a_mass_that_is_not_finite_or_beyond_the_plausible_is_refused(dismantler, mass, code):
    before = stored()

    response = dismantler.client.post(INTAKE, intake(dismantler.site, mass=mass), format="json")

    assert refused(response)["code"] == code
    assert stored() == before


@pytest.mark.parametrize(
    ("mass", "code"),
    [
        ("1.6", "unit_missing"),  # once read as 1 of the unit ".6"
        (1.6, "unit_missing"),
        ({"value": 1.6, "unit": ""}, "unit_missing"),
        ("1.6 bananas", "unit_invalid"),  # once quantity_invalid, which the README gives no unit
        ({"value": 1.6, "unit": "tonnez"}, "unit_invalid"),
        ("1.6 k g", "unit_invalid"),
        ("1.6 kWh", "unit_incompatible"),
    ],
)
def test_a_bad_unit_answers_the_code_the_readme_documents_for_it(dismantler, mass, code):
    before = stored()
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()

    response = dismantler.client.post(INTAKE, intake(dismantler.site, mass=mass), format="json")

    body = refused(response)
    assert body["code"] == code, body
    assert f"`{code}`" in readme
    assert stored() == before


def test_the_largest_plausible_mass_is_accepted(dismantler):
    response = dismantler.client.post(
        INTAKE, intake(dismantler.site, mass=f"{MAX_PLAUSIBLE_MASS_KG} kg"), format="json"
    )

    assert response.status_code == 201, response.content


@pytest.mark.parametrize("number", ["1e309", "-1e400", "NaN", "Infinity", "-Infinity", "1" * 5000])
def test_a_json_number_beyond_a_float_or_a_non_finite_constant_is_refused(dismantler, number):
    before = stored()
    text = json.dumps(intake(dismantler.site, mass={"value": 1, "unit": "t"})).replace(
        '"value": 1', f'"value": {number}'
    )

    response = post_raw(dismantler.client, INTAKE, text)

    assert refused(response)["code"] in {"number_out_of_range", "number_not_finite", "parse_error"}
    assert stored() == before


def test_an_energy_beyond_any_operation_is_refused(dismantler):
    vehicle = dismantler.client.post(INTAKE, intake(dismantler.site), format="json").json()["created"][0]
    before = stored()

    response = dismantler.client.post(
        "/api/v1/operations/dismantling",
        {
            "site": dismantler.site.pk,
            "vehicle": vehicle,
            "batteries": [{"code": "X", "chemistry": "NMC", "ratedEnergy": "1e300 kWh", "mass": "452 kg"}],
        },
        format="json",
    )

    assert refused(response)["code"] == "quantity_out_of_range"
    assert stored() == before


# --- NUL characters --------------------------------------------------------------------------


def test_a_nul_in_the_public_passport_search_is_a_400_not_a_500():
    response = Client(raise_request_exception=False).get("/passports/?q=%00")

    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
    assert "Traceback" not in response.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/objects?label=%00",
        "/api/v1/objects?kind=%00",
        "/api/v1/events?object=a%00b",
        "/epcis/events?EQ_bizStep=%00",
    ],
)
def test_a_nul_in_a_query_parameter_is_a_json_400(dismantler, path):
    assert refused(dismantler.client.get(path))["code"] in {"nul_character", "null_characters_not_allowed"}


def test_a_nul_in_a_path_is_a_json_400(dismantler):
    assert refused(dismantler.client.get("/api/v1/objects/a%00b"))["code"] == "nul_character"
    assert refused(dismantler.client.get("/epcis/events/urn:x%00y"))["code"] == "nul_character"


def test_a_nul_anywhere_in_a_json_body_is_refused_and_nothing_is_stored(dismantler):
    before = stored()
    body = intake(dismantler.site, attributes={"note": "a\x00b"})

    api = post_raw(dismantler.client, INTAKE, json.dumps(body))
    epcis = post_raw(dismantler.client, "/epcis/events", json.dumps(object_event(1, **{"ex:note": "\x00"})))

    assert refused(api)["code"] == "nul_character"
    assert refused(epcis)["code"] == "nul_character"
    assert stored() == before


def test_the_text_backslash_u0000_is_not_a_nul(dismantler):
    body = intake(dismantler.site, make="Volta \\u0000")

    response = post_raw(dismantler.client, INTAKE, json.dumps(body))

    assert response.status_code == 201, response.content


def test_a_lone_surrogate_in_a_json_body_is_refused(dismantler):
    text = json.dumps(intake(dismantler.site, attributes={"note": "x"})).replace('"x"', '"\\ud800"')

    assert refused(post_raw(dismantler.client, INTAKE, text))["code"] == "surrogate_character"


# --- times -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment",
    [
        "0001-01-01T00:00:00-23:59",  # an offset beyond ±14:00 (PostgreSQL refuses beyond 15:59)
        "2026-01-01T00:00:00+14:01",
        "0001-01-01T00:00:00+05:00",  # before year 1 in UTC
        "9999-12-31T23:00:00-05:00",  # after year 9999 in UTC
        "2026-13-01T00:00:00Z",
        "2026-01-01T00:00:00",  # no time zone
    ],
)
def test_an_impossible_epcis_query_time_is_a_400(dismantler, moment):
    response = dismantler.client.get("/epcis/events", {"GE_eventTime": moment})

    body = refused(response)
    assert body["code"] == "query_parameter_invalid"
    # EPCIS's own problem body around the code
    assert body["type"] == "epcisException:QueryParameterException" and body["status"] == 400


def test_the_widest_offsets_are_accepted_in_an_epcis_query(dismantler):
    for moment in ("2026-01-01T00:00:00+14:00", "2026-01-01T00:00:00-14:00"):
        assert dismantler.client.get("/epcis/events", {"LT_eventTime": moment}).status_code == 200


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+05:00", "2026-10-01T08:00:00-23:59", "9999-12-31T23:59:59.9999Z"]
)
def test_an_impossible_event_time_in_a_captured_event_is_refused(dismantler, moment):
    before = stored()
    event = object_event(1, eventTime=moment)

    single = dismantler.client.post("/epcis/events", event, format="json")
    ledger = dismantler.client.post("/api/v1/ledger/entries", {"document": event}, format="json")

    assert single.status_code == 400 and ledger.status_code == 400, (single.content, ledger.content)
    assert stored() == before


def test_an_operation_time_with_no_utc_equivalent_is_refused(dismantler):
    before = stored()

    response = dismantler.client.post(
        INTAKE, intake(dismantler.site, eventTime="0001-01-01T00:00:00+05:00"), format="json"
    )

    refused(response)
    assert stored() == before


# --- nesting ---------------------------------------------------------------------------------


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture
def bearer(dismantler):  # type: ignore[no-untyped-def]
    return f"Bearer {token_of(dismantler)}"


def test_json_nested_5000_deep_is_refused_on_every_body_reader(dismantler, bearer):
    deep = nested(5000)
    pact = Client(raise_request_exception=False)

    answers = {
        "api": post_raw(dismantler.client, INTAKE, deep),
        "ledger": post_raw(dismantler.client, "/api/v1/ledger/entries", deep),
        "capture": post_raw(dismantler.client, "/epcis/capture", deep),
        "event": post_raw(dismantler.client, "/epcis/events", deep),
    }
    pact_answers = [
        post_raw(pact, f"/{spec}/events", deep, secure=True, HTTP_AUTHORIZATION=bearer) for spec in ("3", "2")
    ]

    for response in answers.values():
        assert refused(response)["code"] == "json_too_deep"
    for response in pact_answers:
        assert refused(response, keys=("code", "message"))["code"] == "BadRequest"
    assert CaptureJob.objects.count() == 0


def test_nesting_up_to_the_limit_is_read_and_one_more_level_is_refused(dismantler):
    inside = json.dumps(object_event(1))[:-1]

    at_limit = post_raw(dismantler.client, "/epcis/events", inside + ', "ex:deep": ' + nested(MAX_JSON_DEPTH - 1) + "}")
    beyond = post_raw(dismantler.client, "/epcis/events", inside + ', "ex:deep": ' + nested(MAX_JSON_DEPTH) + "}")

    assert refused(beyond)["code"] == "json_too_deep"
    assert at_limit.status_code != 400 or at_limit.json()["code"] != "json_too_deep"


# --- fuzzing the bodies over HTTP ------------------------------------------------------------

HOSTILE_TOKENS = ["1e309", "-1e400", "NaN", "Infinity", "-Infinity", '"\\u0000"', '"a\\u0000"', '"\\udfff"', "9" * 4400]


@st.composite
def hostile_bodies(draw):  # type: ignore[no-untyped-def]
    """A JSON object carrying one hostile value somewhere: deep nesting, a NUL, a non-finite number."""
    depth = draw(st.integers(0, 3 * MAX_JSON_DEPTH))
    token = draw(st.sampled_from(HOSTILE_TOKENS)) if depth <= MAX_JSON_DEPTH else "0"
    key = draw(st.sampled_from(["mass", "value", "attributes", "eventTime", "data", "x"]))
    return "{" + f'"type": "ObjectEvent", "{key}": ' + "[" * depth + token + "]" * depth + "}"


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(
    body=hostile_bodies(), target=st.sampled_from([INTAKE, "/api/v1/ledger/entries", "/epcis/capture", "/epcis/events"])
)
def test_hostile_json_bodies_get_a_json_4xx_with_code_and_detail(dismantler, body, target):
    before = stored()

    response = post_raw(dismantler.client, target, body)

    assert 400 <= response.status_code < 500, response.content[:300]
    refused(response, response.status_code)
    assert stored() == before


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(body=hostile_bodies(), spec=st.sampled_from(["2", "3"]))
def test_hostile_json_bodies_get_pacts_error_body(dismantler, bearer, body, spec):
    response = post_raw(
        Client(raise_request_exception=False), f"/{spec}/events", body, secure=True, HTTP_AUTHORIZATION=bearer
    )

    assert 400 <= response.status_code < 500, response.content[:300]
    refused(response, response.status_code, keys=("code", "message"))
