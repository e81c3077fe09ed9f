"""Schemathesis over the whole OpenAPI document the project serves (``/api/schema/``): every
operation of ``/api/v1/``, ``/epcis/`` and the part passport, called through the WSGI app with a
partner's API key. Whatever it generates, no answer is a server error, and every answer whose
status the schema documents matches its schema. (PACT's operations have their own run, with a
bearer token: ``test_pact_schemathesis``.)"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import checks

from config.wsgi import application
from tests.loop import build_loop

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application).exclude(
    path_regex=r"^/(auth/token|2/|3/)"
)
CHECKS = [checks.not_a_server_error, checks.response_schema_conformance]


@pytest.fixture(autouse=True)
def _one_connection():  # type: ignore[no-untyped-def]
    """Calls go through the WSGI handler, which closes the database connection after each request;
    as Django's test client does, keep it open (the test's transaction lives on it)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_key(db):  # type: ignore[no-untyped-def]
    return build_loop().remelter.api_key


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_without_server_error_and_as_documented(case, api_key):  # type: ignore[no-untyped-def]
    response = case.call(headers={"Authorization": f"Api-Key {api_key}"})

    case.validate_response(response, checks=CHECKS)
