"""The recycler's web admin at /app/: sign-in, dashboard, forms that record signed operations (and
show a broken rule next to its field, storing nothing), lot pages with genealogy, mass balance,
footprint and a verified inclusion proof, lists with search and pagination, passports and the
regulator's audit export, each page in a small and constant number of queries."""

import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext

from carbon.choices import CHAIN_NAMES
from carbon.services import footprints_catch_up
from passport import services as passports
from passport.models import Passport
from tests.factories import make_partner
from tests.loop import build_loop
from traceability.choices import ObjectKind, ScrapCategory
from traceability.identifiers import local_uri
from traceability.models import Checkpoint, LedgerEntry, MassFlow, Membership, Organisation, TraceableObject
from traceability.operations import services as ops
from traceability.selectors import ledger_size
from traceability.services import ledger_checkpoint_create, platform_organisation

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-only"


def member(organisation: Organisation, username: str) -> Client:
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    Membership.objects.create(user=user, organisation=organisation)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def loop(db):  # type: ignore[no-untyped-def]
    built = build_loop()
    footprints_catch_up()
    passports.passports_catch_up()
    ledger_checkpoint_create()
    built.remelter_client = member(built.remelter.organisation, "melter")
    built.dismantler_client = member(built.dismantler.organisation, "dismantler")
    built.caster_client = member(built.die_caster.organisation, "caster")
    return built


def remelt_form(loop, **changes):  # type: ignore[no-untyped-def]
    form = {
        "site": loop.remelt_site.pk,
        "inputs": "P-1 200\nSI-1 10",
        "output_code": "M-2",
        "output_kind": "melt_batch",
        "output_kg": "205",
        "melt_loss_kg": "4",
        "dross_kg": "1",
        "natural_gas_m3": "20",
        "electricity_kwh": "25",
        "target_alloy": "",
    }
    return {**form, **changes}


# --- sign-in ---------------------------------------------------------------------------------


def test_pages_ask_to_sign_in_on_the_apps_own_login_page_which_leads_to_the_dashboard(loop):
    anonymous = Client()
    get_user_model().objects.create_user("walk-in", password=PASSWORD)

    asked = anonymous.get("/app/lots/")
    signed_in = anonymous.post("/app/login/?next=/app/lots/", {"username": "melter", "password": PASSWORD})
    straight = Client().post("/app/login/", {"username": "melter", "password": PASSWORD})
    refused = Client().post("/app/login/", {"username": "melter", "password": "wrong"})

    assert asked.status_code == 302 and asked["Location"] == "/app/login/?next=/app/lots/"
    assert signed_in.status_code == 302 and signed_in["Location"] == "/app/lots/"
    assert straight["Location"] == "/app/"
    assert refused.status_code == 200 and 'role="alert"' in refused.content.decode()
    # the Django admin keeps its own sign-in page
    assert Client().get("/admin/login/").status_code == 200


def test_a_user_without_organisation_is_told_so(loop):
    client = Client()
    client.force_login(get_user_model().objects.create_user("walk-in", password=PASSWORD))

    page = client.get("/app/")

    assert page.status_code == 403 and "not a member of an organisation" in page.content.decode()


# --- dashboard ---------------------------------------------------------------------------------


def test_the_dashboard_counts_the_organisations_work_and_plots_recycled_share_and_footprint(
    loop, django_assert_max_num_queries
):
    # session, user, membership, organisation, one query per figure, and one for the next steps
    with django_assert_max_num_queries(10):
        remelter = loop.remelter_client.get("/app/")
    dismantler = loop.dismantler_client.get("/app/").content.decode()
    caster = loop.caster_client.get("/app/").content.decode()

    html = remelter.content.decode()
    assert remelter.status_code == 200
    assert '<span class="n">1</span><span class="l">Melts</span>' in html
    assert "Recycled-content share of melts and castings, by week" in html
    assert "Carbon footprint of melts and castings, by week" in html and "<polyline" not in html  # one week: a dot
    assert '<span class="n">3</span><span class="l">Vehicles received</span>' in dismantler
    assert "Post-consumer" in dismantler  # the dismantler's sorted lot
    assert '<span class="n">10</span><span class="l">Castings</span>' in caster


