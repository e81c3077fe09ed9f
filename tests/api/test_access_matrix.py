"""Every role against every traceability endpoint: reads across organisations are refused.

The loop of ``test_operations_api`` runs between a dismantler, a remelter and a
die-caster; a second dismantler, an OEM, a battery recycler, a battery maker and a
regulator look on. What each may read is spelled out here by hand, from the rule
"an organisation reads what it recorded and what concerns objects it holds or held;
regulators read everything and write nothing".
"""

import pytest
from rest_framework.test import APIClient

from tests.api.test_operations_api import client_for, parties, run_loop  # noqa: F401 - fixture
from tests.factories import make_partner, make_site, valid_vin
from traceability.models import EventRecord, LedgerEntry, Organisation, Site, TraceableObject

pytestmark = pytest.mark.django_db

OPERATIONS = [
    "vehicle-intake",
    "material-receipt",
    "dismantling",
    "battery-grading",
    "repurposing",
    "battery-recycling",
    "black-mass-refining",
    "scrap-sorting",
    "remelting",
    "molten-transfer",
    "die-casting",
    "custody-transfer",
    "recycled-content-claim",
]


@pytest.fixture
def world(parties):  # noqa: F811 - the fixture imported above
    made = run_loop(parties)
    second = make_partner("second-dismantler", role="dismantler")
    site = make_site(second, "Other yard")
    second_client = client_for(second)
    intake = second_client.post(
        "/api/v1/operations/vehicle-intake",
        {"site": site.pk, "vin": valid_vin(77), "mass": "1.7 t", "make": "V", "model": "M"},
        format="json",
    ).json()
    everything = set(TraceableObject.objects.values_list("identifier", flat=True))
    by_kind = lambda kind: set(TraceableObject.objects.filter(kind=kind).values_list("identifier", flat=True))  # noqa: E731
    loop_parts = {i for i in by_kind("part") if ":part:autocirc." in i}
    packs = by_kind("battery_pack")
    onlookers = {
        role: make_partner(f"onlooker-{role}", role=role)
        for role in ("oem", "battery_recycler", "battery_maker", "regulator")
    }
    clients = {name: client for name, (_, _, client) in parties.items()}
    clients["second_dismantler"] = second_client
    clients.update({role: client_for(p) for role, p in onlookers.items()})
    expected = {
        "dismantler": set(made["vehicles"]) | packs | loop_parts | {made["scrap"]},
        "remelter": {made["scrap"], made["primary"], made["melt"]},
        "die_caster": {made["melt"], *made["trays"], *(i for i in by_kind("scrap_lot") if "castline" in i)},
        "second_dismantler": {intake["created"][0]},
        "oem": set(),
        "battery_recycler": set(),
        "battery_maker": set(),
        "regulator": everything,
    }
    return made, clients, expected, everything


def listed(client: APIClient, path: str) -> set[str]:
    found, url = set(), path
    while url:
        page = client.get(url, {"page_size": 1000}).json()
        found |= {o["identifier"] for o in page["results"]}
        url = page["next"]
    return found


ROLES = [
    "dismantler",
    "remelter",
    "die_caster",
    "second_dismantler",
    "oem",
    "battery_recycler",
    "battery_maker",
    "regulator",
]


@pytest.mark.parametrize("role", ROLES)
def test_object_lists_and_details_show_exactly_what_the_role_may_read(world, role):
    _, clients, expected, everything = world
    client = clients[role]

    assert listed(client, "/api/v1/objects") == expected[role]
    assert listed(client, "/api/v1/items") | listed(client, "/api/v1/lots") == expected[role]
    for identifier in everything:
        pk = TraceableObject.objects.get(identifier=identifier).pk
        for path in (f"/api/v1/objects/{pk}", f"/api/v1/objects/{pk}/genealogy"):
            status = client.get(path).status_code
            assert status == (200 if identifier in expected[role] else 404), (role, path, identifier)


SLUGS = {
    "dismantler": "autocirc",
    "remelter": "nordic-remelt",
    "die_caster": "castline",
    "second_dismantler": "second-dismantler",
}


