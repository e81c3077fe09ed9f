"""Passing material along in the web console: custody transfer, repurposing, battery recycling and
black-mass refining through their forms at /app/record/<operation>/, with pickers that offer only
what the organisation holds and receivers that take that material, the engine's rules shown next
to their fields with nothing stored, and each role's record index and next steps."""

import json
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.factories import make_partner, make_site
from tests.loop import build_loop
from traceability.choices import ObjectKind, ObjectStatus
from traceability.identifiers import local_uri
from traceability.models import EventRecord, Membership, Organisation, TraceableObject
from traceability.operations import services as ops
from traceability.selectors import ledger_size

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-only"
NEW_FORMS = ("custody-transfer", "repurposing", "battery-recycling", "black-mass-refining")


def member(organisation: Organisation, username: str) -> Client:
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    Membership.objects.create(user=user, organisation=organisation)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def loop(db):  # type: ignore[no-untyped-def]
    built = build_loop()
    built.recycler = make_partner("cellcycle", role="battery_recycler")
    built.recycler_site = make_site(built.recycler, "Pretreatment plant", country="DE")
    built.maker = make_partner("cellmake", role="battery_maker")
    built.regulator = make_partner("authority", role="regulator")
    yard = built.dismantler.organisation
    # two packs graded for recycling, one for second life
    for pack, route in zip(built.packs, ("recycling", "recycling", "second_life"), strict=True):
        ops.battery_grading(
            organisation=yard,
            site=built.dismantling_site,
            battery=pack,
            state_of_health_pct=Decimal("71") if route == "second_life" else Decimal("55"),
            capacity_kwh=Decimal("50"),
            route=route,
        )
    # a lot of another organisation: no form of the yard's may offer or take it
    ops.material_receipt(
        organisation=built.remelter.organisation,
        site=built.remelt_site,
        lots=[ops.LotOut(ObjectKind.PRIMARY_INGOT, Decimal("300"), code="FOREIGN-1", attributes={"supplier": "X"})],
    )
    built.foreign = local_uri("lot", "nordic-remelt", "FOREIGN-1")
    built.yard_client = member(yard, "yard")
    built.recycler_client = member(built.recycler.organisation, "recycler")
    built.melter_client = member(built.remelter.organisation, "melter")
    built.regulator_client = member(built.regulator.organisation, "inspector")
    return built


