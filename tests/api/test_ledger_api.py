import base64
import io
import json
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.conftest import PROJECT_ROOT
from tests.factories import make_partner, object_event
from traceability import events
from traceability.ledger import checkpoint as notes
from traceability.ledger import merkle
from traceability.ledger.chain import EntryHeader, parse_time
from traceability.ledger.signing import b64encode, private_key_pem
from traceability.models import Checkpoint, LedgerEntry, Membership, Organisation

pytestmark = pytest.mark.django_db


def client_for(partner) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}")
    return client


def sign_checkpoint() -> None:
    """What the operator (or Celery beat) does to publish the current tree head."""
    call_command("ledger_checkpoint", stdout=io.StringIO())


def platform_public_key(client: APIClient) -> bytes:
    keys = client.get("/api/v1/ledger/keys", {"organisation__slug": "looptrace"}).json()["results"]
    return base64.b64decode(keys[0]["publicKey"])


def test_requests_without_a_valid_api_key_are_refused(partner):
    anonymous = APIClient()
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Api-Key " + partner.api_key.split(".")[0] + ".wrong")
    malformed = APIClient()
    malformed.credentials(HTTP_AUTHORIZATION="Api-Key nodot")

    assert anonymous.get("/api/v1/ledger/entries").status_code in {401, 403}
    assert anonymous.post("/api/v1/ledger/entries", {"document": object_event(1)}, format="json").status_code in {
        401,
        403,
    }
    response = wrong.get("/api/v1/ledger/entries")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert malformed.get("/api/v1/ledger/entries/1").status_code == 401
    assert LedgerEntry.objects.filter(kind="event").count() == 0


def test_checkpoint_and_public_keys_are_public(partner):
    anonymous = APIClient()
    sign_checkpoint()

    checkpoint = anonymous.get("/api/v1/ledger/checkpoint")
    keys = anonymous.get("/api/v1/ledger/keys")

    assert checkpoint.status_code == 200
    assert checkpoint.json()["treeSize"] == LedgerEntry.objects.count()
    assert keys.status_code == 200
    assert len(keys.json()["results"]) == 3


def test_reading_the_checkpoint_signs_nothing_and_says_when_there_is_none(partner):
    # given a ledger no checkpoint was signed for
    anonymous = APIClient()

    # when it is read
    response = anonymous.get("/api/v1/ledger/checkpoint")

    # then the answer is a 404 with its code, and nothing was written
    assert response.status_code == 404
    assert response.json()["code"] == "checkpoint_missing"
    assert not Checkpoint.objects.exists()


def test_only_the_platform_operator_signs_a_checkpoint(partner):
    # given a partner, and a member of the platform operator signed in
    events.ledger_append(organisation=partner.organisation, document=object_event(1))
    operator_user = get_user_model().objects.create_user("operator", password="pw-for-tests-only", is_staff=True)
    Membership.objects.create(user=operator_user, organisation=Organisation.objects.get(slug="looptrace"))
    operator = APIClient()
    operator.force_login(operator_user)

    # when each asks for a checkpoint
    refused = client_for(partner).post("/api/v1/ledger/checkpoint")
    anonymous = APIClient().post("/api/v1/ledger/checkpoint")
    signed = operator.post("/api/v1/ledger/checkpoint")

    # then only the operator's request signs one, and it is what anyone reads afterwards
    assert refused.status_code == 403 and refused.json()["code"] == "role_not_allowed"
    assert anonymous.status_code in {401, 403}
    assert signed.status_code == 201
    assert signed.json()["treeSize"] == LedgerEntry.objects.count()
    assert APIClient().get("/api/v1/ledger/checkpoint").json() == signed.json()
    assert Checkpoint.objects.count() == 1


def run_sign_helper(partner, tmp_path, document, *options: str) -> str:
    """The documented client-side helper, run as a partner would run it."""
    key_file = tmp_path / "partner.pem"
    key_file.write_text(private_key_pem(partner.private_key))
    document_file = tmp_path / "event.json"
    document_file.write_text(json.dumps(document))
    return subprocess.run(
        [sys.executable, "-m", "traceability.ledger.sign", "--key", str(key_file), *options, str(document_file)],
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_ROOT,
    ).stdout


