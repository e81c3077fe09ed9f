"""Art. 7 through the partner API: the functional unit is the model's energy at beginning of life,
grading is reported beside the figure, and each vehicle category's registry rows are used."""

import pytest
from rest_framework.test import APIClient

from carbon.models import EmissionFactor
from tests.factories import battery_code, make_partner, make_site, valid_vin
from traceability import services
from traceability.models import TraceableObject

pytestmark = pytest.mark.django_db

# The shipped registry rows (carbon/data/factors.json) the hand computations below rely on.
M1_CYCLES_PER_YEAR, M1_SERVICE_YEARS = 60, 8
L_CYCLES_PER_YEAR, L_SERVICE_YEARS = 20, 5


def post(client: APIClient, path: str, body: dict) -> dict:
    response = client.post(path, body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def graded_later():
    """A dismantler's 75 kWh pack with its maker's footprint bound: 60 kg CO2e per kWh of rated
    energy for raw materials and 12 for main production, 72 x 75 = 5,400 kg CO2e in all."""
    dismantler = make_partner("autocirc", role="dismantler")
    yard = make_site(dismantler, "Yard")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {dismantler.api_key}")
    vehicle = post(
        client,
        "/api/v1/operations/vehicle-intake",
        {
            "site": yard.pk,
            "vin": valid_vin(1),
            "mass": "1.85 t",
            "make": "Volta",
            "model": "E-Compact",
            "eventTime": "2026-10-01T08:00:00Z",
        },
    )["created"][0]
    created = post(
        client,
        "/api/v1/operations/dismantling",
        {
            "site": yard.pk,
            "vehicle": vehicle,
            "eventTime": "2026-10-01T10:00:00Z",
            "batteries": [{"code": battery_code(1), "chemistry": "NMC", "ratedEnergy": "75 kWh", "mass": "452 kg"}],
        },
    )["created"]
    (pack,) = [identifier for identifier in created if identifier.startswith("urn:looptrace:battery:")]
    pk = TraceableObject.objects.get(identifier=pack).pk
    for code, value in (("battery_pcf_raw_material", "60"), ("battery_pcf_main_production", "12")):
        post(
            client,
            "/api/v1/factors",
            {"code": code, "lot": pk, "value": value, "unit": "kg/kWh", "source": "maker's Art. 7 study"},
        )
    return client, yard, pack, pk


def test_a_graded_pack_keeps_its_beginning_of_life_figure_and_reports_its_condition_beside_it(graded_later):
    # given
    client, yard, pack, pk = graded_later
    as_new = client.get(f"/api/v1/objects/{pk}/battery-footprint", {"vehicle_category": "M1"}).json()

    # when: graded at 80 % state of health, 60 kWh measured
    post(
        client,
        "/api/v1/operations/battery-grading",
        {
            "site": yard.pk,
            "battery": pack,
            "stateOfHealth": "80",
            "capacity": "60 kWh",
            "route": "second_life",
            "eventTime": "2026-10-02T08:00:00Z",
        },
    )
    graded = client.get(f"/api/v1/objects/{pk}/battery-footprint", {"vehicle_category": "M1"}).json()

    # then: lifetime energy = 75 kWh x 60 cycles/year x 8 years = 36,000 kWh, with or without grading
    # (the graded 60 kWh would give 28,800 kWh and 0.1875 kg/kWh);
    # 5,400 kg / 36,000 kWh = 0.15 kg CO2e/kWh: raw materials 4,500 / 36,000 = 0.125,
    # main production 900 / 36,000 = 0.025
    for footprint in (as_new, graded):
        assert footprint["usableEnergyKWh"] == 75
        assert footprint["usableEnergyBasis"] == "rated_energy"
        assert (footprint["cyclesPerYear"], footprint["serviceYears"]) == (M1_CYCLES_PER_YEAR, M1_SERVICE_YEARS)
        assert footprint["lifetimeEnergyKWh"] == pytest.approx(36_000)
        assert footprint["perKWh"]["raw_material_acquisition"] == pytest.approx(0.125)
        assert footprint["perKWh"]["main_production"] == pytest.approx(0.025)
        assert footprint["totalPerKWh"] == pytest.approx(0.15)
    assert graded["totalPerKWh"] == as_new["totalPerKWh"]
    assert as_new["graded"] is None
    assert graded["graded"] == {"capacityKWh": 60, "stateOfHealthPct": 80, "gradedAt": "2026-10-02T08:00:00.000Z"}
    # and the registry rows it used are named, per category
    assert {"battery_cycles_per_year:M1:v1", "battery_service_years:M1:v1"} <= set(graded["factors"])


def test_each_vehicle_category_uses_its_own_rows_and_an_unknown_one_is_refused(graded_later):
    # given
    client, _, _, pk = graded_later
    factors = EmissionFactor.objects.count()

    # when
    car = client.get(f"/api/v1/objects/{pk}/battery-footprint", {"vehicle_category": "M1"})
    moped = client.get(f"/api/v1/objects/{pk}/battery-footprint", {"vehicle_category": "L"})
    van = client.get(f"/api/v1/objects/{pk}/battery-footprint", {"vehicle_category": "N1"})
    unknown = client.get(f"/api/v1/objects/{pk}/battery-footprint", {"vehicle_category": "Z9"})

    # then: M1: 5,400 kg / (75 kWh x 60 x 8 = 36,000 kWh) = 0.15 kg CO2e/kWh;
    # L: 5,400 kg / (75 kWh x 20 x 5 = 7,500 kWh) = 0.72 kg CO2e/kWh; N1 has M1's figures
    assert car.status_code == moped.status_code == van.status_code == 200
    assert car.json()["totalPerKWh"] == pytest.approx(0.15)
    assert moped.json()["lifetimeEnergyKWh"] == pytest.approx(75 * L_CYCLES_PER_YEAR * L_SERVICE_YEARS)
    assert moped.json()["totalPerKWh"] == pytest.approx(0.72)
    assert {"battery_cycles_per_year:L:v1", "battery_service_years:L:v1"} <= set(moped.json()["factors"])
    assert "battery_service_years:M1:v1" not in moped.json()["factors"]
    assert van.json()["totalPerKWh"] == pytest.approx(0.15)
    assert unknown.status_code == 400
    assert unknown.json()["code"] == "vehicle_category_unknown"
    assert unknown.json()["known"] == ["L", "M1", "M2", "M3", "N1", "N2", "N3"]
    assert EmissionFactor.objects.count() == factors


def test_a_new_service_years_version_for_a_category_changes_that_category_alone(graded_later):
    # given: the platform operator records a maker's 10-year warranty as the M1 default
    client, _, _, pk = graded_later
    _, operator_key = services.api_credential_create(organisation=services.platform_organisation())
    operator = APIClient()
    operator.credentials(HTTP_AUTHORIZATION=f"Api-Key {operator_key}")
    post(
        operator,
        "/api/v1/factors",
        {"code": "battery_service_years", "region": "M1", "value": "10", "unit": "year", "source": "10-year warranty"},
    )

    # when
    car = client.get(f"/api/v1/objects/{pk}/battery-footprint", {"vehicle_category": "M1"}).json()
    van = client.get(f"/api/v1/objects/{pk}/battery-footprint", {"vehicle_category": "N1"}).json()

    # then: M1: 5,400 kg / (75 x 60 x 10 = 45,000 kWh) = 0.12; N1 keeps 0.15
    assert car["serviceYears"] == 10 and car["totalPerKWh"] == pytest.approx(0.12)
    assert "battery_service_years:M1:v2" in car["factors"]
    assert van["totalPerKWh"] == pytest.approx(0.15)
