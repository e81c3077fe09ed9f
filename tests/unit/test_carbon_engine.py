"""Hand-computed reference cases (arithmetic in the test) and properties of the carbon engine."""

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbon.engine import (
    ALLOCATION,
    CFF,
    CUT_OFF,
    DISTRIBUTION,
    END_OF_LIFE,
    MAIN_PRODUCTION,
    MASS_BALANCE,
    PHYSICAL,
    RAW_MATERIAL,
    Activity,
    CarbonError,
    Claim,
    Footprint,
    Material,
    Parameters,
    Shares,
    Source,
    compute,
    walk,
)
from carbon.engine.battery import (
    DECLARED_USABLE_ENERGY,
    RATED_ENERGY,
    beginning_of_life_energy_kwh,
    lifetime_energy_kwh,
    per_kwh,
    performance_class,
    recycled_content_against_minimums,
)
from carbon.engine.linear import Results

REL = 1e-9
E_V = 16.0  # kg CO2e per kg of primary aluminium replaced (the CFF's E_v), a test value
ALUMINIUM = Material(e_virgin_per_kg=E_V, a=0.2, qs_in_over_qp=1.0)
PARAMS = Parameters(materials={"aluminium": ALUMINIUM})


def aluminium(**changes):
    """``PARAMS`` with aluminium's parameters changed."""
    return Parameters(materials={"aluminium": dataclasses.replace(ALUMINIUM, **changes)})


# The melt: 100 kg post-consumer scrap (0.2/kg of collection and sorting), 50 kg
# pre-consumer scrap (0.1/kg own; 8.0/kg for the product that generated it), 30 kg
# run-around scrap from an earlier melt (3.0/kg, shares pre 0.2 post 0.5), 120 kg primary
# ingot (16.0/kg). 6 kg melt loss; 294 kg melt. Remelting burns 20 m3 gas (x 2.0) and
# 25 kWh (x 0.4): 50 kg CO2e, raw-material stage.
POST, PRE, RUN_AROUND, PRIMARY, MELT = 1, 2, 3, 4, 10
SOURCES = [
    Source(POST, 100, "post_consumer", {RAW_MATERIAL: 0.2}, vehicle_make="Volta"),
    Source(PRE, 50, "pre_consumer", {RAW_MATERIAL: 0.1}, generator_per_kg=8.0),
    Source(PRIMARY, 120, "primary", {RAW_MATERIAL: 16.0}, primary_data=True),
]
KNOWN = {RUN_AROUND: Footprint({RAW_MATERIAL: 3.0, MAIN_PRODUCTION: 0.0}, Shares(pre_consumer=0.2, post_consumer=0.5))}
MELTING = Activity(
    seq=100,
    inputs=((POST, 100), (PRE, 50), (RUN_AROUND, 30), (PRIMARY, 120)),
    outputs=((MELT, 294),),
    losses_kg=6,
    burdens={RAW_MATERIAL: 20 * 2.0 + 25 * 0.4},
    substitutes=True,
    site=1,
    period="2026",
)


def melt(method, chain=PHYSICAL, params=PARAMS):
    return compute(SOURCES, [MELTING], method=method, chain=chain, params=params, known=KNOWN)[MELT]


def test_cut_off_melt():
    result = melt(CUT_OFF)

    inputs = 100 * 0.2 + 50 * 0.1 + 30 * 3.0 + 120 * 16.0
    assert result.total_per_kg == pytest.approx((inputs + 50) / 294, rel=REL)
    assert result.shares.pre_consumer == pytest.approx((50 + 30 * 0.2) / 300, rel=REL)
    assert result.shares.post_consumer == pytest.approx((100 + 30 * 0.5) / 300, rel=REL)
    assert result.shares.closed_loop("Volta") == pytest.approx(100 / 300, rel=REL)
    # the run-around scrap's own post-consumer share has no make on record
    assert result.shares.closed_loop("Other") == 0


def test_allocation_melt_charges_pre_consumer_scrap_with_its_generators_footprint():
    result = melt(ALLOCATION)

    inputs = 100 * 0.2 + 50 * (0.1 + 8.0) + 30 * 3.0 + 120 * 16.0
    assert result.total_per_kg == pytest.approx((inputs + 50) / 294, rel=REL)