@pytest.mark.slow
def test_a_document_signed_with_the_cli_helper_is_appended_and_proven(partner, tmp_path):
    # given: the partner signs on its own machine with the documented helper
    body = json.loads(run_sign_helper(partner, tmp_path, object_event(1), "--request"))
    client = client_for(partner)

    # when
    created = client.post("/api/v1/ledger/entries", body, format="json")

    # then: stored with the partner's signature
    assert created.status_code == 201, created.content
    entry = created.json()
    assert entry["signature"] == body["signature"]
    assert entry["keyId"] == partner.client_key.key_id
    assert entry["document"] == object_event(1)

    # and: once a checkpoint is signed, its inclusion proof verifies against it
    sign_checkpoint()
    proven = client.get(f"/api/v1/ledger/entries/{entry['seq']}").json()
    checkpoint = notes.verify_checkpoint(
        proven["inclusionProof"]["checkpoint"]["note"], "looptrace.example/ledger", platform_public_key(client)
    )
    header = EntryHeader(
        seq=entry["seq"],
        kind=entry["kind"],
        organisation=entry["organisation"],
        digest=bytes.fromhex(entry["digest"]),
        key_id=entry["keyId"],
        signature=base64.b64decode(entry["signature"]),
        prev_hash=bytes.fromhex(entry["prevHash"]),
        recorded_at=parse_time(proven["entry"]["recordedAt"].replace("+00:00", "Z")),
    )
    assert header.entry_hash().hex() == entry["entryHash"]
    merkle.verify_inclusion(
        header.entry_hash(),
        proven["inclusionProof"]["leafIndex"],
        checkpoint.size,
        [base64.b64decode(h) for h in proven["inclusionProof"]["hashes"]],
        checkpoint.root_hash,
    )


@pytest.mark.slow
def test_the_signature_the_helper_prints_is_what_the_api_expects(partner, tmp_path):
    signature = run_sign_helper(partner, tmp_path, object_event(2)).strip()
    response = client_for(partner).post(
        "/api/v1/ledger/entries",
        {"document": object_event(2), "signature": signature, "keyId": partner.client_key.key_id},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["signature"] == signature


@pytest.mark.slow
def test_the_sign_helper_fails_clearly_on_a_bad_key(tmp_path):
    key_file = tmp_path / "bad.pem"
    key_file.write_text("not a key")
    document_file = tmp_path / "event.json"
    document_file.write_text("{}")

    result = subprocess.run(
        [sys.executable, "-m", "traceability.ledger.sign", "--key", str(key_file), str(document_file)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )

    assert result.returncode == 2
    assert "private_key_invalid" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"document": object_event(3), "signature": b64encode(bytes(64)), "keyId": None}, 400, "invalid"),
        ({"document": object_event(3), "signature": b64encode(bytes(64)), "keyId": "KEY"}, 403, "key_unknown"),
        ({"document": {"type": "Invoice"}}, 400, "document_type_invalid"),
        ({"documnt": object_event(3)}, 400, "required"),
        ("not json at all", 400, "parse_error"),
    ],
    ids=["signature-without-key", "unknown-key", "not-an-event", "misspelt-field", "unparseable"],
)
def test_bad_appends_get_a_4xx_with_a_code_and_store_nothing(partner, body, status, code):
    before = LedgerEntry.objects.count()
    client = client_for(partner)

    if isinstance(body, str):
        response = client.post("/api/v1/ledger/entries", body, content_type="application/json")
    else:
        response = client.post("/api/v1/ledger/entries", body, format="json")

    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert LedgerEntry.objects.count() == before


def test_a_batch_is_all_or_nothing(partner):
    client = client_for(partner)
    good = {"entries": [{"document": object_event(n)} for n in range(10, 15)]}
    bad = {"entries": [*good["entries"], {"document": {"type": "Nope"}}]}
    before = LedgerEntry.objects.count()

    refused = client.post("/api/v1/ledger/batches", bad, format="json")
    assert refused.status_code == 400
    assert refused.json()["code"] == "document_type_invalid"
    assert refused.json()["index"] == 5
    assert LedgerEntry.objects.count() == before

    accepted = client.post("/api/v1/ledger/batches", good, format="json")
    assert accepted.status_code == 201
    assert [e["seq"] for e in accepted.json()] == list(range(before + 1, before + 6))


