"""Schemathesis over the whole OpenAPI document the project serves (``/api/schema/``): every
operation of ``/api/v1/``, ``/epcis/`` and the part passport, called through the WSGI app with a
partner's API key. Whatever it generates, no answer is a server error, and every answer whose
status the schema documents matches its schema. (PACT's operations have their own run, with a
bearer token: ``test_pact_schemathesis``.)"""

import json

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


def errors_are_json_with_code_and_detail(ctx, response, case):  # type: ignore[no-untyped-def]
    """Every refusal on the API and EPCIS is ``{"code", "detail"}``, whatever went wrong (EPCIS's as
    an RFC 7807 problem, ``application/problem+json``)."""
    if response.status_code < 400 or not case.path.startswith(("/api/", "/epcis/")):
        return None
    content_type = response.headers.get("content-type", [""])[0]
    expected = "application/problem+json" if case.path.startswith("/epcis/") else "application/json"
    assert content_type.startswith(expected), (response.status_code, content_type)
    body = json.loads(response.content)
    assert isinstance(body.get("code"), str) and isinstance(body.get("detail"), str), body
    return None


CHECKS = [checks.not_a_server_error, checks.response_schema_conformance, errors_are_json_with_code_and_detail]


@pytest.fixture(autouse=True)
def _production_mode(settings):  # type: ignore[no-untyped-def]
    """DEBUG off, as in production: a failure must be the JSON 500, not a debug page (pytest-django
    switches DEBUG off too; this keeps the run honest if that default ever changes)."""
    settings.DEBUG = False


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
# Derandomized: CI sees the same cases every run; new random seeds are for a fuzzing session
# (remove ``derandomize`` locally), and whatever they find becomes a regression test below.
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_answers_without_server_error_and_as_documented(case, api_key):  # type: ignore[no-untyped-def]
    response = case.call(headers={"Authorization": f"Api-Key {api_key}"})

    case.validate_response(response, checks=CHECKS)


@pytest.mark.parametrize(
    ("moment", "status"),
    [("0479-04-20T04:38:33.42+16:08", 200), ("0001-01-01T00:00:00+05:00", 400), ("2026-01-01T10:00:00Z", 200)],
)
def test_times_with_any_offset_are_compared_in_utc_or_refused(api_key, moment, status):
    # found by schemathesis: PostgreSQL refuses offsets beyond 15:59, year 1 has no UTC before it
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key}")

    response = client.get("/api/v1/events", {"event_time_before": moment})

    assert response.status_code == status, response.content
