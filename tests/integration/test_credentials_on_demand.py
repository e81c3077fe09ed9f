"""Credentials issued on demand, through HTTP: the Digital Traceability Event of a ledger event at
``/api/v1/events/<seq>/credential`` and a die-cast part's Digital Product Passport at its passport
URL by ``Accept``. Issued on the first request by the organisation that owns the fact, then the
same bytes; one credential however many first requests race; a part's changed figures supersede."""

import json
import threading

import pytest
from django.db import connections
from django.test import Client

from carbon.models import FootprintResult
from carbon.services import footprints_catch_up
from tests.factories import make_partner, make_site
from tests.integration.test_untp_credentials import valid_untp
from tests.loop import build_loop
from traceability import events, services
from traceability.choices import Operation
from traceability.credentials import on_demand, selectors
from traceability.credentials.core import statuslist
from traceability.models import Credential, EpcisEvent, EventRecord, LedgerEntry, Site, TraceableObject

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

BASE = "https://id.looptrace.example"
JWT = "application/vc+jwt"
VC = "application/vc"
# Only a bound on a wait that, when both requests run, ends as soon as both have looked once.
RACE_DEADLINE_SECONDS = 30
LATEST_CREDENTIAL = on_demand.latest_credential


@pytest.fixture(autouse=True)
def _credential_urls(settings):  # type: ignore[no-untyped-def]
    settings.CREDENTIALS_BASE_URL = BASE
    settings.CREDENTIALS_DID_HOST = "id.looptrace.example"


@pytest.fixture
def loop(db):  # type: ignore[no-untyped-def]
    built = build_loop()
    footprints_catch_up()
    return built


def as_member(api_key: str | None) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Api-Key {api_key}"} if api_key else {}


def casting_seq() -> int:
    return EventRecord.objects.get(operation=Operation.DIE_CASTING).entry_id


def issued_facts() -> int:
    return LedgerEntry.objects.filter(kind="credential.issued").count()


# --- events -------------------------------------------------------------------------------------


def test_an_events_credential_is_issued_by_its_recorder_on_the_first_request_then_served_as_stored(loop):
    # given
    seq = casting_seq()
    path = f"/api/v1/events/{seq}/credential"
    member = as_member(loop.die_caster.api_key)
    assert not Credential.objects.exists()
    # when
    first = Client().get(path, HTTP_ACCEPT=JWT, **member)
    # then: issued once, by the recorder, about the event's canonical hash, not public
    assert first.status_code == 200, first.content
    assert first["Content-Type"] == JWT and first["Cache-Control"] == "private, no-store"
    (record,) = Credential.objects.all()
    indexed = EpcisEvent.objects.get(entry_id=seq)
    assert (record.kind, record.subject, record.public) == ("DigitalTraceabilityEvent", indexed.event_hash, False)
    assert record.organisation == loop.die_caster.organisation
    assert first.content == record.jwt.encode()
    facts = issued_facts()
    assert facts == 1
    # the same bytes from then on, in each form, and nothing more issued
    assert Client().get(path, HTTP_ACCEPT=JWT, **member).content == first.content
    as_vc = Client().get(path, HTTP_ACCEPT=VC, **member)
    plain = Client().get(path, **member)
    assert as_vc["Content-Type"] == VC and as_vc.content == record.secured_json.encode()
    assert plain["Content-Type"] == "application/json" and plain.content == record.secured_json.encode()
    assert Credential.objects.count() == 1 and issued_facts() == facts
    credential = json.loads(as_vc.content)
    assert credential["type"] == ["DigitalTraceabilityEvent", "VerifiableCredential"]
    assert valid_untp(credential)
    assert credential["issuer"]["id"] == selectors.organisation_did(loop.die_caster.organisation)
    (event,) = credential["credentialSubject"]
    assert event["id"] == indexed.event_hash and event["type"][0] == "MakeEvent"
    assert event["relatedDocument"][1]["linkURL"] == f"{BASE}/api/v1/ledger/entries/{seq}"
    # found by what it is about
    found = selectors.credentials_about(subject=indexed.event_hash, reader=loop.die_caster.organisation)
    assert list(found) == [record]


