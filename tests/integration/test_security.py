"""Security basics: production settings pass Django's deployment checks, secrets come only from
the environment, and guessing API keys or passwords is slowed down per address."""

import os
import secrets
import subprocess
import sys

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import PROJECT_ROOT
from tests.factories import make_partner

pytestmark = pytest.mark.django_db


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    production = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "KEY_ENCRYPTION_KEY", "DEBUG", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env={**production, "DEBUG": "0", "ALLOWED_HOSTS": "looptrace.example", **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_production_settings_pass_the_deployment_checks():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY=secrets.token_urlsafe(60),
        KEY_ENCRYPTION_KEY=secrets.token_urlsafe(40),
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.slow
def test_production_refuses_to_start_without_secrets_from_the_environment():
    result = manage("check", KEY_ENCRYPTION_KEY=secrets.token_urlsafe(40))

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_api_keys_are_refused_from_an_address_after_too_many_failures(settings):
    settings.AUTH_FAILURE_LIMIT = 3
    partner = make_partner("guessed")
    attacker = APIClient(REMOTE_ADDR="203.0.113.7")
    neighbour = APIClient(REMOTE_ADDR="203.0.113.8")

    wrong = [
        attacker.get("/api/v1/objects", HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}x").status_code for _ in range(3)
    ]
    right_after = attacker.get("/api/v1/objects", HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}")
    elsewhere = neighbour.get("/api/v1/objects", HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}")

    assert wrong == [401, 401, 401]
    assert right_after.status_code == 429 and right_after.json()["code"] == "throttled"
    assert elsewhere.status_code == 200


def test_password_sign_in_is_refused_from_an_address_after_too_many_failures(settings):
    settings.AUTH_FAILURE_LIMIT = 3
    User.objects.create_user("clerk", password="a long enough passphrase", is_staff=True)
    attacker = Client(REMOTE_ADDR="203.0.113.9")

    def sign_in(client: Client, password: str) -> int:
        return client.post("/admin/login/", {"username": "clerk", "password": password}).status_code

    wrong = [sign_in(attacker, "guess") for _ in range(3)]
    blocked = sign_in(attacker, "a long enough passphrase")
    allowed = sign_in(Client(REMOTE_ADDR="203.0.113.10"), "a long enough passphrase")

    assert wrong == [200, 200, 200]  # the form again, with its error
    assert blocked == 200  # even the right password is refused from this address for now
    assert allowed == 302  # signed in, redirected


def test_secrets_are_stored_hashed(db):
    partner = make_partner("hashed")
    user = User.objects.create_user("keeper", password="a long enough passphrase")
    credential = partner.organisation.api_credentials.get()

    _, secret = partner.api_key.split(".", 1)
    assert secret not in credential.secret_hash and len(credential.secret_hash) == 64
    assert user.password.startswith(("pbkdf2_sha256$", "argon2", "scrypt"))


def test_pages_and_api_carry_strict_security_headers(db):
    page = Client().get("/")
    api = Client().get("/api/v1/ledger/checkpoint")

    for response in (page, api):
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert "camera=()" in response["Permissions-Policy"]