def queries(client: Client, url: str, params: dict | None = None) -> int:  # type: ignore[type-arg]
    reset_queries()  # the request resets the log too: count from an empty one
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params or {}).status_code == 200
    return len(captured.captured_queries)


def test_pages_cost_the_same_queries_with_more_data(loop, django_capture_on_commit_callbacks):
    pages = ["/app/", "/app/lots/", "/app/events/", "/app/passports/", "/app/record/remelting/"]
    before = [queries(loop.remelter_client, url) for url in pages]
    for n in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            loop.remelter_client.post(
                "/app/record/remelting/",
                remelt_form(loop, inputs="P-1 50", output_code=f"X-{n}", output_kg="49", melt_loss_kg="1", dross_kg=""),
            )

    assert [queries(loop.remelter_client, url) for url in pages] == before


# --- forms ---------------------------------------------------------------------------------------


def test_a_melt_recorded_in_the_form_is_a_signed_event_and_opens_the_new_lots_page(
    loop, django_capture_on_commit_callbacks
):
    size = ledger_size()

    with django_capture_on_commit_callbacks(execute=True):
        response = loop.remelter_client.post("/app/record/remelting/", remelt_form(loop))

    melt = TraceableObject.objects.get(identifier=local_uri("lot", "nordic-remelt", "M-2"))
    assert response.status_code == 302 and response["Location"] == f"/app/lots/{melt.pk}/"
    assert ledger_size() == size + 1 and melt.created_seq == size + 1
    assert melt.initial_kg == Decimal("205.000") and melt.custodian == loop.remelter.organisation
    entry = LedgerEntry.objects.get(seq=melt.created_seq)
    assert entry.organisation == loop.remelter.organisation and entry.key_id == loop.remelter.custodial_key.key_id
    page = loop.remelter_client.get(response["Location"]).content.decode()
    assert "Remelting recorded as ledger entry" in page
    # the task ran on commit: the new melt already has its footprint
    assert "data-total" in page and 'id="footprint-pending"' not in page


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"melt_loss_kg": "40"}, "melt_loss_kg", "mass_unbalanced"),
        ({"inputs": "P-1 900", "output_kg": "895"}, "inputs", "lot_overconsumed"),
        ({"output_code": "M-1"}, "output_code", "identifier_taken"),
        ({"inputs": "NOPE 10"}, "inputs", "label_unknown"),
        ({"inputs": "P-1"}, "inputs", "kg_missing"),
        ({"inputs": "P-1 NaN"}, "inputs", "kg_invalid"),
        ({"inputs": "P-1 Infinity"}, "inputs", "kg_invalid"),
        ({"inputs": "P-1 1e13"}, "inputs", "kg_invalid"),
        ({"output_kg": "9999999999999"}, "output_kg", "max_value"),
    ],
)
def test_a_rejected_form_shows_the_rule_next_to_its_field_and_stores_nothing(loop, changes, field, code):
    size, objects = ledger_size(), TraceableObject.objects.count()

    response = loop.remelter_client.post("/app/record/remelting/", remelt_form(loop, **changes))

    html = response.content.decode()
    assert response.status_code == 422
    # the rule's code sits in the field's own block, right after the field's help
    block = html.split(f'for="id_{field}"')[1].split('<div class="field')[0]
    assert f'id="id_{field}_error"><code>{code}</code>' in block
    assert ledger_size() == size and TraceableObject.objects.count() == objects