@pytest.mark.parametrize("role", ROLES)
def test_events_are_those_recorded_by_or_about_what_the_role_may_read(world, role):
    _, clients, expected, _ = world
    client = clients[role]
    every_event = set(EventRecord.objects.values_list("entry_id", flat=True))
    recorded = set(
        EventRecord.objects.filter(organisation__slug=SLUGS.get(role, f"onlooker-{role}")).values_list(
            "entry_id", flat=True
        )
    )
    about = set(EventRecord.objects.filter(involved__identifier__in=expected[role]).values_list("entry_id", flat=True))
    wanted = every_event if role == "regulator" else recorded | about

    seqs, url = set(), "/api/v1/events"
    while url:
        page = client.get(url, {"page_size": 1000}).json()
        seqs |= {e["seq"] for e in page["results"]}
        url = page["next"]

    assert seqs == wanted
    for seq in every_event - wanted:
        assert client.get(f"/api/v1/events/{seq}").status_code == 404


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_regulator_writes_nothing(world, operation):
    _, clients, _, _ = world
    regulator = clients["regulator"]
    site = Site.objects.create(organisation=Organisation.objects.get(slug="onlooker-regulator"), name="Office")
    size = LedgerEntry.objects.count()

    response = regulator.post(f"/api/v1/operations/{operation}", {"site": site.pk}, format="json")
    ledger = regulator.post("/api/v1/ledger/entries", {"document": {"type": "ObjectEvent"}}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "role_not_allowed"
    assert ledger.status_code == 403
    assert ledger.json()["code"] == "role_not_allowed"
    assert LedgerEntry.objects.count() == size


@pytest.mark.parametrize("operation", OPERATIONS)
def test_anonymous_callers_are_refused_everywhere(world, operation):
    anonymous = APIClient()
    pk = TraceableObject.objects.first().pk

    assert anonymous.post(f"/api/v1/operations/{operation}", {}, format="json").status_code in {401, 403}
    for path in (
        "/api/v1/objects",
        "/api/v1/items",
        "/api/v1/lots",
        "/api/v1/events",
        f"/api/v1/objects/{pk}",
        f"/api/v1/objects/{pk}/genealogy",
        "/api/v1/ledger/entries",
    ):
        assert anonymous.get(path).status_code in {401, 403}, path


def test_a_partner_cannot_act_on_another_partners_objects(world):
    made, clients, _, _ = world
    second = clients["second_dismantler"]
    site = TraceableObject.objects.filter(created_by__slug="second-dismantler").first().site_id

    response = second.post(
        "/api/v1/operations/dismantling",
        {
            "site": site,
            "vehicle": made["vehicles"][0],
            "parts": [{"serial": "STOLEN", "partType": "wheel", "mass": "10 kg"}],
        },
        format="json",
    )

    # a vehicle it never saw answers as a missing one: no label, no custodian
    assert response.status_code == 404
    assert response.json()["code"] == "object_unknown"


PARTNER_ROLES = ["oem", "dismantler", "battery_recycler", "remelter", "die_caster", "battery_maker", "regulator"]
EVERY_PARTNER = set(PARTNER_ROLES) - {"regulator"}
MAY_RECORD = {
    "vehicle-intake": {"dismantler", "oem"},
    "material-receipt": {"remelter", "die_caster", "battery_recycler", "dismantler"},
    "dismantling": {"dismantler"},
    "battery-grading": {"dismantler", "battery_recycler", "battery_maker"},
    "repurposing": {"battery_recycler", "battery_maker", "dismantler"},
    "battery-recycling": {"battery_recycler"},
    "black-mass-refining": {"battery_recycler"},
    "scrap-sorting": {"dismantler", "remelter"},
    "remelting": {"remelter", "die_caster"},
    "molten-transfer": {"remelter"},
    "die-casting": {"die_caster"},
    "custody-transfer": EVERY_PARTNER,
    "recycled-content-claim": {"remelter", "die_caster", "battery_recycler"},
}


@pytest.mark.parametrize("role", PARTNER_ROLES)
def test_each_role_may_record_exactly_its_operations(db, role):
    client = client_for(make_partner(f"writer-{role}", role=role))
    size = LedgerEntry.objects.count()

    for operation in OPERATIONS:
        response = client.post(f"/api/v1/operations/{operation}", {}, format="json")
        if role in MAY_RECORD[operation]:
            assert (response.status_code, response.json()["code"]) == (400, "required"), operation
        else:
            assert (response.status_code, response.json()["code"]) == (403, "role_not_allowed"), operation

    assert LedgerEntry.objects.count() == size