def test_cff_melt_substitutes_recycled_inputs():
    result = melt(CFF)

    # R1: 150 kg of the 300 kg in are wholly recycled (post- and pre-consumer scrap; the run-around
    # scrap was remelted before). Their burdens and R1 of the remelting's own 50 kg CO2e are
    # E_recycled, weighted by A; the virgin rest stays whole; (1 - A) E_v Qs_in/Qp R1 per kg is added.
    a, r1 = 0.2, 150 / 300
    recycled = a * (100 * 0.2 + 50 * 0.1 + r1 * 50)
    virgin = 30 * 3.0 + 120 * 16.0 + (1 - r1) * 50
    expected = (recycled + virgin) / 294 + (1 - a) * E_V * 1.0 * r1
    assert result.total_per_kg == pytest.approx(expected, rel=REL)


def test_cff_with_a_equal_to_one_is_cut_off():
    assert melt(CFF, params=aluminium(a=1.0)).total_per_kg == pytest.approx(melt(CUT_OFF).total_per_kg, rel=REL)


PART, RUN_AROUND_2 = 20, 21
CASTING = Activity(
    seq=200,
    inputs=((MELT, 200),),
    outputs=((PART, 180), (RUN_AROUND_2, 15)),
    losses_kg=5,
    burdens={MAIN_PRODUCTION: 300 * 0.4},
    products=frozenset({PART}),
)


def test_a_die_cast_part_and_its_run_around_scrap_carry_the_melts_footprint_and_shares():
    results = compute(SOURCES, [MELTING, CASTING], method=CUT_OFF, chain=PHYSICAL, params=PARAMS, known=KNOWN)
    melt_per_kg = results[MELT].per_kg

    part = results[PART]
    assert part.per_kg[RAW_MATERIAL] == pytest.approx(200 * melt_per_kg[RAW_MATERIAL] / 195, rel=REL)
    assert part.per_kg[MAIN_PRODUCTION] == pytest.approx(300 * 0.4 / 195, rel=REL)
    assert results[RUN_AROUND_2].per_kg == part.per_kg
    assert results[RUN_AROUND_2].shares == part.shares
    assert part.shares.recycled == pytest.approx(results[MELT].shares.recycled, rel=REL)


def test_cff_adds_the_products_own_end_of_life_and_it_is_not_inherited():
    params = aluminium(r2=0.9, erec_eol_per_kg=0.5, e_virgin_star_per_kg=16.0, ed_per_kg=0.05)
    scrap_from_part = 30
    reuse = Activity(seq=300, inputs=((PART, 180),), outputs=((scrap_from_part, 180),))
    results = compute(SOURCES, [MELTING, CASTING, reuse], method=CFF, chain=PHYSICAL, params=params, known=KNOWN)

    eol = (1 - 0.2) * 0.9 * (0.5 - 16.0 * 1.0) + (1 - 0.9) * 0.05
    assert results[PART].per_kg[END_OF_LIFE] == pytest.approx(eol, rel=REL)
    assert results[RUN_AROUND_2].per_kg[END_OF_LIFE] == 0
    assert results[scrap_from_part].per_kg[END_OF_LIFE] == 0


def test_dismantling_keeps_each_parts_own_origin():
    vehicle, pack, wheel = 1, 2, 3
    sources = [Source(vehicle, 1800, "vehicle", vehicle_make="Volta")]
    dismantling = Activity(
        seq=2,
        inputs=((vehicle, 460),),
        outputs=((pack, 450), (wheel, 10)),
        flows=((vehicle, pack, 450), (vehicle, wheel, 10)),
        burdens={RAW_MATERIAL: 4.6},
    )

    results = compute(sources, [dismantling], method=CUT_OFF, chain=PHYSICAL, params=PARAMS)

    assert results[vehicle].total_per_kg == 0
    assert results[wheel].per_kg[RAW_MATERIAL] == pytest.approx(4.6 / 460, rel=REL)
    assert results[wheel].shares.post_consumer == 1.0
    assert results[wheel].shares.closed_loop("Volta") == 1.0


def claim_on(lot, lot_kg, seq, kg, category="post_consumer", make=None, before=(0.0, 0.0, ()), site=1):
    """A claim activity: ``before`` is the lot's claimed (pre, post, by-make) kg before it."""
    pre, post, makes = before
    makes = dict(makes)
    if category == "pre_consumer":
        pre += kg
    else:
        post += kg
        if make:
            makes[make] = makes.get(make, 0.0) + kg
    return Activity(
        seq=seq,
        inputs=((lot, lot_kg),),
        outputs=((lot, lot_kg),),
        site=site,
        period="2026",
        claim=Claim(category, kg, make, pre, post, tuple(sorted(makes.items()))),
    )


