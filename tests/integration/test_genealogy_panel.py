"""The lot page's genealogy at the size of a real melt: hundreds of inputs drawn as a few bands of a
fixed-width flow into the lot, grouped by stage and organisation with the API's counts and kg, each
group's table paged, another organisation's objects folded, in the same number of queries."""

import re
from collections import defaultdict
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import make_partner, make_site
from traceability.choices import ObjectKind, ScrapCategory
from traceability.figures import kg
from traceability.identifiers import local_uri
from traceability.models import Membership, TraceableObject
from traceability.operations import services as ops
from traceability.web.panels import FOLDED_LABEL, GROUP_ROWS
from traceability.web.svg import FLOW_WIDTH, MAX_BANDS

pytestmark = pytest.mark.django_db

YARD_LOTS, OWN_LOTS = 240, 60
SCRAP = {"scrapCategory": ScrapCategory.POST_CONSUMER, "alloyFamily": "cast"}
SVG = "{http://www.w3.org/2000/svg}"
DASH = "\N{EN DASH}"
SUMMARY = re.compile(
    r'<details id="(?P<key>\w+)"(?P<open> open)?>\s*<summary data-group>'
    r'<span class="group-name">(?P<name>[^<]+)</span>: '
    r'<span class="group-count">(?P<count>[\d,]+)</span> objects?, <span class="group-kg">(?P<kg>[\d,.]+)</span> kg'
)


def lots(prefix: str, count: int, kg_each: Decimal) -> list[ops.LotOut]:
    return [ops.LotOut(ObjectKind.SCRAP_LOT, kg_each, code=f"{prefix}-{n:03d}", attributes=SCRAP) for n in range(count)]


def console(organisation, username: str) -> Client:  # type: ignore[no-untyped-def]
    user = get_user_model().objects.create_user(username, password="pw-for-tests-only")
    Membership.objects.create(user=user, organisation=organisation)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def wide(db):  # type: ignore[no-untyped-def]
    """A yard receives 240 scrap lots, sorts them into one and passes it on; a remelter sorts that lot
    with 60 of its own into the lot on the page (302 ancestors, 301 of them sources)."""
    yard, remelter = make_partner("wide-yard"), make_partner("wide-remelt")
    yard_site, remelt_site = make_site(yard, "Yard"), make_site(remelter, "Shop")
    ops.material_receipt(organisation=yard.organisation, site=yard_site, lots=lots("Y", YARD_LOTS, Decimal("2.5")))
    yard_lots = [local_uri("lot", "wide-yard", f"Y-{n:03d}") for n in range(YARD_LOTS)]
    ops.scrap_sorting(
        organisation=yard.organisation,
        site=yard_site,
        parts=[],
        lots=[ops.LotIn(lot, Decimal("2.5")) for lot in yard_lots],
        outputs=lots("YS", 1, Decimal("600")),
        losses={},
    )
    bale = local_uri("lot", "wide-yard", "YS-000")
    ops.custody_transfer(
        organisation=yard.organisation,
        site=yard_site,
        items=[],
        lots=[ops.LotIn(bale, Decimal("600"))],
        receiver=remelter.organisation,
    )
    ops.material_receipt(organisation=remelter.organisation, site=remelt_site, lots=lots("R", OWN_LOTS, Decimal("5")))
    own = [local_uri("lot", "wide-remelt", f"R-{n:03d}") for n in range(OWN_LOTS)]
    ops.scrap_sorting(
        organisation=remelter.organisation,
        site=remelt_site,
        parts=[],
        lots=[ops.LotIn(bale, Decimal("600")), *(ops.LotIn(lot, Decimal("5")) for lot in own)],
        outputs=lots("MIX", 1, Decimal("890")),
        losses={"sortingLoss": Decimal("10")},
    )
    mix = TraceableObject.objects.get(identifier=local_uri("lot", "wide-remelt", "MIX-000"))
    return {
        "mix": mix,
        "own": TraceableObject.objects.get(identifier=own[0]),
        "yard_lots": yard_lots,
        "yard": yard.organisation,
        "remelter": console(remelter.organisation, "wide-melter"),
        "yard_console": console(yard.organisation, "wide-yarder"),
    }


