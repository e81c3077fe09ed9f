"""Issuing, serving, superseding and revoking credentials: the ledger facts, the status lists,
the DID documents and who may read what."""

import json
import uuid

import pytest
from django.test import override_settings

from tests.factories import make_partner
from traceability import services
from traceability.credentials import selectors
from traceability.credentials import services as credential_services
from traceability.credentials.core import did as did_core
from traceability.credentials.core import securing, statuslist
from traceability.credentials.services import (
    CredentialRequest,
    credential_issue,
    credential_revoke,
    credential_supersede,
    credentials_issue,
    credentials_revoke_many,
    credentials_supersede_many,
)
from traceability.credentials.views import DI_MEDIA_TYPE, JSON, preferred
from traceability.errors import ApplicationError
from traceability.ledger.canonical import canonical_json, sha256
from traceability.ledger.chain import KIND_CREDENTIAL_ISSUED, KIND_CREDENTIAL_STATUS
from traceability.models import Credential, LedgerEntry, StatusList
from traceability.verification import verify_ledger

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
BASE = "https://id.looptrace.example"


@pytest.fixture(autouse=True)
def _origin(settings):  # type: ignore[no-untyped-def]
    settings.CREDENTIALS_BASE_URL = BASE
    settings.CREDENTIALS_DID_HOST = "id.looptrace.example"


def passport_credential(name: str = "Pack 1") -> dict[str, object]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://vocabulary.uncefact.org/untp/0.7.0/context/"],
        "type": ["VerifiableCredential", "DigitalProductPassport"],
        "credentialSubject": {
            "type": ["Product"],
            "id": "https://id.example/01/09506000134352/21/PACK-1",
            "name": name,
        },
    }


def issue(partner, *, public: bool = True, name: str = "Pack 1") -> Credential:  # type: ignore[no-untyped-def]
    return credential_issue(
        organisation=partner.organisation,
        kind="DigitalProductPassport",
        subject="passport:PACK-1",
        credential=passport_credential(name),
        public=public,
    )


def keys_of(partner) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    return did_core.keys_of_document(selectors.organisation_did_document(partner.organisation))


