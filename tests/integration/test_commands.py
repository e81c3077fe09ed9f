import io
import re

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from tests.factories import object_event
from traceability import events, services
from traceability.ledger import checkpoint as notes
from traceability.ledger.signing import load_private_key_pem, public_key_raw
from traceability.models import ApiCredential, LedgerEntry, Organisation, SigningKey

pytestmark = pytest.mark.django_db


def test_create_partner_prints_a_working_key_and_api_key_once(capsys):
    # when
    call_command("create_partner", "--org", "castline", "--name", "Castline", "--role", "die_caster")
    out = capsys.readouterr().out

    # then: the printed private key is the registered client key, and is not stored
    pem = out[out.index("-----BEGIN PRIVATE KEY-----") :]
    private_key = load_private_key_pem(pem.encode())
    key_id = re.search(r"key id:\s+([0-9a-f]{64})", out).group(1)
    stored = SigningKey.objects.get(key_id=key_id)
    assert bytes(stored.public_key) == public_key_raw(private_key)
    assert stored.encrypted_private_key is None
    assert SigningKey.objects.filter(organisation__slug="castline", custody="platform").count() == 1
    # and: the printed API key authenticates, while only its hash is stored
    api_key = re.search(r"API key:\s+(\S+)", out).group(1)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key}")
    call_command("ledger_checkpoint", stdout=io.StringIO())
    assert client.get("/api/v1/ledger/checkpoint").status_code == 200
    assert api_key.split(".")[1] not in ApiCredential.objects.get().secret_hash


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--org", "x", "--name", "X", "--role", "wizard"], "invalid choice"),
        (["--org", "x", "--name", "X", "--role", "operator"], "invalid choice"),
    ],
)
def test_create_partner_refuses_bad_input(arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_partner", *arguments)
    assert not Organisation.objects.filter(slug="x").exists()


def test_create_partner_refuses_another_name_or_role_for_an_existing_slug_and_changes_nothing(capsys):
    call_command("create_partner", "--org", "castline", "--name", "Castline", "--role", "die_caster")
    keys, credentials = SigningKey.objects.count(), ApiCredential.objects.count()

    with pytest.raises(CommandError, match=r"organisation_exists.*leave out --name and --role"):
        call_command("create_partner", "--org", "castline", "--name", "Other", "--role", "oem")
    with pytest.raises(CommandError, match="organisation_exists"):
        call_command("create_partner", "--org", "castline", "--role", "oem")

    assert (SigningKey.objects.count(), ApiCredential.objects.count()) == (keys, credentials)
    assert Organisation.objects.get(slug="castline").name == "Castline"


def api_client(api_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key}")
    return client


def test_create_partner_adds_credentials_to_an_existing_organisation(capsys):
    # given: an organisation registered earlier (here by the admin: no keys, no API key)
    services.organisation_create(slug="castline", name="Castline", role="die_caster")
    call_command("ledger_checkpoint", stdout=io.StringIO())

    # when
    call_command("create_partner", "--org", "castline")
    out = capsys.readouterr().out

    # then: it says what it did, and the printed API key and private key work
    assert out.startswith("organisation: castline (Die-caster): existing, credentials added\n")
    assert re.search(r"custodial:\s+[0-9a-f]{64} \(created;", out)
    api_key = re.search(r"API key:\s+(\S+)", out).group(1)
    assert api_client(api_key).get("/api/v1/sites").status_code == 200
    key_id = re.search(r"key id:\s+([0-9a-f]{64})", out).group(1)
    private_key = load_private_key_pem(out[out.index("-----BEGIN PRIVATE KEY-----") :].encode())
    stored = SigningKey.objects.get(key_id=key_id, organisation__slug="castline")
    assert bytes(stored.public_key) == public_key_raw(private_key) and stored.custody == "client"
    assert Organisation.objects.filter(slug="castline").count() == 1


def test_create_partner_again_issues_a_second_api_key_and_keeps_the_custodial_key(capsys):
    call_command("create_partner", "--org", "castline", "--name", "Castline", "--role", "die_caster")
    first = re.search(r"API key:\s+(\S+)", capsys.readouterr().out).group(1)
    custodial = SigningKey.objects.get(organisation__slug="castline", custody="platform")

    # the same name and role are accepted: they match
    call_command("create_partner", "--org", "castline", "--name", "Castline", "--role", "die_caster")
    out = capsys.readouterr().out
    second = re.search(r"API key:\s+(\S+)", out).group(1)

    assert f"custodial:    {custodial.key_id} (kept;" in out
    assert SigningKey.objects.filter(organisation__slug="castline", custody="platform").count() == 1
    assert SigningKey.objects.filter(organisation__slug="castline", custody="client").count() == 2
    assert first != second
    assert api_client(first).get("/api/v1/sites").status_code == 200
    assert api_client(second).get("/api/v1/sites").status_code == 200


def test_create_partner_issues_only_what_its_flags_allow(capsys):
    services.organisation_create(slug="castline", name="Castline", role="die_caster")
    keys = SigningKey.objects.count()

    call_command("create_partner", "--org", "castline", "--no-client-key", "--no-custodial-key")
    out = capsys.readouterr().out

    assert "API key:" in out
    assert "key id:" not in out and "custodial:" not in out and "PRIVATE KEY" not in out
    assert SigningKey.objects.count() == keys and ApiCredential.objects.count() == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--org", "newcomer"], "does not exist: give --name and --role"),
        (["--org", "newcomer", "--name", "Newcomer"], "does not exist: give --name and --role"),
        (["--org", "looptrace"], "platform operator"),
    ],
)
def test_create_partner_refuses_what_it_cannot_do_and_stores_nothing(arguments, message):
    services.platform_organisation()
    keys, credentials = SigningKey.objects.count(), ApiCredential.objects.count()

    with pytest.raises(CommandError, match=message):
        call_command("create_partner", *arguments)

    assert not Organisation.objects.filter(slug="newcomer").exists()
    assert (SigningKey.objects.count(), ApiCredential.objects.count()) == (keys, credentials)


def test_ledger_checkpoint_prints_a_note_signed_by_the_platform(partner, capsys):
    events.ledger_append(organisation=partner.organisation, document=object_event(1))

    call_command("ledger_checkpoint")

    note = capsys.readouterr().out
    platform_key = SigningKey.objects.get(organisation__slug="looptrace")
    checkpoint = notes.verify_checkpoint(note, "looptrace.example/ledger", bytes(platform_key.public_key))
    assert checkpoint.size == LedgerEntry.objects.count() == 5


@pytest.mark.slow
def test_seed_demo_loads_a_verifiable_start_and_is_idempotent(capsys, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", "--vehicles", "6")
    first = capsys.readouterr().out
    call_command("seed_demo", "--vehicles", "6")
    second = capsys.readouterr().out

    password = (tmp_path / "demo-password").read_text()
    assert f"demo login: admin / {password}" in first
    assert "already loaded" in second
    assert f"demo login: admin / {password}" in second
    assert Organisation.objects.filter(role="regulator").exists()
    assert APIClient().login(username="admin", password=password)
    call_command("verify_ledger")
    assert capsys.readouterr().out.startswith("OK: ")
