"""Mass-balance chain of custody through the partner API: credits, claims, refusals, the account.

Hand-computed reference cases: the arithmetic is written in each test.
"""

from decimal import Decimal

import pytest

from carbon.services import footprints_catch_up, footprints_recompute
from tests.api.test_operations_api import client_for, parties, post, run_loop  # noqa: F401 - a fixture
from tests.factories import make_partner, make_site
from traceability.models import LedgerEntry, TraceableObject

pytestmark = pytest.mark.django_db
REL = 1e-9
# In ``run_loop`` the melt is made at 08:00 and leaves for the die-caster at 09:00.
LOOP_CLAIM_TIME = "2026-10-08T08:30:00Z"


def receive(client, site, lots, *, day="01"):  # type: ignore[no-untyped-def]
    return post(client, "material-receipt", {"site": site.pk, "eventTime": f"2026-03-{day}T08:00:00Z", "lots": lots})[
        "created"
    ]


def scrap(code, kg, category):  # type: ignore[no-untyped-def]
    return {"code": code, "kind": "scrap_lot", "mass": f"{kg} kg", "supplier": "Scrap yard", "scrapCategory": category}


def primary(code, kg):  # type: ignore[no-untyped-def]
    return {"code": code, "kind": "primary_ingot", "mass": f"{kg} kg", "supplier": "Smelter"}


def melt(client, site, inputs, code, out_kg, loss_kg, *, day="02"):  # type: ignore[no-untyped-def]
    return post(
        client,
        "remelting",
        {
            "site": site.pk,
            "eventTime": f"2026-03-{day}T08:00:00Z",
            "inputs": [{"identifier": i, "mass": f"{kg} kg"} for i, kg in inputs],
            "output": {"code": code, "kind": "ingot_lot", "mass": f"{out_kg} kg"},
            "meltLoss": f"{loss_kg} kg",
            "naturalGas": "0 m**3",
            "electricity": "0 kWh",
        },
    )["created"][0]


def claim(client, site, lot, kg, category="post_consumer", *, make=None, status=201, when="2026-03-03", key=None):  # type: ignore[no-untyped-def]
    moment = when if "T" in when else f"{when}T09:00:00Z"
    body = {"site": site.pk, "lot": lot, "mass": f"{kg} kg", "category": category, "eventTime": moment}
    if make:
        body["vehicleMake"] = make
    return post(client, "recycled-content-claim", body, status=status, key=key)


def account(client, site, year="2026"):  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/sites/{site.pk}/accounts/{year}")
    assert response.status_code == 200, response.json()
    return response.json()


def shares(client, identifier, chain):  # type: ignore[no-untyped-def]
    pk = TraceableObject.objects.get(identifier=identifier).pk
    (result,) = client.get(f"/api/v1/objects/{pk}/footprint", {"method": "cut_off", "chain": chain}).json()
    return result


@pytest.fixture
def remelter(db):  # type: ignore[no-untyped-def]
    partner = make_partner("claim-remelt", role="remelter")
    return partner, make_site(partner, "Melt shop"), client_for(partner)


def test_a_claim_within_credits_is_accepted_and_one_beyond_is_refused_with_nothing_stored(remelter):
    # given: 600 kg post-consumer scrap + 400 kg primary, 50 kg melt loss -> 950 kg ingot.
    # Credits: the melt's post-consumer share 600 / 1000 = 0.6 of its 950 kg out = 570 kg.
    _, site, client = remelter
    scrap_lot, ingot = receive(client, site, [scrap("S-1", 600, "post_consumer"), primary("P-1", 400)])
    lot = melt(client, site, [(scrap_lot, 600), (ingot, 400)], "M-1", 950, 50)
    footprints_catch_up()
    assert account(client, site)["available"]["postConsumerKg"] == pytest.approx(0.6 * 950, rel=REL)

    # when: 500 kg of the 950 kg lot claimed post-consumer
    claim(client, site, lot, 500)
    footprints_catch_up()

    # then: the account holds 570 - 500 = 70 kg; the lot's mass-balance share is 500 / 950,
    # its physical share stays 600 / 1000 = 0.6
    statement = account(client, site)
    assert statement["credited"]["postConsumerKg"] == pytest.approx(570, rel=REL)
    assert statement["claimed"]["postConsumerKg"] == pytest.approx(500, rel=REL)
    assert statement["available"]["postConsumerKg"] == pytest.approx(570 - 500, rel=REL)
    assert shares(client, lot, "mass_balance")["postConsumerShare"] == pytest.approx(500 / 950, rel=REL)
    assert shares(client, lot, "physical")["postConsumerShare"] == pytest.approx(0.6, rel=REL)
    entries = statement["entries"]
    assert [(e["kind"], e["operation"]) for e in entries] == [
        ("credit", "remelting"),
        ("claim", "recycled_content_claim"),
    ]
    assert entries[0]["lots"] == [lot] and entries[0]["postConsumerKg"] == pytest.approx(570, rel=REL)
    assert (entries[1]["lot"], entries[1]["kg"], entries[1]["category"]) == (lot, 500, "post_consumer")
    assert [e["balance"]["postConsumerKg"] for e in entries] == pytest.approx([570, 70], rel=REL)

    # when: 100 kg more, beyond the 70 kg left
    size = LedgerEntry.objects.count()
    refused = claim(client, site, lot, 100, status=409)

    # then: refused, with the available kg; nothing stored; the account unchanged
    assert refused["code"] == "credits_insufficient"
    assert refused["availableKg"] == pytest.approx(70, rel=REL)
    assert LedgerEntry.objects.count() == size
    assert account(client, site)["available"]["postConsumerKg"] == pytest.approx(70, rel=REL)
    # and the figures served equal a full recomputation
    served = shares(client, lot, "mass_balance")
    footprints_recompute()
    assert shares(client, lot, "mass_balance") == served