def test_an_issued_credential_is_anchored_signed_twice_and_given_a_status_bit(partner):
    # when
    record = issue(partner)
    # then
    secured = json.loads(record.secured_json)
    did = "did:web:id.looptrace.example:orgs:nordic-remelt"
    assert secured["issuer"] == did
    assert secured["id"] == record.credential_id == f"urn:uuid:{record.public_id}"
    assert secured["validFrom"].endswith("Z")
    status = secured["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry" and status["statusPurpose"] == "revocation"
    assert status["statusListCredential"] == f"{BASE}/orgs/nordic-remelt/status/1"
    assert int(status["statusListIndex"]) == record.status_index
    unsecured = {k: v for k, v in secured.items() if k != "proof"}
    assert record.digest == securing.credential_digest(unsecured).hex()
    proof = securing.di_verify(secured, keys=keys_of(partner))
    assert proof["verificationMethod"] == f"{did}#{partner.custodial_key.key_id[:16]}"
    assert securing.jwt_verify(record.jwt, keys=keys_of(partner)) == unsecured
    assert securing.jwt_header(record.jwt)["kid"] == f"{did}#{partner.custodial_key.key_id[:16]}-jwk"
    # the anchoring fact: the organisation's own, signed with the custodial key that signed the credential
    entry = LedgerEntry.objects.get(seq=record.anchor_seq)
    assert entry.kind == KIND_CREDENTIAL_ISSUED and entry.organisation == partner.organisation
    assert entry.key_id == partner.custodial_key.key_id == record.key_id
    fact = json.loads(entry.document)
    assert fact["type"] == "CredentialsIssued" and fact["organisation"] == "nordic-remelt"
    assert fact["credentials"] == [
        {
            "credentialId": record.credential_id,
            "credentialKind": "DigitalProductPassport",
            "subject": "passport:PACK-1",
            "digest": record.digest,
            "statusListCredential": f"{BASE}/orgs/nordic-remelt/status/1",
            "statusListIndex": record.status_index,
        }
    ]
    assert verify_ledger().ok


def test_status_indices_are_drawn_at_random_not_in_sequence(partner):
    indices = [issue(partner, name=f"Pack {n}").status_index for n in range(6)]
    assert len(set(indices)) == 6
    assert indices != sorted(indices) or max(indices) - min(indices) > 100
    assert StatusList.objects.get(organisation=partner.organisation).allocated == 6


def test_a_batch_is_one_append_and_opens_a_new_list_when_one_is_half_full(partner, monkeypatch):
    # given: lists that take three credentials each
    monkeypatch.setattr(credential_services, "LIST_FILL_LIMIT", 3)
    requests = [
        CredentialRequest(kind="DigitalTraceabilityEvent", subject=f"event:{n}", credential=passport_credential(f"{n}"))
        for n in range(5)
    ]
    # when
    issued = credentials_issue(organisation=partner.organisation, requests=requests)
    # then
    assert [record.subject for record in issued] == [f"event:{n}" for n in range(5)]
    # one anchoring fact lists the whole batch, in order, each with its own digest
    (seq,) = {record.anchor_seq for record in issued}
    fact = json.loads(LedgerEntry.objects.get(seq=seq).document)
    assert [(m["credentialId"], m["digest"]) for m in fact["credentials"]] == [
        (record.credential_id, record.digest) for record in issued
    ]
    # the returned rows are the stored ones
    assert [Credential.objects.get(pk=record.pk).public_id for record in issued] == [r.public_id for r in issued]
    lists = list(StatusList.objects.filter(organisation=partner.organisation).order_by("number"))
    assert [(status_list.number, status_list.allocated) for status_list in lists] == [(1, 3), (2, 2)]
    assert all(status_list.secured_json for status_list in lists)
    assert [record.status_list.number for record in issued] == [1, 1, 1, 2, 2]
    for record in Credential.objects.all():
        securing.di_verify(json.loads(record.secured_json), keys=keys_of(partner))
    # the next credential goes to the list with room
    assert issue(partner).status_list.number == 2


def test_a_batch_signed_on_every_core_keeps_each_credentials_own_forms(partner):
    # given: a batch large enough to be signed in chunks by the signing threads
    count = credential_services.PARALLEL_SIGNING_THRESHOLD + credential_services.SIGNING_CHUNK
    requests = [
        CredentialRequest(kind="DigitalProductPassport", subject=f"p:{n}", credential=passport_credential(f"n{n}"))
        for n in range(count)
    ]
    # when
    issued = credentials_issue(organisation=partner.organisation, requests=requests)
    # then: each row carries the forms of its own credential, as stored
    keys = keys_of(partner)
    for n, record in enumerate(issued):
        stored = Credential.objects.get(pk=record.pk)
        assert (stored.jwt, stored.secured_json) == (record.jwt, record.secured_json)
        secured = json.loads(stored.secured_json)
        securing.di_verify(secured, keys=keys)
        unsecured = {key: value for key, value in secured.items() if key != "proof"}
        assert unsecured["credentialSubject"]["name"] == f"n{n}" and unsecured["id"] == stored.credential_id
        assert securing.jwt_verify(stored.jwt, keys=keys) == unsecured
        assert securing.credential_digest(unsecured).hex() == stored.digest


def test_a_batch_with_one_bad_request_is_refused_whole(partner):
    size = LedgerEntry.objects.count()
    requests = [CredentialRequest(kind="DigitalProductPassport", subject="ok", credential=passport_credential())] * 2
    bad = CredentialRequest(kind="DigitalProductPassport", subject="", credential=passport_credential())
    with pytest.raises(ApplicationError) as refused:
        credentials_issue(organisation=partner.organisation, requests=[*requests, bad])
    assert refused.value.code == "subject_invalid" and refused.value.extra == {"index": 2}
    with pytest.raises(ApplicationError, match="issued already"):
        credentials_issue(
            organisation=partner.organisation,
            requests=[
                CredentialRequest(
                    kind="DigitalProductPassport", subject="x", credential=passport_credential() | {"id": "urn:x:1"}
                )
            ]
            * 2,
        )
    assert LedgerEntry.objects.count() == size and not Credential.objects.exists()


def test_superseding_sets_the_old_bit_records_the_flip_and_resigns_the_list(partner):
    # given
    old, new = issue(partner, name="v1"), issue(partner, name="v2")
    listed = StatusList.objects.get(organisation=partner.organisation)
    before = listed.secured_json
    assert not statuslist.bit_get(bytes(listed.bits), old.status_index)
    # when
    credential_supersede(organisation=partner.organisation, credential=old, by=new)
    # then
    old.refresh_from_db()
    listed.refresh_from_db()
    assert old.state == "superseded" and old.superseded_by == new
    flip = LedgerEntry.objects.get(seq=old.state_seq)
    assert flip.kind == KIND_CREDENTIAL_STATUS and flip.organisation == partner.organisation
    (change,) = json.loads(flip.document)["credentials"]
    assert change["credentialId"] == old.credential_id and change["supersededBy"] == new.credential_id
    list_credential = json.loads(listed.secured_json)
    assert listed.secured_json != before
    securing.di_verify(list_credential, keys=keys_of(partner))
    assert (
        securing.jwt_verify(listed.jwt, keys=keys_of(partner))["credentialSubject"]
        == list_credential["credentialSubject"]
    )
    old_entry = json.loads(old.secured_json)["credentialStatus"]
    new_entry = json.loads(new.secured_json)["credentialStatus"]
    assert statuslist.status_of(old_entry, list_credential) is True
    assert statuslist.status_of(new_entry, list_credential) is False
    assert verify_ledger().ok
    with pytest.raises(ApplicationError, match="already superseded"):
        credential_revoke(organisation=partner.organisation, credential=old, reason="withdrawn")


def test_superseding_three_at_once_is_one_fact_and_one_signing_of_each_list(partner, monkeypatch):
    # given: three credentials of a passport version on two lists, and their successors
    monkeypatch.setattr(credential_services, "LIST_FILL_LIMIT", 2)
    old = [issue(partner, name=f"v1 part {n}") for n in range(3)]
    new = [issue(partner, name=f"v2 part {n}") for n in range(3)]
    assert {record.status_list.number for record in old} == {1, 2}
    signings = []
    original = credential_services._sign_status_list
    monkeypatch.setattr(
        credential_services,
        "_sign_status_list",
        lambda status_list, **kw: signings.append(status_list.number) or original(status_list, **kw),
    )
    size = LedgerEntry.objects.count()
    # when
    superseded = credentials_supersede_many(organisation=partner.organisation, pairs=list(zip(old, new, strict=True)))
    # then: one status fact lists the three changes, in order
    assert LedgerEntry.objects.count() == size + 1
    assert [record.credential_id for record in superseded] == [record.credential_id for record in old]
    (seq,) = {record.state_seq for record in superseded}
    flip = json.loads(LedgerEntry.objects.get(seq=seq).document)
    assert flip["type"] == "CredentialStatusChanged" and flip["reason"] == "superseded" and flip["status"] is True
    assert [(c["credentialId"], c["supersededBy"]) for c in flip["credentials"]] == [
        (o.credential_id, n.credential_id) for o, n in zip(old, new, strict=True)
    ]
    # each touched list signed once, and its bits read as set by a verifier
    assert sorted(signings) == sorted({record.status_list.number for record in old})
    for record, successor in zip(old, new, strict=True):
        record.refresh_from_db()
        assert (record.state, record.superseded_by_id) == ("superseded", successor.pk)
        listed = StatusList.objects.get(pk=record.status_list_id)
        list_credential = json.loads(listed.secured_json)
        securing.di_verify(list_credential, keys=keys_of(partner))
        assert statuslist.status_of(json.loads(record.secured_json)["credentialStatus"], list_credential) is True
        successor_list = json.loads(StatusList.objects.get(pk=successor.status_list_id).secured_json)
        assert statuslist.status_of(json.loads(successor.secured_json)["credentialStatus"], successor_list) is False
    assert verify_ledger().ok


def test_a_batch_flip_with_one_bad_member_changes_nothing(partner):
    records = [issue(partner, name=f"part {n}") for n in range(3)]
    credential_revoke(organisation=partner.organisation, credential=records[1], reason="withdrawn")
    other = make_partner("castline", role="die_caster")
    size = LedgerEntry.objects.count()
    lists = list(StatusList.objects.values_list("secured_json", flat=True))
    with pytest.raises(ApplicationError) as refused:
        credentials_revoke_many(organisation=partner.organisation, credentials=records, reason="ceased")
    assert (refused.value.code, refused.value.status, refused.value.extra) == (
        "credential_not_current",
        409,
        {"index": 1},
    )
    with pytest.raises(ApplicationError) as refused:
        credentials_revoke_many(organisation=other.organisation, credentials=[records[0], records[2]], reason="x")
    assert refused.value.status == 403
    with pytest.raises(ApplicationError) as refused:
        credentials_revoke_many(organisation=partner.organisation, credentials=[records[0], records[0]], reason="x")
    assert refused.value.code == "credential_repeated"
    with pytest.raises(ApplicationError, match="reason"):
        credentials_revoke_many(organisation=partner.organisation, credentials=[records[0]], reason=" ")
    with pytest.raises(ApplicationError) as refused:
        credentials_supersede_many(
            organisation=partner.organisation, pairs=[(records[0], records[2]), (records[2], records[2])]
        )
    assert refused.value.code == "supersession_invalid" and refused.value.extra == {"index": 1}
    # then
    assert LedgerEntry.objects.count() == size
    assert list(StatusList.objects.values_list("secured_json", flat=True)) == lists
    assert [Credential.objects.get(pk=r.pk).state for r in records] == ["current", "revoked", "current"]
    # and the two current ones revoke together, for one reason
    revoked = credentials_revoke_many(
        organisation=partner.organisation, credentials=[records[2], records[0]], reason="ceased"
    )
    assert [r.state for r in revoked] == ["revoked", "revoked"] and revoked[0].pk == records[2].pk
    fact = json.loads(LedgerEntry.objects.get(seq=revoked[0].state_seq).document)
    assert fact["reason"] == "ceased" and [c["credentialId"] for c in fact["credentials"]] == [
        records[2].credential_id,
        records[0].credential_id,
    ]


def test_a_public_credentials_anchor_names_no_private_credential(partner, client):
    # given: one batch mixing public and private credentials
    requests = [
        CredentialRequest(
            kind="DigitalProductPassport",
            subject=f"passport:secret-{n}" if n % 2 else f"passport:open-{n}",
            credential=passport_credential(f"{n}"),
            public=not n % 2,
        )
        for n in range(4)
    ]
    issued = credentials_issue(organisation=partner.organisation, requests=requests)
    # when: anyone reads a public credential's anchor
    public = issued[0]
    anchor = client.get(f"/credentials/{public.public_id}/anchor").json()
    # then: its fact lists the public credentials only; the private ones have a fact of their own
    listed = json.loads(anchor["ledgerFact"])["credentials"]
    assert [member["credentialId"] for member in listed] == [issued[0].credential_id, issued[2].credential_id]
    assert "secret" not in anchor["ledgerFact"]
    private_anchor = client.get(
        f"/credentials/{issued[1].public_id}/anchor", HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}"
    ).json()
    assert [m["subject"] for m in json.loads(private_anchor["ledgerFact"])["credentials"]] == [
        "passport:secret-1",
        "passport:secret-3",
    ]
    assert issued[0].anchor_seq == issued[2].anchor_seq != issued[1].anchor_seq == issued[3].anchor_seq


