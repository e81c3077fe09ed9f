"""Authentication throttling per credential and per address, at every entry point: API keys, PACT
``/auth/token`` and bearer tokens, and password sign-in. One attacker behind a shared address
cannot lock the other partners out, and guessing one credential's secret stays slow from any
number of addresses."""

import base64
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import make_partner

pytestmark = pytest.mark.django_db
LOAD_BALANCER = "10.0.0.2"
LIMIT = 3


@pytest.fixture(autouse=True)
def _small_limits(settings):
    settings.AUTH_FAILURE_LIMIT = LIMIT
    settings.AUTH_CREDENTIAL_FAILURE_LIMIT = LIMIT


def api(address: str, key: str, **headers: str) -> int:
    client = APIClient(REMOTE_ADDR=address, **headers)
    return client.get("/api/v1/objects", HTTP_AUTHORIZATION=f"Api-Key {key}").status_code


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def token(address: str, partner, *, wrong: bool = False):  # type: ignore[no-untyped-def]
    client_id, secret = partner.api_key.split(".", 1)
    return APIClient(REMOTE_ADDR=address).post(
        "/auth/token",
        urlencode({"grant_type": "client_credentials"}),
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic(client_id, secret + ("x" if wrong else "")),
        secure=True,
    )


def test_an_attacker_behind_the_load_balancer_does_not_lock_out_partners_in_use():
    # given: two partners already working through the balancer, and one who never called from it
    working, other = make_partner("working", role="remelter"), make_partner("other", role="dismantler")
    newcomer = make_partner("newcomer", role="die_caster")
    assert api(LOAD_BALANCER, working.api_key) == api(LOAD_BALANCER, other.api_key) == 200

    # when: an attacker behind the same balancer tries keys of its own invention
    guesses = [api(LOAD_BALANCER, f"guess{n}.not-a-secret") for n in range(LIMIT)]

    # then: partners in use keep working; a credential new to this address waits for the window
    assert guesses == [401] * LIMIT
    assert api(LOAD_BALANCER, working.api_key) == 200
    assert api(LOAD_BALANCER, other.api_key) == 200
    assert api(LOAD_BALANCER, newcomer.api_key) == 429
    assert api("198.51.100.20", newcomer.api_key) == 200
    assert api(LOAD_BALANCER, "guess9.not-a-secret") == 429


def test_guessing_one_api_secret_from_many_addresses_stays_slow():
    # given
    target, bystander = make_partner("target", role="remelter"), make_partner("bystander", role="oem")
    client_id = target.api_key.split(".", 1)[0]

    # when: each guess comes from another address
    guesses = [api(f"203.0.113.{n}", f"{client_id}.guess-{n}") for n in range(LIMIT)]

    # then: the credential is refused even with its right secret, from a fresh address, and on the
    # PACT token endpoint too (one client id, one count); other credentials are untouched
    assert guesses == [401] * LIMIT
    assert api("198.51.100.7", target.api_key) == 429
    assert token("198.51.100.7", target).status_code == 429
    assert api("198.51.100.7", bystander.api_key) == 200


def test_failed_token_requests_count_against_their_client_id():
    target, bystander = make_partner("target", role="remelter"), make_partner("bystander", role="oem")

    wrong = [token(f"203.0.113.{n}", target, wrong=True).status_code for n in range(LIMIT)]

    assert wrong == [401] * LIMIT
    refused = token("198.51.100.8", target)
    assert refused.status_code == 429 and refused.json()["error"] == "invalid_client"
    assert api("198.51.100.8", target.api_key) == 429
    assert token("198.51.100.8", bystander).status_code == 200


def test_bearer_tokens_of_clients_known_at_an_address_outlive_its_failures():
    # given: a client that got its token through the balancer, and one that got it elsewhere
    known, elsewhere = make_partner("known", role="remelter"), make_partner("elsewhere", role="oem")
    known_token = token(LOAD_BALANCER, known).json()["access_token"]
    other_token = token("198.51.100.9", elsewhere).json()["access_token"]

    def footprints(address: str, bearer: str) -> int:
        client = APIClient(REMOTE_ADDR=address)
        return client.get("/3/footprints", secure=True, HTTP_AUTHORIZATION=f"Bearer {bearer}").status_code

    # when
    invalid = [footprints(LOAD_BALANCER, f"forged-{n}") for n in range(LIMIT)]

    # then
    assert invalid == [401] * LIMIT
    assert footprints(LOAD_BALANCER, known_token) == 200
    assert footprints(LOAD_BALANCER, other_token) == 429
    assert footprints(LOAD_BALANCER, "forged-again") == 429


def test_password_guesses_count_per_username_whatever_the_address():
    User.objects.create_user("clerk", password="a long enough passphrase", is_staff=True)
    User.objects.create_user("colleague", password="another long passphrase", is_staff=True)

    def sign_in(address: str, username: str, password: str) -> int:
        form = {"username": username, "password": password}
        return Client(REMOTE_ADDR=address).post("/admin/login/", form).status_code

    wrong = [sign_in(f"203.0.113.{n}", "clerk", "guess") for n in range(LIMIT)]

    assert wrong == [200] * LIMIT  # the form again, with its error
    assert sign_in("198.51.100.10", "clerk", "a long enough passphrase") == 200  # still refused, for now
    assert sign_in("198.51.100.10", "colleague", "another long passphrase") == 302


def test_the_forwarded_address_is_the_one_the_balancer_appended(settings):
    # given: behind a balancer with AUTH_TRUST_FORWARDED_FOR, the attacker also sends a forged header
    settings.AUTH_TRUST_FORWARDED_FOR = True
    partner = make_partner("behind", role="remelter")
    attacker = {"HTTP_X_FORWARDED_FOR": "198.51.100.50, 203.0.113.66"}
    partner_side = {"HTTP_X_FORWARDED_FOR": "203.0.113.77"}
    spoofing = {"HTTP_X_FORWARDED_FOR": "203.0.113.77, 203.0.113.66"}

    # when
    guesses = [api(LOAD_BALANCER, f"guess{n}.x", **attacker) for n in range(LIMIT)]

    # then: the attacker's real address is refused, whatever it claims to be; the partner is not
    assert guesses == [401] * LIMIT
    assert api(LOAD_BALANCER, "guess9.x", **spoofing) == 429
    assert api(LOAD_BALANCER, partner.api_key, **partner_side) == 200
