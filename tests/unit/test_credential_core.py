"""The pure credential core: encodings, the two securing forms, status bits, DID documents."""

import base64
import gzip
import json
import random
from datetime import UTC, datetime

import pytest

from traceability.credentials.core import did, multibase, securing, statuslist
from traceability.credentials.core.errors import CredentialError
from traceability.ledger.signing import generate_private_key, public_key_raw

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
METHOD = "did:web:issuer.example:orgs:acme#0123456789abcdef"
KID = METHOD + "-jwk"
BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@pytest.fixture
def key():  # type: ignore[no-untyped-def]
    return generate_private_key()


def credential() -> dict[str, object]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://vocabulary.uncefact.org/untp/0.7.0/context/"],
        "id": "urn:uuid:1a7b5c1e-0000-4000-8000-000000000001",
        "type": ["VerifiableCredential", "DigitalProductPassport"],
        "issuer": "did:web:issuer.example:orgs:acme",
        "validFrom": "2026-12-01T09:30:00Z",
        "credentialSubject": {"id": "https://id.example/01/09506000134352/21/PACK-1", "name": "Pack ünïcode"},
    }


def test_multikey_is_the_ed25519_pub_multicodec_in_base58btc(key):
    raw = public_key_raw(key)
    text = multibase.ed25519_multikey(raw)
    assert text.startswith("z6Mk")  # 0xed 0x01 + 32 bytes always starts so in base58btc
    assert multibase.base58btc_decode(text[1:])[:2] == b"\xed\x01"
    assert multibase.ed25519_from_multikey(text) == raw
    assert multibase.ed25519_from_jwk(multibase.ed25519_jwk(raw)) == raw


def test_base58btc_keeps_leading_zero_bytes():
    assert multibase.base58btc_encode(b"\0\0\x01") == "112"
    assert multibase.base58btc_decode("112") == b"\0\0\x01"
    with pytest.raises(CredentialError):
        multibase.base58btc_decode("0OIl")


def test_a_private_jwk_is_not_taken_for_a_public_key(key):
    jwk = multibase.ed25519_jwk(public_key_raw(key)) | {"d": "secret"}
    with pytest.raises(CredentialError):
        multibase.ed25519_from_jwk(jwk)


def test_data_integrity_proof_signs_both_hashes_and_verifies(key):
    secured = securing.di_sign(credential(), private_key=key, verification_method=METHOD, created=NOW)
    proof = secured["proof"]
    assert proof["type"] == "DataIntegrityProof" and proof["cryptosuite"] == "eddsa-jcs-2022"
    assert proof["proofPurpose"] == "assertionMethod" and proof["created"] == "2026-12-01T09:30:00Z"
    assert proof["@context"] == credential()["@context"]  # vc-di-eddsa §3.3.1 step 2
    # the proof config carries the document's @context (vc-di-eddsa §3.3.5): recompute by hand
    config = {k: v for k, v in proof.items() if k != "proofValue"}
    data = securing.sha256(securing.canonical_json(config)) + securing.sha256(securing.canonical_json(credential()))
    key.public_key().verify(multibase.multibase_base58btc_decode(proof["proofValue"]), data)
    assert securing.di_verify(secured, keys={METHOD: public_key_raw(key)}) == proof


@pytest.mark.parametrize(
    "tamper",
    [
        lambda c: c["credentialSubject"].update(name="Pack unicode"),
        lambda c: c.update(validFrom="2026-12-01T09:30:01Z"),
        lambda c: c["proof"].update(created="2026-12-01T09:30:01Z"),
        lambda c: c["@context"].pop(),
        lambda c: c["proof"].update(proofPurpose="authentication"),
    ],
)
def test_any_change_breaks_the_proof(key, tamper):
    secured = securing.di_sign(credential(), private_key=key, verification_method=METHOD, created=NOW)
    tamper(secured)
    with pytest.raises(CredentialError):
        securing.di_verify(secured, keys={METHOD: public_key_raw(key)})


