"""Looptrace's credentials, checked by verifiers that are not Looptrace's code, against a running server.

- the ``vc+jwt`` form by joserfc (a Python JOSE library), with the issuer's key taken from the
  ``did.json`` the server serves;
- the Data Integrity ``eddsa-jcs-2022`` form by Digital Bazaar's npm packages
  (``tests/js/verify.mjs``, versions pinned in ``tests/js/package-lock.json``), which resolves the
  issuer's did:web and reads the credential's status list bit over HTTP from the same server.

did:web means HTTPS; the test server speaks HTTP, so the credentials are issued with the
server's own origin as their base URL and DID host, and the JavaScript verifier fetches
``http://<host>/<path>/did.json``: the one liberty taken with the method.
"""

import base64
import json
from urllib.parse import urlsplit

import httpx
import pytest
from joserfc import jws
from joserfc.errors import BadSignatureError, DecodeError
from joserfc.jwk import OKPKey

from carbon.services import footprints_catch_up
from tests.factories import make_partner
from tests.loop import build_loop
from tests.verifiers import node_verify
from traceability import services
from traceability.credentials.services import credential_issue, credential_supersede
from traceability.models import EventRecord, SigningKey, TraceableObject

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    # RFC 9864 prefers the fully specified "Ed25519"; VC-JOSE-COSE and UNTP still name EdDSA.
    pytest.mark.filterwarnings("ignore:EdDSA is deprecated"),
]


@pytest.fixture
def served(live_server, settings):  # type: ignore[no-untyped-def]
    """An issuer whose credentials name the live server: a superseded credential and its successor."""
    settings.CREDENTIALS_BASE_URL = live_server.url
    settings.CREDENTIALS_DID_HOST = urlsplit(live_server.url).netloc
    partner = make_partner("nordic-remelt", role="remelter")

    def issue(version: int):  # type: ignore[no-untyped-def]
        return credential_issue(
            organisation=partner.organisation,
            kind="DigitalProductPassport",
            subject="passport:PACK-1",
            public=True,
            credential={
                "@context": [
                    "https://www.w3.org/ns/credentials/v2",
                    "https://vocabulary.uncefact.org/untp/0.7.0/context/",
                ],
                "type": ["VerifiableCredential", "DigitalProductPassport"],
                "credentialSubject": {
                    "type": ["Product"],
                    "id": "https://id.example/01/09506000134352/21/PACK-1",
                    "name": f"Battery pack PACK-1, passport version {version}",
                },
            },
        )

    old, new = issue(1), issue(2)
    credential_supersede(organisation=partner.organisation, credential=old, by=new)
    return live_server.url, old, new, issue


def tampered(text: str) -> str:
    """``text`` with one byte of the credential subject's name changed."""
    at = text.index("passport version") + len("passport ")
    return text[:at] + ("V" if text[at] != "V" else "v") + text[at + 1 :]


def test_joserfc_verifies_the_jwt_with_the_key_from_the_did_document(served):
    server, _, credential, _ = served
    with httpx.Client(base_url=server, timeout=10) as http:
        token = http.get(f"/credentials/{credential.public_id}", headers={"Accept": "application/vc+jwt"}).text
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        did = header["kid"].partition("#")[0]
        slug = did.split(":")[-1]
        document = http.get(f"/orgs/{slug}/did.json").json()
    assert document["id"] == did and header["kid"] in document["assertionMethod"]
    (method,) = [m for m in document["verificationMethod"] if m["id"] == header["kid"]]
    key = OKPKey.import_key(method["publicKeyJwk"])
    # when
    verified = jws.deserialize_compact(token, key, algorithms=["EdDSA"])
    # then
    assert verified.protected == {"alg": "EdDSA", "typ": "vc+jwt", "cty": "vc", "kid": header["kid"]}
    assert json.loads(verified.payload) == {
        k: v for k, v in json.loads(credential.secured_json).items() if k != "proof"
    }
    # one byte of the payload changed: the signature no longer holds
    _, payload, signature = token.split(".")
    forged_payload = tampered(base64.urlsafe_b64decode(payload + "==").decode())
    forged = ".".join(
        [token.split(".")[0], base64.urlsafe_b64encode(forged_payload.encode()).rstrip(b"=").decode(), signature]
    )
    with pytest.raises((BadSignatureError, DecodeError)):
        jws.deserialize_compact(forged, key, algorithms=["EdDSA"])