def test_a_dismantling_in_the_form_removes_pack_and_parts_and_the_pack_gets_its_passport(
    loop, django_capture_on_commit_callbacks
):
    from passport.demo import battery_datasheet
    from tests.factories import battery_code, valid_vin
    from traceability.identifiers import vehicle_uri

    vin = valid_vin(77)
    ops.vehicle_intake(
        organisation=loop.dismantler.organisation,
        site=loop.dismantling_site,
        vin=vin,
        kg=Decimal("1700"),
        make="Volta",
        model="E-Compact",
    )
    from django.utils import timezone

    code = battery_code(77)
    sheet = battery_datasheet(
        maker="EUC", chemistry="NMC", kwh=Decimal("60"), made=timezone.now(), read_at=timezone.now(), code=code
    )
    form = loop.dismantler_client.get("/app/record/dismantling/").content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = loop.dismantler_client.post(
            "/app/record/dismantling/",
            {
                "site": loop.dismantling_site.pk,
                "vehicle": vehicle_uri(vin),
                "battery_code": code,
                "battery_chemistry": "NMC",
                "battery_kwh": "60",
                "battery_kg": "380",
                "battery_datasheet": json.dumps(sheet),
                "parts": "W77-1 wheel 10.5 A356\nH77 motor_housing 14.2",
            },
        )

    assert vehicle_uri(vin) in form and 'aria-describedby="id_parts_help"' in form
    assert response.status_code == 302
    pack = TraceableObject.objects.get(kind=ObjectKind.BATTERY_PACK, label=code)
    assert response["Location"] == f"/app/lots/{pack.pk}/"
    assert TraceableObject.objects.get(label="H77").initial_kg == Decimal("14.200")
    passport = Passport.objects.get(battery=pack)
    page = loop.dismantler_client.get(response["Location"]).content.decode()
    assert f"/passport/{passport.pk}/qr.svg" in page and f"/passport/{passport.pk}?format=json" in page
    assert f"/passport/{passport.pk}?tier=legitimate_interest" in page
    assert f"/passport/{passport.pk}?tier=authorities" not in page


@pytest.mark.parametrize("datasheet", ["[" * 5000 + "]" * 5000, '{"maker": "a\\u0000"}', '{"kwh": NaN}'])
def test_a_data_sheet_too_deep_or_with_nul_or_nan_is_a_form_error_not_a_500(loop, datasheet):
    size = ledger_size()

    response = loop.dismantler_client.post(
        "/app/record/dismantling/",
        {"site": loop.dismantling_site.pk, "vehicle": "x", "battery_datasheet": datasheet},
    )

    assert response.status_code == 422
    assert "<code>datasheet_invalid</code>" in response.content.decode()
    assert ledger_size() == size


def test_each_organisation_is_offered_the_forms_of_its_role(loop):
    remelter = loop.remelter_client.get("/app/record/").content.decode()
    dismantler = loop.dismantler_client.get("/app/record/").content.decode()

    assert "/app/record/remelting/" in remelter and "/app/record/dismantling/" not in remelter
    assert "/app/record/dismantling/" in dismantler and "/app/record/remelting/" not in dismantler
    assert loop.remelter_client.get("/app/record/no-such-thing/").status_code == 404


def test_every_form_renders_with_labels_for_its_fields(loop):
    for slug in (
        "vehicle-intake",
        "dismantling",
        "battery-grading",
        "material-receipt",
        "scrap-sorting",
        "remelting",
        "molten-transfer",
        "die-casting",
    ):
        html = loop.remelter_client.get(f"/app/record/{slug}/").content.decode()
        assert '<label for="id_site">' in html and '<label for="id_event_time">' in html, slug


def test_a_receipt_of_pre_consumer_scrap_records_its_generator_footprint_and_refuses_it_for_other_scrap(loop):
    form = {
        "site": loop.remelt_site.pk,
        "kind": ObjectKind.SCRAP_LOT,
        "code": "NEW-7",
        "mass_kg": "120",
        "supplier": "Stamping plant",
        "scrap_category": ScrapCategory.PRE_CONSUMER,
        "generator_footprint": "7.25",
    }
    size = ledger_size()

    refused = loop.remelter_client.post(
        "/app/record/material-receipt/", {**form, "scrap_category": ScrapCategory.POST_CONSUMER}
    )
    negative = loop.remelter_client.post("/app/record/material-receipt/", {**form, "generator_footprint": "-1"})
    unchanged = ledger_size()
    recorded = loop.remelter_client.post("/app/record/material-receipt/", form)

    # then: the rule is shown next to the field and nothing is stored; a pre-consumer lot keeps its figure
    assert refused.status_code == 422 and negative.status_code == 422
    assert "<code>generator_footprint_not_pre_consumer</code>" in refused.content.decode()
    assert 'id="id_generator_footprint_error"' in negative.content.decode()
    assert unchanged == size
    lot = TraceableObject.objects.get(label="NEW-7")
    assert recorded.status_code == 302 and recorded["Location"] == f"/app/lots/{lot.pk}/"
    assert lot.attributes["generatorFootprintKgPerKg"] == 7.25


