"""Battery passport versions issued as UNTP 0.7.0 verifiable credentials, kept current by their status
bits, and served at the passport's own URLs and in its Digital Link's linkset."""

import base64
import json
from decimal import Decimal
from urllib.parse import urlsplit

import httpx
import pytest
from django.test import Client
from joserfc import jws
from joserfc.errors import BadSignatureError, DecodeError
from joserfc.jwk import OKPKey

from carbon.services import footprints_catch_up
from passport import selectors, services
from passport.models import Passport
from passport.resolver import UNTP_LINK_TYPES
from tests.factories import make_partner, make_site
from tests.integration.test_untp_credentials import valid_untp
from tests.loop import at, build_loop
from tests.verifiers import node_verify
from traceability.choices import CredentialKind, CredentialState
from traceability.credentials import selectors as credential_selectors
from traceability.credentials.core import statuslist
from traceability.credentials.core.verify import verify_credential
from traceability.models import Credential, LedgerEntry, SigningKey
from traceability.operations import services as ops
from traceability.services import signing_key_revoke

pytestmark = [
    pytest.mark.postgres,
    # RFC 9864 prefers the fully specified "Ed25519"; VC-JOSE-COSE and UNTP still name EdDSA.
    pytest.mark.filterwarnings("ignore:EdDSA is deprecated"),
]
JWT = "application/vc+jwt"
DI = "application/vc"


def follow() -> None:
    footprints_catch_up()
    services.passports_catch_up()


@pytest.fixture
def loop(db):  # type: ignore[no-untyped-def]
    built = build_loop()
    follow()
    return built


def passport_of(identifier: str) -> Passport:
    return Passport.objects.select_related("battery__created_by").get(battery__identifier=identifier)


def claims(passport: Passport, number: int) -> dict[str, Credential]:
    version = passport.versions.get(number=number)
    return {selectors.credential_claim(c): c for c in selectors.version_credentials(version=version)}


def grade_for_recycling(loop) -> None:  # type: ignore[no-untyped-def]
    ops.battery_grading(
        organisation=loop.dismantler.organisation,
        site=loop.dismantling_site,
        battery=loop.packs[0],
        state_of_health_pct=Decimal("71.5"),
        capacity_kwh=Decimal("53.6"),
        route="recycling",
        event_time=at(20),
    )
    follow()


def status_bit(client: Client, credential: Credential) -> bool:
    """The credential's bit, read from the status list the server serves (its signed JSON form)."""
    served = json.loads(client.get(f"/credentials/{credential.public_id}", HTTP_ACCEPT=DI).content)
    entry = served["credentialStatus"]
    listed = client.get(urlsplit(entry["statusListCredential"]).path, HTTP_ACCEPT=DI)
    return statuslist.status_of(entry, json.loads(listed.content))


def test_every_passport_version_is_issued_as_a_passport_and_two_conformity_credentials(loop):
    for pack in loop.packs:
        passport = passport_of(pack)
        issuer = passport.battery.created_by
        did_document = credential_selectors.organisation_did_document(issuer)
        found = claims(passport, 1)
        assert list(found) == ["dpp", "art-7", "art-8"]
        assert [c.kind for c in found.values()] == [
            CredentialKind.PRODUCT_PASSPORT,
            CredentialKind.CONFORMITY_CREDENTIAL,
            CredentialKind.CONFORMITY_CREDENTIAL,
        ]
        for claim, credential in found.items():
            assert credential.public and credential.state == CredentialState.CURRENT
            assert credential.organisation == issuer
            content = json.loads(credential.secured_json)
            assert valid_untp(content)
            assert content["issuer"]["id"] == did_document["id"] == credential_selectors.organisation_did(issuer)
            assert str(passport.urn) in json.dumps(content["credentialSubject"])
            # both forms verify against the issuer's DID document
            for form in (credential.jwt, credential.secured_json):
                verdict = verify_credential(form, did_document=did_document)
                assert (claim, verdict.verified, verdict.errors) == (claim, True, [])
            # anchored: the credential.issued ledger fact carries its digest
            assert credential.digest in LedgerEntry.objects.get(seq=credential.anchor_seq).document
        dpp = json.loads(found["dpp"].secured_json)
        assert "DigitalProductPassport" in dpp["type"]
        assert "version 1" in dpp["credentialSubject"]["description"]


