"""The PEF Circular Footprint Formula by material, recorded through the partner API and read back.

Hand-computed with the shipped registry rows (``carbon/data/factors.json``): DE grid electricity
0.380 kg CO2e/kWh, natural gas 2.04 kg CO2e/m3, global primary aluminium 16.7 kg CO2e/kg, scrap
collection and sorting 0.05 kg CO2e/kg, battery mechanical treatment 0.3 kg CO2e per kg of pack;
and the CFF rows by material (region aluminium, cobalt, nickel): A = 0.2 and Qs_in/Qp =
Qs_out/Qp = 1 for each; aluminium E_v = E*_v = 16.7, E_recyclingEoL = 0.6, R2 = 0.9, R3 = 0,
E_D = 0.01; cobalt E_v = 30 and nickel E_v = 13 kg CO2e per kg of contained metal.
"""

import pytest
from rest_framework.test import APIClient

from carbon import services as carbon_services
from tests.factories import battery_code, make_partner, make_site, ten_trays_body, valid_vin
from traceability.models import TraceableObject

pytestmark = pytest.mark.django_db
REL = 1e-9
DE_GRID, NATURAL_GAS, PRIMARY_GLOBAL, SCRAP_SORTING, MECHANICAL = 0.380, 2.04, 16.7, 0.05, 0.3
A = 0.2
ALUMINIUM_EV, ALUMINIUM_EREC_EOL, ALUMINIUM_R2, METAL_ED = 16.7, 0.6, 0.9, 0.01
COBALT_EV, NICKEL_EV = 30.0, 13.0


def client_for(partner) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}")
    return client


