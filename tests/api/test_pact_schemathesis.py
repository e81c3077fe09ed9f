"""Schemathesis over the project's own OpenAPI document, PACT operations only: whatever it
generates, no PACT endpoint answers with a server error."""

import json
from urllib.parse import urlencode

import pytest
import schemathesis
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.core import NotSet

from tests.api.test_pact import token_of
from tests.loop import build_loop

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True)).include(
    path_regex=r"^/(auth/token|2/|3/)"
)


@pytest.fixture(autouse=True)
def _production_mode(settings):  # type: ignore[no-untyped-def]
    """DEBUG off, as in production (pytest-django's default too; explicit so the run stays honest)."""
    settings.DEBUG = False


@pytest.fixture
def bearer(db):  # type: ignore[no-untyped-def]
    return f"Bearer {token_of(build_loop().die_caster)}"


def call(case, authorization: str):  # type: ignore[no-untyped-def]
    """The generated request, sent through Django's test client over HTTPS (production mode)."""
    path = case.path
    for name, value in (case.path_parameters or {}).items():
        path = path.replace("{" + name + "}", str(value))
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in {"content-type", "content-length"}}
    if case.operation.path != "/auth/token":
        headers["Authorization"] = authorization
    extra = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
    body = None if isinstance(case.body, NotSet) else case.body
    content_type = case.media_type or "application/json"
    if body is None or not isinstance(body, str | bytes):
        data = (
            urlencode(body, doseq=True)
            if content_type == "application/x-www-form-urlencoded" and isinstance(body, dict)
            else json.dumps(body)
            if body is not None
            else ""
        )
    else:
        data = body
    query = urlencode(case.query or {}, doseq=True)
    return Client().generic(
        case.method, path, data, content_type=content_type, secure=True, QUERY_STRING=query, **extra
    )


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_pact_endpoints_answer_no_server_error(case, bearer):  # type: ignore[no-untyped-def]
    response = call(case, bearer)

    assert response.status_code < 500, (case.method, case.path, response.status_code, response.content[:300])
    if response.status_code >= 400:
        # PACT's own error body, or OAuth's on the token endpoint
        keys = {"error", "error_description"} if case.path == "/auth/token" else {"code", "message"}
        assert response["Content-Type"].startswith("application/json"), response.content[:300]
        assert keys <= set(response.json()), response.content[:300]