def test_a_new_version_supersedes_the_old_credentials_and_their_bits_are_set(loop):
    client = Client()
    passport = passport_of(loop.packs[0])
    before = claims(passport, 1)
    assert not any(status_bit(client, c) for c in before.values())
    # when
    grade_for_recycling(loop)
    # then
    after = claims(passport, 2)
    assert list(after) == ["dpp", "art-7", "art-8"]
    for claim, old in before.items():
        old.refresh_from_db()
        assert old.state == CredentialState.SUPERSEDED and old.superseded_by == after[claim]
        assert status_bit(client, old) is True
        assert status_bit(client, after[claim]) is False
        fact = json.loads(LedgerEntry.objects.get(seq=old.state_seq).document)
        assert old.credential_id in json.dumps(fact) and after[claim].credential_id in json.dumps(fact)
    # the anchor endpoint says the same
    anchor = client.get(f"/credentials/{before['dpp'].public_id}/anchor").json()
    assert anchor["state"] == "superseded" and anchor["supersededBy"] == after["dpp"].credential_id


def test_a_ceased_passport_has_its_credentials_revoked(loop):
    client = Client()
    recycler = make_partner("voltcycle", role="battery_recycler")
    plant = make_site(recycler, "Pretreatment plant", country="PL")
    ops.custody_transfer(
        organisation=loop.dismantler.organisation,
        site=loop.dismantling_site,
        items=[loop.packs[2]],
        lots=[],
        receiver=recycler.organisation,
        event_time=at(20),
    )
    passport = passport_of(loop.packs[2])
    current = claims(passport, 1)
    # when
    ops.battery_recycling(
        organisation=recycler.organisation,
        site=plant,
        batteries=[loop.packs[2]],
        outputs=[ops.LotOut("black_mass", Decimal("200"), code="BM-1")],
        losses={"processLoss": Decimal("252")},
        event_time=at(22),
    )
    follow()
    # then: the ceasing version issues none; the last ones are revoked, bits set
    passport.refresh_from_db()
    last = passport.versions.order_by("-number").first()
    assert passport.ceased and last.ceased
    assert [c.pk for c in selectors.version_credentials(version=last)] == [c.pk for c in current.values()]
    for credential in current.values():
        credential.refresh_from_db()
        assert credential.state == CredentialState.REVOKED and status_bit(client, credential) is True
        assert "ceased" in json.loads(LedgerEntry.objects.get(seq=credential.state_seq).document)["reason"]
    # the passport URL still answers with its (revoked) credential
    answer = client.get(f"/api/v1/passports/{passport.pk}", HTTP_ACCEPT=JWT)
    assert answer.status_code == 200 and answer.content.decode() == current["dpp"].jwt


def test_the_passport_urls_answer_with_the_credential_the_accept_header_asks_for(loop):
    client = Client()
    passport = passport_of(loop.packs[0])
    first = claims(passport, 1)["dpp"]
    grade_for_recycling(loop)
    second = claims(passport, 2)["dpp"]
    for url in (f"/api/v1/passports/{passport.pk}", f"/passport/{passport.pk}", f"/passport/{passport.urn}"):
        jwt = client.get(url, HTTP_ACCEPT=JWT)
        assert (jwt.status_code, jwt["Content-Type"], jwt.content.decode()) == (200, JWT, second.jwt)
        assert jwt["Link"] == f'<{credential_selectors.credential_url(second)}/anchor>; rel="describedby"'
        secured = client.get(url, HTTP_ACCEPT=f"{DI}, application/json;q=0.9")
        assert (secured["Content-Type"], secured.content.decode()) == (DI, second.secured_json)
        earlier = client.get(f"{url}?version=1", HTTP_ACCEPT=JWT)
        assert earlier.content.decode() == first.jwt
        # JSON first, or no preference: the passport JSON as before
        plain = client.get(url, HTTP_ACCEPT=f"application/json, {JWT};q=0.5")
        assert plain["Content-Type"].startswith("application/json") and plain.json()["passportId"] == passport.urn
    missing = client.get(f"/api/v1/passports/{passport.pk}?version=99999999999", HTTP_ACCEPT=JWT)
    assert missing.status_code == 404 and missing.json()["code"] == "passport_version_not_found"
    unknown = client.get("/api/v1/passports/urn:looptrace:0000", HTTP_ACCEPT=JWT)
    assert unknown.status_code == 404 and set(unknown.json()) >= {"code", "detail"}