def test_a_javascript_data_integrity_verifier_accepts_it_and_reads_its_status(served, js_verifier, tmp_path):
    server, old, new, _ = served
    with httpx.Client(base_url=server, timeout=10) as http:
        current = http.get(f"/credentials/{new.public_id}", headers={"Accept": "application/vc"}).text
        superseded = http.get(f"/credentials/{old.public_id}").text
    (tmp_path / "current.json").write_text(current)
    (tmp_path / "superseded.json").write_text(superseded)
    (tmp_path / "tampered.json").write_text(tampered(current))

    code, result = node_verify(js_verifier, tmp_path / "current.json", server)
    assert (code, result["verified"], result["errors"]) == (0, True, [])
    assert result["status"]["checked"] is True and result["status"]["set"] is False
    assert result["status"]["purpose"] == "revocation" and result["status"]["listBits"] == 131_072

    code, result = node_verify(js_verifier, tmp_path / "superseded.json", server)
    assert (code, result["verified"]) == (0, True)  # its proof still holds ...
    assert result["status"]["checked"] is True and result["status"]["set"] is True  # ... and it is revoked

    code, result = node_verify(js_verifier, tmp_path / "tampered.json", server)
    assert (code, result["verified"]) == (1, False)
    assert result["errors"]


def test_a_credential_signed_before_a_key_rotation_still_verifies_and_a_new_one_uses_the_new_key(
    served, js_verifier, tmp_path
):
    server, _, new, issue = served
    key = SigningKey.objects.get(key_id=new.key_id)
    # when
    services.signing_key_rotate(key=key)
    after = issue(3)
    # then
    assert after.key_id != new.key_id
    with httpx.Client(base_url=server, timeout=10) as http:
        document = http.get("/orgs/nordic-remelt/did.json").json()
        for record, name in ((new, "before.json"), (after, "after.json")):
            (tmp_path / name).write_text(http.get(f"/credentials/{record.public_id}").text)
    rotated = [m for m in document["verificationMethod"] if m.get("ledgerKeyId") == new.key_id]
    assert len(rotated) == 2 and all("revoked" in m for m in rotated)
    assert {m["id"] for m in rotated} <= set(document["assertionMethod"])  # it asserts what it signed before
    for name in ("before.json", "after.json"):
        code, result = node_verify(js_verifier, tmp_path / name, server)
        assert (name, code, result["verified"], result["errors"]) == (name, 0, True, [])


# --- credentials issued on demand, as their URLs serve them --------------------------------------


def jwt_payload(http: httpx.Client, token: str) -> dict[str, object]:
    """The JWT's payload once joserfc has verified it with the key the issuer's did.json names."""
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    did, _, _ = header["kid"].partition("#")
    document = http.get(f"/orgs/{did.split(':')[-1]}/did.json").json()
    assert document["id"] == did and header["kid"] in document["assertionMethod"]
    (method,) = [m for m in document["verificationMethod"] if m["id"] == header["kid"]]
    verified = jws.deserialize_compact(token, OKPKey.import_key(method["publicKeyJwk"]), algorithms=["EdDSA"])
    return json.loads(verified.payload)


def test_event_and_part_credentials_issued_on_demand_pass_both_verifiers(live_server, settings, js_verifier, tmp_path):
    # given: a loop whose credentials, issued on request, name the live server
    settings.CREDENTIALS_BASE_URL = live_server.url
    settings.CREDENTIALS_DID_HOST = urlsplit(live_server.url).netloc
    loop = build_loop()
    footprints_catch_up()
    seq = EventRecord.objects.get(operation="die_casting").entry_id
    tray = TraceableObject.objects.get(identifier=loop.trays[0])
    member = {"Authorization": f"Api-Key {loop.die_caster.api_key}"}
    served = {
        "event": (f"/api/v1/events/{seq}/credential", member, "Die-casting"),
        "part": (f"/part/{tray.pk}", {}, "Battery tray"),
    }
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        for name, (path, headers, phrase) in served.items():
            # when
            token = http.get(path, headers={**headers, "Accept": "application/vc+jwt"}).text
            secured = http.get(path, headers={**headers, "Accept": "application/vc"}).text
            # then: joserfc verifies the JWT, whose payload is the Data Integrity form without its proof
            payload = jwt_payload(http, token)
            assert payload == {k: v for k, v in json.loads(secured).items() if k != "proof"}, name
            assert payload["issuer"]["id"].endswith(":orgs:castline")  # type: ignore[index]
            # ... and the JavaScript verifier the Data Integrity form, its status read from the server
            (tmp_path / f"{name}.json").write_text(secured)
            code, result = node_verify(js_verifier, tmp_path / f"{name}.json", live_server.url)
            assert (name, code, result["verified"], result["errors"]) == (name, 0, True, [])
            assert result["status"]["checked"] is True and result["status"]["set"] is False
            # one byte changed: both refuse it
            at = secured.index(phrase)
            (tmp_path / f"{name}-tampered.json").write_text(secured[:at] + phrase.upper() + secured[at + len(phrase) :])
            code, result = node_verify(js_verifier, tmp_path / f"{name}-tampered.json", live_server.url)
            assert (name, code, result["verified"]) == (name, 1, False)
            head, body, signature = token.split(".")
            forged = base64.urlsafe_b64decode(body + "==").decode().replace(phrase, phrase.upper(), 1)
            forged_body = base64.urlsafe_b64encode(forged.encode()).rstrip(b"=").decode()
            with pytest.raises((BadSignatureError, DecodeError)):
                jwt_payload(http, f"{head}.{forged_body}.{signature}")
