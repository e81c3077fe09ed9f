"""A request's database statements are cut off by a timeout and answered with JSON; workers have none."""

import os
import subprocess
import sys
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.conftest import PROJECT_ROOT
from tests.factories import make_partner, make_site
from tests.workers import database_url
from traceability.api import objects
from traceability.choices import ObjectKind
from traceability.operations import services as ops

pytestmark = pytest.mark.postgres

SHOW_TIMEOUT = (
    "import {module}; from django.db import connection; cursor = connection.cursor(); "
    "cursor.execute('SHOW statement_timeout'); print(cursor.fetchone()[0])"
)


def _statement_timeout(module: str, tmp_path, **env: str) -> str:
    """The statement timeout of a fresh process's connection after importing ``module``."""
    environment = {k: v for k, v in os.environ.items() if k != "LOOPTRACE_SERVES_REQUESTS"}
    environment.update(DATABASE_URL=database_url(), LOOPTRACE_VAR_DIR=str(tmp_path), **env)
    done = subprocess.run(
        [sys.executable, "-c", SHOW_TIMEOUT.format(module=module)],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


@pytest.mark.slow
@pytest.mark.django_db
def test_the_web_entry_points_connect_with_the_timeout_workers_and_commands_without(tmp_path):
    # the WSGI and ASGI applications serve requests: their connections carry the timeout
    assert _statement_timeout("config.wsgi", tmp_path, DB_STATEMENT_TIMEOUT_MS="1234") == "1234ms"
    assert _statement_timeout("config.asgi", tmp_path) == "15s"
    # a Celery worker (and any command) loads the settings without it
    setup = "config.celery, django; django.setup()"
    assert _statement_timeout(setup, tmp_path, DB_STATEMENT_TIMEOUT_MS="1234") == "0"


@pytest.mark.django_db(transaction=True)
def test_a_query_cut_off_by_the_timeout_answers_json_503_not_500(monkeypatch):
    # given: a request whose query sleeps past a tiny statement timeout
    partner = make_partner("slow-remelt", role="remelter")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}")

    def sleeping(**_: object) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(5)")

    monkeypatch.setattr(objects, "genealogy", sleeping)
    lot = _any_object(partner)
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 50")
    try:
        # when
        response = client.get(f"/api/v1/objects/{lot}/genealogy", {"direction": "backward"})
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")

    # then: the project's error body, not a 500 nor "database unavailable"
    assert response.status_code == 503
    assert response.json()["code"] == "query_timeout"
    # and the database itself is fine: the next request works
    assert client.get("/api/v1/health").status_code == 200


def _any_object(partner) -> int:
    record = ops.material_receipt(
        organisation=partner.organisation,
        site=make_site(partner),
        lots=[ops.LotOut(ObjectKind.PRIMARY_INGOT, Decimal("100"), code="P-1", attributes={"supplier": "Smelter"})],
    )
    return record.involved.get().pk