def post(client: APIClient, operation: str, body: dict) -> list[str]:
    response = client.post(f"/api/v1/operations/{operation}", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["created"]


def cff(client: APIClient, identifier: str) -> dict:
    """The CFF, physical footprint per kg by stage, as the API serves it."""
    carbon_services.footprints_catch_up()
    pk = TraceableObject.objects.get(identifier=identifier).pk
    (result,) = client.get(f"/api/v1/objects/{pk}/footprint", {"method": "cff", "chain": "physical"}).json()
    return result["perKg"]


def test_an_aluminium_part_substitutes_primary_aluminium_and_is_credited_its_end_of_life(db):
    # given: 200 kg of bought post-consumer scrap and 300 kg of primary ingot, remelted with
    # 100 kWh and 40 m3 of gas into 490 kg, cast with 50 kWh into ten 45 kg trays and 30 kg of
    # run-around scrap (10 kg casting loss)
    partner = make_partner("castline", role="die_caster")
    hall, client = make_site(partner, "Press hall", country="DE"), client_for(partner)
    scrap, primary = post(
        client,
        "material-receipt",
        {
            "site": hall.pk,
            "eventTime": "2026-10-07T08:00:00Z",
            "lots": [
                {
                    "code": "S-1",
                    "kind": "scrap_lot",
                    "mass": "200 kg",
                    "supplier": "Scrapyard",
                    "scrapCategory": "post_consumer",
                },
                {"code": "P-1", "kind": "primary_ingot", "mass": "300 kg", "supplier": "Smelter"},
            ],
        },
    )
    (melt,) = post(
        client,
        "remelting",
        {
            "site": hall.pk,
            "eventTime": "2026-10-08T08:00:00Z",
            "inputs": [{"identifier": scrap, "mass": "200 kg"}, {"identifier": primary, "mass": "300 kg"}],
            "output": {"code": "M-1", "mass": "490 kg"},
            "meltLoss": "10 kg",
            "electricity": "100 kWh",
            "naturalGas": "40 m**3",
        },
    )
    made = post(
        client,
        "die-casting",
        ten_trays_body(hall.pk, melt, electricity="50 kWh"),
    )
    tray = next(i for i in made if ":part:" in i)

    # when
    melt_per_kg, tray_per_kg = cff(client, melt), cff(client, tray)

    # then: the remelting substitutes. R1 = 200 / 500 kg in is wholly recycled scrap. E_recycled is
    # the scrap's own collection and sorting and R1 of the remelting's energy, weighted by A; the
    # primary ingot and the rest of the energy count whole; the 490 kg melt carries them all.
    r1 = 200 / 500
    remelting = 100 * DE_GRID + 40 * NATURAL_GAS  # 38 + 81.6 = 119.6 kg CO2e
    recycled = A * (200 * SCRAP_SORTING + r1 * remelting)  # 0.2 x (10 + 47.84) = 11.568
    virgin = 300 * PRIMARY_GLOBAL + (1 - r1) * remelting  # 5010 + 71.76 = 5081.76
    # and (1 - A) E_v Qs_in/Qp R1 per kg of melt for the primary aluminium the scrap replaces:
    replaced = (1 - A) * ALUMINIUM_EV * 1.0 * r1  # 5.344
    melt_raw = (recycled + virgin) / 490 + replaced
    assert melt_raw == pytest.approx(15.7385469388, rel=1e-9)  # 5093.328 / 490 + 5.344
    assert melt_per_kg["raw_material_acquisition"] == pytest.approx(melt_raw, rel=REL)
    # The cast spreads the melt's 490 kg over the 480 kg out, adds its own 50 kWh as main
    # production, and the tray its own end of life:
    # (1 - A) R2 (E_recyclingEoL - E*_v Qs_out/Qp) + (1 - R2 - R3) E_D
    # = 0.8 x 0.9 x (0.6 - 16.7) + 0.1 x 0.01 = -11.592 + 0.001 = -11.591 kg CO2e per kg.
    end_of_life = (1 - A) * ALUMINIUM_R2 * (ALUMINIUM_EREC_EOL - ALUMINIUM_EV * 1.0) + (1 - ALUMINIUM_R2) * METAL_ED
    assert end_of_life == pytest.approx(-11.591, rel=1e-9)
    assert tray_per_kg["raw_material_acquisition"] == pytest.approx(melt_raw * 490 / 480, rel=REL)
    assert tray_per_kg["main_production"] == pytest.approx(50 * DE_GRID / 480, rel=REL)
    assert tray_per_kg["end_of_life_and_recycling"] == pytest.approx(end_of_life, rel=REL)
    # the melt is no product: it has no end of life of its own
    assert melt_per_kg["end_of_life_and_recycling"] == 0


def test_a_cobalt_salt_substitutes_virgin_cobalt_and_a_nickel_salt_of_the_same_refining_virgin_nickel(db):
    # given: a 1500 kg vehicle whose 300 kg pack is removed and sent to a recycler, shredded (no
    # energy metered: the modelled 0.3 kg CO2e per kg of pack) into 100 kg of black mass (10% Co,
    # 20% Ni) and 150 kg of aluminium fraction (50 kg lost), and the black mass refined with
    # 200 kWh into 40 kg of cobalt sulphate (20% Co) and 80 kg of nickel sulphate (22% Ni)
    dismantler = make_partner("autocirc", role="dismantler")
    recycler = make_partner("cyclemet", role="battery_recycler")
    yard, yard_client = make_site(dismantler, "Yard", country="DE"), client_for(dismantler)
    plant, client = make_site(recycler, "Hydrometallurgy", country="DE"), client_for(recycler)
    (vehicle,) = post(
        yard_client,
        "vehicle-intake",
        {"site": yard.pk, "vin": valid_vin(1), "mass": "1.5 t", "make": "Volta", "model": "E-Compact"},
    )
    (pack,) = post(
        yard_client,
        "dismantling",
        {
            "site": yard.pk,
            "vehicle": vehicle,
            "batteries": [{"code": battery_code(1), "chemistry": "NMC", "ratedEnergy": "60 kWh", "mass": "300 kg"}],
        },
    )
    post(yard_client, "custody-transfer", {"site": yard.pk, "items": [pack], "receiver": "cyclemet"})
    black_mass, _fraction = post(
        client,
        "battery-recycling",
        {
            "site": plant.pk,
            "batteries": [pack],
            "blackMass": {"code": "BM-1", "mass": "100 kg", "composition": {"Co": 10.0, "Ni": 20.0}},
            "fractions": [{"code": "FR-AL", "mass": "150 kg", "attributes": {"fraction": "aluminium"}}],
            "losses": "50 kg",
        },
    )
    salts = post(
        client,
        "black-mass-refining",
        {
            "site": plant.pk,
            "inputs": [{"identifier": black_mass, "mass": "100 kg"}],
            "salts": [
                {"code": "S-Co", "mass": "40 kg", "compound": "CoSO4·7H2O", "metal": "Co", "metalContent": 20.0},
                {"code": "S-Ni", "mass": "80 kg", "compound": "NiSO4·6H2O", "metal": "Ni", "metalContent": 22.0},
            ],
            "electricity": "200 kWh",
        },
    )
    cobalt_salt, nickel_salt = sorted(salts)

    # when
    cobalt, nickel = cff(client, cobalt_salt), cff(client, nickel_salt)

    # then: the black mass carries the shredding, 0.3 x 300 kg over the 250 kg out: 0.36 per kg.
    # It is wholly recycled (R1 = 1), so the refining's own 200 kWh x 0.380 = 76 kg CO2e is
    # E_recycled with it, weighted by A, over the 120 kg of salts: common to both salts.
    shared = A * (100 * (MECHANICAL * 300 / 250) + 200 * DE_GRID) / 120  # 0.2 x (36 + 76) / 120
    assert shared == pytest.approx(0.18666666667, rel=1e-9)
    # Each salt adds (1 - A) E_v Qs_in/Qp x its metal content x R1, with its own metal's E_v.
    cobalt_expected = shared + (1 - A) * COBALT_EV * 1.0 * 0.20 * 1  # + 4.8
    nickel_expected = shared + (1 - A) * NICKEL_EV * 1.0 * 0.22 * 1  # + 2.288
    assert cobalt["raw_material_acquisition"] == pytest.approx(cobalt_expected, rel=REL)
    assert nickel["raw_material_acquisition"] == pytest.approx(nickel_expected, rel=REL)
    # they differ by exactly (1 - A) (30 x 0.20 - 13 x 0.22) = 0.8 x 3.14 = 2.512
    difference = cobalt["raw_material_acquisition"] - nickel["raw_material_acquisition"]
    assert difference == pytest.approx(2.512, rel=1e-9)
    assert cobalt["end_of_life_and_recycling"] == nickel["end_of_life_and_recycling"] == 0
