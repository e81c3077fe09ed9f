"""The one rule pages write figures by (``traceability.figures``) and the stages a footprint holds
data for (``carbon.engine.model.assessed_stages``)."""

import pytest

from carbon.engine.model import assessed_stages
from traceability import figures


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (figures.kg(1850), "1,850.000"),
        (figures.kg(-1850.5), "-1,850.500"),
        (figures.kg(0.0004), "0.000"),
        (figures.kg(-0.0004), "0.000"),  # a negative zero is zero
        (figures.kg_co2e(1234567.25), "1,234,567.2"),
        (figures.intensity(3.37844), "3.3784"),
        (figures.percent(0.3337 + 0.3337), "66.7 %"),
        (figures.percent(None), "\N{EN DASH}"),
        (figures.recorded("1850.000"), "1,850"),
        (figures.recorded(83.5), "83.5"),
        (figures.recorded("0.08"), "0.08"),
        (figures.recorded("not a number"), "not a number"),
    ],
)
def test_figures_are_grouped_by_thousands_at_their_kinds_precision(written, expected):
    assert written == expected


def test_a_stage_is_assessed_where_something_was_recorded_in_it():
    per_kg = {
        "raw_material_acquisition": 0.0,
        "main_production": 0.0,
        "distribution": 0.0028,
        "end_of_life_and_recycling": -11.59,
    }

    assert assessed_stages(per_kg) == ("raw_material_acquisition", "distribution", "end_of_life_and_recycling")
    assert assessed_stages({}) == ("raw_material_acquisition",)