def test_a_batch_too_large_for_one_ledger_document_is_split_in_order(partner, monkeypatch):
    # given: facts that hold two credentials' members each
    monkeypatch.setattr(credential_services, "_FACT_BUDGET", 2 * 1400)
    requests = [
        CredentialRequest(kind="DigitalProductPassport", subject=f"p:{n}", credential=passport_credential(f"{n}"))
        for n in range(5)
    ]
    # when
    issued = credentials_issue(organisation=partner.organisation, requests=requests)
    # then: three facts, each listing its members in batch order with their digests
    seqs = [record.anchor_seq for record in issued]
    assert seqs[0] == seqs[1] < seqs[2] == seqs[3] < seqs[4]
    for record in issued:
        listed = json.loads(LedgerEntry.objects.get(seq=record.anchor_seq).document)["credentials"]
        assert {"credentialId": record.credential_id, "digest": record.digest}.items() <= next(
            member for member in listed if member["credentialId"] == record.credential_id
        ).items()
    assert verify_ledger().ok


def test_a_credential_id_longer_than_stored_is_refused(partner):
    with pytest.raises(ApplicationError) as refused:
        credential_issue(
            organisation=partner.organisation,
            kind="DigitalProductPassport",
            subject="x",
            credential=passport_credential() | {"id": "urn:x:" + "a" * 500},
        )
    assert refused.value.code == "credential_malformed"
    assert not Credential.objects.exists()