def test_the_digital_link_lists_the_credentials_and_sends_a_verifier_to_the_passport_credential(loop):
    client = Client()
    passport = passport_of(loop.packs[0])
    found = claims(passport, 1)
    path = f"/01/{passport.battery.attributes['gtin']}/21/{passport.battery.attributes['serialNumber']}"
    # the linkset
    (context,) = client.get(path, {"linkType": "linkset"}).json()["linkset"]
    dpp_links = context[f"{UNTP_LINK_TYPES}dpp"]
    dcc_links = context[f"{UNTP_LINK_TYPES}dcc"]
    url = credential_selectors.credential_url
    assert {(link["href"], link["type"]) for link in dpp_links} == {(url(found["dpp"]), JWT), (url(found["dpp"]), DI)}
    assert {link["href"] for link in dcc_links} == {url(found["art-7"]), url(found["art-8"])}
    # a verifier's scan: straight to the credential; a person's: the page, as before
    redirected = client.get(path, HTTP_ACCEPT=JWT)
    assert redirected.status_code == 307 and redirected["Location"] == url(found["dpp"])
    assert client.get(path, {"linkType": "untp:dcc"}, HTTP_ACCEPT=DI)["Location"] in {
        url(found["art-7"]),
        url(found["art-8"]),
    }
    assert client.get(path, HTTP_ACCEPT="text/html")["Location"].endswith(f"/passport/{passport.pk}")
    description = client.get("/.well-known/gs1resolver").json()
    assert "untp:dpp" in json.dumps(description) or f"{UNTP_LINK_TYPES}dpp" in json.dumps(description)


def test_an_issuer_that_signs_only_client_side_gets_no_credentials_and_the_url_says_so(db):
    loop = build_loop()
    for key in SigningKey.objects.filter(organisation=loop.dismantler.organisation, custody="platform"):
        signing_key_revoke(key=key, reason="compromised")
    # when
    follow()
    # then
    passport = passport_of(loop.packs[0])
    assert passport.battery.created_by == loop.dismantler.organisation
    assert passport.versions.count() == 1 and claims(passport, 1) == {}
    answer = Client().get(f"/api/v1/passports/{passport.pk}", HTTP_ACCEPT=JWT)
    assert answer.status_code == 404 and answer.json()["code"] == "credential_not_found"


@pytest.mark.django_db(transaction=True)
def test_independent_verifiers_accept_the_passport_credential_and_see_a_superseded_one_revoked(
    live_server, settings, js_verifier, tmp_path
):
    settings.CREDENTIALS_BASE_URL = live_server.url
    settings.CREDENTIALS_DID_HOST = urlsplit(live_server.url).netloc
    loop = build_loop()
    follow()
    passport = passport_of(loop.packs[0])
    grade_for_recycling(loop)
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        token = http.get(f"/api/v1/passports/{passport.pk}", headers={"Accept": JWT}).text
        old = http.get(f"/api/v1/passports/{passport.pk}?version=1", headers={"Accept": DI}).text
        new = http.get(f"/api/v1/passports/{passport.pk}", headers={"Accept": DI}).text
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        did = header["kid"].partition("#")[0]
        document = http.get(f"/orgs/{did.split(':')[-1]}/did.json").json()
    # joserfc, with the key from the served DID document
    (method,) = [m for m in document["verificationMethod"] if m["id"] == header["kid"]]
    key = OKPKey.import_key(method["publicKeyJwk"])
    assert json.loads(jws.deserialize_compact(token, key, algorithms=["EdDSA"]).payload)["issuer"]["id"] == did
    _, payload, signature = token.split(".")
    changed = base64.urlsafe_b64decode(payload + "==").replace(b"version 2", b"version 3")
    forged = ".".join([token.split(".")[0], base64.urlsafe_b64encode(changed).rstrip(b"=").decode(), signature])
    with pytest.raises((BadSignatureError, DecodeError)):
        jws.deserialize_compact(forged, key, algorithms=["EdDSA"])
    # Digital Bazaar's Data Integrity verifier, resolving the DID and the status list from the server
    for name, text in (("old", old), ("new", new), ("forged", new.replace("version 2", "version 3"))):
        (tmp_path / f"{name}.json").write_text(text)
    code, result = node_verify(js_verifier, tmp_path / "new.json", live_server.url)
    assert (code, result["verified"], result["errors"], result["status"]["set"]) == (0, True, [], False)
    code, result = node_verify(js_verifier, tmp_path / "old.json", live_server.url)
    assert (code, result["verified"], result["status"]["set"]) == (0, True, True)
    code, result = node_verify(js_verifier, tmp_path / "forged.json", live_server.url)
    assert (code, result["verified"]) == (1, False)


