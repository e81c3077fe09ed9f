"""Process energy recorded through the partner API lands in its Art. 7 stage of the footprint.

Hand-computed: the factors are the registry's (``carbon/data/factors.json``): DE grid electricity
0.380 kg CO2e/kWh, natural gas 2.04 kg CO2e/m3, global primary aluminium 16.7 kg CO2e/kg.
"""

import copy
import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from carbon import services as carbon_services
from tests.factories import make_partner, make_site, signed, ten_trays_body, valid_vin
from traceability.models import EventRecord, LedgerEntry, Membership, TraceableObject
from traceability.operations import scrap_sorting
from traceability.operations.inputs import Energy, LotIn, LotOut

pytestmark = pytest.mark.django_db
REL = 1e-9
DE_GRID, NATURAL_GAS, PRIMARY_GLOBAL = 0.380, 2.04, 16.7


def client_for(partner) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}")
    return client


def post(client: APIClient, operation: str, body: dict, *, status: int = 201) -> dict:
    response = client.post(f"/api/v1/operations/{operation}", body, format="json")
    assert response.status_code == status, response.json()
    return response.json()


def cut_off(client: APIClient, identifier: str) -> dict:
    """The cut-off, physical footprint per kg by stage, as the API serves it."""
    carbon_services.footprints_catch_up()
    pk = TraceableObject.objects.get(identifier=identifier).pk
    (result,) = client.get(f"/api/v1/objects/{pk}/footprint", {"method": "cut_off", "chain": "physical"}).json()
    return result["perKg"]


@pytest.fixture
def caster(db):
    partner = make_partner("castline", role="die_caster")
    return partner, make_site(partner, "Press hall", country="DE"), client_for(partner)


def cast(caster, die_casting_energy: dict) -> dict:
    """500 kg of primary ingot melted (no energy metered) into 490 kg, cast into ten 45 kg trays."""
    _, hall, client = caster
    (primary,) = post(
        client,
        "material-receipt",
        {
            "site": hall.pk,
            "eventTime": "2026-10-07T08:00:00Z",
            "lots": [{"code": "P-1", "kind": "primary_ingot", "mass": "500 kg", "supplier": "Smelter"}],
        },
    )["created"]
    (melt,) = post(
        client,
        "remelting",
        {
            "site": hall.pk,
            "eventTime": "2026-10-08T08:00:00Z",
            "inputs": [{"identifier": primary, "mass": "500 kg"}],
            "output": {"code": "M-1", "mass": "490 kg"},
            "meltLoss": "10 kg",
            "naturalGas": "0 m**3",
            "electricity": "0 kWh",
        },
    )["created"]
    made = post(
        client,
        "die-casting",
        ten_trays_body(hall.pk, melt, **die_casting_energy),
    )["created"]
    return {"trays": [i for i in made if ":part:" in i], "run_around": next(i for i in made if ":lot:" in i)}


def test_a_die_cast_parts_main_production_is_its_metered_energy_per_kg(caster):
    made = cast(caster, {"electricity": "0.35 MWh", "naturalGas": {"value": 20, "unit": "m**3"}})
    client = caster[2]

    tray, run_around = cut_off(client, made["trays"][0]), cut_off(client, made["run_around"])

    # Die-casting: 350 kWh x 0.380 + 20 m3 x 2.04 = 133 + 40.8 = 173.8 kg CO2e, spread by mass
    # over what came out (ten 45 kg trays and 30 kg run-around scrap: 480 kg; the 10 kg casting
    # loss carries none): 173.8 / 480 = 0.362083... kg CO2e per kg of tray.
    main = (350 * DE_GRID + 20 * NATURAL_GAS) / (10 * 45 + 30)
    assert main == pytest.approx(0.36208333333, rel=1e-9)
    assert tray["main_production"] == pytest.approx(main, rel=REL)
    # The melt's raw-material burden (500 kg x 16.7, remelting metered nothing) over the same 480 kg.
    assert tray["raw_material_acquisition"] == pytest.approx(500 * PRIMARY_GLOBAL / 480, rel=REL)
    assert tray["distribution"] == 0
    assert tray["end_of_life_and_recycling"] == 0
    # Run-around scrap is an output of the same cast (convention 1): the same figures per kg.
    assert run_around["main_production"] == pytest.approx(main, rel=REL)


