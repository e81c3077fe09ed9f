"""Regulator reports: recycled content against Art. 8, recycling against Annex XII, as CSV and XLSX.

Every expected figure is worked out by hand from the data ``tests.recycling`` records.
"""

import csv
import io
import json
import os
import subprocess
import sys
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from passport import reports
from tests.conftest import PROJECT_ROOT
from tests.factories import battery_code
from tests.loop import at, build_loop
from tests.recycling import OTHER_GTIN, _vehicle_with_pack, build_recycling, other_datasheet
from traceability.errors import ApplicationError
from traceability.operations import services as ops

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

EUROCELL_PLANT = "3 Demo Allee, 01067, DE"
TEST_PLANT = "5 Rue Exemple, 59000, FR"


@pytest.fixture
def world():
    return build_recycling()


def by_manufacturer(report: reports.Report) -> dict[str, dict[str, object]]:
    return {row["manufacturer"] or "": row for row in report.rows}


def figures(row: dict[str, object], metal: str) -> tuple[object, ...]:
    keys = ("pre_pct", "post_pct", "total_pct", "minimum_pct", "met")
    return tuple(row[f"{metal}_{key}"] for key in keys)


def d(text: str) -> Decimal:
    return Decimal(text)


# --- recycled content --------------------------------------------------------------------


def test_recycled_content_is_the_mean_per_model_plant_and_year_against_the_art_8_minimums(world):
    # when
    report = reports.recycled_content_report()

    # then: one row per model, plant and year; the undeclared pack last
    assert [row["manufacturer"] for row in report.rows] == ["EUC", "TST", None]
    rows = by_manufacturer(report)

    eurocell = rows["EUC"]  # the loop's three packs: the NMC data sheet, made 2019
    assert (eurocell["gtin"], eurocell["chemistry"], eurocell["rated_energy_kwh"]) == ("09506000000046", "NMC", 75)
    assert (eurocell["plant"], eurocell["year"], eurocell["batteries"]) == (EUROCELL_PLANT, 2019, 3)
    # 2019: no minimum applies yet; compared with the first set (2031), not in force
    assert (eurocell["minimums_of"], eurocell["minimums_in_force"]) == (2031, "no")
    assert figures(eurocell, "Co") == (d("6.00"), d("4.00"), d("10.00"), d("16.00"), "no")
    assert figures(eurocell, "Li") == (d("2.00"), d("1.00"), d("3.00"), d("6.00"), "no")
    assert figures(eurocell, "Ni") == (d("3.00"), d("1.00"), d("4.00"), d("6.00"), "no")
    assert figures(eurocell, "Pb") == (None, None, None, None, None)  # no lead in the battery

    other = rows["TST"]  # three packs made 2032: the 2031 minimums are in force
    assert (other["gtin"], other["plant"], other["year"], other["batteries"]) == (OTHER_GTIN, TEST_PLANT, 2032, 3)
    assert (other["minimums_of"], other["minimums_in_force"]) == (2031, "yes")
    # Co: pre (10 + 12 + 20) / 3 = 14, post (8 + 6 + 10) / 3 = 8, total 22 >= 16
    assert figures(other, "Co") == (d("14.00"), d("8.00"), d("22.00"), d("16.00"), "yes")
    # Li: only the two packs holding lithium: pre (4 + 3) / 2 = 3.5, post (3 + 2) / 2 = 2.5, total 6 >= 6
    assert figures(other, "Li") == (d("3.50"), d("2.50"), d("6.00"), d("6.00"), "yes")
    # Ni: the third pack holds nickel and declares no share (0 %): pre 7 / 3, post 2 / 3, total 3 < 6
    assert figures(other, "Ni") == (d("2.33"), d("0.67"), d("3.00"), d("6.00"), "no")

    undeclared = rows[""]  # the LFP pack registered without a data sheet
    assert (undeclared["chemistry"], undeclared["plant"], undeclared["year"], undeclared["batteries"]) == (
        "LFP",
        None,
        None,
        1,
    )
    assert undeclared["minimums_of"] is None
    assert all(figures(undeclared, metal) == (None,) * 5 for metal in reports.ARTICLE_8_METALS)


