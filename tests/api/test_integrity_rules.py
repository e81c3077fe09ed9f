"""Integrity rules through the partner API: custody at the event's time, who can receive custody,
plausible event times, a keyId without its signature, and the platform key chosen by custody."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import make_partner, make_site, object_event
from traceability import services
from traceability.ledger import checkpoint as notes
from traceability.ledger.signing import generate_private_key, public_key_raw
from traceability.models import Checkpoint, LedgerEntry, Membership, TraceableObject
from traceability.selectors import entry_verification, ledger_size, merkle_root
from traceability.verification import verify_ledger

pytestmark = pytest.mark.django_db


def client_for(partner) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}")
    return client


@pytest.fixture
def parties(db):
    dismantler = make_partner("autocirc", role="dismantler")
    remelter = make_partner("nordic-remelt", role="remelter")
    return {
        "dismantler": (dismantler, make_site(dismantler, "Yard"), client_for(dismantler)),
        "remelter": (remelter, make_site(remelter, "Remelt shop"), client_for(remelter)),
    }


def receipt(client: APIClient, site, *, time: str, code: str = "S-1") -> str:
    response = client.post(
        "/api/v1/operations/material-receipt",
        {
            "site": site.pk,
            "eventTime": time,
            "lots": [{"code": code, "kind": "scrap_lot", "mass": "100 kg", "supplier": "Bodyshop"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()["created"][0]


def transfer(client: APIClient, site, lot: str, receiver: str, *, time: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/operations/custody-transfer",
        {"site": site.pk, "lots": [{"identifier": lot, "mass": "100 kg"}], "receiver": receiver, "eventTime": time},
        format="json",
    )


def remelt(client: APIClient, site, lot: str, *, time: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/operations/remelting",
        {
            "site": site.pk,
            "eventTime": time,
            "inputs": [{"identifier": lot, "mass": "100 kg"}],
            "output": {"code": "M-1", "mass": "95 kg"},
            "meltLoss": "5 kg",
            "naturalGas": "10 m**3",
            "electricity": "20 kWh",
        },
        format="json",
    )


# --- custody at the event's time ------------------------------------------------------------


def test_a_lot_is_consumed_only_after_it_was_transferred_to_the_consumer(parties):
    # given: the dismantler receives a lot on the 1st and ships it to the remelter on the 5th
    _, yard, dismantler = parties["dismantler"]
    _, shop, remelter = parties["remelter"]
    lot = receipt(dismantler, yard, time="2026-10-01T08:00:00Z")
    assert transfer(dismantler, yard, lot, "nordic-remelt", time="2026-10-05T08:00:00Z").status_code == 201
    size = ledger_size()

    # when: the remelter melts it on the 3rd, when the dismantler still held it
    early = remelt(remelter, shop, lot, time="2026-10-03T08:00:00Z")

    # then
    assert early.status_code == 400
    assert early.json()["code"] == "not_custodian_at_event_time"
    assert early.json()["identifier"] == lot
    assert ledger_size() == size
    assert TraceableObject.objects.get(identifier=lot).remaining_kg == 100
    assert remelt(remelter, shop, lot, time="2026-10-05T09:00:00Z").status_code == 201


def test_a_transfer_onward_is_dated_after_the_transfer_in(parties):
    _, yard, dismantler = parties["dismantler"]
    _, shop, remelter = parties["remelter"]
    make_partner("castline", role="die_caster")
    lot = receipt(dismantler, yard, time="2026-10-01T08:00:00Z")
    transfer(dismantler, yard, lot, "nordic-remelt", time="2026-10-05T08:00:00Z")
    size = ledger_size()

    onward = transfer(remelter, shop, lot, "castline", time="2026-10-04T08:00:00Z")

    assert onward.status_code == 400 and onward.json()["code"] == "not_custodian_at_event_time"
    assert ledger_size() == size
    assert TraceableObject.objects.get(identifier=lot).custodian.slug == "nordic-remelt"


# --- who can receive custody ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("receiver", "code"),
    [("autocirc", "custody_to_self"), ("market-watch", "receiver_cannot_hold"), ("looptrace", "receiver_cannot_hold")],
)
def test_custody_passes_only_to_another_organisation_that_holds_material(parties, receiver, code):
    # given: a regulator; the platform operator ("looptrace") exists since the first ledger write
    make_partner("market-watch", role="regulator")
    _, yard, dismantler = parties["dismantler"]
    lot = receipt(dismantler, yard, time="2026-10-01T08:00:00Z")
    size = ledger_size()

    # when
    response = transfer(dismantler, yard, lot, receiver, time="2026-10-02T08:00:00Z")

    # then
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == code
    assert ledger_size() == size
    assert TraceableObject.objects.get(identifier=lot).custodian.slug == "autocirc"


def test_a_molten_delivery_to_a_regulators_site_is_refused(parties):
    regulator = make_partner("market-watch", role="regulator")
    office = make_site(regulator, "Inspectorate")
    _, shop, remelter = parties["remelter"]
    lot = receipt(remelter, shop, time="2026-10-01T08:00:00Z")
    melt = remelt(remelter, shop, lot, time="2026-10-02T08:00:00Z").json()["created"][0]
    size = ledger_size()

    response = remelter.post(
        "/api/v1/operations/molten-transfer",
        {
            "site": shop.pk,
            "lot": {"identifier": melt, "mass": "95 kg"},
            "destinationSite": office.pk,
            "temperature": "720 degC",
            "distance": "5 km",
            "eventTime": "2026-10-02T09:00:00Z",
        },
        format="json",
    )

    assert response.status_code == 400 and response.json()["code"] == "receiver_cannot_hold"
    assert ledger_size() == size


def test_the_console_offers_molten_deliveries_only_to_sites_of_organisations_that_hold_material(parties):
    remelter, _, _ = parties["remelter"]
    caster = make_partner("castline", role="die_caster")
    make_site(caster, "Press hall")
    make_site(make_partner("market-watch", role="regulator"), "Inspectorate")
    user = get_user_model().objects.create_user("melter")
    Membership.objects.create(user=user, organisation=remelter.organisation)
    console = Client()
    console.force_login(user)

    page = console.get("/app/record/molten-transfer/").content.decode()

    assert "Press hall (Castline)" in page
    assert "Inspectorate" not in page


# --- plausible event times --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("time", "code"),
    [("0001-01-01T00:00:00Z", "event_time_too_early"), ("1999-12-31T23:59:59Z", "event_time_too_early")],
)
def test_an_operation_dated_before_the_earliest_plausible_time_is_refused(parties, time, code):
    _, shop, remelter = parties["remelter"]
    size = ledger_size()

    response = remelter.post(
        "/api/v1/operations/material-receipt",
        {
            "site": shop.pk,
            "eventTime": time,
            "lots": [{"code": "P-1", "kind": "primary_ingot", "mass": "1 t", "supplier": "Smelter"}],
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert ledger_size() == size


def test_the_earliest_plausible_time_itself_is_accepted(parties):
    _, shop, remelter = parties["remelter"]
    assert receipt(remelter, shop, time="2000-01-01T00:00:00Z")


def test_epcis_events_dated_too_early_or_in_the_future_are_refused_on_every_path(partner):
    client = client_for(partner)
    future = (timezone.now() + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    size = ledger_size()

    captured = client.post(
        "/epcis/capture",
        {
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2026-11-01T10:00:00Z",
            "epcisBody": {
                "eventList": [
                    object_event(1, eventTime="0001-01-01T00:00:00.000Z"),
                    object_event(2),
                    object_event(3, eventTime=future),
                ]
            },
        },
        format="json",
        HTTP_GS1_CAPTURE_ERROR_BEHAVIOUR="proceed",
    )
    job = client.get(captured["Location"]).json()
    single = client.post("/epcis/events", object_event(4, eventTime="1970-01-01T00:00:00.000Z"), format="json")
    ledger = client.post("/api/v1/ledger/entries", {"document": object_event(5, eventTime=future)}, format="json")

    assert [(e["code"], e["eventIndex"]) for e in job["errors"]] == [
        ("event_time_too_early", 0),
        ("event_time_in_future", 2),
    ]
    assert job["capturedCount"] == 1
    assert (single.status_code, single.json()["code"]) == (400, "event_time_too_early")
    assert (ledger.status_code, ledger.json()["code"]) == (400, "event_time_in_future")
    assert ledger_size() == size + 1


# --- a keyId names the key that signed --------------------------------------------------------


def test_a_key_id_without_a_signature_is_refused_not_signed_custodially(partner):
    client = client_for(partner)
    size = ledger_size()

    one = client.post(
        "/api/v1/ledger/entries", {"document": object_event(1), "keyId": partner.client_key.key_id}, format="json"
    )
    batch = client.post(
        "/api/v1/ledger/batches",
        {"entries": [{"document": object_event(2)}, {"document": object_event(3), "keyId": partner.client_key.key_id}]},
        format="json",
    )

    assert (one.status_code, one.json()["code"]) == (400, "signature_missing")
    assert (batch.status_code, batch.json()["code"]) == (400, "signature_missing")
    assert ledger_size() == size
    # without either, the platform signs with the custodial key, as documented
    custodial = client.post("/api/v1/ledger/entries", {"document": object_event(4)}, format="json")
    assert custodial.status_code == 201 and custodial.json()["keyId"] == partner.custodial_key.key_id


# --- the platform's key is chosen by custody ----------------------------------------------------


def test_a_client_key_of_the_operator_never_signs_platform_facts_or_checkpoints(db):
    # given: the ledger exists, then a client-side key is registered for the operator's organisation
    genesis_key, _ = services.platform_signing_key()
    operator = services.platform_organisation()
    operator_private = generate_private_key()
    client_key = services.signing_key_register(organisation=operator, public_key=public_key_raw(operator_private))

    # when: platform facts and a checkpoint follow
    partner = make_partner("after-the-client-key", role="dismantler")
    checkpoint = services.ledger_checkpoint_create()

    # then: they are signed with the platform's own key, and everything verifies
    facts = LedgerEntry.objects.filter(seq__gt=client_key.registered_seq, organisation=operator)
    assert facts.count() >= 3 and set(facts.values_list("key_id", flat=True)) == {genesis_key.key_id}
    assert partner.organisation.slug == "after-the-client-key"
    verification = entry_verification(seq=checkpoint.tree_size)
    assert verification.ok, verification.checks
    report = verify_ledger(processes=1)
    assert report.ok, report.failures


def test_a_checkpoint_signed_with_the_operators_client_key_does_not_verify(db, settings):
    # given: the operator's client key signs the current tree head, stored as the latest checkpoint
    operator_private = generate_private_key()
    services.signing_key_register(
        organisation=services.platform_organisation(), public_key=public_key_raw(operator_private)
    )
    size = ledger_size()
    root = merkle_root(tree_size=size)
    origin = settings.LEDGER_ORIGIN
    forged = notes.sign_checkpoint(notes.Checkpoint(origin=origin, size=size, root_hash=root), origin, operator_private)
    Checkpoint.objects.create(tree_size=size, root_hash=root.hex(), note=forged, created_at=timezone.now())

    # when
    verification = entry_verification(seq=size)
    report = verify_ledger(processes=1, trusted_checkpoint=forged)

    # then
    assert ("checkpoint", False, "the platform signed the checkpoint") in verification.checks
    assert {f.code for f in report.failures} == {"checkpoint_signature_invalid", "trusted_checkpoint_signature_invalid"}