def genealogy_card(html: str) -> str:
    card = html[html.index('id="genealogy-card"') :]
    return card[: card.index("</section>")]


def groups_on(card: str) -> dict[str, dict[str, str]]:
    return {m["name"].replace("&#x27;", "'"): m.groupdict() for m in SUMMARY.finditer(card)}


def api_groups(client: Client, lot: TraceableObject, direction: str) -> dict[str, tuple[int, Decimal]]:
    """The API's genealogy nodes grouped as the page groups them: kind and maker, folded apart."""
    served = client.get(f"/api/v1/objects/{lot.pk}/genealogy", {"direction": direction}).json()["nodes"]
    makers = dict(
        TraceableObject.objects.filter(identifier__in=[n["identifier"] for n in served if not n["folded"]]).values_list(
            "identifier", "created_by__name"
        )
    )
    groups: dict[str, tuple[int, Decimal]] = defaultdict(lambda: (0, Decimal(0)))
    for node in served:
        name = f"{ObjectKind(node['kind']).label}, {FOLDED_LABEL if node['folded'] else makers[node['identifier']]}"
        count, total = groups[name]
        groups[name] = (count + 1, total + Decimal(node["kg"]))
    return dict(groups)


def test_hundreds_of_inputs_draw_a_bounded_flow_into_the_lot_with_the_apis_group_totals(wide):
    # given
    mix, client = wide["mix"], wide["remelter"]

    # when
    page = client.get(f"/app/lots/{mix.pk}/")

    # then: one drawing of a fixed width, scaled to the page, a few bands, the lot itself drawn in it
    card = genealogy_card(page.content.decode())
    (drawing,) = re.findall(r"<svg .*?</svg>", card, re.S)
    svg = ElementTree.fromstring(drawing)
    assert svg.get("viewBox").split()[2] == str(FLOW_WIDTH) and svg.get("width") == "100%"
    assert all(float(e.get("x", 0)) <= FLOW_WIDTH for e in svg.iter() if e.get("x"))
    bands = [p for p in svg.iter(f"{SVG}path") if p.get("class") == "band"]
    assert 1 < len(bands) <= MAX_BANDS and all(p.find(f"{SVG}title") is not None for p in bands)
    assert [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "subject"] == ["MIX-000"]
    # the bands are the sources (the yard's 240 lots and the remelter's 60) and carry all the lot's kg
    band_kg = [
        Decimal(t.text.removesuffix(" kg").replace(",", ""))
        for t in svg.iter(f"{SVG}text")
        if t.get("class") == "band-kg"
    ]
    # each band is one group of the API's sources (nodes nothing went into), their kg summed as served
    served_nodes = client.get(f"/api/v1/objects/{mix.pk}/genealogy").json()
    fed = {edge["target"] for edge in served_nodes["edges"]}
    sources = [node for node in served_nodes["nodes"] if node["id"] not in fed]
    assert len(sources) == YARD_LOTS + OWN_LOTS
    by_group: dict[bool, Decimal] = defaultdict(Decimal)
    for node in sources:
        by_group[node["folded"]] += Decimal(node["kg"])
    assert sorted(band_kg) == sorted(by_group.values())
    # and together they are the lot's kg, to the gram each source is served to
    assert abs(sum(band_kg) - mix.initial_kg) <= Decimal("0.0005") * len(sources)
    # and the groups are the API's nodes by stage and organisation: counts and kg to the gram
    shown = groups_on(card)
    served = api_groups(client, mix, "backward")
    assert (
        set(served)
        == set(shown)
        == {
            f"Scrap lot, {FOLDED_LABEL}",
            "Scrap lot, Wide Yard",
            "Scrap lot, Wide Remelt",
        }
    )
    for name, (count, total) in served.items():
        assert shown[name]["count"] == f"{count:,}" and shown[name]["kg"] == kg(total)
    assert served[f"Scrap lot, {FOLDED_LABEL}"][0] == YARD_LOTS