def test_pre_consumer_credits_are_claimed_apart_from_post_consumer(remelter):
    # given: 200 kg pre-consumer + 100 kg post-consumer + 200 kg primary, 10 kg loss -> 490 kg.
    # Credits: pre 200 / 500 x 490 = 196 kg; post 100 / 500 x 490 = 98 kg.
    _, site, client = remelter
    pre, post_, ingot = receive(
        client, site, [scrap("N-1", 200, "pre_consumer"), scrap("O-1", 100, "post_consumer"), primary("P-2", 200)]
    )
    lot = melt(client, site, [(pre, 200), (post_, 100), (ingot, 200)], "M-2", 490, 10)

    # when: 150 kg pre-consumer, then 50 kg more pre-consumer (196 - 150 = 46 left)
    claim(client, site, lot, 150, "pre_consumer")
    refused = claim(client, site, lot, 50, "pre_consumer", status=409)
    claim(client, site, lot, 98, "post_consumer")
    footprints_catch_up()

    # then
    assert refused["code"] == "credits_insufficient"
    assert refused["availableKg"] == pytest.approx(196 - 150, rel=REL)
    statement = account(client, site)
    assert statement["available"]["preConsumerKg"] == pytest.approx(46, rel=REL)
    assert statement["available"]["postConsumerKg"] == pytest.approx(0, abs=1e-9)
    result = shares(client, lot, "mass_balance")
    assert result["preConsumerShare"] == pytest.approx(150 / 490, rel=REL)
    assert result["postConsumerShare"] == pytest.approx(98 / 490, rel=REL)


def test_a_closed_loop_claim_draws_the_credits_of_its_vehicle_make_and_a_part_carries_it(parties):  # noqa: F811
    # given: the loop of test_operations_api: two Volta vehicles give 83.5 kg of post-consumer
    # scrap, melted with 416.5 kg primary and a 10 kg loss into a 490 kg melt, then cast (10 trays).
    # So the remelter's account holds 83.5 / 500 x 490 = 81.83 kg of post-consumer credits, all
    # Volta's. Here the claim comes before the melt leaves: the loop is replayed up to the melt.
    _, _, die_caster_client = parties["die_caster"]
    _, shop, remelter = parties["remelter"]
    credit = 83.5 / 500 * 490

    made = run_loop(parties, claim=lambda lot: claim(remelter, shop, lot, 80, make="Volta", when=LOOP_CLAIM_TIME))
    footprints_catch_up()

    # then: the Volta credits are 81.83 - 80 = 1.83 kg; a claim of another make has none
    statement = account(remelter, shop)
    assert statement["available"]["postConsumerByMakeKg"]["Volta"] == pytest.approx(credit - 80, rel=REL)
    # and a tray cast from the claimed melt carries its mass-balance share, 80 / 490, 80 / 490 Volta's
    tray = shares(die_caster_client, made["trays"][0], "mass_balance")
    assert tray["postConsumerShare"] == pytest.approx(80 / 490, rel=REL)
    assert tray["postConsumerByMake"]["Volta"] == pytest.approx(80 / 490, rel=REL)
    physical = shares(die_caster_client, made["trays"][0], "physical")
    assert physical["postConsumerShare"] == pytest.approx(83.5 / 500, rel=REL)


