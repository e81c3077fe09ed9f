"""Regulator reports over the API: regulators only, the same files as ``manage.py regulator_report``."""

import csv
import io

import pytest
from openpyxl import load_workbook
from rest_framework.test import APIClient

from tests.factories import make_partner
from tests.integration.test_web_admin import member
from tests.recycling import build_recycling

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def client_for(partner) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}")
    return client


@pytest.fixture
def world():
    return build_recycling()


@pytest.fixture
def regulator(world) -> APIClient:
    return client_for(world.regulator)


def test_a_regulator_downloads_the_recycling_report_as_csv(regulator):
    # when
    response = regulator.get("/api/v1/reports/recycling.csv", {"year": 2026})

    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="looptrace-recycling-2026.csv"'
    (row,) = csv.DictReader(io.StringIO(response.content.decode("utf-8")))
    assert row["recycler"] == "cyclemet"
    assert row["input batteries (kg)"] == "1356.000"
    assert row["recycling outputs (kg)"] == "1210.000"
    assert row["recycling efficiency (%)"] == "89.23"
    assert row["efficiency target met (yes/no)"] == "yes"
    assert row["Ni material recovery (%)"] == "95.00"


def test_a_regulator_downloads_the_recycled_content_report_as_xlsx(regulator):
    response = regulator.get("/api/v1/reports/recycled-content.xlsx")

    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert response["Content-Disposition"] == 'attachment; filename="looptrace-recycled-content-all-years.xlsx"'
    header, *rows = load_workbook(io.BytesIO(response.content))["Report"].values
    assert len(rows) == 3
    cells = dict(zip(header, rows[0], strict=True))
    assert (cells["manufacturer"], cells["year of manufacture"], cells["batteries (count)"]) == ("EUC", 2019, 3)
    assert (cells["Co recycled total (%)"], cells["Co Art. 8 minimum (%)"], cells["Co minimum met (yes/no)"]) == (
        10,
        16,
        "no",
    )


def test_the_type_in_the_path_wins_over_the_accept_header(regulator):
    response = regulator.get("/api/v1/reports/recycling.csv", HTTP_ACCEPT="text/csv")

    assert response.status_code == 200
    assert response.content.decode("utf-8").startswith("recycler,recycler name,year,")


@pytest.mark.parametrize("role", ["battery_recycler", "oem", "dismantler", "battery_maker"])
def test_every_other_role_is_refused_with_a_code(world, role):
    response = client_for(make_partner(f"onlooker-{role}".replace("_", "-"), role=role)).get(
        "/api/v1/reports/recycling.csv"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "role_not_allowed"


def test_the_recycler_reported_on_is_refused_too(world):
    response = client_for(world.cyclemet).get("/api/v1/reports/recycling.xlsx")

    assert response.status_code == 403
    assert response.json()["code"] == "role_not_allowed"


def test_an_anonymous_caller_is_refused(world):
    response = APIClient().get("/api/v1/reports/recycled-content.csv")

    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/v1/reports/emissions.csv", 404, "report_unknown"),
        ("/api/v1/reports/recycling.pdf", 404, "format_unknown"),
        ("/api/v1/reports/recycling.csv?year=twenty", 400, "invalid"),
        ("/api/v1/reports/recycling.csv?year=0", 400, "min_value"),
        ("/api/v1/reports/recycled-content.xlsx?year=10000", 400, "max_value"),
    ],
)
def test_bad_input_is_a_clear_error(regulator, path, status, code):
    response = regulator.get(path)

    assert response.status_code == status
    assert response.json()["code"] == code


def test_the_console_offers_the_same_files_to_regulators_only(world, regulator):
    console = member(world.regulator.organisation, "inspector")
    page = console.get("/app/reports/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Recycled content (Art. 8)" in text and 'for="year-recycling"' in text
    # when
    for report, file_format in (("recycling", "csv"), ("recycled-content", "xlsx"), ("recycling", "xlsx")):
        from_console = console.get("/app/reports/", {"report": report, "year": "2026", "format": file_format})
        from_api = regulator.get(f"/api/v1/reports/{report}.{file_format}", {"year": 2026})
        # then: the same file (an XLSX's bytes carry its creation time: compare the cells)
        assert from_console["Content-Disposition"] == from_api["Content-Disposition"]
        if file_format == "csv":
            assert from_console.content == from_api.content
        else:
            cells = [
                [list(sheet.iter_rows(values_only=True)) for sheet in load_workbook(io.BytesIO(answer.content))]
                for answer in (from_console, from_api)
            ]
            assert cells[0] == cells[1]
    # bad input: told on the page, nothing downloaded
    bad = ({"report": "recycling", "year": "abc"}, {"report": "nope"}, {"report": "recycling", "format": "pdf"})
    for params in bad:
        answer = console.get("/app/reports/", params, follow=True)
        assert answer.status_code == 200 and "attachment" not in answer.get("Content-Disposition", "")
        assert any(code in answer.content.decode() for code in ("year_invalid", "report_unknown", "format_unknown"))
    # the recyclers the report is about, and anyone else: refused
    others = [
        member(world.cyclemet.organisation, "recycler"),
        member(make_partner("yard", role="dismantler").organisation, "yard"),
    ]
    for other in others:
        refused = other.get("/app/reports/", {"report": "recycling", "format": "csv"})
        assert refused.status_code == 403 and "attachment" not in refused.get("Content-Disposition", "")