def test_mass_balance_outputs_carry_only_what_is_claimed():
    # given: the melt credits its site: post-consumer (100 + 30 x 0.5) / 300 x 294 = 112.7 kg
    # (100 of them Volta's: 100 / 300 x 294 = 98), pre-consumer (50 + 30 x 0.2) / 300 x 294 = 54.88 kg
    post_credit, volta_credit, pre_credit = 115 / 300 * 294, 100 / 300 * 294, 56 / 300 * 294
    claims = [
        claim_on(MELT, 294, 101, 90.0, make="Volta"),
        claim_on(MELT, 294, 102, 20.0, before=(0.0, 90.0, (("Volta", 90.0),))),
        claim_on(MELT, 294, 103, 50.0, "pre_consumer", before=(0.0, 110.0, (("Volta", 90.0),))),
    ]

    # when
    unclaimed = compute(SOURCES, [MELTING], method=CUT_OFF, chain=MASS_BALANCE, params=PARAMS, known=KNOWN)
    claimed = compute(SOURCES, [MELTING, *claims], method=CUT_OFF, chain=MASS_BALANCE, params=PARAMS, known=KNOWN)
    physical = compute(SOURCES, [MELTING, *claims], method=CUT_OFF, chain=PHYSICAL, params=PARAMS, known=KNOWN)

    # then: unclaimed output is zero under mass balance; claims set (claimed kg / lot kg)
    assert unclaimed[MELT].shares.recycled == 0
    assert claimed[MELT].shares.post_consumer == pytest.approx(110 / 294, rel=REL)
    assert claimed[MELT].shares.closed_loop("Volta") == pytest.approx(90 / 294, rel=REL)
    assert claimed[MELT].shares.pre_consumer == pytest.approx(50 / 294, rel=REL)
    assert claimed[MELT].total_per_kg == pytest.approx(physical[MELT].total_per_kg, rel=REL)
    # physical custody ignores claims
    assert physical[MELT].shares.post_consumer == pytest.approx(115 / 300, rel=REL)
    assert 110 < post_credit and 90 < volta_credit and 50 < pre_credit


def test_mass_balance_claim_beyond_credits_is_an_error():
    # post-consumer credit of the melt: 115 / 300 x 294 = 112.7 kg; 112.7 + 0.3 > 112.7
    too_much = claim_on(MELT, 294, 101, 113.0)
    closed_loop_too_much = claim_on(MELT, 294, 101, 99.0, make="Volta")  # Volta: 98 kg
    elsewhere = claim_on(MELT, 294, 101, 10.0, site=2)  # another site's account is empty

    for claim in (too_much, closed_loop_too_much, elsewhere):
        with pytest.raises(CarbonError, match="credits_insufficient"):
            compute(SOURCES, [MELTING, claim], method=CUT_OFF, chain=MASS_BALANCE, params=PARAMS, known=KNOWN)


def test_mass_balance_claims_on_a_lot_add_up_and_never_exceed_it():
    # 294 kg lot: 112 kg claimed, then 112 kg more would be its totals misstated
    first = claim_on(MELT, 294, 101, 100.0)
    misstated = claim_on(MELT, 294, 102, 10.0, before=(0.0, 0.0, ()))
    with pytest.raises(CarbonError, match="claim_totals_inconsistent"):
        compute(SOURCES, [MELTING, first, misstated], method=CUT_OFF, chain=MASS_BALANCE, params=PARAMS, known=KNOWN)
    # a lot whose claims pass its mass: 50 kg of pre on a 30 kg lot (credits are ample)
    small = dataclasses.replace(MELTING, outputs=((MELT, 30.0),))
    with pytest.raises(CarbonError, match="claim_exceeds_lot"):
        compute(
            SOURCES,
            [
                small,
                claim_on(MELT, 30.0, 101, 5.0, "pre_consumer"),
                claim_on(MELT, 30.0, 102, 26.0, before=(5.0, 0, ())),
            ],
            method=CUT_OFF,
            chain=MASS_BALANCE,
            params=PARAMS,
            known=KNOWN,
        )


def test_mass_balance_claimed_lot_mixes_by_mass_downstream():
    # a casting of 200 kg of the claimed melt with 100 kg of primary: post share 110/294 x 200 / 300
    claims = [claim_on(MELT, 294, 101, 110.0)]
    casting = Activity(seq=102, inputs=((MELT, 200), (PRIMARY, 0.0)), outputs=((20, 200),))
    mixed = Activity(seq=103, inputs=((20, 200), (5, 100)), outputs=((21, 300),))
    sources = [*SOURCES, Source(5, 100, "primary", {RAW_MATERIAL: 16.0})]

    results = compute(
        sources, [MELTING, *claims, casting, mixed], method=CUT_OFF, chain=MASS_BALANCE, params=PARAMS, known=KNOWN
    )

    assert results[20].shares.post_consumer == pytest.approx(110 / 294, rel=REL)
    assert results[21].shares.post_consumer == pytest.approx(110 / 294 * 200 / 300, rel=REL)