def test_an_events_credential_is_for_the_readers_of_its_document_only(loop):
    seq = casting_seq()
    path = f"/api/v1/events/{seq}/credential"
    stranger = make_partner("other-foundry", role="die_caster")
    regulator = make_partner("authority", role="regulator")
    # another tenant: 404, as for an event it cannot see
    assert Client().get(f"/api/v1/events/{seq}", **as_member(stranger.api_key)).status_code == 404
    refused = Client().get(path, HTTP_ACCEPT=JWT, **as_member(stranger.api_key))
    assert refused.status_code == 404 and refused.json()["code"] == "event_not_found"
    # the remelter sees the casting (it made the melt) but only its outline: the credential
    # carries the document, so it gets the same 404
    outline = Client().get(f"/api/v1/events/{seq}", **as_member(loop.remelter.api_key))
    assert outline.status_code == 200 and outline.json()["document"] is None
    refused = Client().get(path, **as_member(loop.remelter.api_key))
    assert refused.status_code == 404 and refused.json()["code"] == "event_not_found"
    # the public: refused as on the event itself
    anonymous = Client().get(path, HTTP_ACCEPT=JWT)
    assert anonymous.status_code == Client().get(f"/api/v1/events/{seq}").status_code in (401, 403)
    assert set(anonymous.json()) == {"code", "detail"}
    assert not Credential.objects.exists() and issued_facts() == 0
    # a regulator reads every document: the credential is issued, by the recorder
    audited = Client().get(path, HTTP_ACCEPT=VC, **as_member(regulator.api_key))
    assert audited.status_code == 200
    (record,) = Credential.objects.all()
    assert record.organisation == loop.die_caster.organisation
    assert json.loads(audited.content)["issuer"]["id"] == selectors.organisation_did(loop.die_caster.organisation)
    # not public: its own URL and its anchor answer the public, other tenants and the outline
    # reader 404, and the readers of the document (the regulator, the recorder) the same bytes
    for who in (None, stranger.api_key, loop.remelter.api_key):
        assert Client().get(f"/credentials/{record.public_id}", **as_member(who)).status_code == 404
        assert Client().get(f"/credentials/{record.public_id}/anchor", **as_member(who)).status_code == 404
    for who in (regulator.api_key, loop.die_caster.api_key):
        own = Client().get(f"/credentials/{record.public_id}", HTTP_ACCEPT=VC, **as_member(who))
        assert own.status_code == 200 and own.content == audited.content
        anchor = Client().get(f"/credentials/{record.public_id}/anchor", **as_member(who))
        assert anchor.status_code == 200 and anchor.json()["digest"] == record.digest


def test_bad_sequence_numbers_answer_json_4xx_and_issue_nothing(loop):
    member = as_member(loop.die_caster.api_key)
    first_entry = LedgerEntry.objects.order_by("seq").first().seq  # a key registration, no event
    for seq in ("0", "999999", "99999999999999999999999", str(2**63), "abc", "-1", "1.5", str(first_entry)):
        response = Client().get(f"/api/v1/events/{seq}/credential", HTTP_ACCEPT=JWT, **member)
        assert response.status_code == 404, (seq, response.content)
        assert set(response.json()) >= {"code", "detail"}, seq
    assert not Credential.objects.exists() and issued_facts() == 0


def foreign_event(**place: object) -> dict[str, object]:
    """An EPCIS event recorded as such (no Looptrace operation: no event record, only the EPCIS index)."""
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "TransformationEvent",
        "eventTime": "2026-11-02T10:00:00.000Z",
        "eventTimeZoneOffset": "+01:00",
        "inputQuantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.011111.LOT-A", "quantity": 12, "uom": "KGM"}],
        "outputQuantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.022222.LOT-B", "quantity": 11, "uom": "KGM"}],
        "bizStep": "commissioning",
        **place,
    }


def test_a_foreign_epcis_event_has_its_credential_and_one_that_cannot_be_mapped_answers_409(db):
    smelter = make_partner("foreign-smelter", role="remelter")
    site = make_site(smelter, "Smelter", country="NO", gln="4012345000016")
    mapped = events.ledger_append(
        organisation=smelter.organisation, document=foreign_event(bizLocation={"id": f"urn:epc:id:sgln:{site.gln}"})
    )
    nowhere = events.ledger_append(
        organisation=smelter.organisation, document=foreign_event(eventTime="2026-11-03T10:00:00.000Z")
    )
    member = as_member(smelter.api_key)
    served = Client().get(f"/api/v1/events/{mapped.seq}/credential", HTTP_ACCEPT=VC, **member)
    assert served.status_code == 200, served.content
    (event,) = json.loads(served.content)["credentialSubject"]
    assert event["type"][0] == "MakeEvent" and event["madeAtFacility"]["name"] == "Smelter"
    refused = Client().get(f"/api/v1/events/{nowhere.seq}/credential", HTTP_ACCEPT=VC, **member)
    assert refused.status_code == 409 and refused.json()["code"] == "untp_facility_unknown"
    assert Credential.objects.count() == issued_facts() == 1


