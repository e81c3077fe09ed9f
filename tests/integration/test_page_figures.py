"""Every page of the console and every passport page shows the API's figures: the same numbers,
written at the precision the page shows by the rule the README states (shares as percent to one
decimal, summed before rounding; kg CO2e per kg or per kWh to four decimals; a whole object's
kg CO2e to one; masses to the gram; thousands grouped with commas; a stage the API does not list
in ``assessedStages`` as "not assessed"), in its tables, chart labels and tooltips.

The melt of the scenario is a third pre-consumer scrap, a third post-consumer scrap and a third
primary ingot (333.7 + 333.7 + 332.6 kg): its shares are 0.3337 and 0.3337, so its recycled share
is 66.7 % (66.74), where rounding the parts first would write 66.8 % and whole numbers 67 %. Each
test parses the figures out of the page's HTML and compares them with the API's numbers,
formatted here by the rule written out in the test."""

from __future__ import annotations

from html import unescape
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from carbon.choices import CHAIN_NAMES, METHOD_NAMES
from carbon.engine.model import CHAINS_OF_CUSTODY, METHODS, STAGES
from carbon.services import footprints_catch_up
from passport import services as passports
from passport.models import Passport
from tests.factories import make_partner, make_site
from tests.loop import build_loop
from traceability.models import Membership, TraceableObject

pytestmark = pytest.mark.django_db


# --- the rules, written out (README, "The web admin") ------------------------------------------


def percent(share: float) -> str:
    return f"{share * 100:.1f} %"


def percent_of(percentage: float) -> str:
    return f"{percentage:.1f} %"


def intensity(value: float) -> str:
    return f"{value:,.4f}"


def kg_co2e(value: float) -> str:
    return f"{value:,.1f}"


def kg(value: float | str) -> str:
    return f"{float(value):,.3f}"


def stage_cell(result: dict, stage: str) -> str:
    """A stage's figure, or "not assessed" where the API says the ledger holds no data for it."""
    return intensity(result["perKg"][stage]) if stage in result["assessedStages"] else "not assessed"


# --- reading a page ------------------------------------------------------------------------------