def test_unknown_inputs_and_methods_are_errors():
    with pytest.raises(CarbonError, match="input_unknown"):
        compute([], [MELTING], method=CUT_OFF, chain=PHYSICAL, params=PARAMS)
    with pytest.raises(CarbonError, match="method_unknown"):
        compute([], [], method="magic", chain=PHYSICAL, params=PARAMS)


def test_battery_per_kwh_and_class():
    lifetime = lifetime_energy_kwh(usable_kwh=60, cycles_per_year=60, years=8)
    by_stage = per_kwh({RAW_MATERIAL: 4000, MAIN_PRODUCTION: 800, END_OF_LIFE: 100}, lifetime)

    assert lifetime == 60 * 60 * 8
    assert by_stage[RAW_MATERIAL] == pytest.approx(4000 / 28800, rel=REL)
    assert sum(by_stage.values()) == pytest.approx(4900 / 28800, rel=REL)
    assert performance_class(0.1701, [("A", 0.1), ("B", 0.2), ("C", 0.3)]) == "B"
    assert performance_class(9.0, [("A", 0.1), ("B", 0.2)]) == "B"
    checked = recycled_content_against_minimums({"Co": 0.2, "Li": 0.05}, {"Co": 0.16, "Li": 0.06, "Ni": 0.06})
    assert checked["Co"]["met"] and not checked["Li"]["met"] and not checked["Ni"]["met"]


def test_beginning_of_life_energy_is_the_makers_declared_usable_energy_else_the_rated_energy():
    assert beginning_of_life_energy_kwh(declared_usable_kwh=70.5, rated_kwh=75) == (70.5, DECLARED_USABLE_ENERGY)
    assert beginning_of_life_energy_kwh(declared_usable_kwh=None, rated_kwh=75) == (75, RATED_ENERGY)
    assert beginning_of_life_energy_kwh(declared_usable_kwh=0, rated_kwh=75) == (75, RATED_ENERGY)
    with pytest.raises(CarbonError, match="battery_energy_invalid"):
        beginning_of_life_energy_kwh(declared_usable_kwh=None, rated_kwh=0)


# --- properties ------------------------------------------------------------------------


@st.composite
def graphs(draw):
    """Random loops: roots of every origin, then melts drawing partial kg from earlier nodes."""
    origins = ["vehicle", "post_consumer", "pre_consumer", "primary", "alloying"]
    sources, available = [], {}
    for node in range(draw(st.integers(2, 6))):
        kg = draw(st.floats(10, 1000))
        sources.append(
            Source(
                node,
                kg,
                draw(st.sampled_from(origins)),
                {RAW_MATERIAL: draw(st.floats(0, 20, allow_subnormal=False))},
                generator_per_kg=draw(st.floats(0, 10, allow_subnormal=False)),
                vehicle_make=draw(st.sampled_from(["V", "W"])),
            )
        )
        available[node] = kg
    activities, next_node = [], 100
    for seq in range(draw(st.integers(1, 6))):
        usable = sorted(node for node, kg in available.items() if kg > 1)
        if not usable:
            break
        picks = draw(st.lists(st.sampled_from(usable), min_size=1, max_size=3, unique=True))
        inputs = []
        for node in picks:
            kg = available[node] * draw(st.floats(0.1, 1.0))
            available[node] -= kg
            inputs.append((node, kg))
        in_kg = sum(kg for _, kg in inputs)
        loss = in_kg * draw(st.floats(0, 0.05, allow_subnormal=False))
        outputs = []
        for _ in range(draw(st.integers(1, 3))):
            outputs.append((next_node, 0.0))
            next_node += 1
        each = (in_kg - loss) / len(outputs)
        outputs = [(node, each) for node, _ in outputs]
        activities.append(
            Activity(
                seq=seq,
                inputs=tuple(inputs),
                outputs=tuple(outputs),
                losses_kg=loss,
                burdens={RAW_MATERIAL: draw(st.floats(0, 100, allow_subnormal=False))},
                substitutes=draw(st.booleans()),
                site=1,
                period="2026",
            )
        )
        for node, kg in outputs:
            available[node] = kg
    return sources, activities


