"""An object another organisation holds that the caller cannot see answers a write exactly as an
identifier that names nothing: the same status, code and detail (with the identifier the caller
sent), no label, no holder, and nothing stored. The ledger's Merkle proofs are public."""

import base64
import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import battery_code, make_partner, make_site, valid_vin
from traceability import visibility
from traceability.epcis.core.fields import canonical_id
from traceability.identifiers import battery_uri, local_uri, vehicle_uri
from traceability.ledger import merkle
from traceability.models import LedgerEntry, Membership, TraceableObject
from traceability.operations.battery_grading import BatteryGradingInput
from traceability.operations.battery_grading import build as grading_document
from traceability.selectors import ledger_size
from traceability.services import ledger_checkpoint_create

pytestmark = pytest.mark.django_db
OWNER = "autocirc"
# The owner's GS1 lot: an identifier (LGTIN) and a label of its own that no identifier contains.
LOT = "urn:epc:class:lgtin:4012345.011111.L7781"
NO_LOT = "urn:epc:class:lgtin:4012345.011111.L9999"
LOT_LABEL = "SECRET-7781"
SECRETS = (LOT_LABEL, OWNER, "Volta", "E-Compact", "custody")


def client_for(partner) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}")
    return client


def post(client: APIClient, operation: str, body: dict) -> dict:
    response = client.post(f"/api/v1/operations/{operation}", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def world(db):
    """The owner's vehicle (dismantled), its battery, a wheel and a GS1 scrap lot; two rivals."""
    owner = make_partner(OWNER, role="dismantler")
    yard = make_site(owner, "Yard")
    api = client_for(owner)
    vehicle = post(
        api,
        "vehicle-intake",
        {
            "site": yard.pk,
            "vin": valid_vin(1),
            "mass": "1.85 t",
            "make": "Volta",
            "model": "E-Compact",
            "eventTime": "2026-10-01T08:00:00Z",
        },
    )["created"][0]
    made = post(
        api,
        "dismantling",
        {
            "site": yard.pk,
            "vehicle": vehicle,
            "eventTime": "2026-10-01T10:00:00Z",
            "batteries": [{"code": battery_code(1), "chemistry": "NMC", "ratedEnergy": "75 kWh", "mass": "452 kg"}],
            "parts": [{"serial": "W1-1", "partType": "wheel", "mass": "10.5 kg"}],
        },
    )["created"]
    post(
        api,
        "material-receipt",
        {
            "site": yard.pk,
            "eventTime": "2026-10-02T08:00:00Z",
            "lots": [
                {
                    "identifier": LOT,
                    "code": LOT_LABEL,
                    "kind": "scrap_lot",
                    "mass": "500 kg",
                    "supplier": "Scrap dealer",
                    "scrapCategory": "post_consumer",
                }
            ],
        },
    )
    battery = next(i for i in made if ":battery:" in i)
    part = next(i for i in made if ":part:" in i)
    assert TraceableObject.objects.get(identifier=LOT).label == LOT_LABEL
    rival_yard, rival_melt = make_partner("rival-yard", role="dismantler"), make_partner("rival-melt", role="remelter")
    return {
        "vehicle": (vehicle, vehicle_uri(valid_vin(9))),
        "battery": (battery, battery_uri(battery_code(9))),
        "part": (part, local_uri("part", OWNER, "W9-9")),
        "lot": (LOT, NO_LOT),
        "owner": (owner, yard),
        "rival-yard": (rival_yard, make_site(rival_yard, "Rival yard")),
        "rival-melt": (rival_melt, make_site(rival_melt, "Rival shop")),
    }


AT = "2026-10-03T08:00:00Z"
CASES = {
    "dismantling": (
        "rival-yard",
        "vehicle",
        lambda x: {"vehicle": x, "parts": [{"serial": "STOLEN-1", "partType": "wheel", "mass": "10 kg"}]},
    ),
    "battery-grading": (
        "rival-yard",
        "battery",
        lambda x: {"battery": x, "stateOfHealth": "80", "capacity": "60 kWh", "route": "second_life"},
    ),
    "custody-transfer": ("rival-yard", "vehicle", lambda x: {"items": [x], "receiver": "rival-melt"}),
    "scrap-sorting": (
        "rival-yard",
        "part",
        lambda x: {
            "parts": [x],
            "sortingLoss": "0.5 kg",
            "outputs": [{"code": "PC-2", "mass": "10 kg", "scrapCategory": "post_consumer"}],
        },
    ),
    "remelting": (
        "rival-melt",
        "lot",
        lambda x: {
            "inputs": [{"identifier": x, "mass": "100 kg"}],
            "output": {"code": "M-1", "mass": "98 kg"},
            "meltLoss": "2 kg",
            "naturalGas": "8 m**3",
            "electricity": "9 kWh",
        },
    ),
}
# The same lot shipped by a rival, by quantity: the custody transfer's other list.
CASES["custody-transfer-lot"] = ("rival-melt", "lot", lambda x: {"lots": [{"identifier": x, "mass": "1 kg"}]})


def stored() -> tuple[int, int]:
    return ledger_size(), TraceableObject.objects.count()


@pytest.mark.parametrize("case", sorted(CASES))
def test_another_organisations_object_answers_a_write_as_a_missing_one(world, case):
    # given
    caller, named, body = CASES[case]
    partner, site = world[caller]
    hidden, missing = world[named]
    operation = case.removesuffix("-lot")
    receiver = {"receiver": "rival-yard" if caller == "rival-melt" else "rival-melt"}
    extra = receiver if operation == "custody-transfer" else {}
    client = client_for(partner)
    before = stored()

    # when
    answers = [
        client.post(
            f"/api/v1/operations/{operation}",
            {"site": site.pk, "eventTime": AT, **body(identifier), **extra},
            format="json",
        )
        for identifier in (hidden, missing)
    ]

    # then: the same answer, word for word but for the identifier the caller sent
    (hidden_answer, missing_answer) = answers
    assert (missing_answer.status_code, missing_answer.json()["code"]) == (404, "object_unknown")
    assert hidden_answer.status_code == missing_answer.status_code
    assert json.loads(hidden_answer.content.decode().replace(hidden, missing)) == missing_answer.json()
    # (a part's identifier names its maker: the caller sent that much)
    assert not [secret for secret in SECRETS if secret in hidden_answer.content.decode() and secret not in hidden]
    assert stored() == before


def test_a_document_appended_to_the_ledger_answers_the_same(world):
    # given: a grading event built as the API builds it, appended by the ledger API instead
    partner, site = world["rival-yard"]
    hidden, missing = world["battery"]
    client = client_for(partner)
    before = stored()

    def document(battery: str) -> dict:
        data = BatteryGradingInput(
            site=site, battery=battery, state_of_health_pct=80, capacity_kwh=60, route="recycling"
        )
        return {"document": grading_document(partner.organisation, data)}

    # when
    answers = [client.post("/api/v1/ledger/entries", document(i), format="json") for i in (hidden, missing)]

    # then
    (hidden_answer, missing_answer) = answers
    assert (missing_answer.status_code, missing_answer.json()["code"]) == (404, "object_unknown")
    assert hidden_answer.status_code == 404
    assert json.loads(hidden_answer.content.decode().replace(hidden, missing)) == missing_answer.json()
    assert stored() == before


def test_the_console_form_answers_the_same(world):
    # given: a member of the rival remelter, at the melt form
    partner, site = world["rival-melt"]
    user = get_user_model().objects.create_user("rival-melter", password="pw-for-tests-only")
    Membership.objects.create(user=user, organisation=partner.organisation)
    console = Client()
    console.force_login(user)
    before = stored()
    form = {
        "site": site.pk,
        "output_code": "M-1",
        "output_kind": "melt_batch",
        "output_kg": "98",
        "melt_loss_kg": "2",
        "natural_gas_m3": "8",
        "electricity_kwh": "9",
        "target_alloy": "",
    }

    # when
    pages = [console.post("/app/record/remelting/", {**form, "inputs": f"{i} 100"}) for i in (LOT, NO_LOT)]

    # then: the rule shows by the inputs, the same for both, and nothing of the lot
    def inputs_block(html: str) -> str:
        return html.split('for="id_inputs"')[1].split('<div class="field')[0]

    hidden_page, missing_page = (page.content.decode() for page in pages)
    assert [page.status_code for page in pages] == [422, 422]
    assert "<code>object_unknown</code>" in inputs_block(missing_page)
    assert inputs_block(hidden_page).replace(LOT, NO_LOT) == inputs_block(missing_page)
    assert LOT_LABEL not in hidden_page and OWNER not in hidden_page
    assert stored() == before


def test_a_visible_object_keeps_its_precise_refusal(world):
    # given: the owner shipped the wheel to the rival yard, which then shipped it on
    owner, yard = world["owner"]
    partner, site = world["rival-yard"]
    part, _ = world["part"]
    vehicle, _ = world["vehicle"]
    post(client_for(owner), "custody-transfer", {"site": yard.pk, "items": [part], "receiver": "rival-yard"})
    client = client_for(partner)
    shipped = client.post(
        "/api/v1/operations/custody-transfer",
        {"site": site.pk, "items": [part], "receiver": "rival-melt"},
        format="json",
    )
    assert shipped.status_code == 201, shipped.json()

    # when: it names the wheel it held (and no longer holds) and the vehicle it never saw
    held = client.post(
        "/api/v1/operations/scrap-sorting",
        {
            "site": site.pk,
            "parts": [part],
            "outputs": [{"code": "PC-3", "mass": "10 kg", "scrapCategory": "post_consumer"}],
            "sortingLoss": "0.5 kg",
        },
        format="json",
    )
    never = client.post(
        "/api/v1/operations/custody-transfer",
        {"site": site.pk, "items": [vehicle], "receiver": "rival-melt"},
        format="json",
    )

    # then
    assert (held.status_code, held.json()["code"]) == (403, "not_custodian")
    assert (never.status_code, never.json()["code"]) == (404, "object_unknown")


def test_an_identifier_taken_says_no_more_than_that(world):
    # given
    partner, site = world["rival-yard"]
    vehicle, _ = world["vehicle"]
    before = stored()

    # when: the rival takes in a vehicle with the owner's VIN
    response = client_for(partner).post(
        "/api/v1/operations/vehicle-intake",
        {"site": site.pk, "vin": valid_vin(1), "mass": "1.8 t", "make": "Other", "model": "Car", "eventTime": AT},
        format="json",
    )

    # then
    assert response.status_code == 400
    assert response.json() == {"code": "identifier_taken", "detail": f"{vehicle} already exists"}
    assert stored() == before


def test_an_epcis_event_about_a_lot_the_capturer_never_held_names_only_what_it_wrote(world):
    # given: the rival names the owner's lot in the form the owner did not write
    partner, _ = world["rival-melt"]
    digital_link = canonical_id(LOT)
    event = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "ObjectEvent",
        "eventTime": AT,
        "eventTimeZoneOffset": "+00:00",
        "quantityList": [{"epcClass": digital_link, "quantity": 1, "uom": "KGM"}],
        "action": "OBSERVE",
        "bizStep": "inspecting",
    }
    before = stored()

    # when
    response = client_for(partner).post("/epcis/events", event, format="json")

    # then: refused, echoing the identifier as written, with neither the label nor the stored form
    body = response.content.decode()
    assert (response.status_code, response.json()["code"]) == (403, "object_never_held")
    assert digital_link in body and LOT not in body
    assert not [secret for secret in SECRETS if secret in body]
    assert stored() == before