def test_a_total_is_summed_and_compared_with_its_minimum_before_rounding(db):
    # given: three packs of one model whose means are not whole hundredths
    loop = build_loop()
    declared = [
        [("Cobalt", 10.0, 8.0), ("Lithium", 3.0, 3.0)],
        [("Cobalt", 10.0, 8.0), ("Lithium", 3.0, 3.0)],
        [("Cobalt", 10.01, 8.01), ("Lithium", 3.0, 2.99)],
    ]
    for n, shares in enumerate(declared):
        sheet = other_datasheet(
            [{"recycledMaterial": m, "preConsumerShare": pre, "postConsumerShare": post} for m, pre, post in shares],
            ["Cobalt", "Lithium"],
        )
        battery = ops.BatteryOut(battery_code(40 + n), "NMC", Decimal("80"), Decimal("400"), sheet)
        _vehicle_with_pack(loop, 40 + n, battery, at(30 + 2 * n))

    # when
    other = by_manufacturer(reports.recycled_content_report())["TST"]

    # then: Co pre 30.01 / 3 = 10.00333, post 24.01 / 3 = 8.00333, total 54.02 / 3 = 18.00667: 18.01
    # (the rounded parts would add up to 18.00)
    assert figures(other, "Co") == (d("10.00"), d("8.00"), d("18.01"), d("16.00"), "yes")
    # Li pre 3, post 8.99 / 3 = 2.99667, total 5.99667: written 6.00, and short of the 6 % minimum
    assert figures(other, "Li") == (d("3.00"), d("3.00"), d("6.00"), d("6.00"), "no")


def test_a_repurposed_pack_is_not_counted_twice(world):
    # given: one of the 2032 packs continues under a new identity, without a data sheet of its own
    loop = world.loop
    pack = world.other_packs[0]
    ops.repurposing(
        organisation=loop.dismantler.organisation,
        site=loop.dismantling_site,
        battery=pack,
        new_battery=ops.BatteryOut("ACRPEA10000099N3B0000099", "NMC", Decimal("60"), Decimal("400")),
        application="stationary energy storage",
        event_time=loop.obj(pack).created_at.replace(day=3),
    )

    # when
    report = reports.recycled_content_report()

    # then: still three 2032 packs, and no undeclared NMC row for the new identity
    assert by_manufacturer(report)["TST"]["batteries"] == 3
    assert [(row["manufacturer"], row["chemistry"]) for row in report.rows] == [
        ("EUC", "NMC"),
        ("TST", "NMC"),
        (None, "LFP"),
    ]


def test_the_year_selects_the_year_of_manufacture(world):
    assert [row["manufacturer"] for row in reports.recycled_content_report(year=2019).rows] == ["EUC"]
    assert [row["manufacturer"] for row in reports.recycled_content_report(year=2032).rows] == ["TST"]
    assert reports.recycled_content_report(year=2024).rows == []


# --- recycling efficiency and material recovery -------------------------------------------


