"""The car-to-car loop through the partner API, its rules, idempotency and pagination."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from tests.factories import battery_code, make_partner, make_site, signed, ten_trays_body, valid_vin
from traceability.models import EventRecord, LedgerEntry, TraceableObject
from traceability.operations import rules
from traceability.operations.epcis import CONTEXT, location

pytestmark = pytest.mark.django_db


def client_for(partner) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}")
    return client


def post(client: APIClient, operation: str, body: dict, *, status: int = 201, key: str | None = None) -> dict:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    response = client.post(f"/api/v1/operations/{operation}", body, format="json", **headers)
    assert response.status_code == status, response.json()
    return response.json()


@pytest.fixture
def parties(db):
    dismantler, remelter, die_caster = (
        make_partner("autocirc", role="dismantler"),
        make_partner("nordic-remelt", role="remelter"),
        make_partner("castline", role="die_caster"),
    )
    return {
        "dismantler": (dismantler, make_site(dismantler, "Yard"), client_for(dismantler)),
        "remelter": (remelter, make_site(remelter, "Remelt shop"), client_for(remelter)),
        "die_caster": (die_caster, make_site(die_caster, "Press hall"), client_for(die_caster)),
    }


def run_loop(parties, claim=None) -> dict:  # type: ignore[no-untyped-def]
    """Two vehicles to ten trays, every step a POST; returns the identifiers it made.
    ``claim``, if given, is called with the melt before it leaves the remelter."""
    _, yard, dismantler = parties["dismantler"]
    _, shop, remelter = parties["remelter"]
    _, hall, die_caster = parties["die_caster"]
    vehicles, parts = [], []
    for n in (1, 2):
        intake = post(
            dismantler,
            "vehicle-intake",
            {
                "site": yard.pk,
                "vin": valid_vin(n),
                "mass": "1.85 t",
                "make": "Volta",
                "model": "E-Compact",
                "eventTime": f"2026-10-0{n}T08:00:00Z",
            },
        )
        vehicles.append(intake["created"][0])
        dismantled = post(
            dismantler,
            "dismantling",
            {
                "site": yard.pk,
                "vehicle": intake["created"][0],
                "eventTime": f"2026-10-0{n}T10:00:00Z",
                "batteries": [{"code": battery_code(n), "chemistry": "NMC", "ratedEnergy": "75 kWh", "mass": "452 kg"}],
                "parts": [
                    {"serial": f"W{n}-{w}", "partType": "wheel", "mass": {"value": 10.5, "unit": "kg"}, "alloy": "A356"}
                    for w in range(4)
                ],
            },
        )
        parts += [i for i in dismantled["created"] if ":part:" in i]
    sorted_ = post(
        dismantler,
        "scrap-sorting",
        {
            "site": yard.pk,
            "parts": parts,
            "eventTime": "2026-10-05T08:00:00Z",
            "sortingLoss": "0.5 kg",
            "outputs": [
                {
                    "code": "PC-1",
                    "mass": "83.5 kg",
                    "scrapCategory": "post_consumer",
                    "composition": {"Si": 7.0, "Fe": 0.1},
                }
            ],
        },
    )
    (scrap,) = sorted_["created"]
    post(
        dismantler,
        "custody-transfer",
        {
            "site": yard.pk,
            "lots": [{"identifier": scrap, "mass": "83.5 kg"}],
            "receiver": "nordic-remelt",
            "eventTime": "2026-10-06T08:00:00Z",
        },
    )
    receipt = post(
        remelter,
        "material-receipt",
        {
            "site": shop.pk,
            "eventTime": "2026-10-07T08:00:00Z",
            "lots": [
                {
                    "code": "P-1",
                    "kind": "primary_ingot",
                    "mass": "1 t",
                    "supplier": "Hydro smelter",
                    "composition": {"Fe": 0.07},
                }
            ],
        },
    )
    (primary,) = receipt["created"]
    melt = post(
        remelter,
        "remelting",
        {
            "site": shop.pk,
            "eventTime": "2026-10-08T08:00:00Z",
            "targetAlloy": "thin-wall-structural",
            "inputs": [{"identifier": scrap, "mass": "83.5 kg"}, {"identifier": primary, "mass": "416.5 kg"}],
            "output": {"code": "M-1", "mass": "490 kg"},
            "meltLoss": "10 kg",
            "naturalGas": "40 m**3",
            "electricity": "48 kWh",
        },
    )["created"][0]
    if claim is not None:
        claim(melt)
    post(
        remelter,
        "molten-transfer",
        {
            "site": shop.pk,
            "lot": {"identifier": melt, "mass": "490 kg"},
            "destinationSite": hall.pk,
            "temperature": "720 degC",
            "distance": "35 km",
            "eventTime": "2026-10-08T09:00:00Z",
        },
    )
    cast = post(
        die_caster,
        "die-casting",
        ten_trays_body(hall.pk, melt),
    )
    trays = [i for i in cast["created"] if ":part:" in i]
    return {"vehicles": vehicles, "scrap": scrap, "primary": primary, "melt": melt, "trays": trays}


def test_the_loop_runs_end_to_end_and_a_trays_genealogy_adds_up(parties):
    made = run_loop(parties)
    _, _, die_caster = parties["die_caster"]
    tray = die_caster.get("/api/v1/items", {"identifier": made["trays"][0]}).json()["results"][0]

    genealogy = die_caster.get(f"/api/v1/objects/{tray['id']}/genealogy", {"direction": "backward"}).json()

    # the vehicles (the dismantler's) and the primary ingot (the remelter's) are folded for the
    # die-caster: their kind and kg, no identifier
    roots = [n for n in genealogy["nodes"] if n["kind"] in {"vehicle", "primary_ingot"}]
    vehicles = [Decimal(n["kg"]) for n in roots if n["kind"] == "vehicle"]
    assert len(vehicles) == len(made["vehicles"])
    assert {(n["folded"], n["identifier"], n["label"]) for n in roots} == {(True, None, None)}
    assert sum(Decimal(n["kg"]) for n in roots) == pytest.approx(Decimal("45"), abs=Decimal("0.01"))
    expected_per_vehicle = Decimal(45) * Decimal("83.5") / Decimal(500) / 2
    assert vehicles[0] == pytest.approx(expected_per_vehicle, abs=Decimal("0.01"))
    assert {(e["source"], e["target"]) for e in genealogy["edges"]}
    assert tray["attributes"]["composition"]["Fe"] == pytest.approx((83.5 * 0.1 + 416.5 * 0.07) / 500, abs=1e-4)


def test_forward_genealogy_from_a_vehicle_reaches_the_trays(parties):
    made = run_loop(parties)
    _, _, dismantler = parties["dismantler"]
    vehicle = dismantler.get("/api/v1/items", {"identifier": made["vehicles"][0]}).json()["results"][0]

    forward = dismantler.get(f"/api/v1/objects/{vehicle['id']}/genealogy", {"direction": "forward"}).json()

    # the trays are the die-caster's: the dismantler sees that they were made, folded
    folded_parts = [n for n in forward["nodes"] if n["kind"] == "part" and n["folded"]]
    assert len(folded_parts) == len(made["trays"])
    assert not set(made["trays"]) & {node["identifier"] for node in forward["nodes"]}


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("unbalanced", 400, "mass_unbalanced"),
        ("overconsumed", 400, "lot_overconsumed"),
        ("before-existence", 400, "input_not_yet_existing"),
        ("ended", 400, "object_ended"),
        # another organisation's lot the dismantler never saw: unknown to it, as a missing one
        ("never-seen", 404, "object_unknown"),
        ("unit-missing", 400, "unit_missing"),
        ("unit-wrong-dimension", 400, "unit_incompatible"),
        ("vin-check-digit", 400, "vin_check_digit_invalid"),
        ("battery-code", 400, "battery_code_invalid"),
        ("foreign-site", 400, "site_not_yours"),
        ("unknown-object", 404, "object_unknown"),
    ],
)
def test_each_rule_rejects_a_crafted_request_and_stores_nothing(parties, case, status, code):
    made = run_loop(parties)
    _, yard, dismantler = parties["dismantler"]
    _, shop, remelter = parties["remelter"]
    melt_input = {"identifier": made["primary"], "mass": "100 kg"}
    melt = {
        "site": shop.pk,
        "inputs": [melt_input],
        "output": {"code": "M-9", "mass": "98 kg"},
        "meltLoss": "2 kg",
        "naturalGas": "8 m**3",
        "electricity": "9 kWh",
        "eventTime": "2026-10-20T08:00:00Z",
    }
    requests = {
        "unbalanced": (remelter, "remelting", {**melt, "output": {"code": "M-9", "mass": "120 kg"}}),
        "overconsumed": (
            remelter,
            "remelting",
            {
                **melt,
                "inputs": [{"identifier": made["primary"], "mass": "700 kg"}],
                "output": {"code": "M-9", "mass": "690 kg"},
                "meltLoss": "10 kg",
            },
        ),
        "before-existence": (remelter, "remelting", {**melt, "eventTime": "2026-09-01T08:00:00Z"}),
        "ended": (
            remelter,
            "remelting",
            {
                **melt,
                "inputs": [{"identifier": made["scrap"], "mass": "1 kg"}],
                "output": {"code": "M-9", "mass": "0.98 kg"},
                "meltLoss": "0.02 kg",
            },
        ),
        "never-seen": (
            dismantler,
            "scrap-sorting",
            {
                "site": yard.pk,
                "lots": [melt_input],
                "eventTime": "2026-10-20T08:00:00Z",
                "outputs": [{"code": "X-1", "mass": "100 kg", "scrapCategory": "post_consumer"}],
            },
        ),
        "unit-missing": (remelter, "remelting", {**melt, "meltLoss": 2}),
        "unit-wrong-dimension": (remelter, "remelting", {**melt, "meltLoss": "2 kWh"}),
        "vin-check-digit": (
            dismantler,
            "vehicle-intake",
            {
                "site": yard.pk,
                "vin": valid_vin(5)[:8] + ("X" if valid_vin(5)[8] != "X" else "0") + valid_vin(5)[9:],
                "mass": "1.5 t",
                "make": "V",
                "model": "M",
            },
        ),
        "battery-code": (
            dismantler,
            "dismantling",
            {
                "site": yard.pk,
                "vehicle": made["vehicles"][0],
                "eventTime": "2026-10-20T08:00:00Z",
                "batteries": [{"code": "ABC", "chemistry": "LFP", "ratedEnergy": "50 kWh", "mass": "350 kg"}],
            },
        ),
        "foreign-site": (remelter, "remelting", {**melt, "site": yard.pk}),
        "unknown-object": (
            remelter,
            "remelting",
            {**melt, "inputs": [{"identifier": "urn:looptrace:lot:nordic-remelt.NOPE", "mass": "100 kg"}]},
        ),
    }
    client, operation, body = requests[case]
    ledger_size, objects = LedgerEntry.objects.count(), TraceableObject.objects.count()

    response = client.post(f"/api/v1/operations/{operation}", body, format="json")

    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    assert "detail" in response.json()
    assert (LedgerEntry.objects.count(), TraceableObject.objects.count()) == (ledger_size, objects)


def test_a_retried_post_with_the_same_idempotency_key_records_once(parties):
    partner, yard, dismantler = parties["dismantler"]
    body = {"site": yard.pk, "vin": valid_vin(3), "mass": "1.6 t", "make": "V", "model": "M"}

    first = dismantler.post("/api/v1/operations/vehicle-intake", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = dismantler.post("/api/v1/operations/vehicle-intake", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    other = dismantler.post(
        "/api/v1/operations/vehicle-intake", {**body, "make": "W"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert EventRecord.objects.filter(operation="vehicle_intake", organisation=partner.organisation).count() == 1


def test_lists_filter_and_page_with_a_cursor(parties):
    run_loop(parties)
    _, _, dismantler = parties["dismantler"]

    page = dismantler.get("/api/v1/items", {"kind": "part", "page_size": 3}).json()
    second = dismantler.get(page["next"]).json()
    wheels = dismantler.get("/api/v1/objects", {"label": "W1-"}).json()["results"]
    events = dismantler.get("/api/v1/events", {"operation": "dismantling"}).json()["results"]

    assert len(page["results"]) == 3 and page["next"]
    assert not {o["id"] for o in page["results"]} & {o["id"] for o in second["results"]}
    assert {o["label"] for o in wheels} == {f"W1-{w}" for w in range(4)}
    assert [e["operation"] for e in events] == ["dismantling", "dismantling"]
    assert events[0]["document"]["type"] == "AggregationEvent"
    assert events[0]["document"]["action"] == "DELETE"


def test_api_docs_page_is_served_without_a_cdn(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html


def _intake_signed_by_hand(site, number: int) -> tuple[str, dict]:
    """A vehicle intake event as a partner builds it itself, for the ledger API."""
    vin = valid_vin(number)
    uri = f"urn:looptrace:vin:{vin}"
    return uri, {
        "@context": CONTEXT,
        "type": "ObjectEvent",
        "eventTime": "2026-10-01T08:00:00.000Z",
        "eventTimeZoneOffset": "+00:00",
        "epcList": [uri],
        "action": "ADD",
        "bizStep": "receiving",
        "readPoint": location(site),
        "bizLocation": location(site),
        "lt:operation": "vehicle_intake",
        "lt:objects": {uri: {"kind": "vehicle", "label": vin, "massKg": 1700, "make": "V", "model": "M"}},
    }


def test_an_operation_signed_client_side_goes_through_the_same_rules(parties):
    partner, yard, dismantler = parties["dismantler"]
    uri, document = _intake_signed_by_hand(yard, 42)
    item = signed(partner, document)
    body = {"document": document, "signature": item.signature, "keyId": item.key_id}

    accepted = dismantler.post("/api/v1/ledger/entries", body, format="json")
    duplicate = dismantler.post("/api/v1/ledger/entries", body, format="json")

    assert accepted.status_code == 201
    assert TraceableObject.objects.get(identifier=uri).created_seq == accepted.json()["seq"]
    assert duplicate.status_code == 400
    assert duplicate.json()["code"] == "identifier_taken"


def _count_role_checks(monkeypatch) -> list[str]:
    checked: list[str] = []
    real = rules.recorder_role_allowed

    def counting(operation, role, roles):  # type: ignore[no-untyped-def]
        checked.append(operation)
        return real(operation, role, roles)

    monkeypatch.setattr(rules, "recorder_role_allowed", counting)
    return checked


def test_the_recorders_role_is_checked_once_per_request(parties, monkeypatch):
    # given a dismantler and a count of the role checks
    _, yard, dismantler = parties["dismantler"]
    checked = _count_role_checks(monkeypatch)

    # when it records a vehicle intake through the API
    post(
        dismantler, "vehicle-intake", {"site": yard.pk, "vin": valid_vin(7), "mass": "1.7 t", "make": "V", "model": "M"}
    )

    # then the role was checked exactly once
    assert checked == ["vehicle_intake"]


def test_a_document_sent_to_the_ledger_has_its_recorders_role_checked_by_the_engine(parties, monkeypatch):
    # given a remelter who signs a vehicle intake (a dismantler's operation) itself
    partner, shop, remelter = parties["remelter"]
    checked = _count_role_checks(monkeypatch)
    uri, document = _intake_signed_by_hand(shop, 43)
    item = signed(partner, document)

    # when it sends the document to the ledger
    response = remelter.post(
        "/api/v1/ledger/entries",
        {"document": document, "signature": item.signature, "keyId": item.key_id},
        format="json",
    )

    # then the engine checked the role, refused it, and nothing was stored
    assert response.status_code == 403
    assert response.json()["code"] == "role_not_allowed"
    assert checked == ["vehicle_intake"]
    assert not TraceableObject.objects.filter(identifier=uri).exists()