def test_a_die_cast_part_with_no_metered_energy_has_no_main_production(caster):
    made = cast(caster, {})

    assert cut_off(caster[2], made["trays"][0])["main_production"] == 0


def test_sorting_and_dismantling_energy_is_pre_processing_of_the_secondary_material(db):
    # Dismantling and sorting are the end of life of the vehicle, whose footprint the ledger
    # does not compute; for the scrap lot (and what is made from it) they are raw material
    # acquisition and pre-processing, as bought scrap's collection and sorting are.
    partner = make_partner("autocirc", role="dismantler")
    yard, client = make_site(partner, "Yard", country="DE"), client_for(partner)
    (vehicle,) = post(
        client,
        "vehicle-intake",
        {"site": yard.pk, "vin": valid_vin(1), "mass": "1.85 t", "make": "Volta", "model": "E-Compact"},
    )["created"]
    wheels = post(
        client,
        "dismantling",
        {
            "site": yard.pk,
            "vehicle": vehicle,
            "parts": [{"serial": f"W-{w}", "partType": "wheel", "mass": "10.5 kg"} for w in range(4)],
            "electricity": "12 kWh",
        },
    )["created"]
    (scrap,) = post(
        client,
        "scrap-sorting",
        {
            "site": yard.pk,
            "parts": wheels,
            "sortingLoss": "0.5 kg",
            "outputs": [{"code": "PC-1", "mass": "41.5 kg", "scrapCategory": "post_consumer"}],
            "electricity": "8.3 kWh",
        },
    )["created"]

    wheel, lot = cut_off(client, wheels[0]), cut_off(client, scrap)

    # Dismantling: 12 kWh x 0.380 = 4.56 kg CO2e over the 42 kg of wheels removed (the vehicle
    # itself enters free of burden under cut-off).
    assert wheel["raw_material_acquisition"] == pytest.approx(12 * DE_GRID / 42, rel=REL)
    # Sorting: the wheels' 4.56 plus 8.3 kWh x 0.380 = 3.154, over the 41.5 kg sorted lot
    # (the 0.5 kg sorting loss carries none): 7.714 / 41.5 = 0.185879... kg CO2e per kg.
    per_kg = (12 * DE_GRID + 8.3 * DE_GRID) / 41.5
    assert per_kg == pytest.approx(0.18587951807, rel=1e-9)
    assert lot["raw_material_acquisition"] == pytest.approx(per_kg, rel=REL)
    assert lot["main_production"] == lot["distribution"] == lot["end_of_life_and_recycling"] == 0