def test_without_a_custodial_key_the_recorder_cannot_issue_409(loop):
    key = services.signing_key_revoke(key=loop.die_caster.custodial_key, reason="compromised")
    assert key.revoked_at is not None
    response = Client().get(
        f"/api/v1/events/{casting_seq()}/credential", HTTP_ACCEPT=JWT, **as_member(loop.die_caster.api_key)
    )
    assert response.status_code == 409 and response.json()["code"] == "custodial_key_missing"
    assert not Credential.objects.exists() and issued_facts() == 0


# --- parts --------------------------------------------------------------------------------------


def tray_of(loop, number: int = 0) -> TraceableObject:  # type: ignore[no-untyped-def]
    return TraceableObject.objects.get(identifier=loop.trays[number])


def status_bit(record: Credential) -> bool:
    """The credential's bit, as any verifier reads it from the served status list."""
    entry = json.loads(record.secured_json)["credentialStatus"]
    path = entry["statusListCredential"].removeprefix(BASE)
    served = json.loads(Client().get(path, HTTP_ACCEPT=VC).content)
    return statuslist.bit_get(
        statuslist.decode_list(served["credentialSubject"]["encodedList"]), int(entry["statusListIndex"])
    )


def test_a_parts_passport_url_serves_its_product_passport_credential_to_anyone(loop):
    tray = tray_of(loop)
    path = f"/part/{tray.pk}"
    # when: the public asks first
    first = Client().get(path, HTTP_ACCEPT=JWT)
    # then: issued by the caster, public, about the part
    assert first.status_code == 200, first.content
    assert first["Content-Type"] == JWT and first["Access-Control-Allow-Origin"] == "*"
    assert "Accept" in first["Vary"]
    (record,) = Credential.objects.all()
    assert (record.kind, record.subject, record.public) == ("DigitalProductPassport", tray.identifier, True)
    assert record.organisation == loop.die_caster.organisation and first.content == record.jwt.encode()
    # the same bytes for everyone after, in each form; the page and its JSON are unchanged
    assert Client().get(path, HTTP_ACCEPT=JWT, **as_member(loop.remelter.api_key)).content == first.content
    as_vc = Client().get(path, HTTP_ACCEPT=f"text/html;q=0.5, {VC}")
    assert as_vc["Content-Type"] == VC and as_vc.content == record.secured_json.encode()
    assert Client().get(path, HTTP_ACCEPT="application/json").json()["part"] == tray.identifier
    assert Client().get(path, HTTP_ACCEPT="text/html,*/*;q=0.8")["Content-Type"].startswith("text/html")
    assert Client().get(f"/credentials/{record.public_id}").content == record.secured_json.encode()
    assert Credential.objects.count() == 1 and issued_facts() == 1
    # public tier only: no provenance, no source, no factor reference
    assert valid_untp(json.loads(as_vc.content))
    subject = json.loads(as_vc.content)["credentialSubject"]
    assert subject["id"] == tray.identifier and subject["dimensions"]["weight"]["value"] == 55.0
    text = as_vc.content.decode()
    assert "provenance" not in text and "sources" not in text and "factor" not in text.lower()
    for vehicle in loop.vehicles:
        assert vehicle not in text