def test_claims_of_another_make_and_beyond_a_make_are_refused(parties):  # noqa: F811
    _, shop, remelter = parties["remelter"]
    refusals = []

    def claims(lot):  # type: ignore[no-untyped-def]
        refusals.append(claim(remelter, shop, lot, 1, make="Other", status=409, when=LOOP_CLAIM_TIME))
        # Volta: 83.5 / 500 x 490 = 81.83 kg
        refusals.append(claim(remelter, shop, lot, 82, make="Volta", status=409, when=LOOP_CLAIM_TIME))

    run_loop(parties, claim=claims)

    assert [(r["code"], r["availableKg"]) for r in refusals] == [
        ("credits_insufficient", 0),
        ("credits_insufficient", pytest.approx(83.5 / 500 * 490, rel=REL)),
    ]


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"mass": "-5 kg"}, 400, "mass_not_positive"),
        ({"mass": "0 kg"}, 400, "mass_not_positive"),
        ({"category": "internal"}, 400, "invalid_choice"),
        ({"category": "pre_consumer", "vehicleMake": "Volta"}, 400, "claim_make_not_post_consumer"),
        ({"lot": "scrap"}, 400, "lot_not_claimable"),
        ({"mass": "951 kg"}, 409, "claim_exceeds_lot"),
    ],
)
def test_bad_claims_are_refused_with_a_code_and_store_nothing(remelter, change, status, code):
    _, site, client = remelter
    scrap_lot, ingot = receive(client, site, [scrap("S-9", 600, "post_consumer"), primary("P-9", 400)])
    lot = melt(client, site, [(scrap_lot, 300), (ingot, 400)], "M-9", 665, 35)
    body = {"site": site.pk, "lot": lot, "mass": "10 kg", "category": "post_consumer", **change}
    if body["lot"] == "scrap":
        body["lot"] = scrap_lot  # a received lot, not remelted here
    size = LedgerEntry.objects.count()

    response = client.post("/api/v1/operations/recycled-content-claim", body, format="json")

    assert (response.status_code, response.json()["code"]) == (status, code), response.json()
    assert LedgerEntry.objects.count() == size


def test_a_used_lot_and_another_sites_lot_are_not_claimable(remelter):
    _, site, client = remelter
    other_site = make_site(remelter[0], "Second shop")
    scrap_lot, ingot = receive(client, site, [scrap("S-8", 600, "post_consumer"), primary("P-8", 400)])
    lot = melt(client, site, [(scrap_lot, 300), (ingot, 200)], "M-8", 490, 10)
    melt(client, site, [(lot, 100), (scrap_lot, 100)], "M-8b", 196, 4, day="03")

    used = claim(client, site, lot, 10, status=400, when="2026-03-04")
    elsewhere = claim(client, other_site, lot, 10, status=400, when="2026-03-04")

    assert used["code"] == elsewhere["code"] == "lot_not_claimable"


def test_only_the_sites_organisation_regulators_and_the_operator_read_the_account(remelter):
    _, site, client = remelter
    scrap_lot, ingot = receive(client, site, [scrap("S-7", 600, "post_consumer"), primary("P-7", 400)])
    melt(client, site, [(scrap_lot, 600), (ingot, 400)], "M-7", 950, 50)
    footprints_catch_up()
    regulator = client_for(make_partner("claims-regulator", role="regulator"))
    stranger = client_for(make_partner("claims-stranger", role="die_caster"))

    mine = client.get(f"/api/v1/sites/{site.pk}/accounts").json()
    theirs = regulator.get(f"/api/v1/sites/{site.pk}/accounts/2026").json()

    assert mine["periods"][0]["period"] == "2026"
    assert mine["periods"][0]["available"]["postConsumerKg"] == pytest.approx(570, rel=REL)
    assert theirs["available"]["postConsumerKg"] == pytest.approx(570, rel=REL)
    for path in (f"/api/v1/sites/{site.pk}/accounts", f"/api/v1/sites/{site.pk}/accounts/2026"):
        response = stranger.get(path)
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
    for year in ("26", "year", "20266", "٢٠٢٦"):
        response = client.get(f"/api/v1/sites/{site.pk}/accounts/{year}")
        assert (response.status_code, response.json()["code"]) == (400, "period_invalid"), year


def test_a_claim_retried_with_its_idempotency_key_is_stored_once(remelter):
    _, site, client = remelter
    scrap_lot, ingot = receive(client, site, [scrap("S-6", 600, "post_consumer"), primary("P-6", 400)])
    lot = melt(client, site, [(scrap_lot, 600), (ingot, 400)], "M-6", 950, 50)

    first = claim(client, site, lot, 300, key="claim-6")
    again = claim(client, site, lot, 300, key="claim-6")
    footprints_catch_up()

    assert first == again
    assert account(client, site)["available"]["postConsumerKg"] == pytest.approx(570 - 300, rel=REL)
    assert TraceableObject.objects.get(identifier=lot).attributes["recycledContentClaimedKg"] == str(Decimal("300.000"))