@pytest.mark.parametrize(
    ("energy", "code"),
    [
        ({"electricity": "-5 kWh"}, "quantity_negative"),
        ({"electricity": "5 kg"}, "unit_incompatible"),
        ({"naturalGas": "NaN m**3"}, "unit_missing"),
        ({"electricity": {"value": "1e99", "unit": "kWh"}}, "quantity_out_of_range"),
    ],
)
def test_bad_energy_is_refused_with_its_code_and_nothing_is_stored(caster, energy, code):
    _, hall, client = caster
    before = LedgerEntry.objects.count()

    response = client.post(
        "/api/v1/operations/die-casting",
        {
            "site": hall.pk,
            "melt": {"identifier": "urn:looptrace:lot:castline:M-0", "mass": "46 kg"},
            "castings": [{"serial": "T-0", "partType": "battery_tray", "mass": "45 kg"}],
            "castingLoss": "1 kg",
            **energy,
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert LedgerEntry.objects.count() == before


@pytest.mark.parametrize(
    ("energy", "status"),
    [
        ({"electricityKWh": 1.5, "naturalGasM3": 0}, 201),
        ({"electricityKWh": -1}, 400),
        ({"electricityKWh": "12"}, 400),
        ({"naturalGasM3": 1e17}, 400),
        ({"steamKg": 3}, 400),
        ([12], 400),
    ],
)
def test_a_signed_document_with_bad_energy_is_refused_by_the_engine(db, energy, status):
    partner = make_partner("nordic-remelt", role="remelter")
    hall, client = make_site(partner, "Remelt shop"), client_for(partner)
    (primary,) = post(
        client,
        "material-receipt",
        {"site": hall.pk, "lots": [{"code": "P-1", "kind": "primary_ingot", "mass": "5 kg", "supplier": "S"}]},
    )["created"]
    good = scrap_sorting.build(
        partner.organisation,
        scrap_sorting.ScrapSortingInput(
            site=hall,
            parts=(),
            lots=[LotIn(primary, Decimal(5))],
            outputs=[LotOut("scrap_lot", Decimal(5), code="S-1", attributes={"scrapCategory": "internal"})],
            losses={},
            energy=Energy(electricity_kwh=Decimal(1)),
        ),
    )
    document = copy.deepcopy(good)
    document["lt:energy"] = energy
    item = signed(partner, document)
    before = EventRecord.objects.count()

    response = client.post(
        "/api/v1/ledger/entries",
        {"document": document, "signature": item.signature, "keyId": item.key_id},
        format="json",
    )

    assert response.status_code == status, response.json()
    if status == 400:
        assert response.json()["code"] in {"document_malformed", "quantity_invalid", "quantity_out_of_range"}
    assert EventRecord.objects.count() == before + (status == 201)


def test_the_die_casting_form_records_energy_and_a_negative_figure_is_a_form_error(caster):
    partner, hall, client = caster
    user = get_user_model().objects.create_user("caster", password="x-9f3k-long-enough")
    Membership.objects.create(user=user, organisation=partner.organisation)
    web = Client()
    web.force_login(user)
    (primary,) = post(
        client,
        "material-receipt",
        {"site": hall.pk, "lots": [{"code": "P-2", "kind": "primary_ingot", "mass": "100 kg", "supplier": "S"}]},
    )["created"]
    (melt,) = post(
        client,
        "remelting",
        {
            "site": hall.pk,
            "inputs": [{"identifier": primary, "mass": "100 kg"}],
            "output": {"code": "M-2", "mass": "98 kg"},
            "meltLoss": "2 kg",
            "naturalGas": "0 m**3",
            "electricity": "0 kWh",
        },
    )["created"]
    form = {
        "site": hall.pk,
        "melt": melt,
        "melt_kg": "98",
        "castings": "T-9001 battery_tray 40\nT-9002 battery_tray 40",
        "run_around_code": "RA-9",
        "run_around_kg": "18",
        "electricity_kwh": "39.2",
    }
    size = LedgerEntry.objects.count()

    refused = web.post("/app/record/die-casting/", {**form, "electricity_kwh": "-1"})
    stored_after_refusal = LedgerEntry.objects.count()
    recorded = web.post("/app/record/die-casting/", form)

    assert refused.status_code == 422
    assert 'id="id_electricity_kwh"' in refused.content.decode()
    assert stored_after_refusal == size
    assert recorded.status_code == 302
    event = EventRecord.objects.filter(operation="die_casting").select_related("entry").latest("entry_id")
    assert json.loads(event.entry.document)["lt:energy"] == {"electricityKWh": 39.2, "naturalGasM3": 0.0}
    # 39.2 kWh x 0.380 over the 98 kg cast (two 40 kg trays and 18 kg run-around scrap)
    tray = next(i for i in recorded["Location"].split("/") if i.isdigit())
    footprint = cut_off(client, TraceableObject.objects.get(pk=int(tray)).identifier)
    assert footprint["main_production"] == pytest.approx(39.2 * DE_GRID / 98, rel=REL)