def test_a_changed_part_figure_issues_a_new_credential_and_supersedes_the_old(loop):
    tray = tray_of(loop)
    path = f"/part/{tray.pk}"
    old_jwt = Client().get(path, HTTP_ACCEPT=JWT).content
    (old,) = Credential.objects.all()
    assert Client().get(path, HTTP_ACCEPT=JWT).content == old_jwt  # unchanged: no new one
    # when: a recomputation gives the part another footprint (as a new factor version would)
    result = FootprintResult.objects.get(node=tray, method="cut_off", chain="physical")
    FootprintResult.objects.filter(pk=result.pk).update(total_per_kg=result.total_per_kg + 0.25)
    served = Client().get(path, HTTP_ACCEPT=VC)
    # then
    assert served.status_code == 200
    new = Credential.objects.get(subject=tray.identifier, state="current")
    old.refresh_from_db()
    assert new.pk != old.pk and served.content == new.secured_json.encode()
    assert (old.state, old.superseded_by_id) == ("superseded", new.pk)
    claims = {c["id"].split("#")[1]: c for c in json.loads(served.content)["credentialSubject"]["performanceClaim"]}
    total = claims["footprint-cut_off"]["claimedPerformance"][0]["measure"]["value"]
    assert total == pytest.approx(result.total_per_kg + 0.25, rel=1e-9)
    assert status_bit(old) is True and status_bit(new) is False
    # and the new one is served from then on
    assert Client().get(path, HTTP_ACCEPT=VC).content == served.content
    assert Credential.objects.count() == 2 and issued_facts() == 2


def test_a_part_without_its_footprint_yet_an_incomplete_one_and_unknown_parts_answer_json(loop):
    tray = tray_of(loop)
    FootprintResult.objects.filter(node=tray).delete()
    pending = Client().get(f"/part/{tray.pk}", HTTP_ACCEPT=JWT)
    assert pending.status_code == 409 and pending.json()["code"] == "part_footprint_pending"
    for pk in (999999, 99999999999999999999):
        missing = Client().get(f"/part/{pk}", HTTP_ACCEPT=JWT)
        assert missing.status_code == 404 and set(missing.json()) >= {"code", "detail"}
    other = tray_of(loop, 1)
    Site.objects.filter(pk=other.site_id).update(country="")
    incomplete = Client().get(f"/part/{other.pk}", HTTP_ACCEPT=JWT)
    assert incomplete.status_code == 409 and incomplete.json()["code"] == "part_incomplete"
    vehicle = TraceableObject.objects.get(identifier=loop.vehicles[0])  # no part passport
    assert Client().get(f"/part/{vehicle.pk}", HTTP_ACCEPT=VC).status_code == 404
    assert not Credential.objects.exists()


# --- concurrent first requests -------------------------------------------------------------------


def race(monkeypatch, paths: list[tuple[str, dict[str, str]]]) -> list:  # type: ignore[no-untyped-def, type-arg]
    """Send the requests at once, each thread holding on after its first look for a credential until
    every other has looked too: all of them find none, so all of them go on to issue."""
    looked = threading.Barrier(len(paths), timeout=RACE_DEADLINE_SECONDS)
    local = threading.local()

    def latest_then_wait(**kwargs):  # type: ignore[no-untyped-def]
        found = LATEST_CREDENTIAL(**kwargs)
        if not getattr(local, "looked", False):
            local.looked = True
            looked.wait()
        return found

    monkeypatch.setattr(on_demand, "latest_credential", latest_then_wait)
    responses: list = [None] * len(paths)

    def send(number: int) -> None:
        try:
            path, headers = paths[number]
            responses[number] = Client().get(path, HTTP_ACCEPT=JWT, **headers)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(paths))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return responses


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_requests_get_one_credential(monkeypatch):
    # given
    loop = build_loop()
    footprints_catch_up()
    seq, tray = casting_seq(), tray_of(loop)
    member = as_member(loop.die_caster.api_key)
    # when
    event_answers = race(monkeypatch, [(f"/api/v1/events/{seq}/credential", member)] * 3)
    part_answers = race(monkeypatch, [(f"/part/{tray.pk}", {})] * 3)
    # then
    for responses in (event_answers, part_answers):
        assert [r.status_code for r in responses] == [200] * 3, [r.content[:200] for r in responses]
        assert len({r.content for r in responses}) == 1
    (event_credential,) = Credential.objects.filter(kind="DigitalTraceabilityEvent")
    # (the battery passports' own credentials are issued as the loop's passports follow the ledger)
    (part_credential,) = Credential.objects.filter(kind="DigitalProductPassport", subject=tray.identifier)
    subjects = (event_credential.subject, part_credential.subject)
    facts = [
        entry.seq
        for entry in LedgerEntry.objects.filter(kind="credential.issued")
        if any(json.dumps(subject)[1:-1] in entry.document for subject in subjects)
    ]
    assert sorted(facts) == sorted({event_credential.anchor_seq, part_credential.anchor_seq})