def test_a_proof_context_must_prefix_the_documents(key):
    secured = securing.di_sign(credential(), private_key=key, verification_method=METHOD, created=NOW)
    secured["proof"]["@context"] = ["https://example.org/other"]
    with pytest.raises(CredentialError, match="@context"):
        securing.di_verify(secured, keys={METHOD: public_key_raw(key)})


def test_an_unknown_verification_method_is_refused(key):
    secured = securing.di_sign(credential(), private_key=key, verification_method=METHOD, created=NOW)
    with pytest.raises(CredentialError, match="no trusted key"):
        securing.di_verify(secured, keys={METHOD + "x": public_key_raw(key)})


def test_the_jwt_payload_is_the_credential_itself(key):
    token = securing.jwt_sign(credential(), private_key=key, kid=KID)
    header = securing.jwt_header(token)
    assert header == {"alg": "EdDSA", "typ": "vc+jwt", "cty": "vc", "kid": KID}
    payload = multibase.base64url_decode(token.split(".")[1])
    assert payload == securing.credential_bytes(credential())
    assert securing.jwt_verify(token, keys={KID: public_key_raw(key)}) == credential()


def test_a_changed_jwt_byte_fails(key):
    token = securing.jwt_sign(credential(), private_key=key, kid=KID)
    header, payload, signature = token.split(".")
    body = json.loads(multibase.base64url_decode(payload))
    body["validFrom"] = "2030-01-01T00:00:00Z"
    forged = f"{header}.{multibase.base64url_encode(json.dumps(body).encode())}.{signature}"
    with pytest.raises(CredentialError, match="signature"):
        securing.jwt_verify(forged, keys={KID: public_key_raw(key)})
    with pytest.raises(CredentialError):
        securing.jwt_verify(
            token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1], keys={KID: public_key_raw(key)}
        )


def test_a_jwt_with_alg_none_is_refused(key):
    token = securing.jwt_sign(credential(), private_key=key, kid=KID)
    none = multibase.base64url_encode(json.dumps({"alg": "none", "typ": "vc+jwt", "kid": KID}).encode())
    with pytest.raises(CredentialError, match="alg"):
        securing.jwt_verify(none + "." + token.split(".")[1] + ".", keys={KID: public_key_raw(key)})


def test_status_bit_zero_is_the_left_most_bit():
    bits = statuslist.empty_bitstring()
    assert len(bits) * 8 == statuslist.MINIMUM_BITS == 131_072
    statuslist.bit_set(bits, 0, True)
    statuslist.bit_set(bits, 131_071, True)
    assert bits[0] == 0x80 and bits[-1] == 0x01
    decoded = statuslist.decode_list(statuslist.encode_list(bits))
    assert statuslist.bit_get(decoded, 0) and statuslist.bit_get(decoded, 131_071)
    assert not statuslist.bit_get(decoded, 1)
    statuslist.bit_set(bits, 0, False)
    assert bits[0] == 0


def test_encoded_list_is_gzip_in_multibase_base64url_and_deterministic():
    bits = statuslist.empty_bitstring()
    encoded = statuslist.encode_list(bits)
    assert encoded.startswith("u") and "=" not in encoded
    assert gzip.decompress(multibase.base64url_decode(encoded[1:])) == bytes(bits)
    assert statuslist.encode_list(bits) == encoded