def test_only_the_issuer_revokes(partner):
    record = issue(partner)
    other = make_partner("castline", role="die_caster")
    with pytest.raises(ApplicationError) as refused:
        credential_revoke(organisation=other.organisation, credential=record, reason="not mine")
    assert refused.value.status == 403
    record.refresh_from_db()
    assert record.state == "current"
    assert not LedgerEntry.objects.filter(kind=KIND_CREDENTIAL_STATUS).exists()


def test_a_credential_is_refused_before_anything_is_written(partner):
    size = LedgerEntry.objects.count()
    bad = [
        {"type": ["VerifiableCredential"], "credentialSubject": {}},  # no VC 2.0 context
        passport_credential() | {"proof": {}},
        passport_credential() | {"credentialStatus": {}},
        passport_credential() | {"issuer": "did:web:someone.else"},
        passport_credential() | {"type": ["DigitalProductPassport"]},
    ]
    for credential in bad:
        with pytest.raises(ApplicationError):
            credential_issue(
                organisation=partner.organisation, kind="DigitalProductPassport", subject="x", credential=credential
            )
    with pytest.raises(ApplicationError, match="kind"):
        credential_issue(
            organisation=partner.organisation, kind="Diploma", subject="x", credential=passport_credential()
        )
    assert LedgerEntry.objects.count() == size
    assert not Credential.objects.exists()


