"""The organisation's self-service by command, for the machine's operator: API keys, signing keys
and members, through the same services as the console's organisation page."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from tests.factories import make_partner, object_event
from traceability.choices import KeyCustody
from traceability.ledger.signing import b64encode, generate_private_key, public_key_raw, sign_document
from traceability.models import Membership, SigningKey

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def sites_status(api_key: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key}")
    return client.get("/api/v1/sites").status_code


def test_api_key_creates_lists_and_revokes(db):
    partner = make_partner("cmd-yard", role="dismantler")

    created = run("api_key", "--org", "cmd-yard")
    api_key = created.split("API key:")[1].split()[0]
    works = sites_status(api_key)
    client_id = api_key.split(".")[0]
    listed = run("api_key", "--org", "cmd-yard", "--list")
    revoked = run("api_key", "--org", "cmd-yard", "--revoke", client_id)

    assert works == 200
    assert client_id in listed and "in force" in listed
    assert client_id in revoked
    assert sites_status(api_key) == 401
    assert sites_status(partner.api_key) == 200
    with pytest.raises(CommandError, match="api_key_revoked"):
        run("api_key", "--org", "cmd-yard", "--revoke", client_id)


def test_api_key_of_another_organisation_is_not_found(db):
    make_partner("cmd-yard", role="dismantler")
    other = make_partner("cmd-melt")

    with pytest.raises(CommandError, match="not_found"):
        run("api_key", "--org", "cmd-yard", "--revoke", other.api_key.split(".")[0])
    assert sites_status(other.api_key) == 200


def test_signing_key_registers_a_client_key_that_signs_then_revokes_it(db):
    partner = make_partner("cmd-yard", role="dismantler")
    private_key = generate_private_key()
    document = object_event(3)

    registered = run("signing_key", "--org", "cmd-yard", "--register", b64encode(public_key_raw(private_key)))
    key = SigningKey.objects.get(public_key=public_key_raw(private_key))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}")
    body = {"document": document, "signature": b64encode(sign_document(private_key, document)), "keyId": key.key_id}
    accepted = client.post("/api/v1/ledger/entries", body, format="json")
    run("signing_key", "--org", "cmd-yard", "--revoke", key.key_id)
    document = object_event(4)
    body = {"document": document, "signature": b64encode(sign_document(private_key, document)), "keyId": key.key_id}
    refused = client.post("/api/v1/ledger/entries", body, format="json")

    assert key.key_id in registered and key.custody == KeyCustody.CLIENT
    assert accepted.status_code == 201
    assert refused.status_code >= 400
    with pytest.raises(CommandError, match="public_key_malformed"):
        run("signing_key", "--org", "cmd-yard", "--register", "zz")


def test_signing_key_rotates_the_custodial_key(db):
    partner = make_partner("cmd-yard", role="dismantler")

    rotated = run("signing_key", "--org", "cmd-yard", "--rotate", partner.custodial_key.key_id)
    listed = run("signing_key", "--org", "cmd-yard", "--list")

    assert partner.custodial_key.key_id in rotated
    assert (
        SigningKey.objects.filter(organisation=partner.organisation, custody="platform", revoked_at=None).count() == 1
    )
    assert listed.count("platform") == 2
    with pytest.raises(CommandError, match="key_custodial"):
        new_key = SigningKey.objects.get(organisation=partner.organisation, custody="platform", revoked_at=None)
        run("signing_key", "--org", "cmd-yard", "--revoke", new_key.key_id)


def test_member_adds_lists_and_removes(db):
    partner = make_partner("cmd-yard", role="dismantler")
    users = get_user_model().objects
    users.create_user("boss", email="boss@example.test", password="unused")
    users.create_user("hand", password="unused")

    run("member", "--org", "cmd-yard", "--add", "BOSS@example.test", "--administrator")
    run("member", "--org", "cmd-yard", "--add", "hand")
    listed = run("member", "--org", "cmd-yard", "--list")
    run("member", "--org", "cmd-yard", "--remove", "hand")

    assert "boss  administrator" in listed and "hand  member" in listed
    assert list(
        Membership.objects.filter(organisation=partner.organisation).values_list("user__username", flat=True)
    ) == ["boss"]
    with pytest.raises(CommandError, match="last_administrator"):
        run("member", "--org", "cmd-yard", "--remove", "boss")