def test_recycling_efficiency_and_material_recovery_per_recycler_and_year(world):
    # when
    report = reports.recycling_report()

    # then
    assert [(row["recycler"], row["year"]) for row in report.rows] == [("cyclemet", 2026), ("recyco", 2025)]
    cyclemet, recyco = report.rows

    # 3 packs of 452 kg in; 490 kg black mass + 270 + 120 + 160 + 170 kg fractions out
    assert (cyclemet["input_kg"], cyclemet["output_kg"]) == (d("1356.000"), d("1210.000"))
    assert cyclemet["efficiency_pct"] == d("89.23")  # 1210 / 1356
    assert cyclemet["chemistries"] == "NMC"
    # 2026 is held to the 65 % due by 31 December 2025
    assert (cyclemet["efficiency_target_by"], cyclemet["efficiency_target_in_force"]) == ("2025-12-31", "yes")
    assert (cyclemet["efficiency_target_pct"], cyclemet["efficiency_met"]) == (d("65.00"), "yes")
    # Part C targets are due by 31 December 2027: compared with, not yet in force
    assert (cyclemet["recovery_targets_by"], cyclemet["recovery_targets_in_force"]) == ("2027-12-31", "no")
    # 400 kg of black mass refined: Ni 20 % = 80 kg, 380 kg salt at 20 % = 76 kg
    assert recovery(cyclemet, "Ni") == (d("80.000"), d("76.000"), d("95.00"), d("90.00"), "yes")
    # Co 6 % = 24 kg, 102 kg salt at 20 % = 20.4 kg
    assert recovery(cyclemet, "Co") == (d("24.000"), d("20.400"), d("85.00"), d("90.00"), "no")
    # Li 4 % = 16 kg, 40 kg salt at 20 % = 8 kg: exactly the target
    assert recovery(cyclemet, "Li") == (d("16.000"), d("8.000"), d("50.00"), d("50.00"), "yes")
    assert recovery(cyclemet, "Cu") == (None,) * 5  # nothing recorded
    assert recovery(cyclemet, "Pb") == (None,) * 5

    # 2025: 300 kg LFP in, 102 + 78 kg out = 60 %, below the 65 % due by the end of that year
    assert (recyco["input_kg"], recyco["output_kg"], recyco["efficiency_pct"]) == (
        d("300.000"),
        d("180.000"),
        d("60.00"),
    )
    assert (recyco["chemistries"], recyco["efficiency_target_in_force"]) == ("LFP", "yes")
    assert (recyco["efficiency_target_pct"], recyco["efficiency_met"]) == (d("65.00"), "no")
    assert all(recovery(recyco, metal) == (None,) * 5 for metal in reports.RECOVERY_METALS)


def recovery(row: dict[str, object], metal: str) -> tuple[object, ...]:
    keys = ("contained_kg", "recovered_kg", "recovery_pct", "target_pct", "met")
    return tuple(row[f"{metal}_{key}"] for key in keys)


def test_the_year_selects_the_year_of_the_events(world):
    assert [row["recycler"] for row in reports.recycling_report(year=2025).rows] == ["recyco"]
    assert [row["recycler"] for row in reports.recycling_report(year=2026).rows] == ["cyclemet"]
    assert reports.recycling_report(year=2027).rows == []


def test_every_target_is_read_from_the_data_file_with_its_source():
    rows = json.loads(reports.TARGETS_FILE.read_text())["targets"]
    targets = reports.recycling_targets()

    assert len(targets) == len(rows) == 12
    assert all(t.source.startswith("Regulation (EU) 2023/1542, Annex XII Part") for t in targets)
    by_key = {(t.measure, t.material, t.by.year): t.target_pct for t in targets}
    assert by_key[("recycling_efficiency", "", 2025)] == 65
    assert by_key[("recycling_efficiency", "", 2030)] == 70
    assert [by_key[("material_recovery", m, 2027)] for m in ("Co", "Cu", "Pb", "Li", "Ni")] == [90, 90, 90, 50, 90]
    assert [by_key[("material_recovery", m, 2031)] for m in ("Co", "Cu", "Pb", "Li", "Ni")] == [95, 95, 95, 80, 95]


def test_a_target_due_by_the_end_of_a_year_applies_to_that_year_and_later():
    from datetime import date

    dates = [date(2027, 12, 31), date(2031, 12, 31)]
    assert reports.target_set(dates, 2026) == (date(2027, 12, 31), False)
    assert reports.target_set(dates, 2027) == (date(2027, 12, 31), True)
    assert reports.target_set(dates, 2031) == (date(2031, 12, 31), True)
    assert reports.target_set(dates, 2040) == (date(2031, 12, 31), True)
    assert reports.target_set(dates, None) == (None, False)


# --- files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["recycled-content", "recycling"])
def test_the_csv_parses_back_to_the_rows_with_units_in_the_header(world, tmp_path, name):
    report = reports.report_build(name=name)
    out = tmp_path / f"{name}.csv"

    call_command("regulator_report", name, "--format", "csv", "--out", str(out))

    parsed = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert parsed[0] == [c.header for c in report.columns]
    assert len(parsed) == len(report.rows) + 1
    for line, row in zip(parsed[1:], report.rows, strict=True):
        assert line == ["" if row[c.key] is None else str(row[c.key]) for c in report.columns]