def test_anyone_gets_a_consistency_proof_that_verifies_against_two_checkpoints(world):
    # given: a checkpoint kept from earlier, a later one, and no credentials
    old = ledger_checkpoint_create()
    partner, site = world["rival-yard"]
    post(
        client_for(partner),
        "vehicle-intake",
        {"site": site.pk, "vin": valid_vin(5), "mass": "1.8 t", "make": "Other", "model": "Car", "eventTime": AT},
    )
    new = ledger_checkpoint_create()
    anonymous = APIClient()

    # when
    response = anonymous.get("/api/v1/ledger/consistency", {"first": old.tree_size, "second": new.tree_size})
    wrong_key = APIClient(HTTP_AUTHORIZATION="Api-Key not-a-key")
    with_wrong_key = wrong_key.get("/api/v1/ledger/consistency", {"first": old.tree_size, "second": new.tree_size})

    # then
    assert response.status_code == 200, response.content
    assert with_wrong_key.status_code == 200
    proof = [base64.b64decode(h) for h in response.json()["hashes"]]
    merkle.verify_consistency(
        old.tree_size, new.tree_size, bytes.fromhex(old.root_hash), bytes.fromhex(new.root_hash), proof
    )
    with pytest.raises(merkle.LedgerError):
        merkle.verify_consistency(old.tree_size, new.tree_size, bytes.fromhex(old.root_hash), b"\0" * 32, proof)


