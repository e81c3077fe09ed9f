"""The operation endpoints' documentation holds: every request example in ``/api/schema/`` is
recorded as documented, answering the documented response; every error status an operation
answers is documented with the codes it can carry; and no example is a generator's filler.

The examples are one walk of the loop (``traceability/data/operation_examples.json``). Substitution:
the walk names its sites by number (``site``, ``destinationSite``: 1 to 4, one per organisation);
here, on a fresh database, each organisation is created with the slug and role the file gives and
one site, and every site number in a request is replaced by that site's id. Identifiers (VIN,
battery codes, lot and part codes), times and quantities are posted as documented. The answers'
``seq``, ``entryHash`` and ``site`` are the new database's; every other field must be as documented.

Each error status's ``code`` is an enum in the schema, so the schemathesis run
(``test_schemathesis_api``) also fails on any refusal whose code an operation does not document.
"""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.factories import make_partner, make_site
from traceability import services
from traceability.api import operation_docs
from traceability.api.operations import OPERATIONS
from traceability.models import Organisation, Site

SITE_FIELDS = ("site", "destinationSite")
# Fields of a recorded event that depend on the database it was recorded in.
DATABASE_FIELDS = {"seq", "entryHash", "site"}
# Fields whose order the answer does not fix.
UNORDERED_FIELDS = {"objects"}
ROOT = Path(__file__).resolve().parents[2]


def substituted(body: dict[str, Any], sites: dict[int, int]) -> dict[str, Any]:
    return {key: sites[value] if key in SITE_FIELDS else value for key, value in body.items()}


def walk(client: APIClient, until: int | None = None) -> list[tuple[dict[str, Any], Any]]:
    """Post the documented requests in order (the first ``until``, or all) on this database;
    each step with its answer."""
    keys, sites = {}, {}
    for slug, organisation in operation_docs.examples()["organisations"].items():
        partner = make_partner(slug, role=organisation["role"])
        keys[slug] = partner.api_key
        sites[organisation["site"]] = make_site(partner, organisation["siteName"], country="DE").pk
    answered = []
    for step in operation_docs.examples()["walk"][:until]:
        response = client.post(
            f"/api/v1/operations/{step['operation']}",
            substituted(step["request"], sites),
            format="json",
            HTTP_AUTHORIZATION=f"Api-Key {keys[step['organisation']]}",
        )
        answered.append((step, response))
    return answered