def test_the_csv_headers_name_their_units(world, tmp_path):
    out = tmp_path / "recycling.csv"
    call_command("regulator_report", "recycling", "--format", "csv", "--out", str(out), "--year", "2026")

    (row,) = csv.DictReader(io.StringIO(out.read_text(encoding="utf-8")))
    assert row["input batteries (kg)"] == "1356.000"
    assert row["recycling efficiency (%)"] == "89.23"
    assert row["efficiency target (%)"] == "65.00"
    assert row["Co material recovery (%)"] == "85.00"
    assert row["Co target met (yes/no)"] == "no"
    assert row["Cu material recovery (%)"] == ""


@pytest.mark.parametrize("name", ["recycled-content", "recycling"])
def test_the_xlsx_reads_back_with_numbers_as_numbers_and_the_sources(world, tmp_path, name):
    report = reports.report_build(name=name)
    out = tmp_path / f"{name}.xlsx"

    call_command("regulator_report", name, "--format", "xlsx", "--out", str(out))

    workbook = load_workbook(out)
    assert workbook.sheetnames == ["Report", "Sources"]
    lines = list(workbook["Report"].values)
    assert list(lines[0]) == [c.header for c in report.columns]
    for line, row in zip(lines[1:], report.rows, strict=True):
        for value, column in zip(line, report.columns, strict=True):
            expected = row[column.key]
            if isinstance(expected, Decimal):
                assert value == pytest.approx(float(expected)), column.header
            else:
                assert value == expected, column.header
    sources = list(workbook["Sources"].values)
    assert sources[0] == ("rule", "value", "source")
    assert all("Regulation (EU) 2023/1542" in str(rule[2]) for rule in sources[1 : len(report.sources) + 1])
    assert len(report.sources) == (8 if name == "recycled-content" else 12)


def test_the_xlsx_holds_the_hand_worked_figures(world, tmp_path):
    out = tmp_path / "content.xlsx"
    call_command("regulator_report", "recycled-content", "--format", "xlsx", "--out", str(out), "--year", "2032")

    header, row = list(load_workbook(out)["Report"].values)
    cells = dict(zip(header, row, strict=True))
    assert cells["batteries (count)"] == 3
    assert cells["Co recycled total (%)"] == 22
    assert cells["Li Art. 8 minimum (%)"] == 6
    assert cells["Ni minimum met (yes/no)"] == "no"
    assert cells["manufacturing plant"] == TEST_PLANT


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["leaderboard", "--format", "csv"], "invalid choice"),
        (["recycling", "--format", "pdf"], "invalid choice"),
        (["recycling", "--format", "csv", "--year", "20x6"], "invalid int value"),
        (["recycling", "--format", "csv", "--year", "0"], "year_invalid"),
        (["recycled-content", "--format", "xlsx", "--year", "10000"], "year_invalid"),
    ],
)
def test_bad_input_is_a_clear_error_and_writes_no_file(db, tmp_path, arguments, message):
    out = tmp_path / "report"

    with pytest.raises(CommandError, match=message):
        call_command("regulator_report", *arguments, "--out", str(out))

    assert list(tmp_path.iterdir()) == []


def test_an_output_in_a_missing_directory_is_refused(db, tmp_path):
    with pytest.raises(CommandError, match="is not a directory"):
        call_command("regulator_report", "recycling", "--format", "csv", "--out", str(tmp_path / "no" / "r.csv"))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_the_command_line_exits_non_zero_on_bad_input(tmp_path):
    out = tmp_path / "r.csv"
    for arguments in (["recycling", "--format", "csv", "--year", "0"], ["recycling", "--format", "doc"]):
        done = subprocess.run(
            [sys.executable, "manage.py", "regulator_report", *arguments, "--out", str(out)],
            cwd=PROJECT_ROOT,
            env=os.environ.copy(),
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode != 0
        assert "year_invalid" in done.stderr or "invalid choice" in done.stderr
        assert not out.exists()


def test_the_selectors_refuse_a_bad_year_or_report(db):
    with pytest.raises(ApplicationError, match="year_invalid"):
        reports.recycling_report(year=-1)
    with pytest.raises(ApplicationError, match="report_unknown"):
        reports.report_build(name="emissions")