def test_an_issuer_object_keeps_its_fields_and_gets_the_did(partner):
    credential = passport_credential() | {"issuer": {"type": ["CredentialIssuer"], "name": "Nordic Remelt"}}
    record = credential_issue(
        organisation=partner.organisation, kind="DigitalProductPassport", subject="x", credential=credential
    )
    issuer = json.loads(record.secured_json)["issuer"]
    assert issuer == {
        "type": ["CredentialIssuer"],
        "name": "Nordic Remelt",
        "id": selectors.organisation_did(partner.organisation),
    }


# --- serving ------------------------------------------------------------------------------------


def test_the_did_document_lists_current_and_rotated_keys(partner, client):
    old = partner.custodial_key
    record = issue(partner)
    services.signing_key_rotate(key=old)
    response = client.get("/orgs/nordic-remelt/did.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/did+json"
    document = response.json()
    did = "did:web:id.looptrace.example:orgs:nordic-remelt"
    assert document["id"] == did
    methods = {method["id"]: method for method in document["verificationMethod"]}
    assert methods[f"{did}#{old.key_id[:16]}"]["revoked"].endswith("Z")
    assert methods[f"{did}#{old.key_id[:16]}"]["type"] == "Multikey"
    assert methods[f"{did}#{old.key_id[:16]}-jwk"]["publicKeyJwk"]["crv"] == "Ed25519"
    # the rotated key still asserts what it signed before its `revoked` time; current keys too
    assert f"{did}#{old.key_id[:16]}" in document["assertionMethod"]
    assert len(document["assertionMethod"]) == 6  # client key, old and new custodial keys, each twice
    # the credential signed before the rotation still verifies against the document
    securing.di_verify(json.loads(record.secured_json), keys=did_core.keys_of_document(document))
    # a new credential is signed with the new key
    newer = issue(partner, name="after rotation")
    assert newer.key_id != old.key_id
    assert "privateKey" not in response.content.decode() and '"d"' not in response.content.decode()


def test_a_compromised_key_stays_listed_but_asserts_nothing(partner, client):
    services.signing_key_revoke(key=partner.client_key, reason="compromised")
    document = client.get("/orgs/nordic-remelt/did.json").json()
    lost = f"{document['id']}#{partner.client_key.key_id[:16]}"
    assert lost in {method["id"] for method in document["verificationMethod"]}
    assert lost not in document["assertionMethod"] and lost + "-jwk" not in document["assertionMethod"]
    assert f"{document['id']}#{partner.custodial_key.key_id[:16]}" in document["assertionMethod"]


def test_unknown_organisations_and_lists_answer_json_404(client, partner):
    for path in (
        "/orgs/nobody/did.json",
        "/orgs/nobody/status/1",
        "/orgs/nordic-remelt/status/9",
        "/orgs/nordic-remelt/status/0",
        "/orgs/nordic-remelt/status/99999999999999999999999",
        "/orgs/nobody/credentials",
    ):
        response = client.get(path)
        assert response.status_code == 404
        assert set(response.json()) == {"code", "detail"}
    response = client.get(f"/credentials/{uuid.uuid4()}")
    assert response.status_code == 404 and response.json()["code"] == "credential_not_found"
    response = client.get("/credentials/not-a-uuid", HTTP_ACCEPT="application/vc+jwt")
    assert response.status_code == 404 and response.json()["code"] == "credential_not_found"


def test_a_credential_is_served_byte_for_byte_in_the_form_asked_for(partner, client):
    record = issue(partner)
    path = f"/credentials/{record.public_id}"
    jwt = client.get(path, HTTP_ACCEPT="application/vc+jwt")
    assert jwt["Content-Type"] == "application/vc+jwt" and jwt.content == record.jwt.encode()
    assert jwt["Link"] == f'<{BASE}{path}/anchor>; rel="describedby"'
    plain = client.get(path)
    assert plain["Content-Type"] == "application/json" and plain.content == record.secured_json.encode()
    vc = client.get(path, HTTP_ACCEPT="application/vc+jwt;q=0.5, application/vc")
    assert vc["Content-Type"] == "application/vc" and vc.content == record.secured_json.encode()
    listed = client.get("/orgs/nordic-remelt/status/1", HTTP_ACCEPT="application/vc+jwt")
    assert listed.content == StatusList.objects.get().jwt.encode()


def test_the_anchor_has_the_fact_now_and_the_tlog_proof_once_a_checkpoint_covers_it(partner, client):
    record = issue(partner)
    anchor = client.get(f"/credentials/{record.public_id}/anchor").json()
    assert anchor["ledgerEntry"] == record.anchor_seq
    assert sha256(anchor["ledgerFact"].encode()).hex() == LedgerEntry.objects.get(seq=record.anchor_seq).digest
    (listed,) = json.loads(anchor["ledgerFact"])["credentials"]
    assert listed["credentialId"] == record.credential_id and listed["digest"] == record.digest
    assert anchor["ledgerProof"] is None and "checkpoint" in anchor["ledgerProofReason"]
    assert (anchor["state"], anchor["stateLedgerEntry"], anchor["supersededBy"]) == ("current", None, None)
    # whatever the Accept header names, the anchor (and any error) answers JSON
    as_jwt = client.get(f"/credentials/{record.public_id}/anchor", HTTP_ACCEPT="application/vc+jwt")
    assert as_jwt.status_code == 200 and as_jwt.json()["ledgerEntry"] == record.anchor_seq
    services.ledger_checkpoint_create()
    anchor = client.get(f"/credentials/{record.public_id}/anchor").json()
    assert anchor["ledgerProof"]["seq"] == record.anchor_seq
    assert anchor["ledgerProof"]["proof"].startswith("c2sp.org/tlog-proof@v1")
    newer = issue(partner, name="v2")
    credential_supersede(organisation=partner.organisation, credential=record, by=newer)
    anchor = client.get(f"/credentials/{record.public_id}/anchor").json()
    assert anchor["state"] == "superseded" and anchor["supersededBy"] == newer.credential_id
    assert LedgerEntry.objects.get(seq=anchor["stateLedgerEntry"]).kind == KIND_CREDENTIAL_STATUS


def test_a_private_credential_is_its_issuers_only(partner, client):
    record = issue(partner, public=False)
    other = make_partner("castline", role="die_caster")
    path = f"/credentials/{record.public_id}"
    assert client.get(path).status_code == 404
    assert client.get(path, HTTP_AUTHORIZATION=f"Api-Key {other.api_key}").status_code == 404
    assert client.get(path + "/anchor", HTTP_AUTHORIZATION=f"Api-Key {other.api_key}").status_code == 404
    mine = client.get(path, HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}")
    assert mine.status_code == 200 and mine.content == record.secured_json.encode()
    assert mine["Cache-Control"] == "private, no-store"
    public = issue(partner, name="public one")
    listed = client.get("/orgs/nordic-remelt/credentials").json()["results"]
    assert [row["id"] for row in listed] == [public.credential_id]
    own = client.get("/orgs/nordic-remelt/credentials", HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}").json()
    assert {row["id"] for row in own["results"]} == {public.credential_id, record.credential_id}


@override_settings(CREDENTIALS_DID_HOST="localhost:8000")
def test_the_did_host_percent_encodes_its_port(partner):
    assert selectors.organisation_did(partner.organisation) == "did:web:localhost%3A8000:orgs:nordic-remelt"


def test_an_organisation_without_a_custodial_key_cannot_issue(db):
    organisation = services.organisation_create(slug="keyless", name="Keyless", role="remelter")
    with pytest.raises(ApplicationError, match="custodial"):
        credential_issue(
            organisation=organisation, kind="DigitalProductPassport", subject="x", credential=passport_credential()
        )
    assert not StatusList.objects.exists()


@pytest.mark.parametrize(
    ("accept", "form"),
    [
        ("", "application/json"),
        ("*/*", "application/json"),
        ("application/vc+jwt", "application/vc+jwt"),
        ("APPLICATION/VC+JWT", "application/vc+jwt"),
        ("application/vc+jwt;q=0, application/vc", "application/vc"),
        ("application/vc;q=0.4, application/vc+jwt;q=0.9", "application/vc+jwt"),
        ("application/vc+jwt;q=oops", "application/json"),
        ("text/html, application/vc", "application/vc"),
        (", ".join(["text/plain"] * 40 + ["application/vc+jwt"]), "application/json"),  # past 32 ranges: unread
    ],
)
def test_the_form_follows_the_accept_header(accept, form):
    assert preferred(accept, (JSON, DI_MEDIA_TYPE, "application/vc+jwt")) == form


@pytest.mark.parametrize("character", ["\x01", "é", "😀", '"', "a"])
def test_a_facts_size_bound_holds_for_the_longest_members(character):
    longest = "x" * 30 + character * 470
    issued = {
        "credentialId": longest,
        "credentialKind": "DigitalConformityCredential",
        "subject": longest,
        "digest": "f" * 64,
        "statusListCredential": f"{BASE}/orgs/{'s' * 50}/status/2147483647",
        "statusListIndex": 131071,
    }
    changed = issued | {"statusPurpose": "revocation", "supersededBy": longest}
    for member in (issued, changed):
        assert len(canonical_json(member)) + 1 <= credential_services._listed_size_bound(member)