class Page(HTMLParser):
    """A page's table rows (the text of each cell), the texts of its SVG ``<text class=...>``
    labels by class, and the tooltips (``<title>``) inside its SVG charts."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.labels: dict[str, list[str]] = {}
        self.tooltips: list[str] = []
        self._cell: list[str] | None = None
        self._label: tuple[str, list[str]] | None = None
        self._tooltip: list[str] | None = None
        self._svg = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "svg":
            self._svg += 1
        elif tag == "tr":
            self.rows.append([])
        elif tag in {"td", "th"} and self.rows:
            self._cell = []
        elif tag == "text" and named.get("class"):
            self._label = (str(named["class"]), [])
        elif tag == "title" and self._svg:
            self._tooltip = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._svg -= 1
        elif tag in {"td", "th"} and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "text" and self._label is not None:
            self.labels.setdefault(self._label[0], []).append("".join(self._label[1]))
            self._label = None
        elif tag == "title" and self._tooltip is not None:
            self.tooltips.append("".join(self._tooltip))
            self._tooltip = None

    def handle_data(self, data: str) -> None:
        for collecting in (self._cell, self._label[1] if self._label else None, self._tooltip):
            if collecting is not None:
                collecting.append(unescape(data))

    def row(self, first: str) -> list[str]:
        """The cells after the first of the row whose first cell starts with ``first``."""
        found = [row[1:] for row in self.rows if row and row[0].startswith(first)]
        assert found, f"no row {first!r} in {self.rows}"
        return found[0]


# --- the scenario, recorded through the API ------------------------------------------------------


def api(partner) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}")
    return client


def post(client: APIClient, operation: str, body: dict) -> list[str]:
    response = client.post(f"/api/v1/operations/{operation}", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["created"]


@pytest.fixture
def castline(db):  # type: ignore[no-untyped-def]
    """A die-caster that buys scrap and ingot, melts twice in one week and casts trays of one melt."""
    partner = make_partner("castline", role="die_caster")
    hall = make_site(partner, "Press hall")
    client = api(partner)

    def receive(code: str, kind: str, mass: str, **more: object) -> str:
        lot = {"code": code, "kind": kind, "mass": mass, "supplier": "Trader", **more}
        (made,) = post(
            client, "material-receipt", {"site": hall.pk, "eventTime": "2026-10-05T08:00:00Z", "lots": [lot]}
        )
        return made

    def melt(code: str, inputs: list[tuple[str, str]], mass: str, loss: str, hour: int) -> str:
        body = {
            "site": hall.pk,
            "eventTime": f"2026-10-06T{hour:02d}:00:00Z",
            "inputs": [{"identifier": identifier, "mass": kg_in} for identifier, kg_in in inputs],
            "output": {"code": code, "mass": mass},
            "meltLoss": loss,
            "naturalGas": "40 m**3",
            "electricity": "48 kWh",
        }
        (made,) = post(client, "remelting", body)
        return made

    pre = receive("PRE-1", "scrap_lot", "333.7 kg", scrapCategory="pre_consumer", generatorFootprint="7.5 kg/kg")
    post_consumer = receive("POST-1", "scrap_lot", "333.7 kg", scrapCategory="post_consumer")
    primary = receive("P-1", "primary_ingot", "332.6 kg")
    melt_one = melt(
        "M-1", [(pre, "333.7 kg"), (post_consumer, "333.7 kg"), (primary, "332.6 kg")], "980 kg", "20 kg", 8
    )
    more_scrap = receive("POST-2", "scrap_lot", "200 kg", scrapCategory="post_consumer")
    more_primary = receive("P-2", "primary_ingot", "300 kg")
    melt_two = melt("M-2", [(more_scrap, "200 kg"), (more_primary, "300 kg")], "490 kg", "10 kg", 12)
    cast = post(
        client,
        "die-casting",
        {
            "site": hall.pk,
            "eventTime": "2026-10-07T08:00:00Z",
            "melt": {"identifier": melt_one, "mass": "980 kg"},
            "castings": [{"serial": f"T-{n}", "partType": "battery_tray", "mass": "95 kg"} for n in range(10)],
            "runAround": {"code": "RA-1", "mass": "20 kg"},
            "castingLoss": "10 kg",
            "electricity": "120 kWh",
        },
    )
    footprints_catch_up()
    user = get_user_model().objects.create_user("caster", password="pw-for-tests-only")
    Membership.objects.create(user=user, organisation=partner.organisation)
    console = Client()
    console.force_login(user)
    ids = {
        identifier: pk
        for identifier, pk in TraceableObject.objects.values_list("identifier", "pk")
        if identifier in {melt_one, melt_two, *cast}
    }
    return {
        "api": client,
        "console": console,
        "melt": ids[melt_one],
        "melt_two": ids[melt_two],
        "trays": [ids[i] for i in cast if ":part:" in i],
        "run_around": next(ids[i] for i in cast if ":part:" not in i),
    }


def footprint(client: APIClient, pk: int, **query: str) -> list[dict]:
    response = client.get(f"/api/v1/objects/{pk}/footprint", query)
    assert response.status_code == 200, response.json()
    return response.json()


# --- the lot page --------------------------------------------------------------------------------


def test_the_melts_shares_are_the_apis_summed_before_rounding(castline):
    # given: what the API serves
    served = {r["chain"]: r for r in footprint(castline["api"], castline["melt"], method="cut_off")}

    # when
    page = Page(castline["console"].get(f"/app/lots/{castline['melt']}/").content.decode())

    # then: 333.7 of 1000 kg each; 0.3337 + 0.3337 is 66.7 %, never 66.8 % (rounded parts) or 67 %
    physical = served["physical"]
    assert physical["preConsumerShare"] == pytest.approx(0.3337) and physical["postConsumerShare"] == pytest.approx(
        0.3337
    )
    assert physical["recycledShare"] == physical["preConsumerShare"] + physical["postConsumerShare"]
    assert percent(physical["recycledShare"]) == "66.7 %"
    for chain, result in served.items():
        cells = page.row(CHAIN_NAMES[chain])
        assert cells == [
            percent(result["preConsumerShare"]),
            percent(result["postConsumerShare"]),
            percent(result["recycledShare"]),
        ]
    # the chart beside the table labels each chain's bar with the same recycled share
    assert page.labels["recycled"] == [percent(served[chain]["recycledShare"]) for chain in CHAINS_OF_CUSTODY]
    assert f"pre-consumer {percent(physical['preConsumerShare'])}" in page.tooltips


def test_the_lot_pages_footprint_by_stage_and_method_is_the_apis(castline):
    served = {r["method"]: r for r in footprint(castline["api"], castline["melt"], chain="physical")}

    page = Page(castline["console"].get(f"/app/lots/{castline['melt']}/").content.decode())

    methods = [m for m in METHODS if m in served]
    assert page.row("kg CO2e per kg") == [METHOD_NAMES[m] for m in methods]
    for stage in STAGES:
        assert page.row(stage.replace("_", " ").capitalize()) == [stage_cell(served[m], stage) for m in methods]
    assert page.row("Total per kg") == [intensity(served[m]["totalPerKg"]) for m in methods]
    assert page.row("Whole melt batch") == [kg_co2e(served[m]["totalKg"]) for m in methods]
    # the bar chart's labels are the per-stage figures the table shows, by the same rule
    assert {label.removesuffix(" kg CO2e/kg") for label in page.labels["value"]} <= {
        intensity(value) for m in methods for value in served[m]["perKg"].values()
    }


def test_the_lot_pages_masses_are_the_apis(castline):
    served = castline["api"].get(f"/api/v1/objects/{castline['melt']}").json()
    genealogy = castline["api"].get(f"/api/v1/objects/{castline['melt']}/genealogy", {"direction": "forward"}).json()

    html = castline["console"].get(f"/app/lots/{castline['melt']}/").content.decode()
    page = Page(html)
    went_into = html[html.index("<h3>Went into</h3>") :].split("</section>", 1)[0]

    assert page.row("Initial mass") == [f"{kg(served['initialKg'])} kg"]
    assert page.row("Remaining") == [f"{kg(served['remainingKg'])} kg"]
    shown = {row[0]: row[-1] for row in Page(went_into).rows if len(row) == 3}
    assert len(genealogy["nodes"]) == 11  # ten trays and the run-around scrap
    for node in genealogy["nodes"]:
        assert shown[node["label"]] == kg(node["kg"])


# --- the part passport ---------------------------------------------------------------------------


def test_the_part_passport_page_shows_the_footprint_apis_shares_and_footprint(castline):
    tray = castline["trays"][0]
    shares = {r["chain"]: r for r in footprint(castline["api"], tray, method="cut_off")}
    by_method = {r["method"]: r for r in footprint(castline["api"], tray, chain="physical")}

    for reader in (Client(), castline["console"]):  # the public and the part's maker
        page = Page(reader.get(f"/part/{tray}").content.decode())

        for chain, result in shares.items():
            closed_loop = "\N{EN DASH}" if result["closedLoopShare"] is None else percent(result["closedLoopShare"])
            assert page.row(CHAIN_NAMES[chain]) == [
                percent(result["preConsumerShare"]),
                percent(result["postConsumerShare"]),
                percent(result["recycledShare"]),
                closed_loop,
            ]
        assert percent(shares["physical"]["recycledShare"]) == "66.7 %"
        methods = [m for m in METHODS if m in by_method]
        assert page.row("kg CO2e per kg") == [METHOD_NAMES[m] for m in methods]
        for stage in STAGES:
            assert page.row(stage.replace("_", " ").capitalize()) == [stage_cell(by_method[m], stage) for m in methods]
        assert page.row("Total per kg") == [intensity(by_method[m]["totalPerKg"]) for m in methods]
        assert page.row("Whole part") == [kg_co2e(by_method[m]["totalKg"]) for m in methods]
        assert page.labels["value"] == [f"{intensity(by_method[m]['totalPerKg'])} kg CO2e/kg" for m in methods]
        assert page.labels["recycled"] == [percent(shares[chain]["recycledShare"]) for chain in CHAINS_OF_CUSTODY]


# --- the dashboard -------------------------------------------------------------------------------


def test_the_dashboards_weekly_plots_are_the_apis_series_mass_weighted(castline):
    client = castline["api"]
    # given: the series, and the footprint of every melt and casting made that week
    (week,) = client.get("/api/v1/footprints/weekly").json()
    made = [castline["melt"], castline["melt_two"], *castline["trays"]]
    masses = {pk: float(client.get(f"/api/v1/objects/{pk}").json()["initialKg"]) for pk in made}
    results = {pk: footprint(client, pk, method="cut_off", chain="physical")[0] for pk in made}

    # when
    page = Page(castline["console"].get("/app/").content.decode())

    # then: the week's figures are the mass-weighted ones: sum(share x kg) / sum(kg), and
    # sum(kg CO2e) / sum(kg); the run-around scrap is neither a melt nor a casting
    total_kg = sum(masses.values())
    assert week["kg"] == pytest.approx(total_kg)
    assert week["recycledShare"] == pytest.approx(
        sum(results[pk]["recycledShare"] * masses[pk] for pk in made) / total_kg
    )
    assert week["footprintPerKg"] == pytest.approx(sum(results[pk]["totalKg"] for pk in made) / total_kg)
    # the table under the plots, and each plot's point, show them by the rules
    assert page.row(week["week"]) == [kg(week["kg"]), percent(week["recycledShare"]), intensity(week["footprintPerKg"])]
    assert f"recycled content {week['week']}: {percent(week['recycledShare'])}" in page.tooltips
    assert f"cut-off {week['week']}: {intensity(week['footprintPerKg'])} kg CO2e/kg" in page.tooltips


def test_the_weekly_series_is_for_members_only_and_only_of_what_they_made(castline):
    stranger = make_partner("other-caster", role="die_caster")

    assert APIClient().get("/api/v1/footprints/weekly").status_code in {401, 403}
    assert api(stranger).get("/api/v1/footprints/weekly").json() == []


# The Battery Pass lifecycle stages, as the Battery Passport Data Attribute Longlist names them.
STAGE_NAMES = {
    "RawMaterialExtraction": "Raw material acquisition and pre-processing",
    "MainProduction": "Main product production",
    "Distribution": "Distribution",
    "Recycling": "End of life and recycling",
}


# --- the battery passport ------------------------------------------------------------------------


def test_the_battery_passport_pages_charts_are_the_passport_apis_figures(db):
    build_loop()
    footprints_catch_up()
    passports.passports_catch_up()
    passport = Passport.objects.order_by("pk").first()
    assert passport is not None
    served = Client().get(f"/api/v1/passports/{passport.pk}").json()["passport"]

    page = Page(Client().get(f"/passport/{passport.pk}").content.decode())

    stages = served["CarbonFootprintForBatteries"]["carbonFootprintPerLifecycleStage"]
    assert page.labels["value"] == [f"{intensity(s['carbonFootprint'])} kg CO2e/kWh" for s in stages]
    contents = served["Circularity"]["recycledContent"]
    assert contents
    assert page.labels["recycled"] == [
        percent_of((c.get("preConsumerShare") or 0) + (c.get("postConsumerShare") or 0)) for c in contents
    ]
    for content in contents:
        assert f"pre-consumer {percent_of(content.get('preConsumerShare') or 0)}" in page.tooltips
    # every value of the passport data table is the API's, as it serves it
    shown = {row[0]: row[1] for row in page.rows if len(row) == 2}
    for stage in stages:
        name = STAGE_NAMES[stage["lifecycleStage"]]
        assert shown[f"Carbon footprint by lifecycle stage · {name} · Carbon footprint"] == (
            f"{intensity(stage['carbonFootprint'])} kg CO2e/kWh"
        )
    footprint = served["CarbonFootprintForBatteries"]
    assert (
        shown["Carbon footprint per functional unit"] == f"{intensity(footprint['batteryCarbonFootprint'])} kg CO2e/kWh"
    )
    assert shown["Absolute carbon footprint"] == f"{kg_co2e(footprint['absoluteCarbonFootprint'])} kg CO2e"