def test_consistency_proof_links_two_checkpoints(partner):
    client = client_for(partner)
    sign_checkpoint()
    first = client.get("/api/v1/ledger/checkpoint").json()
    for n in range(20, 27):
        events.ledger_append(organisation=partner.organisation, document=object_event(n))
    sign_checkpoint()
    second = client.get("/api/v1/ledger/checkpoint").json()

    response = client.get("/api/v1/ledger/consistency", {"first": first["treeSize"], "second": second["treeSize"]})

    assert response.status_code == 200
    merkle.verify_consistency(
        first["treeSize"],
        second["treeSize"],
        bytes.fromhex(first["rootHash"]),
        bytes.fromhex(second["rootHash"]),
        [base64.b64decode(h) for h in response.json()["hashes"]],
    )


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"first": 3, "second": 10_000}, "tree_size_invalid"),
        ({"first": 5, "second": 3}, "tree_size_invalid"),
        ({"first": "x", "second": 3}, "invalid"),
    ],
)
def test_bad_consistency_queries_are_refused(partner, query, code):
    response = client_for(partner).get("/api/v1/ledger/consistency", query)

    assert response.status_code == 400
    assert response.json()["code"] == code


def test_unknown_entry_is_404(partner):
    response = client_for(partner).get("/api/v1/ledger/entries/999999")

    assert response.status_code == 404
    assert response.json()["code"] == "entry_not_found"


def test_documents_of_another_organisation_are_hidden_but_provable(partner):
    other = make_partner("castline", role="die_caster")
    regulator = make_partner("eu-authority", role="regulator")
    entry = events.ledger_append(organisation=partner.organisation, document=object_event(30))

    seen_by_other = client_for(other).get(f"/api/v1/ledger/entries/{entry.seq}").json()
    seen_by_regulator = client_for(regulator).get(f"/api/v1/ledger/entries/{entry.seq}").json()
    listed_by_other = client_for(other).get("/api/v1/ledger/entries", {"kind": "event"}).json()["results"]

    assert seen_by_other["entry"]["document"] is None
    assert seen_by_other["entry"]["entryHash"] == entry.entry_hash
    assert seen_by_other["inclusionProof"]["hashes"]
    assert seen_by_regulator["entry"]["document"] == object_event(30)
    assert [e["document"] for e in listed_by_other] == [None]


def test_keys_endpoint_never_returns_private_material(partner):
    keys = client_for(partner).get("/api/v1/ledger/keys").json()["results"]

    assert {k["keyId"] for k in keys} >= {partner.client_key.key_id, partner.custodial_key.key_id}
    for key in keys:
        assert set(key) == {
            "organisation",
            "keyId",
            "publicKey",
            "custody",
            "validFrom",
            "revokedAt",
            "registeredSeq",
            "revokedSeq",
        }


def test_openapi_schema_describes_the_ledger_api(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = json.loads(response.content)
    assert {
        "/api/v1/ledger/checkpoint",
        "/api/v1/ledger/entries",
        "/api/v1/ledger/entries/{seq}",
        "/api/v1/ledger/consistency",
        "/api/v1/ledger/batches",
    } <= set(schema["paths"])
    assert "apiKey" in schema["components"]["securitySchemes"]


def _tree_head(leaves: list[bytes]) -> bytes:
    """RFC 9162 MTH over leaf hashes (an entry hash is its leaf hash), written out for the test."""
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    return merkle.node_hash(_tree_head(leaves[:split]), _tree_head(leaves[split:]))


def test_reading_an_entry_signs_nothing_and_proves_it_against_the_newest_tree_it_can(partner):
    # given a checkpoint of the first entries, then one entry more
    events.ledger_append(organisation=partner.organisation, document=object_event(60))
    sign_checkpoint()
    signed = Checkpoint.objects.get()
    newer = events.ledger_append(organisation=partner.organisation, document=object_event(61))
    client = client_for(partner)

    # when both entries are read
    covered = client.get(f"/api/v1/ledger/entries/{signed.tree_size}").json()["inclusionProof"]
    uncovered = client.get(f"/api/v1/ledger/entries/{newer.seq}").json()["inclusionProof"]

    # then no checkpoint was signed by the reads
    assert list(Checkpoint.objects.values_list("tree_size", flat=True)) == [signed.tree_size]
    # and the covered entry is proven against the signed checkpoint, the newer one against the tree as it is
    assert covered["treeSize"] == signed.tree_size and covered["checkpoint"]["note"] == signed.note
    assert uncovered["treeSize"] == newer.seq and uncovered["checkpoint"] is None
    leaf = bytes.fromhex(newer.entry_hash)
    root = _tree_head(
        [bytes.fromhex(h) for h in LedgerEntry.objects.order_by("seq").values_list("entry_hash", flat=True)]
    )
    merkle.verify_inclusion(leaf, newer.seq - 1, newer.seq, [base64.b64decode(h) for h in uncovered["hashes"]], root)