def test_the_passport_page_lists_its_credentials_with_their_status(loop):
    passport = passport_of(loop.packs[0])
    found = claims(passport, 1)
    grade_for_recycling(loop)
    page = Client().get(f"/passport/{passport.pk}", HTTP_ACCEPT="text/html").content.decode()
    for credential in claims(passport, 2).values():
        assert credential_selectors.credential_url(credential) in page
    assert not any(credential_selectors.credential_url(c) in page for c in found.values())
    assert "Carbon footprint declaration (Art. 7)" in page and "Recycled-content check (Art. 8)" in page
    assert "Current" in page and "Superseded" not in page


def test_answers_that_differ_by_accept_say_so_to_caches(loop):
    client = Client()
    passport = passport_of(loop.packs[0])
    for url in (f"/api/v1/passports/{passport.pk}", f"/passport/{passport.pk}"):
        client.get(url)  # fills the public cache of the API's JSON
        for accept in ("application/json", JWT, DI, "text/html"):
            answer = client.get(url, HTTP_ACCEPT=accept)
            assert answer.status_code == 200
            assert "accept" in answer.get("Vary", "").lower(), (url, accept, answer.get("Vary"))


def test_the_issuer_revokes_a_claim_and_no_one_else_can(loop):
    client = Client()
    passport = passport_of(loop.packs[0])
    declaration = claims(passport, 1)["art-7"]
    path = f"/credentials/{declaration.public_id}/revoke"
    issuer = {"HTTP_AUTHORIZATION": f"Api-Key {loop.dismantler.api_key}"}
    regulator = make_partner("market-surveillance", role="regulator")
    stranger = make_partner("other-yard", role="dismantler")
    # refused: the public, another tenant (the credential is public: it exists, it is not theirs),
    # a regulator, a bad body, a GET
    assert client.post(path, {"reason": "x"}, content_type="application/json").status_code in (401, 403)
    for who in (stranger, regulator):
        answer = client.post(
            path, {"reason": "x"}, content_type="application/json", HTTP_AUTHORIZATION=f"Api-Key {who.api_key}"
        )
        assert answer.status_code == 403 and answer.json()["code"] == "credential_not_yours"
    for body in ({}, {"reason": ""}, {"reason": 7}, {"reason": "x" * 201}, ["x"]):
        answer = client.post(path, body, content_type="application/json", **issuer)
        assert answer.status_code == 400 and answer.json()["code"] == "reason_invalid", body
    assert client.get(path, **issuer).status_code == 405
    declaration.refresh_from_db()
    assert declaration.state == CredentialState.CURRENT and status_bit(client, declaration) is False
    # when
    answer = client.post(path, {"reason": "footprint study withdrawn"}, content_type="application/json", **issuer)
    # then
    assert answer.status_code == 200 and answer.json()["state"] == "revoked"
    declaration.refresh_from_db()
    assert declaration.state == CredentialState.REVOKED and status_bit(client, declaration) is True
    fact = json.loads(LedgerEntry.objects.get(seq=declaration.state_seq).document)
    assert fact["reason"] == "footprint study withdrawn" and declaration.credential_id in json.dumps(fact)
    again = client.post(path, {"reason": "twice"}, content_type="application/json", **issuer)
    assert again.status_code == 409 and again.json()["code"] == "credential_not_current"
    # the next version issues a fresh declaration; the revoked one stays revoked
    grade_for_recycling(loop)
    declaration.refresh_from_db()
    assert declaration.state == CredentialState.REVOKED
    assert claims(passport, 2)["art-7"].state == CredentialState.CURRENT
