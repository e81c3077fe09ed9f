import io
import re

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from tests.factories import object_event
from traceability import events
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


def test_create_partner_refuses_an_existing_slug_and_changes_nothing(capsys):
    call_command("create_partner", "--org", "castline", "--name", "Castline", "--role", "die_caster")
    keys = SigningKey.objects.count()

    with pytest.raises(CommandError, match="organisation_exists"):
        call_command("create_partner", "--org", "castline", "--name", "Other", "--role", "oem")

    assert SigningKey.objects.count() == keys
    assert Organisation.objects.get(slug="castline").name == "Castline"


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