@pytest.fixture
def schema(client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def operation_schemas(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: schema["paths"][f"/api/v1/operations/{name}"]["post"] for name in OPERATIONS}


@pytest.mark.django_db
def test_every_documented_request_is_recorded_with_the_documented_answer():
    answered = walk(APIClient())

    assert {step["operation"] for step, _ in answered} == set(OPERATIONS)
    for step, response in answered:
        assert response.status_code == 201, (step["operation"], response.json())
        body, documented = response.json(), step["response"]
        assert body.keys() == documented.keys(), step["operation"]
        for field in documented.keys() - DATABASE_FIELDS - UNORDERED_FIELDS:
            assert body[field] == documented[field], (step["operation"], field)
        for field in UNORDERED_FIELDS:
            assert sorted(body[field]) == sorted(documented[field]), (step["operation"], field)


@pytest.mark.django_db
def test_a_documented_request_posted_twice_is_refused_with_a_documented_code():
    """Each request a second time, by its own organisation: its outputs exist, or its inputs are
    spent or moved on; each refusal carries a code its operation documents for that status."""
    client = APIClient()
    walk(client)
    sites = walked_sites()
    for step in operation_docs.examples()["walk"]:
        response = client.post(
            f"/api/v1/operations/{step['operation']}",
            substituted(step["request"], sites),
            format="json",
            HTTP_AUTHORIZATION=f"Api-Key {api_key_of(step['organisation'])}",
        )
        documented = operation_docs.error_codes(step["operation"]).get(response.status_code, [])
        assert 400 <= response.status_code < 500, (step["operation"], response.status_code)
        assert response.json()["code"] in documented, (step["operation"], response.status_code, response.json())


def walked_sites() -> dict[int, int]:
    """The walk's site numbers, with the ids of the sites ``walk`` created for them."""
    return {
        organisation["site"]: Site.objects.get(organisation__slug=slug).pk
        for slug, organisation in operation_docs.examples()["organisations"].items()
    }


def api_key_of(slug: str) -> str:
    _, key = services.api_credential_create(organisation=Organisation.objects.get(slug=slug))
    return key


def step_of(operation: str) -> tuple[int, dict[str, Any]]:
    """The position and step of an operation's first example in the walk."""
    return next((n, step) for n, step in enumerate(operation_docs.examples()["walk"]) if step["operation"] == operation)


# A documented request changed, posted where the walk reached it: the refusal expected.
DEVIATIONS = [
    ("dismantling", {"vehicle": "urn:looptrace:vin:LSGKB54H8KV000002"}, 404, "object_unknown"),
    (
        "scrap-sorting",
        {
            "parts": [],
            "lots": [{"identifier": "urn:looptrace:lot:autocirc.PC-1", "mass": "1 kg"}],
            "outputs": [{"code": "PC-2", "mass": "0.5 kg", "scrapCategory": "post_consumer"}],
            "sortingLoss": "0.5 kg",
        },
        403,
        "not_custodian",
    ),
    ("recycled-content-claim", {"mass": "5 t"}, 409, "claim_exceeds_lot"),
    ("recycled-content-claim", {"mass": "500 kg"}, 409, "credits_insufficient"),
    ("remelting", {"meltLoss": "100 kg"}, 400, "mass_unbalanced"),
    ("molten-transfer", {"destinationSite": 2**40}, 400, "site_unknown"),
    ("vehicle-intake", {"vin": "LSGKB54H0KV000001"}, 400, "vin_check_digit_invalid"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("operation", "changes", "status", "code"), DEVIATIONS)
def test_a_documented_request_changed_is_refused_as_documented(operation, changes, status, code):
    client = APIClient()
    position, step = step_of(operation)
    if operation == "scrap-sorting":
        position += 2  # after the scrap lot was shipped: the sorter no longer holds it
    walk(client, until=position)
    sites = walked_sites()
    body = substituted({**step["request"], **changes}, {**sites, 2**40: 2**40})

    response = client.post(
        f"/api/v1/operations/{operation}",
        body,
        format="json",
        HTTP_AUTHORIZATION=f"Api-Key {api_key_of(step['organisation'])}",
    )

    assert (response.status_code, response.json()["code"]) == (status, code), response.json()
    assert code in operation_docs.error_codes(operation)[status]


@pytest.mark.django_db
def test_refusals_common_to_every_operation_carry_documented_codes():
    client = APIClient()
    walk(client, until=0)
    _, intake = step_of("vehicle-intake")
    body = substituted(intake["request"], walked_sites())
    key = api_key_of("autocirc")
    url = "/api/v1/operations/vehicle-intake"
    client.post(url, body, format="json", HTTP_AUTHORIZATION=f"Api-Key {key}", HTTP_IDEMPOTENCY_KEY="intake-1")
    refusals = {
        401: client.post(url, body, format="json"),
        403: client.post("/api/v1/operations/die-casting", {}, format="json", HTTP_AUTHORIZATION=f"Api-Key {key}"),
        422: client.post(
            url,
            {**body, "model": "E-Compact Plus"},
            format="json",
            HTTP_AUTHORIZATION=f"Api-Key {key}",
            HTTP_IDEMPOTENCY_KEY="intake-1",
        ),
    }
    for status, response in refusals.items():
        assert response.status_code == status, response.json()
        assert response.json()["code"] in operation_docs.error_codes("die-casting")[status]
        assert response.json()["code"] in operation_docs.error_codes("vehicle-intake")[status]


@pytest.mark.django_db
def test_every_operation_has_examples_and_documented_refusals(schema):
    for name, operation in operation_schemas(schema).items():
        request = operation["requestBody"]["content"]["application/json"]
        assert request.get("examples"), name
        created = operation["responses"]["201"]["content"]["application/json"]
        assert created.get("examples"), name
        refusals = {status for status in operation["responses"] if status.startswith("4")}
        assert {"400", "401", "403", "422", "429"} <= refusals, name
        for status in refusals:
            error = operation["responses"][status]["content"]["application/json"]["schema"]
            assert error["required"] == ["code", "detail"], (name, status)
            assert error["properties"]["code"]["enum"], (name, status)


def example_values(operation: dict[str, Any]) -> list[Any]:
    """Every example value an operation's request and responses show."""
    contents = [operation["requestBody"]["content"]]
    contents += [response.get("content", {}) for response in operation["responses"].values()]
    return [
        example["value"]
        for content in contents
        for media in content.values()
        for example in media.get("examples", {}).values()
    ]


def numbers(value: Any) -> list[int | float]:
    if isinstance(value, dict):
        return [n for item in value.values() for n in numbers(item)]
    if isinstance(value, list):
        return [n for item in value for n in numbers(item)]
    return [value] if isinstance(value, int | float) and not isinstance(value, bool) else []


@pytest.mark.django_db
def test_the_schema_holds_no_generated_filler(schema):
    # What an example generator makes of a 64-bit id bound, as JavaScript prints it.
    assert "9223372036854776000" not in json.dumps(schema)
    for name, operation in operation_schemas(schema).items():
        shown = example_values(operation)
        assert shown, name
        # An example's numbers are a walk's: site numbers, masses, sequence numbers; none is a
        # type's bound or beyond what a JSON reader holds exactly.
        assert all(abs(n) < 2**31 for value in shown for n in numbers(value)), name
        sites = {organisation["site"] for organisation in operation_docs.examples()["organisations"].values()}
        for example in operation["requestBody"]["content"]["application/json"]["examples"].values():
            assert example["value"]["site"] in sites, name


def code_literals() -> set[str]:
    """Every string literal that reads as a code in the project's and DRF's sources."""
    import rest_framework

    found: set[str] = set()
    roots = [ROOT / "traceability", ROOT / "carbon", ROOT / "config", Path(rest_framework.__file__).parent]
    for root in roots:
        for path in root.rglob("*.py"):
            found.update(re.findall(r"[\"']([a-z][a-z_]*)[\"']", path.read_text(encoding="utf-8")))
    # Codes built from a kind (traceability.identifiers.validate_local_code).
    found.update(f"{kind}_code_invalid" for kind in ("lot", "part"))
    return found


def test_every_documented_code_is_raised_somewhere():
    literals = code_literals()
    table = operation_docs.error_table()
    listed = {code for part in [table["common"], *table["operations"].values()] for c in part.values() for code in c}

    assert sorted(listed - literals) == []
    assert set(table["operations"]) == set(OPERATIONS)