def test_anyone_gets_an_inclusion_proof_of_an_entry_it_holds(world):
    # given: the latest checkpoint, and an entry as its recorder knows it
    checkpoint = ledger_checkpoint_create()
    entry = LedgerEntry.objects.get(seq=TraceableObject.objects.get(identifier=LOT).created_seq)

    # when
    response = APIClient().get(f"/api/v1/ledger/entries/{entry.seq}/proof")
    entries = APIClient().get(f"/api/v1/ledger/entries/{entry.seq}")

    # then: the proof alone is public, and it verifies; the entry itself stays members' reading
    assert response.status_code == 200, response.content
    answer = response.json()
    assert set(answer) == {"treeSize", "leafIndex", "hashes", "checkpoint"}
    assert answer["treeSize"] == checkpoint.tree_size and answer["checkpoint"]["rootHash"] == checkpoint.root_hash
    merkle.verify_inclusion(
        bytes.fromhex(entry.entry_hash),
        entry.seq - 1,
        checkpoint.tree_size,
        [base64.b64decode(h) for h in answer["hashes"]],
        bytes.fromhex(checkpoint.root_hash),
    )
    assert entries.status_code in {401, 403}


def test_a_batch_reads_what_its_recorder_cannot_see_once(world, monkeypatch):
    # given: the owner grades its battery three times in one batch
    owner, yard = world["owner"]
    battery, _ = world["battery"]
    calls = []
    hidden_from = visibility.identifiers_hidden_from

    def counted(**arguments):  # type: ignore[no-untyped-def]
        calls.append(set(arguments["identifiers"]))
        return hidden_from(**arguments)

    monkeypatch.setattr(visibility, "identifiers_hidden_from", counted)
    entries = [
        {
            "document": grading_document(
                owner.organisation,
                BatteryGradingInput(
                    site=yard, battery=battery, state_of_health_pct=80 + n, capacity_kwh=60, route="second_life"
                ),
            )
        }
        for n in range(3)
    ]
    before = ledger_size()

    # when
    response = client_for(owner).post("/api/v1/ledger/batches", {"entries": entries}, format="json")

    # then: one look-up for the whole batch, over what its events name
    assert response.status_code == 201, response.json()
    assert ledger_size() == before + 3
    assert calls == [{battery}]