class Controls(HTMLParser):
    """The form controls of a page (ids), and the ids its labels name."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[str] = []
        self.labelled: set[str] = set()
        self.options: dict[str, list[tuple[str, str]]] = {}
        self._select: str | None = None
        self._option: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in {"input", "select", "textarea"} and a.get("type") not in {"hidden", "submit"}:
            self.controls.append(a.get("id") or f"<{tag} name={a.get('name')} without id>")
        if tag == "select":
            self._select = a.get("name")
            self.options[self._select or ""] = []
        if tag == "option" and self._select is not None:
            self._option = a.get("value") or ""
        if tag == "label" and a.get("for"):
            self.labelled.add(str(a["for"]))

    def handle_data(self, data: str) -> None:
        if self._option is not None and self._select is not None:
            self.options[self._select].append((self._option, data.strip()))
            self._option = None

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def controls(html: str) -> Controls:
    parser = Controls()
    parser.feed(html)
    return parser


def field_error(response, field: str) -> str:  # type: ignore[no-untyped-def]
    """The code of the error shown at ``field`` (its ``id_<field>_error`` paragraph)."""
    found = re.search(rf'id="id_{field}_error"><code>([a-z_]+)</code>', response.content.decode())
    return found.group(1) if found else ""


def values(options: list[tuple[str, str]]) -> set[str]:
    return {value for value, _ in options if value}


# --- who records what ----------------------------------------------------------------------------


def test_every_new_form_labels_each_of_its_controls(loop):
    for client, slugs in (
        (loop.yard_client, ("custody-transfer", "repurposing")),
        (loop.recycler_client, NEW_FORMS),
    ):
        for slug in slugs:
            page = client.get(f"/app/record/{slug}/")
            found = controls(page.content.decode())

            assert page.status_code == 200, slug
            assert found.controls, slug
            unlabelled = [c for c in found.controls if c not in found.labelled]
            assert not unlabelled, (slug, unlabelled)


def test_the_record_index_lists_the_operations_of_the_organisations_role(loop):
    yard = loop.yard_client.get("/app/record/").content.decode()
    recycler = loop.recycler_client.get("/app/record/").content.decode()
    regulator = loop.regulator_client.get("/app/record/").content.decode()

    for slug in ("dismantling", "battery-grading", "repurposing", "custody-transfer"):
        assert f'href="/app/record/{slug}/"' in yard, slug
    for slug in ("battery-recycling", "black-mass-refining", "remelting", "die-casting"):
        assert f'href="/app/record/{slug}/"' not in yard, slug
    for slug in ("battery-grading", "repurposing", "battery-recycling", "black-mass-refining", "custody-transfer"):
        assert f'href="/app/record/{slug}/"' in recycler, slug
    # material receipt offers the aluminium trades' bought lots: not theirs
    for slug in ("dismantling", "vehicle-intake", "remelting", "molten-transfer", "material-receipt"):
        assert f'href="/app/record/{slug}/"' not in recycler, slug
    assert 'href="/app/record/material-receipt/"' not in yard
    assert "/app/record/custody-transfer/" not in regulator and "records no operation" in regulator


def test_the_yards_dashboard_and_index_link_what_it_holds_to_its_next_step(loop):
    dashboard = loop.yard_client.get("/app/").content.decode()
    index = loop.yard_client.get("/app/record/").content.decode()

    # then: the yard cannot recycle: its packs graded for recycling are to be transferred
    for page in (dashboard, index):
        assert '<a href="/app/record/custody-transfer/">2 packs to transfer</a>' in page
        assert '<a href="/app/record/repurposing/">1 pack to repurpose</a>' in page
    transferred = loop.yard_client.post("/app/record/custody-transfer/", transfer_form(loop, items=loop.packs[:2]))
    assert transferred.status_code == 302
    recycler = loop.recycler_client.get("/app/").content.decode()
    assert '<a href="/app/record/battery-recycling/">2 packs to recycle</a>' in recycler
    assert "to transfer" not in loop.yard_client.get("/app/").content.decode()


# --- custody transfer ----------------------------------------------------------------------------


def transfer_form(loop, **changes):  # type: ignore[no-untyped-def]
    form = {
        "site": loop.dismantling_site.pk,
        "items": loop.packs[:2],
        "receiver": loop.recycler.organisation.pk,
    }
    return {**form, **changes}


def test_a_custody_transfer_in_the_form_passes_the_packs_to_the_recycler(loop):
    size = ledger_size()

    response = loop.yard_client.post("/app/record/custody-transfer/", transfer_form(loop))

    event = EventRecord.objects.get(entry_id=size + 1)
    assert response.status_code == 302 and response["Location"] == f"/app/events/?q={event.entry_id}"
    assert event.operation == "custody_transfer" and event.organisation == loop.dismantler.organisation
    assert set(event.involved.values_list("identifier", flat=True)) == set(loop.packs[:2])
    for pack in loop.packs[:2]:
        assert loop.obj(pack).custodian == loop.recycler.organisation
    assert loop.obj(loop.packs[2]).custodian == loop.dismantler.organisation


def test_the_transfer_form_offers_only_what_the_organisation_holds_and_who_takes_it(loop):
    found = controls(loop.yard_client.get("/app/record/custody-transfer/").content.decode())
    melter = controls(loop.melter_client.get("/app/record/custody-transfer/").content.decode())

    held = TraceableObject.objects.filter(custodian=loop.dismantler.organisation, status=ObjectStatus.ACTIVE)
    assert values(found.options["items"]) == set(held.values_list("identifier", flat=True))
    assert set(loop.packs) <= values(found.options["items"])
    receivers = values(found.options["receiver"])
    # packs go to battery recyclers and makers: not to the regulator, the yard itself or a remelter
    assert receivers == {str(loop.recycler.organisation.pk), str(loop.maker.organisation.pk)}
    labels = dict(found.options["receiver"])
    assert labels[str(loop.recycler.organisation.pk)] == "Cellcycle (Battery recycler)"
    # the remelter's lots show label, kind and kg left; never the yard's packs
    lots = dict(melter.options["lots"])
    assert lots[loop.foreign] == "FOREIGN-1 · Primary aluminium ingot · 300.000 kg"
    assert not set(loop.packs) & values(melter.options["items"])
    assert loop.foreign not in values(found.options["lots"])


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"items": []}, "items", "required"),
        ({"lots": ["FOREIGN"]}, "lots", "invalid_choice"),
        ({"items": ["urn:epc:id:sgtin:0614141.107346.2017"]}, "items", "invalid_choice"),
        ({"receiver": "REGULATOR"}, "receiver", "invalid_choice"),
        ({"receiver": "YARD"}, "receiver", "invalid_choice"),
        ({"receiver": "REMELTER"}, "receiver", "invalid_choice"),
        ({"receiver": "MAKER", "event_time": "2020-01-01T00:00"}, "event_time", "*"),
    ],
)
def test_a_refused_transfer_shows_why_at_its_field_and_stores_nothing(loop, changes, field, code):
    named = {
        "FOREIGN": loop.foreign,
        "REGULATOR": loop.regulator.organisation.pk,
        "YARD": loop.dismantler.organisation.pk,
        "REMELTER": loop.remelter.organisation.pk,
        "MAKER": loop.maker.organisation.pk,
    }
    changes = {k: named.get(v, v) if isinstance(v, str) else [named.get(i, i) for i in v] for k, v in changes.items()}
    size = ledger_size()

    response = loop.yard_client.post("/app/record/custody-transfer/", transfer_form(loop, **changes))

    assert response.status_code == 422
    assert field_error(response, field) == code or (code == "*" and field_error(response, field))
    assert ledger_size() == size
    assert all(loop.obj(pack).custodian == loop.dismantler.organisation for pack in loop.packs)


def test_a_lot_is_transferred_whole_and_only_to_who_takes_its_material(loop):
    primary = loop.primary
    left = loop.obj(primary).remaining_kg
    form = {"site": loop.remelt_site.pk, "lots": [primary], "receiver": loop.die_caster.organisation.pk}
    size = ledger_size()

    to_a_maker = loop.melter_client.post(
        "/app/record/custody-transfer/", {**form, "receiver": loop.maker.organisation.pk}
    )
    unchanged = ledger_size()
    whole = loop.melter_client.post("/app/record/custody-transfer/", form)

    # a battery maker takes no aluminium ingot: it is not offered, and refused when posted
    assert to_a_maker.status_code == 422 and field_error(to_a_maker, "receiver") == "invalid_choice"
    assert unchanged == size
    assert whole.status_code == 302
    event = EventRecord.objects.get(entry_id=size + 1)
    assert event.operation == "custody_transfer"
    quantities = json.loads(event.entry.document)["quantityList"]
    assert quantities == [{"epcClass": primary, "quantity": float(left), "uom": "KGM"}]
    assert loop.obj(primary).custodian == loop.die_caster.organisation


def test_a_receiver_offered_for_some_of_what_is_held_is_refused_for_the_rest(loop):
    other_yard = make_partner("scrapyard", role="dismantler").organisation
    found = controls(loop.yard_client.get("/app/record/custody-transfer/").content.decode())
    size = ledger_size()

    packs = loop.yard_client.post("/app/record/custody-transfer/", transfer_form(loop, receiver=other_yard.pk))

    # offered, as the yard holds vehicles, which go to dismantlers; packs do not
    assert str(other_yard.pk) in values(found.options["receiver"])
    assert packs.status_code == 422 and field_error(packs, "receiver") == "receiver_unsuited"
    assert "Scrapyard is a dismantler: it does not take battery packs" in packs.content.decode()
    assert ledger_size() == size


# --- repurposing ---------------------------------------------------------------------------------


def repurpose_form(loop, **changes):  # type: ignore[no-untyped-def]
    form = {
        "site": loop.dismantling_site.pk,
        "battery": loop.packs[2],
        "new_code": "ACRPEA1R2L0001N35" + "0000001",
        "chemistry": "NMC",
        "rated_kwh": "50",
        "mass_kg": "452",
        "application": "stationary energy storage",
    }
    return {**form, **changes}


def test_repurposing_in_the_form_gives_the_pack_a_new_identity_linked_to_the_old(loop):
    found = controls(loop.yard_client.get("/app/record/repurposing/").content.decode())
    size = ledger_size()

    response = loop.yard_client.post("/app/record/repurposing/", repurpose_form(loop))

    # only the pack graded for second life is offered, with its route
    assert values(found.options["battery"]) == {loop.packs[2]}
    assert "graded for second life" in dict(found.options["battery"])[loop.packs[2]]
    new = TraceableObject.objects.get(created_seq=size + 1)
    assert response.status_code == 302 and response["Location"] == f"/app/lots/{new.pk}/"
    assert new.kind == ObjectKind.BATTERY_PACK and new.custodian == loop.dismantler.organisation
    assert new.attributes["previousIdentity"] == loop.packs[2]
    assert loop.obj(loop.packs[2]).status == ObjectStatus.REPURPOSED
    assert EventRecord.objects.get(entry_id=size + 1).operation == "repurposing"


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"battery": "PACK0"}, "battery", "invalid_choice"),  # graded for recycling: not offered
        ({"new_code": "not-a-code"}, "new_code", "battery_code_invalid"),
        ({"mass_kg": "0"}, "mass_kg", "kg_invalid"),
        ({"mass_kg": "ten"}, "mass_kg", "invalid"),
    ],
)
def test_a_refused_repurposing_shows_why_at_its_field_and_stores_nothing(loop, changes, field, code):
    changes = {k: loop.packs[0] if v == "PACK0" else v for k, v in changes.items()}
    size = ledger_size()

    response = loop.yard_client.post("/app/record/repurposing/", repurpose_form(loop, **changes))

    assert response.status_code == 422 and field_error(response, field) == code
    assert ledger_size() == size
    assert loop.obj(loop.packs[2]).status == ObjectStatus.ACTIVE


# --- battery recycling and refining ---------------------------------------------------------------


def recycle_form(loop, **changes):  # type: ignore[no-untyped-def]
    form = {
        "site": loop.recycler_site.pk,
        "batteries": loop.packs[:2],
        "black_mass_code": "BM-1",
        "black_mass_kg": "330",
        "black_mass_composition": "Ni=20.5 Co=6.4 Mn=6.1 Li=3.7",
        "aluminium_kg": "180",
        "copper_kg": "80",
        "steel_kg": "110",
        "plastics_kg": "120",
        "process_loss_kg": "84",
    }
    return {**form, **changes}


@pytest.fixture
def received(loop):  # type: ignore[no-untyped-def]
    """The recycler holds the two packs graded for recycling (904 kg)."""
    response = loop.yard_client.post("/app/record/custody-transfer/", transfer_form(loop))
    assert response.status_code == 302
    return loop


def test_battery_recycling_in_the_form_shreds_the_packs_into_black_mass_and_fractions(received):
    loop = received
    found = controls(loop.recycler_client.get("/app/record/battery-recycling/").content.decode())
    size = ledger_size()

    response = loop.recycler_client.post("/app/record/battery-recycling/", recycle_form(loop))

    assert values(found.options["batteries"]) == set(loop.packs[:2])
    black_mass = TraceableObject.objects.get(label="BM-1")
    assert response.status_code == 302 and response["Location"] == f"/app/lots/{black_mass.pk}/"
    assert black_mass.kind == ObjectKind.BLACK_MASS and black_mass.initial_kg == Decimal("330")
    assert black_mass.attributes["composition"] == {"Ni": 20.5, "Co": 6.4, "Mn": 6.1, "Li": 3.7}
    fractions = TraceableObject.objects.filter(created_seq=size + 1, kind=ObjectKind.BATTERY_FRACTION)
    assert {(f.label, f.attributes["fraction"], f.initial_kg) for f in fractions} == {
        ("BM-1-AL", "aluminium", Decimal("180")),
        ("BM-1-CO", "copper", Decimal("80")),
        ("BM-1-ST", "steel", Decimal("110")),
        ("BM-1-PL", "plastics", Decimal("120")),
    }
    assert EventRecord.objects.get(entry_id=size + 1).operation == "battery_recycling"
    assert all(loop.obj(pack).status == ObjectStatus.RECYCLED for pack in loop.packs[:2])


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"process_loss_kg": "0"}, "process_loss_kg", "mass_unbalanced"),
        ({"batteries": ["PACK2"]}, "batteries", "invalid_choice"),  # still the yard's
        ({"batteries": []}, "batteries", "required"),
        ({"black_mass_composition": "Ni=120"}, "black_mass_composition", "composition"),
        ({"black_mass_kg": "-3"}, "black_mass_kg", "min_value"),
    ],
)
def test_a_refused_recycling_shows_why_at_its_field_and_stores_nothing(received, changes, field, code):
    loop = received
    changes = {k: [loop.packs[2]] if v == ["PACK2"] else v for k, v in changes.items()}
    size = ledger_size()

    response = loop.recycler_client.post("/app/record/battery-recycling/", recycle_form(loop, **changes))

    assert response.status_code == 422 and field_error(response, field) == code
    assert ledger_size() == size
    assert not TraceableObject.objects.filter(label="BM-1").exists()


def refine_form(loop, **changes):  # type: ignore[no-untyped-def]
    form = {
        "site": loop.recycler_site.pk,
        "input_1": local_uri("lot", "cellcycle", "BM-1"),
        "input_1_kg": "300",
        "salt_1_compound": "NiSO4.6H2O",
        "salt_1_code": "S-NI-1",
        "salt_1_kg": "260",
        "salt_1_content": "22.33",
        "salt_2_compound": "Li2CO3",
        "salt_2_code": "S-LI-1",
        "salt_2_kg": "50",
        "salt_2_content": "18.79",
    }
    form = {**form, **changes}
    form.setdefault("process_loss_kg", "0")
    return form


def test_black_mass_refining_in_the_form_yields_salts_within_the_metal_the_black_mass_holds(received):
    loop = received
    assert loop.recycler_client.post("/app/record/battery-recycling/", recycle_form(loop)).status_code == 302
    size = ledger_size()

    too_rich = loop.recycler_client.post("/app/record/black-mass-refining/", refine_form(loop, salt_2_kg="80"))
    overdrawn = loop.recycler_client.post("/app/record/black-mass-refining/", refine_form(loop, input_1_kg="400"))
    unchanged = ledger_size()
    refined = loop.recycler_client.post("/app/record/black-mass-refining/", refine_form(loop))

    # 300 kg of black mass at Li 3.7 % hold 11.1 kg of lithium; 80 kg of Li2CO3 would carry 15 kg
    assert too_rich.status_code == 422 and field_error(too_rich, "salt_2_kg") == "recovery_exceeds_input"
    assert overdrawn.status_code == 422 and field_error(overdrawn, "input_1_kg") == "lot_overconsumed"
    assert unchanged == size
    nickel = TraceableObject.objects.get(label="S-NI-1")
    assert refined.status_code == 302 and refined["Location"] == f"/app/lots/{nickel.pk}/"
    assert nickel.kind == ObjectKind.SALT
    assert (nickel.attributes["metal"], nickel.attributes["metalContentPct"]) == ("Ni", 22.33)
    assert EventRecord.objects.get(entry_id=size + 1).operation == "black_mass_refining"
    assert TraceableObject.objects.get(label="BM-1").remaining_kg == Decimal("30")


def test_the_refining_form_offers_only_the_recyclers_own_black_mass(received):
    loop = received
    assert loop.recycler_client.post("/app/record/battery-recycling/", recycle_form(loop)).status_code == 302
    other = make_partner("othercycle", role="battery_recycler")
    member_client = member(other.organisation, "other")
    make_site(other, "Other plant", country="DE")

    theirs = controls(member_client.get("/app/record/black-mass-refining/").content.decode())
    posted = member_client.post(
        "/app/record/black-mass-refining/",
        refine_form(loop, site=other.organisation.sites.get().pk),
    )

    assert not values(theirs.options["input_1"])
    assert posted.status_code == 422 and field_error(posted, "input_1") == "invalid_choice"
    assert TraceableObject.objects.get(label="BM-1").remaining_kg == Decimal("330")


def test_molten_metal_is_offered_only_to_die_casters_sites(loop):
    found = controls(loop.melter_client.get("/app/record/molten-transfer/").content.decode())

    # not the yard's, the recycler's, nor the regulator's (which has none): a die-caster's only
    assert values(found.options["destination"]) == {str(loop.casting_site.pk)}