def test_scrap_sorting_molten_transfer_and_die_casting_through_the_forms(loop):
    remelter, caster = loop.remelter_client, loop.caster_client
    ops.material_receipt(
        organisation=loop.remelter.organisation,
        site=loop.remelt_site,
        lots=[ops.LotOut(ObjectKind.SCRAP_LOT, Decimal("100"), code="MIX-1", attributes={"supplier": "Trader"})],
    )
    sorted_lot = remelter.post(
        "/app/record/scrap-sorting/",
        {
            "site": loop.remelt_site.pk,
            "inputs": "MIX-1 100",
            "output_code": "S-9",
            "category": ScrapCategory.PRE_CONSUMER,
            "output_kg": "99",
            "sorting_loss_kg": "1",
            "composition": "Si=0.04 Fe=0.07",
        },
    )
    melted = remelter.post(
        "/app/record/remelting/",
        remelt_form(
            loop,
            inputs="S-9 99",
            output_kg="98",
            melt_loss_kg="1",
            dross_kg="",
            output_code="M-9",
            output_kind="molten_ladle",
        ),
    )
    moved = remelter.post(
        "/app/record/molten-transfer/",
        {
            "site": loop.remelt_site.pk,
            "lot": local_uri("lot", "nordic-remelt", "M-9"),
            "kg": "98",
            "destination": loop.casting_site.pk,
            "temperature_c": "720",
            "distance_km": "35",
        },
    )
    cast = caster.post(
        "/app/record/die-casting/",
        {
            "site": loop.casting_site.pk,
            "melt": local_uri("lot", "nordic-remelt", "M-9"),
            "melt_kg": "98",
            "castings": "T-9001 battery_tray 40\nT-9002 battery_tray 40",
            "run_around_code": "RA-9",
            "run_around_kg": "17",
            "casting_loss_kg": "1",
        },
    )

    assert [r.status_code for r in (sorted_lot, melted, moved, cast)] == [302, 302, 302, 302]
    tray = TraceableObject.objects.get(label="T-9001")
    assert cast["Location"] == f"/app/lots/{tray.pk}/"
    page = caster.get(cast["Location"]).content.decode()
    assert f"/part/{tray.pk}?format=json" in page


# --- lot pages -----------------------------------------------------------------------------------


def test_the_lot_pages_recycled_shares_are_the_apis_to_one_decimal_and_add_up_unrounded(loop):
    # given: the melt's shares as the API serves them (the session reads the API as the page does)
    melt = TraceableObject.objects.get(identifier=loop.melt)
    served = loop.remelter_client.get(f"/api/v1/objects/{melt.pk}/footprint", {"method": "cut_off"}).json()

    # when
    html = loop.remelter_client.get(f"/app/lots/{melt.pk}/").content.decode()

    # then: each chain's row shows pre-consumer, post-consumer and their sum as percentages to one
    # decimal, the sum taken before rounding (whole-number rounding showed "0 %" beside 67.9 %)
    for result in served:
        pre, post = result["preConsumerShare"], result["postConsumerShare"]
        # the melt is unclaimed: under mass balance it carries no recycled share, physically it does
        assert pre + post > 0.01 if result["chain"] == "physical" else pre + post == 0
        row = html[html.index(f'<th scope="row">{CHAIN_NAMES[result["chain"]]}') :].split("</tr>", 1)[0]
        assert f'<td class="number">{pre * 100:.1f} %</td>' in row
        assert f'<td class="number">{post * 100:.1f} %</td>' in row
        assert f'<td class="number" data-recycled>{(pre + post) * 100:.1f} %</td>' in row