def test_another_organisations_objects_stay_folded_and_their_maker_sees_them(wide):
    mix = wide["mix"]

    theirs = genealogy_card(wide["remelter"].get(f"/app/lots/{mix.pk}/", {"in1": 3}).content.decode())
    yards = genealogy_card(
        wide["yard_console"]
        .get(f"/app/lots/{TraceableObject.objects.get(identifier=wide['yard_lots'][0]).pk}/")
        .content.decode()
    )

    # the remelter sees the yard's bale (it held it) but none of the 240 lots the yard received
    assert not [lot for lot in wide["yard_lots"] if lot.rsplit(".", 1)[1] in theirs]
    assert "YS-000" in theirs and f"<td>{FOLDED_LABEL.replace(chr(39), '&#x27;')}</td>" in theirs
    # the yard sees its own lot go into its bale, and the remelter's lot only folded
    assert "YS-000" in yards and "MIX-000" not in yards
    assert f"Scrap lot, {FOLDED_LABEL}" in groups_on(yards)


def test_each_groups_table_is_paged_and_a_page_asked_for_opens_its_group(wide):
    mix, client = wide["mix"], wide["remelter"]
    folded = f"Scrap lot, {FOLDED_LABEL}"
    key = groups_on(genealogy_card(client.get(f"/app/lots/{mix.pk}/").content.decode()))[folded]["key"]

    first = genealogy_card(client.get(f"/app/lots/{mix.pk}/").content.decode())
    second = genealogy_card(client.get(f"/app/lots/{mix.pk}/", {key: 2}).content.decode())
    last = genealogy_card(client.get(f"/app/lots/{mix.pk}/", {key: 999}).content.decode())
    nonsense = genealogy_card(client.get(f"/app/lots/{mix.pk}/", {key: "x"}).content.decode())

    def group(card: str) -> str:
        return card[card.index(f'<details id="{key}"') :].split("</details>", 1)[0]

    # a large group is closed until asked for, and shows one page of rows with a link to the next
    assert groups_on(first)[folded]["open"] is None and groups_on(second)[folded]["open"] == " open"
    assert group(first).count("<tr>") - 1 == GROUP_ROWS
    assert f"Rows 1{DASH}{GROUP_ROWS} of {YARD_LOTS}" in group(first)
    assert f'href="?{key}=2#{key}" rel="next"' in group(first)
    assert f"Rows {GROUP_ROWS + 1}{DASH}{2 * GROUP_ROWS} of {YARD_LOTS}" in group(second)
    assert f'href="?{key}=1#{key}" rel="prev"' in group(second)
    pages = -(-YARD_LOTS // GROUP_ROWS)
    assert f"of {YARD_LOTS}" in group(last) and 'rel="next"' not in group(last)
    assert f"Rows {(pages - 1) * GROUP_ROWS + 1}{DASH}{YARD_LOTS}" in group(last)
    assert f"Rows 1{DASH}{GROUP_ROWS} of" in group(nonsense)


def test_the_went_into_groups_are_the_apis_forward_genealogy(wide):
    own, client = wide["own"], wide["remelter"]

    card = genealogy_card(client.get(f"/app/lots/{own.pk}/").content.decode())

    served = api_groups(client, own, "forward")
    # the mix holds 890 of the 900 kg sorted: 4.944 kg of this lot
    assert served == {"Scrap lot, Wide Remelt": (1, Decimal("4.944"))}
    assert "Went into" in card and groups_on(card)["Scrap lot, Wide Remelt"]["kg"] == "4.944"
    assert "<svg" not in card  # a lot nothing went into has no sources to draw


def test_the_page_costs_the_same_queries_for_three_hundred_inputs_as_for_one(wide):
    client = wide["remelter"]

    def queries(path: str, **params: object) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path, params).status_code == 200
        return len(captured)

    wide_page = queries(f"/app/lots/{wide['mix'].pk}/")
    paged = queries(f"/app/lots/{wide['mix'].pk}/", in2=5)
    narrow = queries(f"/app/lots/{wide['own'].pk}/")

    assert wide_page == paged == narrow
