"""The pure offline verifier of credentials (``python -m traceability.credentials.core``)."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from traceability.credentials.core import did, securing, statuslist
from traceability.credentials.core.__main__ import main
from traceability.credentials.core.verify import verify_credential
from traceability.ledger.signing import generate_private_key, public_key_raw

DID = "did:web:issuer.example:orgs:acme"
LIST_URL = "https://issuer.example/orgs/acme/status/1"
ROTATION = datetime(2026, 12, 2, tzinfo=UTC)
BEFORE, AFTER = ROTATION - timedelta(hours=1), ROTATION + timedelta(hours=1)
CURRENT, RETIRED, LOST = generate_private_key(), generate_private_key(), generate_private_key()
KEY_IDS = {"current": "cc" * 32, "retired": "aa" * 32, "lost": "bb" * 32}


def document() -> dict[str, object]:
    return did.did_document(
        did=DID,
        keys=[
            did.KeyValidity(KEY_IDS["retired"], public_key_raw(RETIRED), BEFORE - timedelta(days=9), ROTATION, True),
            did.KeyValidity(KEY_IDS["lost"], public_key_raw(LOST), BEFORE - timedelta(days=9), ROTATION, False),
            did.KeyValidity(KEY_IDS["current"], public_key_raw(CURRENT), ROTATION, None),
        ],
    )


def credential(valid_from: datetime = AFTER) -> dict[str, object]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:5b0f2f58-0000-4000-8000-000000000001",
        "type": ["VerifiableCredential", "DigitalProductPassport"],
        "issuer": DID,
        "validFrom": securing.xsd_datetime(valid_from),
        "credentialStatus": statuslist.status_entry(list_url=LIST_URL, index=77, purpose="revocation"),
        "credentialSubject": {"id": "urn:example:pack-1"},
    }


def signed(name: str = "current", *, at: datetime = AFTER, body: dict[str, object] | None = None) -> str:
    key = {"current": CURRENT, "retired": RETIRED, "lost": LOST}[name]
    method = DID + did.multikey_fragment(KEY_IDS[name])
    return json.dumps(securing.di_sign(body or credential(), private_key=key, verification_method=method, created=at))


def status_list(*, revoked: bool) -> str:
    bits = statuslist.empty_bitstring()
    statuslist.bit_set(bits, 77, revoked)
    body = statuslist.status_list_credential(
        list_url=LIST_URL, issuer=DID, purpose="revocation", bitstring=bits, valid_from="2026-12-02T01:00:00Z"
    )
    return signed(body=body)


def test_a_current_credential_verifies_and_its_status_is_read():
    verdict = verify_credential(signed(), did_document=document(), status_list=status_list(revoked=False))
    assert (verdict.verified, verdict.form, verdict.status_set, verdict.errors) == (True, "eddsa-jcs-2022", False, [])
    verdict = verify_credential(signed(), did_document=document(), status_list=status_list(revoked=True))
    assert (verdict.verified, verdict.status_set) == (True, True)


def test_the_jwt_form_verifies_with_the_jwk_method():
    token = securing.jwt_sign(credential(), private_key=CURRENT, kid=DID + did.jwk_fragment(KEY_IDS["current"]))
    verdict = verify_credential(token, did_document=document())
    assert (verdict.verified, verdict.form, verdict.credential) == (True, "application/vc+jwt", credential())


def test_a_jwt_whose_signature_has_its_unused_bits_set_fails():
    token = securing.jwt_sign(credential(), private_key=CURRENT, kid=DID + did.jwk_fragment(KEY_IDS["current"]))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # 64 bytes take 86 characters: the last carries 2 bits of the signature and 4 unused ones
    spare = token[:-1] + alphabet[alphabet.index(token[-1]) | 0b0101]
    assert spare != token and base64.urlsafe_b64decode(spare.split(".")[2] + "==") == base64.urlsafe_b64decode(
        token.split(".")[2] + "=="
    )
    assert verify_credential(token, did_document=document()).verified
    verdict = verify_credential(spare, did_document=document())
    assert not verdict.verified and "canonical base64url" in verdict.errors[0]


def test_a_retired_key_verifies_only_what_it_signed_before_its_rotation():
    assert verify_credential(signed("retired", at=BEFORE), did_document=document()).verified
    late = verify_credential(signed("retired", at=AFTER), did_document=document())
    assert not late.verified and "revocation" in late.errors[0]
    old_jwt = securing.jwt_sign(credential(BEFORE), private_key=RETIRED, kid=DID + did.jwk_fragment(KEY_IDS["retired"]))
    assert verify_credential(old_jwt, did_document=document()).verified
    new_jwt = securing.jwt_sign(credential(AFTER), private_key=RETIRED, kid=DID + did.jwk_fragment(KEY_IDS["retired"]))
    assert not verify_credential(new_jwt, did_document=document()).verified


def test_a_compromised_key_verifies_nothing_whatever_its_date():
    verdict = verify_credential(signed("lost", at=BEFORE - timedelta(days=1)), did_document=document())
    assert not verdict.verified and "no trusted key" in verdict.errors[0]


def test_a_changed_byte_or_another_issuer_fails():
    text = signed()
    assert not verify_credential(text.replace("pack-1", "pack-2"), did_document=document()).verified
    other = signed(body=credential() | {"issuer": "did:web:other.example"})
    verdict = verify_credential(other, did_document=document())
    assert not verdict.verified and "issuer" in verdict.errors[0]


def test_the_command_exits_0_only_for_a_valid_unrevoked_credential(tmp_path, capsys):
    (tmp_path / "did.json").write_text(json.dumps(document()))
    (tmp_path / "credential.json").write_text(signed())
    (tmp_path / "listed.json").write_text(status_list(revoked=False))
    (tmp_path / "revoked.json").write_text(status_list(revoked=True))
    (tmp_path / "forged.json").write_text(signed().replace("pack-1", "pack-2"))
    args = [str(tmp_path / "credential.json"), str(tmp_path / "did.json")]
    assert main([*args, str(tmp_path / "listed.json")]) == 0
    assert json.loads(capsys.readouterr().out)["verified"] is True
    assert main([*args, str(tmp_path / "revoked.json")]) == 1
    assert json.loads(capsys.readouterr().out)["statusSet"] is True
    assert main([str(tmp_path / "forged.json"), str(tmp_path / "did.json")]) == 1
    assert main([str(tmp_path / "missing.json"), str(tmp_path / "did.json")]) == 2


@pytest.mark.parametrize("text", ["", "[]", "not.a.jwt", "{"])
def test_garbage_is_refused_not_raised(text):
    assert not verify_credential(text, did_document=document()).verified