def test_the_melts_page_draws_its_genealogy_balance_footprint_and_a_verified_inclusion_proof(loop):
    melt = TraceableObject.objects.get(identifier=loop.melt)

    page = loop.remelter_client.get(f"/app/lots/{melt.pk}/")

    html = page.content.decode()
    assert page.status_code == 200
    # genealogy: a flow of kg from the sources into the melt, its inputs grouped by stage and maker
    assert "Where the kilograms of M-1 came from" in html and 'class="subject">M-1</text>' in html
    for flow in MassFlow.objects.filter(target=melt).select_related("source"):
        assert f'<a href="/app/lots/{flow.source.pk}/">{flow.source.label}</a>' in html
    # the castings are the die-caster's: shown by kind and kg, never by label
    assert "TRAY-0000" not in html and "another organisation&#x27;s" in html
    assert "TRAY-0000" in loop.caster_client.get(f"/app/lots/{melt.pk}/").content.decode()
    # mass balance of the remelting: inputs = output + melt loss + dross
    assert '<span class="badge ok">Balanced</span>' in html
    assert f"{loop.melt_inputs_kg} kg in" in html
    # footprint by method and stage, recycled shares
    assert "Carbon footprint per kg, by method and lifecycle stage" in html and "Cut-off" in html
    assert "Recycled content by chain of custody" in html and "data-recycled" in html
    # verification: checked on the server against the signed checkpoint
    assert '<span class="badge ok" id="verified">Verified</span>' in html
    assert "<strong>inclusion</strong>: leaf" in html and "<strong>signature</strong>" in html


def test_a_tampered_entry_fails_its_badge(loop, tamper):
    melt = TraceableObject.objects.get(identifier=loop.melt)
    tamper(
        "UPDATE traceability_ledgerentry SET document = replace(document, %s, %s) WHERE seq = %s",
        ["remelting", "remeltinG", melt.created_seq],
    )

    html = loop.remelter_client.get(f"/app/lots/{melt.pk}/").content.decode()

    assert '<span class="badge bad">Verification failed</span>' in html
    assert '<li class="failed"><strong>digest</strong>' in html


def test_an_entry_after_the_last_checkpoint_awaits_one_which_only_the_operator_may_sign_at_once(loop):
    loop.remelter_client.post("/app/record/remelting/", remelt_form(loop))
    melt = TraceableObject.objects.get(label="M-2")
    operator = member(platform_organisation(), "operator")
    checkpoints = Checkpoint.objects.count()

    before = loop.remelter_client.get(f"/app/lots/{melt.pk}/").content.decode()
    refused = loop.remelter_client.post(f"/app/lots/{melt.pk}/checkpoint")
    still = loop.remelter_client.get(f"/app/lots/{melt.pk}/").content.decode()
    offered = operator.get(f"/app/lots/{melt.pk}/").content.decode()
    signed = operator.post(f"/app/lots/{melt.pk}/checkpoint")
    after = loop.remelter_client.get(f"/app/lots/{melt.pk}/").content.decode()

    assert "Awaiting checkpoint" in before and "Sign a checkpoint now" not in before
    assert refused.status_code == 403 and "Awaiting checkpoint" in still
    assert "Sign a checkpoint now" in offered
    assert signed.status_code == 302 and 'id="verified"' in after
    assert Checkpoint.objects.count() == checkpoints + 1


def test_lot_pages_cost_the_same_few_queries_whatever_the_lots_genealogy(loop):
    pages = {
        identifier: queries(loop.remelter_client, f"/app/lots/{TraceableObject.objects.get(identifier=identifier).pk}/")
        for identifier in (loop.silicon, loop.melt, loop.scrap_lot)
    }
    tray = queries(loop.caster_client, f"/app/lots/{TraceableObject.objects.get(identifier=loop.trays[0]).pk}/")

    # a lot without inputs, a melt of three lots, a scrap lot of fifteen parts, a casting back to vehicles
    assert set(pages.values()) == {tray}
    assert tray <= 20