@settings(max_examples=150, deadline=None)
@given(graphs(), st.sampled_from([CUT_OFF, ALLOCATION, CFF]), st.sampled_from([PHYSICAL, MASS_BALANCE]))
def test_shares_lie_in_zero_one_and_burden_is_conserved(graph, method, chain):
    sources, activities = graph
    results = compute(sources, activities, method=method, chain=chain, params=PARAMS)

    for footprint in results.values():
        assert -1e-9 <= footprint.shares.pre_consumer <= 1 + 1e-9
        assert -1e-9 <= footprint.shares.post_consumer <= 1 + 1e-9
        assert footprint.shares.recycled <= 1 + 1e-9
        assert 0 <= footprint.primary_data_share <= 1 + 1e-9
    if method == CUT_OFF:
        for activity in activities:
            burden_in = sum(
                kg * (results[n].total_per_kg - results[n].per_kg[END_OF_LIFE]) for n, kg in activity.inputs
            ) + sum(activity.burdens.values())
            burden_out = sum(kg * results[n].total_per_kg for n, kg in activity.outputs)
            assert burden_out == pytest.approx(burden_in, rel=1e-9, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(graphs())
def test_cff_with_a_one_equals_cut_off(graph):
    sources, activities = graph
    cut = compute(sources, activities, method=CUT_OFF, chain=PHYSICAL, params=PARAMS)
    cff = compute(sources, activities, method=CFF, chain=PHYSICAL, params=aluminium(a=1.0))

    for node, footprint in cut.items():
        assert math.isclose(cff[node].total_per_kg, footprint.total_per_kg, rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=100, deadline=None)
@given(graphs(), st.sampled_from([CUT_OFF, ALLOCATION, CFF]), st.data())
def test_incremental_equals_full(graph, method, data):
    sources, activities = graph
    full = compute(sources, activities, method=method, chain=PHYSICAL, params=PARAMS)
    cut = data.draw(st.integers(0, len(activities)))
    before = compute(sources, activities[:cut], method=method, chain=PHYSICAL, params=PARAMS)

    after = compute([], activities[cut:], method=method, chain=PHYSICAL, params=PARAMS, known=before)

    for node, footprint in after.items():
        assert math.isclose(footprint.total_per_kg, full[node].total_per_kg, rel_tol=1e-9, abs_tol=1e-12)
        assert math.isclose(footprint.shares.recycled, full[node].shares.recycled, rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=100, deadline=None)
@given(graphs(), st.randoms())
def test_results_do_not_depend_on_the_order_activities_are_given_in(graph, random):
    sources, activities = graph
    shuffled = list(activities)
    random.shuffle(shuffled)

    ordered = compute(sources, activities, method=CFF, chain=PHYSICAL, params=PARAMS)
    given_shuffled = compute(sources, shuffled, method=CFF, chain=PHYSICAL, params=PARAMS)

    assert ordered == given_shuffled


# --- the linear solution against the ledger-order walk -----------------------------------

# Several materials with their own parameters (A differs too), and one without any (cut-off).
LOOP_MATERIALS = ["aluminium", "cobalt", "nickel", "unobtainium"]
LOOP_PARAMS = Parameters(
    materials={
        "aluminium": Material(
            e_virgin_per_kg=E_V,
            a=0.2,
            qs_in_over_qp=0.9,
            r2=0.3,
            erec_eol_per_kg=0.5,
            e_virgin_star_per_kg=16.0,
            ed_per_kg=1.0,
        ),
        "cobalt": Material(
            e_virgin_per_kg=30.0,
            e_virgin_star_per_kg=28.0,
            erec_eol_per_kg=3.0,
            a=0.5,
            b=0.1,
            qs_in_over_qp=0.8,
            qs_out_over_qp=0.7,
            r2=0.6,
            r3=0.1,
            e_er_per_kg=0.4,
            lhv_mj_per_kg=2.0,
            x_er_heat=0.3,
            x_er_elec=0.2,
            e_se_heat_per_mj=0.07,
            e_se_elec_per_mj=0.1,
            ed_per_kg=0.02,
        ),
        "nickel": Material(e_virgin_per_kg=13.0, a=0.2),
    }
)


@st.composite
def loops(draw):
    """Graphs with every kind of activity the ledger makes: melts (some casting products,
    some with no recorded inputs' mass), dismantling (explicit flows), molten transfers (a
    lot re-made by a later event), burdens in every stage, supplier data, known inputs."""
    origins = ["vehicle", "post_consumer", "pre_consumer", "primary", "alloying", "internal"]
    stage = st.sampled_from([RAW_MATERIAL, MAIN_PRODUCTION, END_OF_LIFE])
    amount = st.floats(0, 20, allow_subnormal=False)
    sources, known, available = [], {}, {}
    for node in range(draw(st.integers(1, 6))):
        kg = draw(st.floats(10, 1000))
        available[node] = kg
        if draw(st.integers(0, 4)) == 0:
            known[node] = Footprint(
                {RAW_MATERIAL: draw(amount), MAIN_PRODUCTION: draw(amount), END_OF_LIFE: draw(amount)},
                Shares(pre_consumer=0.25, post_consumer=0.5, by_make=(("V", 0.5),)),
                primary_data_share=draw(st.floats(0, 1)),
                pending_recycled=draw(st.booleans()),
            )
            continue
        sources.append(
            Source(
                node,
                kg,
                draw(st.sampled_from(origins)),
                {draw(stage): draw(amount), RAW_MATERIAL: draw(amount)},
                generator_per_kg=draw(amount),
                vehicle_make=draw(st.sampled_from(["V", "W", None])),
                primary_data=draw(st.booleans()),
            )
        )
    activities, next_node = [], 100
    for seq in range(draw(st.integers(1, 10))):
        usable = sorted(node for node, kg in available.items() if kg > 1)
        if not usable:
            break
        kind = draw(st.sampled_from(["melt", "melt", "dismantle", "transfer"]))
        burdens = {draw(stage): draw(st.floats(0, 100, allow_subnormal=False)) for _ in range(draw(st.integers(0, 2)))}
        if kind == "transfer":
            lot = draw(st.sampled_from(usable))
            kg = available[lot]
            activities.append(
                Activity(seq=seq, inputs=((lot, kg),), outputs=((lot, kg),), flows=((lot, lot, kg),), burdens=burdens)
            )
            continue
        if kind == "dismantle":
            whole = draw(st.sampled_from(usable))
            kg = available[whole] * draw(st.floats(0.1, 1.0))
            available[whole] -= kg
            parts = [(next_node + i, kg / 2) for i in range(2)]
            next_node += 2
            activities.append(
                Activity(
                    seq=seq,
                    inputs=((whole, kg),),
                    outputs=tuple(parts),
                    flows=tuple((whole, part, part_kg) for part, part_kg in parts),
                    burdens=burdens,
                )
            )
            available.update(parts)
            continue
        picks = draw(st.lists(st.sampled_from(usable), min_size=1, max_size=4, unique=True))
        weightless = draw(st.integers(0, 9)) == 0
        inputs = []
        for node in picks:
            kg = 0.0 if weightless else available[node] * draw(st.floats(0.1, 1.0))
            available[node] -= kg
            inputs.append((node, kg))
        out_kg = sum(kg for _, kg in inputs) * 0.97 or 5.0
        count = draw(st.integers(1, 3))
        outputs = tuple((next_node + i, out_kg / count) for i in range(count))
        named = draw(
            st.lists(
                st.tuples(st.integers(0, count - 1), st.sampled_from(LOOP_MATERIALS), st.sampled_from([1.0, 0.21])),
                max_size=count,
                unique_by=lambda named: named[0],
            )
        )
        next_node += count
        activities.append(
            Activity(
                seq=seq,
                inputs=tuple(inputs),
                outputs=outputs,
                burdens=burdens,
                substitutes=draw(st.booleans()),
                products=frozenset(node for node, _ in outputs[: draw(st.integers(0, count))]),
                materials=tuple((outputs[i][0], material, content) for i, material, content in named),
            )
        )
        available.update(outputs)
    return sources, activities, known


def assert_same(linear, walked):
    assert set(linear) == set(walked)
    for node, want in walked.items():
        got = linear[node]
        for stage in (RAW_MATERIAL, MAIN_PRODUCTION, DISTRIBUTION, END_OF_LIFE):
            assert math.isclose(got.per_kg.get(stage, 0.0), want.per_kg.get(stage, 0.0), rel_tol=REL, abs_tol=1e-12)
        assert math.isclose(got.shares.pre_consumer, want.shares.pre_consumer, rel_tol=REL, abs_tol=1e-12)
        assert math.isclose(got.shares.post_consumer, want.shares.post_consumer, rel_tol=REL, abs_tol=1e-12)
        made, walked_makes = dict(got.shares.by_make), {m: f for m, f in want.shares.by_make if f}
        assert made.keys() == walked_makes.keys()
        assert all(math.isclose(made[m], f, rel_tol=REL) for m, f in walked_makes.items())
        assert math.isclose(got.primary_data_share, want.primary_data_share, rel_tol=REL, abs_tol=1e-12)
        assert got.pending_recycled == want.pending_recycled


def spread(graph):
    """The same graph with node ids far apart (the linear solution's sparse-id lookup)."""
    sources, activities, known = graph

    def far(node):
        return node * 7_919_000_003 + 11

    return (
        [dataclasses.replace(s, node=far(s.node)) for s in sources],
        [
            dataclasses.replace(
                a,
                inputs=tuple((far(n), kg) for n, kg in a.inputs),
                outputs=tuple((far(n), kg) for n, kg in a.outputs),
                flows=tuple((far(x), far(y), kg) for x, y, kg in a.flows),
                products=frozenset(far(n) for n in a.products),
                materials=tuple((far(n), material, content) for n, material, content in a.materials),
            )
            for a in activities
        ],
        {far(n): f for n, f in known.items()},
    )


@settings(max_examples=300, deadline=None)
@given(loops(), st.sampled_from([CUT_OFF, ALLOCATION, CFF]), st.booleans())
def test_the_linear_solution_equals_the_ledger_order_walk(graph, method, far_apart):
    sources, activities, known = spread(graph) if far_apart else graph
    arguments = dict(method=method, chain=PHYSICAL, params=LOOP_PARAMS, known=known)

    linear = compute(sources, activities, **arguments)

    assert isinstance(linear, Results)
    assert_same(linear, walk(sources, activities, **arguments))


def test_a_lot_hauled_after_it_was_used_gives_its_earlier_user_its_earlier_state():
    # given: a melt reads lot 1 at 2.0/kg, then a haul adds 0.5/kg to the lot, then a cast reads it
    sources = [Source(1, 100, "primary", {RAW_MATERIAL: 2.0})]
    melt_ = Activity(seq=1, inputs=((1, 50),), outputs=((2, 50),))
    haul = Activity(seq=2, inputs=((1, 50),), outputs=((1, 50),), flows=((1, 1, 50),), burdens={RAW_MATERIAL: 25.0})
    cast = Activity(seq=3, inputs=((1, 50),), outputs=((3, 50),))

    results = compute(sources, [cast, haul, melt_], method=CUT_OFF, chain=PHYSICAL, params=PARAMS)

    assert results[2].total_per_kg == pytest.approx(2.0, rel=REL)
    assert results[1].total_per_kg == pytest.approx(2.0 + 25.0 / 50, rel=REL)
    assert results[3].total_per_kg == pytest.approx(2.5, rel=REL)


def test_a_long_chain_of_run_around_scrap_is_solved_in_one_pass():
    # given: 20,000 melts, each of 1 kg of the last one's run-around scrap and 1 kg of primary
    # (1.0/kg) with 1.0 kg CO2e of energy into 2 kg; the footprint per kg tends to 2.0
    count = 20_000
    sources = [Source(0, 1, "post_consumer", {RAW_MATERIAL: 0.0}), Source(-1, 1e9, "primary", {RAW_MATERIAL: 1.0})]
    melts = [
        Activity(seq=i, inputs=((i - 1, 1.0), (-1, 1.0)), outputs=((i, 2.0),), burdens={RAW_MATERIAL: 1.0})
        for i in range(1, count + 1)
    ]

    results = compute(sources, melts, method=CUT_OFF, chain=PHYSICAL, params=PARAMS)

    # x_i = (x_{i-1} + 1 + 1) / 2, x_0 = 0, so x_i = 2 (1 - 2^-i); the post-consumer share halves each time
    assert results[1].total_per_kg == pytest.approx(1.0, rel=REL)
    assert results[3].total_per_kg == pytest.approx(2 * (1 - 2**-3), rel=REL)
    assert results[count].total_per_kg == pytest.approx(2.0, rel=REL)
    assert results[2].shares.post_consumer == pytest.approx(0.25, rel=REL)
    assert len(results) == count + 2


def test_the_linear_solution_names_the_first_unknown_input_and_an_empty_output():
    with pytest.raises(CarbonError, match="activity 100 consumes node 3"):
        compute(SOURCES, [MELTING], method=CUT_OFF, chain=PHYSICAL, params=PARAMS)
    empty = Activity(seq=7, inputs=((POST, 1),), outputs=((20, 0.0),))
    with pytest.raises(CarbonError, match="outputs_empty: activity 7"):
        compute(SOURCES, [empty], method=CUT_OFF, chain=PHYSICAL, params=PARAMS)


# --- the CFF by material ------------------------------------------------------------------

# Black-mass refining: 100 kg black mass (post-consumer, 0.3 kg CO2e/kg of collection and
# treatment) and 20 kg of a virgin reagent (2.0/kg), refined with 60 kg CO2e of process burden
# into 40 kg cobalt sulphate (21% Co) and 50 kg nickel sulphate (22% Ni); 30 kg lost.
BLACK_MASS, REAGENT, CO_SALT, NI_SALT = 31, 32, 33, 34
REFINING_SOURCES = [
    Source(BLACK_MASS, 100, "post_consumer", {RAW_MATERIAL: 0.3}),
    Source(REAGENT, 20, "other", {RAW_MATERIAL: 2.0}),
]
REFINING = Activity(
    seq=400,
    inputs=((BLACK_MASS, 100), (REAGENT, 20)),
    outputs=((CO_SALT, 40), (NI_SALT, 50)),
    losses_kg=30,
    burdens={RAW_MATERIAL: 60},
    substitutes=True,
    materials=((CO_SALT, "cobalt", 0.21), (NI_SALT, "nickel", 0.22)),
)
SALT_PARAMS = Parameters(
    materials={"cobalt": Material(e_virgin_per_kg=30.0, a=0.2), "nickel": Material(e_virgin_per_kg=13.0, a=0.2)}
)


@pytest.mark.parametrize("solution", ["linear", "walk"])
def test_each_salt_of_one_refining_replaces_virgin_metal_of_its_own(solution):
    solve = compute if solution == "linear" else walk
    results = solve(REFINING_SOURCES, [REFINING], method=CFF, chain=PHYSICAL, params=SALT_PARAMS)

    # R1 = 100 / 120 of the inputs is wholly recycled. Shared by both salts, per kg of the 90 kg out:
    # A x (the black mass's burden + R1 of the 60 kg CO2e of refining), the reagent and the rest
    # of the refining whole.
    a, r1 = 0.2, 100 / 120
    shared = (a * (100 * 0.3 + r1 * 60) + 20 * 2.0 + (1 - r1) * 60) / 90
    # Each salt adds (1 - A) E_v Qs_in/Qp x its metal content x R1, with its own metal's E_v.
    cobalt = shared + (1 - a) * 30.0 * 1.0 * 0.21 * r1
    nickel = shared + (1 - a) * 13.0 * 1.0 * 0.22 * r1
    assert results[CO_SALT].total_per_kg == pytest.approx(cobalt, rel=REL)
    assert results[NI_SALT].total_per_kg == pytest.approx(nickel, rel=REL)
    assert results[CO_SALT].total_per_kg - results[NI_SALT].total_per_kg == pytest.approx(
        (1 - a) * r1 * (30.0 * 0.21 - 13.0 * 0.22), rel=REL
    )
    assert results[CO_SALT].shares == results[NI_SALT].shares


def test_a_salt_of_a_material_without_parameters_is_cut_off():
    unknown = dataclasses.replace(REFINING, materials=((CO_SALT, "cobalt", 0.21), (NI_SALT, "unobtainium", 0.22)))

    results = compute(REFINING_SOURCES, [unknown], method=CFF, chain=PHYSICAL, params=SALT_PARAMS)
    cut_off = compute(REFINING_SOURCES, [unknown], method=CUT_OFF, chain=PHYSICAL, params=SALT_PARAMS)

    assert results[NI_SALT].total_per_kg == pytest.approx(cut_off[NI_SALT].total_per_kg, rel=REL)
    assert results[CO_SALT].total_per_kg != pytest.approx(cut_off[CO_SALT].total_per_kg, rel=REL)


def test_a_products_end_of_life_has_all_three_terms_of_its_material():
    copper = Material(
        e_virgin_per_kg=5.0,
        e_virgin_star_per_kg=4.0,
        erec_eol_per_kg=0.8,
        a=0.2,
        b=0.1,
        qs_out_over_qp=0.9,
        r2=0.6,
        r3=0.1,
        e_er_per_kg=0.5,
        lhv_mj_per_kg=2.0,
        x_er_heat=0.3,
        x_er_elec=0.2,
        e_se_heat_per_mj=0.07,
        e_se_elec_per_mj=0.1,
        ed_per_kg=0.02,
    )
    params = Parameters(materials={"aluminium": ALUMINIUM, "copper": copper})
    casting = dataclasses.replace(CASTING, materials=((PART, "copper", 0.5),))

    results = compute(SOURCES, [MELTING, casting], method=CFF, chain=PHYSICAL, params=params, known=KNOWN)

    recycling = (1 - 0.2) * 0.6 * (0.8 - 4.0 * 0.9)
    recovery = (1 - 0.1) * 0.1 * (0.5 - 2.0 * 0.3 * 0.07 - 2.0 * 0.2 * 0.1)
    disposal = (1 - 0.6 - 0.1) * 0.02
    # The part is half copper by mass: its end of life is half the per-kg-of-copper figure.
    assert results[PART].per_kg[END_OF_LIFE] == pytest.approx(0.5 * (recycling + recovery + disposal), rel=REL)
    assert results[RUN_AROUND_2].per_kg[END_OF_LIFE] == 0
    walked = walk(SOURCES, [MELTING, casting], method=CFF, chain=PHYSICAL, params=params, known=KNOWN)
    assert_same(results, walked)