def test_a_list_below_the_privacy_minimum_or_a_gzip_bomb_is_refused():
    with pytest.raises(CredentialError):
        statuslist.empty_bitstring(8 * 1024)
    small = multibase.multibase_base64url(gzip.compress(bytes(1024)))
    with pytest.raises(CredentialError, match="at least"):
        statuslist.decode_list(small)
    bomb = multibase.multibase_base64url(gzip.compress(bytes(statuslist.MAXIMUM_BITS // 8 + 1)))
    with pytest.raises(CredentialError, match="exceeds"):
        statuslist.decode_list(bomb)


def test_status_of_reads_the_entrys_bit():
    url = "https://issuer.example/orgs/acme/status/1"
    bits = statuslist.empty_bitstring()
    statuslist.bit_set(bits, 4242, True)
    listed = statuslist.status_list_credential(
        list_url=url, issuer="did:web:issuer.example:orgs:acme", purpose="revocation", bitstring=bits, valid_from="x"
    )
    entry = statuslist.status_entry(list_url=url, index=4242, purpose="revocation")
    assert entry["statusListIndex"] == "4242" and entry["id"] == url + "#4242"
    assert statuslist.status_of(entry, listed) is True
    assert (
        statuslist.status_of(statuslist.status_entry(list_url=url, index=4243, purpose="revocation"), listed) is False
    )
    with pytest.raises(CredentialError, match="purpose"):
        statuslist.status_of(statuslist.status_entry(list_url=url, index=1, purpose="suspension"), listed)


def test_did_web_percent_encodes_the_port():
    assert did.organisation_did(host="localhost:8000", slug="acme") == "did:web:localhost%3A8000:orgs:acme"
    assert did.organisation_did(host="id.looptrace.example", slug="acme") == "did:web:id.looptrace.example:orgs:acme"
    with pytest.raises(CredentialError):
        did.organisation_did(host="evil.example/x", slug="acme")


def test_did_document_asserts_with_current_and_rotated_keys_never_compromised_ones(key):
    old, new, lost = generate_private_key(), key, generate_private_key()
    rotation = datetime(2026, 12, 2, tzinfo=UTC)
    keys = [
        did.KeyValidity("aa" * 32, public_key_raw(old), NOW, rotation, rotated=True),
        did.KeyValidity("bb" * 32, public_key_raw(new), rotation, None),
        did.KeyValidity("cc" * 32, public_key_raw(lost), NOW, rotation, rotated=False),
    ]
    subject = "did:web:issuer.example:orgs:acme"
    document = did.did_document(did=subject, keys=keys)
    ids = [method["id"] for method in document["verificationMethod"]]
    assert ids == [f"{subject}#{letter * 16}{suffix}" for letter in "abc" for suffix in ("", "-jwk")]
    assert document["assertionMethod"] == ids[:4]
    assert document["verificationMethod"][0]["revoked"] == "2026-12-02T00:00:00Z"
    assert document["verificationMethod"][4]["revoked"] == "2026-12-02T00:00:00Z"
    assert "revoked" not in document["verificationMethod"][2]
    assert document["verificationMethod"][0]["validFrom"] == "2026-12-01T09:30:00Z"
    assert document["@context"][0] == "https://www.w3.org/ns/did/v1"
    assert did.keys_of_document(document) == {
        ids[0]: public_key_raw(old),
        ids[1]: public_key_raw(old),
        ids[2]: public_key_raw(new),
        ids[3]: public_key_raw(new),
        ids[4]: public_key_raw(lost),
        ids[5]: public_key_raw(lost),
    }


# --- one canonical form, many signatures (issuing batches) --------------------------------------


def _reference_base58btc(data: bytes) -> str:
    """Base58btc one digit at a time, as the Multibase draft describes it."""
    number, digits = int.from_bytes(data, "big"), ""
    while number:
        number, remainder = divmod(number, 58)
        digits = multibase.BASE58_ALPHABET[remainder] + digits
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + digits


@pytest.mark.parametrize("size", [0, 1, 2, 7, 8, 9, 31, 32, 34, 63, 64, 65, 100])
def test_base58btc_encodes_as_the_digit_by_digit_definition(size):
    rng = random.Random(size)
    for _ in range(50):
        data = bytes(rng.randrange(256) if rng.random() > 0.1 else 0 for _ in range(size))
        assert multibase.base58btc_encode(data) == _reference_base58btc(data)
        assert multibase.base58btc_decode(multibase.base58btc_encode(data)) == data


@pytest.mark.parametrize(
    "body",
    [
        credential(),
        credential() | {"@context": ["https://www.w3.org/ns/credentials/v2"]},
        {key: value for key, value in credential().items() if key != "@context"},
    ],
    ids=["untp context", "vc context only", "no context"],
)
def test_the_signer_makes_exactly_what_the_one_credential_functions_make(key, body):
    # given: a signer for many credentials, which shares their header and proof configuration
    signer = securing.Signer(private_key=key, kid=KID, verification_method=METHOD, created=NOW)
    canonical = securing.canonicalised(body)
    # when
    token = signer.jwt(canonical)
    secured_text = signer.data_integrity(canonical)
    # then: Ed25519 is deterministic, so the same bytes signed give the same texts
    assert canonical.data == securing.credential_bytes(body)
    assert canonical.digest == securing.credential_digest(body)
    assert token == securing.jwt_sign(body, private_key=key, kid=KID)
    secured = json.loads(secured_text)
    assert secured == securing.di_sign(body, private_key=key, verification_method=METHOD, created=NOW)
    assert securing.di_verify(secured, keys={METHOD: public_key_raw(key)})["proofValue"]
    assert securing.jwt_verify(token, keys={KID: public_key_raw(key)}) == body
    # a second credential of another context gets its own proof configuration
    other = credential() | {"@context": ["https://www.w3.org/ns/credentials/v2", "https://example.org/other/"]}
    other_secured = json.loads(signer.data_integrity(securing.canonicalised(other)))
    assert other_secured["proof"]["@context"] == other["@context"]
    securing.di_verify(other_secured, keys={METHOD: public_key_raw(key)})


def test_the_signers_json_changed_by_a_byte_fails(key):
    signer = securing.Signer(private_key=key, kid=KID, verification_method=METHOD, created=NOW)
    text = signer.data_integrity(securing.canonicalised(credential()))
    with pytest.raises(CredentialError, match="signature"):
        securing.di_verify(json.loads(text.replace("PACK-1", "PACK-2")), keys={METHOD: public_key_raw(key)})


# --- canonical base64url: a signature's unused bits ---------------------------------------------


def _same_bytes_other_text(text: str) -> str:
    """``text`` with its last character's unused low bits set: other text, the same bytes to a lax decoder."""
    unused = {2: 4, 3: 2}[len(text) % 4]  # bits of the last character beyond the encoded bytes
    value = BASE64URL_ALPHABET.index(text[-1])
    assert value % (1 << unused) == 0
    return text[:-1] + BASE64URL_ALPHABET[value | 1]


def test_a_jwt_signature_with_its_unused_bits_set_is_refused(key):
    # given: a valid token, and the same token whose signature's spare bits are changed
    token = securing.jwt_sign(credential(), private_key=key, kid=KID)
    header, payload, signature = token.split(".")
    spare = _same_bytes_other_text(signature)
    assert spare != signature
    assert base64.urlsafe_b64decode(spare + "==") == base64.urlsafe_b64decode(signature + "==")  # lax: same bytes
    # when / then
    assert securing.jwt_verify(token, keys={KID: public_key_raw(key)}) == credential()
    with pytest.raises(CredentialError) as refused:
        securing.jwt_verify(f"{header}.{payload}.{spare}", keys={KID: public_key_raw(key)})
    assert refused.value.code == "base64url_malformed"


def test_base64url_text_must_be_the_one_that_encodes_its_bytes(key):
    raw = public_key_raw(key)
    jwk = multibase.ed25519_jwk(raw)
    assert multibase.ed25519_from_jwk(jwk) == raw
    with pytest.raises(CredentialError, match="canonical"):
        multibase.ed25519_from_jwk(jwk | {"x": _same_bytes_other_text(jwk["x"])})
    with pytest.raises(CredentialError):
        multibase.base64url_decode("ab+/")  # standard base64's characters are not base64url's


def test_a_proof_value_has_one_text_only(key):
    # base58btc has no unused bits: the only other texts of a signature's bytes are other
    # encodings (refused) or extra leading zeros (other bytes, refused by length)
    secured = securing.di_sign(credential(), private_key=key, verification_method=METHOD, created=NOW)
    signature = multibase.multibase_base58btc_decode(secured["proof"]["proofValue"])
    keys = {METHOD: public_key_raw(key)}
    for value in (
        multibase.multibase_base64url(signature),
        "z1" + secured["proof"]["proofValue"][1:],
    ):
        forged = secured | {"proof": secured["proof"] | {"proofValue": value}}
        with pytest.raises(CredentialError):
            securing.di_verify(forged, keys=keys)
    securing.di_verify(secured, keys=keys)