def test_a_lot_the_organisation_cannot_see_is_not_found(loop):
    vehicle = TraceableObject.objects.get(identifier=loop.vehicles[0])

    assert loop.remelter_client.get(f"/app/lots/{vehicle.pk}/").status_code == 404
    assert loop.dismantler_client.get(f"/app/lots/{vehicle.pk}/").status_code == 200


def test_another_organisations_objects_and_event_details_are_folded_on_the_pages(loop):
    # given: the scrap lot the remelter received, sorted by the dismantler from its parts
    scrap = TraceableObject.objects.get(identifier=loop.scrap_lot)
    parts = TraceableObject.objects.filter(identifier__in=loop.parts)

    page = loop.remelter_client.get(f"/app/lots/{scrap.pk}/").content.decode()
    events = loop.remelter_client.get("/app/events/", {"operation": "scrap_sorting"}).content.decode()
    own = loop.dismantler_client.get("/app/events/", {"operation": "scrap_sorting"}).content.decode()

    # then: the parts show their kind and kg, not their labels; the dismantler's site is its own to see
    assert parts.exists() and not [p.label for p in parts if f">{p.label}<" in page or f"{p}" in page]
    assert "Part, another organisation&#x27;s" in page
    assert "scrap_sorting" in events and loop.dismantling_site.name not in events
    assert loop.dismantling_site.name in own


# --- lists -------------------------------------------------------------------------------------


def test_lists_search_paginate_and_say_when_empty(loop, django_assert_max_num_queries):
    for n in range(30):
        ops.material_receipt(
            organisation=loop.remelter.organisation,
            site=loop.remelt_site,
            lots=[
                ops.LotOut(
                    ObjectKind.ALLOYING, Decimal("5"), code=f"MG-{n:02d}", attributes={"composition": {"Mg": 99.9}}
                )
            ],
        )
    client = loop.remelter_client

    with django_assert_max_num_queries(8):
        first = client.get("/app/lots/", {"kind": "alloying"})
    with django_assert_max_num_queries(8):
        second = client.get("/app/lots/", {"kind": "alloying", "page": 2})
    found = client.get("/app/lots/", {"q": "MG-07"}).content.decode()
    nothing = client.get("/app/lots/", {"q": "no-such-lot"}).content.decode()
    with django_assert_max_num_queries(8):
        events = client.get("/app/events/", {"operation": "material_receipt"}).content.decode()
    with django_assert_max_num_queries(8):
        passports_page = loop.dismantler_client.get("/app/passports/").content.decode()

    assert "Page 1 of 2" in first.content.decode() and "kind=alloying&amp;page=2" in first.content.decode()
    assert "MG-00" in second.content.decode() and "MG-29" not in second.content.decode()
    assert "MG-07" in found and "MG-08" not in found
    assert "Nothing matches this search" in nothing
    assert "Page 1 of 2" in events
    assert passports_page.count("qr.svg") == 3
    assert "No passports yet" in loop.remelter_client.get("/app/passports/").content.decode()


# --- audit export ------------------------------------------------------------------------------


def test_a_regulator_downloads_the_audit_export_and_others_may_not(loop):
    regulator = member(make_partner("market-surveillance", role="regulator").organisation, "inspector")

    form = regulator.get("/app/audit/")
    export = regulator.get("/app/audit/", {"download": "1", "organisation": "nordic-remelt", "since": "", "until": ""})
    refused = loop.remelter_client.get("/app/audit/", {"download": "1"})

    assert form.status_code == 200 and 'action="/app/audit/"' in form.content.decode()
    assert export.status_code == 200 and export["Content-Disposition"].startswith("attachment; filename=")
    lines = [json.loads(line) for line in b"".join(export.streaming_content).splitlines()]
    assert lines[0]["type"] == "header" and lines[0]["selection"]["organisation"] == "nordic-remelt"
    selected = [line for line in lines if line["type"] == "entry" and line["selected"]]
    assert selected and {line["organisation"] for line in selected} == {"nordic-remelt"}
    assert refused.status_code == 403
