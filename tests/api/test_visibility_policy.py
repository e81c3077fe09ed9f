"""One visibility policy, nested content included: regression tests through HTTP.

The world of ``test_access_matrix``: a dismantler (autocirc) sorts scrap from two vehicles and
hands it to a remelter (nordic-remelt), who melts it with its own primary ingot and delivers the
melt to a die-caster (castline), who casts trays; a second dismantler and onlookers look on.
Each partner sees the others' events and objects only where they concern its own, and then only
their outline or folded form: no document, identifier, VIN or supplier footprint of an object it
cannot see appears anywhere in the answer.
"""

import json
import re
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from carbon.models import EmissionFactor
from carbon.services import footprints_catch_up
from passport.services import passports_catch_up
from tests.api.test_access_matrix import world  # noqa: F401 - fixture
from tests.api.test_operations_api import parties  # noqa: F401 - fixture
from traceability.choices import ObjectKind
from traceability.models import EpcisEvent, EventRecord, Membership, Organisation, TraceableObject
from traceability.visibility import WITHHELD_FIELD, objects_visible_to

pytestmark = pytest.mark.django_db

# What the remelter's remelting document holds beyond its outline (see ``run_loop``).
REMELTING_SECRETS = ("thin-wall-structural", "naturalGasM3", "meltLoss")


@pytest.fixture
def loop(world):  # noqa: F811 - the fixture imported above
    return world


def unseen_by(slug: str) -> list[str]:
    """Identifiers and labels of VIN-long or longer of every object ``slug`` cannot see."""
    reader = Organisation.objects.get(slug=slug)
    hidden = TraceableObject.objects.exclude(pk__in=objects_visible_to(organisation=reader).values("pk"))
    secrets = list(hidden.values_list("identifier", flat=True))
    secrets += [label for label in hidden.values_list("label", flat=True) if len(label) >= 17]  # VINs
    assert secrets, f"the world hides nothing from {slug}"
    return secrets


def leaked(text: str, secrets: list[str]) -> list[str]:
    return [secret for secret in secrets if secret in text]


def remelting(made: dict) -> EventRecord:
    return EventRecord.objects.get(operation="remelting", involved__identifier=made["scrap"])


# --- event documents -----------------------------------------------------------------------


def test_another_organisations_event_shows_its_outline_never_its_document(loop):
    made, clients, _, _ = loop
    dismantler, remelter = clients["dismantler"], clients["remelter"]
    event = remelting(made)

    listed = dismantler.get("/api/v1/events", {"page_size": 1000})
    detail = dismantler.get(f"/api/v1/events/{event.entry_id}")
    own = remelter.get(f"/api/v1/events/{event.entry_id}")
    entry = dismantler.get(f"/api/v1/ledger/entries/{event.entry_id}")

    # the dismantler sees that its scrap was remelted, when and by whom, and nothing else of it
    (shown,) = [e for e in listed.json()["results"] if e["seq"] == event.entry_id]
    assert shown == detail.json()
    assert shown["operation"] == "remelting" and shown["organisation"] == "nordic-remelt"
    assert (shown["document"], shown["site"], shown["warnings"]) == (None, None, [])
    assert shown["objects"] == [made["scrap"]]
    assert entry.json()["entry"]["document"] is None  # the ledger API says the same
    for text in (listed.content.decode(), detail.content.decode()):
        assert leaked(text, unseen_by("autocirc")) == []
        assert leaked(text, list(REMELTING_SECRETS)) == []
    # the recorder reads its whole document
    assert own.json()["document"]["lt:targetAlloy"] == "thin-wall-structural"
    assert set(own.json()["objects"]) == {made["scrap"], made["primary"], made["melt"]}


def test_the_event_filter_matches_no_object_the_caller_cannot_see(loop):
    made, clients, _, _ = loop

    by_own = clients["dismantler"].get("/api/v1/events", {"object": made["scrap"]}).json()["results"]
    by_other = clients["dismantler"].get("/api/v1/events", {"object": made["primary"]}).json()["results"]
    by_holder = clients["remelter"].get("/api/v1/events", {"object": made["primary"]}).json()["results"]

    # the remelting names the primary ingot, but the dismantler cannot learn that by filtering
    assert remelting(made).entry_id in {e["seq"] for e in by_own}
    assert by_other == []
    assert remelting(made).entry_id in {e["seq"] for e in by_holder}


def epcis_events(client: APIClient, **params: str) -> list[dict]:
    response = client.get("/epcis/events", {"perPage": "1000", **params})
    assert response.status_code == 200, response.content
    return response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def test_epcis_queries_answer_other_organisations_events_as_outlines(loop):
    made, clients, _, _ = loop
    dismantler, remelter = clients["dismantler"], clients["remelter"]
    event_hash = EpcisEvent.objects.get(entry_id=remelting(made).entry_id).event_hash

    queried = dismantler.get("/epcis/events", {"perPage": "1000"})
    one = dismantler.get(f"/epcis/events/{quote(event_hash, safe='')}")
    whole = remelter.get(f"/epcis/events/{quote(event_hash, safe='')}")

    (outline,) = [e for e in epcis_events(dismantler) if e.get("lt:operation") == "remelting"]
    assert outline[WITHHELD_FIELD] is True
    assert outline["type"] == "TransformationEvent" and outline["eventTime"].startswith("2026-10-08T08:00")
    assert [q["epcClass"] for q in outline["inputQuantityList"]] == [made["scrap"]]
    assert outline["outputQuantityList"] == []
    assert not {"bizLocation", "readPoint", "lt:objects", "lt:energy", "lt:lossesKg"} & set(outline)
    assert one.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == [outline]
    for text in (queried.content.decode(), one.content.decode()):
        assert leaked(text, unseen_by("autocirc")) == []
        assert leaked(text, list(REMELTING_SECRETS)) == []
    (document,) = whole.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert WITHHELD_FIELD not in document and document["lt:targetAlloy"] == "thin-wall-structural"


def test_epcis_filters_do_not_probe_what_an_outline_withholds(loop):
    made, clients, _, _ = loop
    dismantler, remelter = clients["dismantler"], clients["remelter"]
    document = json.loads(remelting(made).entry.document)
    shop = document["bizLocation"]["id"]

    # the remelting consumed the primary ingot and took place at the remelter's shop: the
    # remelter finds it by either; the dismantler, who sees its outline, by neither
    for client, expected in ((remelter, True), (dismantler, False)):
        by_input = epcis_events(client, MATCH_inputEPCClass=made["primary"])
        by_place = epcis_events(client, EQ_bizLocation=shop)
        found = [e for e in by_input + by_place if e.get("lt:operation") == "remelting"]
        assert bool(found) is expected, client
    assert [e.get("lt:operation") for e in epcis_events(dismantler, MATCH_inputEPCClass=made["scrap"])] == ["remelting"]


# --- genealogy -----------------------------------------------------------------------------


def test_genealogy_folds_other_organisations_objects_kind_and_kg_only(loop):
    made, clients, _, _ = loop
    die_caster, regulator = clients["die_caster"], clients["regulator"]
    tray = TraceableObject.objects.get(identifier=made["trays"][0])

    response = die_caster.get(f"/api/v1/objects/{tray.pk}/genealogy")
    audited = regulator.get(f"/api/v1/objects/{tray.pk}/genealogy").json()

    body = response.json()
    assert leaked(response.content.decode(), unseen_by("castline")) == []
    folded = [n for n in body["nodes"] if n["folded"]]
    assert {n["kind"] for n in folded} >= {"vehicle", "primary_ingot", "scrap_lot"}
    assert all(n["identifier"] is None and n["label"] is None and n["id"] < 0 for n in folded)
    assert len({n["id"] for n in folded}) == len(folded)
    # the graph still adds up: the same kg at the same depths as the regulator sees
    assert sorted((n["kind"], n["depth"], n["kg"]) for n in body["nodes"]) == sorted(
        (n["kind"], n["depth"], n["kg"]) for n in audited["nodes"]
    )
    ids = {n["id"] for n in body["nodes"]} | {tray.pk}
    assert all(e["source"] in ids and e["target"] in ids for e in body["edges"])
    assert sum(Decimal(e["kg"]) for e in body["edges"]) == sum(Decimal(e["kg"]) for e in audited["edges"])
    # a placeholder fetches nothing
    assert die_caster.get(f"/api/v1/objects/{folded[0]['id']}").status_code == 404
    # the regulator sees every vehicle by its VIN
    assert set(made["vehicles"]) <= {n["identifier"] for n in audited["nodes"]}


def test_forward_genealogy_folds_what_others_made_of_ones_own(loop):
    made, clients, _, _ = loop
    vehicle = TraceableObject.objects.get(identifier=made["vehicles"][0])

    response = clients["dismantler"].get(f"/api/v1/objects/{vehicle.pk}/genealogy", {"direction": "forward"})

    assert leaked(response.content.decode(), unseen_by("autocirc")) == []
    nodes = response.json()["nodes"]
    assert made["scrap"] in {n["identifier"] for n in nodes}  # its own scrap lot, by name
    assert len([n for n in nodes if n["folded"] and n["kind"] == "part"]) == len(made["trays"])


def member_client(slug: str) -> Client:
    user = get_user_model().objects.create_user(f"{slug}-member", password="not-used-here-1")
    Membership.objects.create(user=user, organisation=Organisation.objects.get(slug=slug))
    client = Client()
    client.force_login(user)
    return client


def test_the_lot_pages_genealogy_and_balance_fold_other_organisations_objects(loop):
    made, _, _, _ = loop
    tray = TraceableObject.objects.get(identifier=made["trays"][0])
    scrap = TraceableObject.objects.get(identifier=made["scrap"])

    tray_page = member_client("castline").get(f"/app/lots/{tray.pk}/")
    scrap_page = member_client("autocirc").get(f"/app/lots/{scrap.pk}/")

    assert tray_page.status_code == scrap_page.status_code == 200
    assert leaked(tray_page.content.decode(), unseen_by("castline")) == []
    # the remelting of its scrap: the dismantler sees its own input, the rest folded, no losses
    html = scrap_page.content.decode()
    assert leaked(html, unseen_by("autocirc")) == []
    assert "P-1" not in html and "M-1" not in html  # the remelter's lot numbers
    assert f"{ObjectKind.PRIMARY_INGOT.label}, another organisation&#x27;s" in html
    assert "meltLoss" not in html and "Remelt shop" not in html


# --- factors -------------------------------------------------------------------------------


def bind_supplier_footprint(clients: dict, made: dict) -> int:
    primary = TraceableObject.objects.get(identifier=made["primary"])
    bound = clients["remelter"].post(
        "/api/v1/factors",
        {"code": "supplier_footprint", "lot": primary.pk, "value": "3.3", "unit": "kg/kg", "source": "smelter PCF"},
        format="json",
    )
    assert bound.status_code == 201, bound.content
    return primary.pk


def factors(client: APIClient, **params: str) -> list[dict]:
    response = client.get("/api/v1/factors", {"limit": 1000, **params})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_factor_lists_show_supplier_footprints_only_of_lots_the_caller_can_see(loop):
    made, clients, _, _ = loop
    lot = bind_supplier_footprint(clients, made)
    platform_wide = set(EmissionFactor.objects.filter(lot__isnull=True).values_list("pk", flat=True))

    for role, sees in (("remelter", True), ("regulator", True), ("dismantler", False), ("oem", False)):
        client = clients[role]
        current, every, by_lot = factors(client), factors(client, all="1"), factors(client, lot=str(lot))
        assert ({f["lot"] for f in current + every + by_lot} - {None} == {lot}) is sees, role
        assert {f["id"] for f in every if f["lot"] is None} == platform_wide, role
        if not sees:
            assert "smelter PCF" not in json.dumps(current + every + by_lot), role
            assert by_lot == factors(client, lot="999999999")


def test_binding_a_factor_to_a_lot_one_cannot_see_answers_as_a_lot_that_does_not_exist(loop):
    made, clients, _, _ = loop
    hidden = TraceableObject.objects.get(identifier=made["primary"]).pk
    missing = TraceableObject.objects.order_by("-pk").first().pk + 1000
    count = EmissionFactor.objects.count()

    def bind(lot: int):  # type: ignore[no-untyped-def]
        body = {"code": "supplier_footprint", "lot": lot, "value": "1", "unit": "kg/kg", "source": "probe"}
        return clients["second_dismantler"].post("/api/v1/factors", body, format="json")

    to_hidden, to_missing = bind(hidden), bind(missing)

    assert to_hidden.status_code == to_missing.status_code == 400
    anonymised = [re.sub(r"\d+", "N", r.content.decode()) for r in (to_hidden, to_missing)]
    assert anonymised[0] == anonymised[1]
    assert EmissionFactor.objects.count() == count


# --- the same 404 --------------------------------------------------------------------------


def test_an_invisible_object_or_event_answers_exactly_as_a_missing_one(loop):
    made, clients, _, _ = loop
    stranger = clients["second_dismantler"]
    hidden = TraceableObject.objects.get(identifier=made["melt"]).pk
    missing = TraceableObject.objects.order_by("-pk").first().pk + 1000
    seq = remelting(made).entry_id
    no_seq = EventRecord.objects.order_by("-entry_id").first().entry_id + 1000
    event_hash = EpcisEvent.objects.get(entry_id=seq).event_hash

    def answer(path: str) -> tuple[int, str]:
        response = stranger.get(path)
        return response.status_code, response.content.decode()

    for template in ("/api/v1/objects/{}", "/api/v1/objects/{}/genealogy", "/api/v1/objects/{}/footprint"):
        assert answer(template.format(hidden)) == answer(template.format(missing)), template
        assert answer(template.format(hidden))[0] == 404
    battery = TraceableObject.objects.filter(kind="battery_pack").first().pk
    assert answer(f"/api/v1/objects/{battery}/battery-footprint") == answer(
        f"/api/v1/objects/{missing}/battery-footprint"
    )
    assert answer(f"/api/v1/events/{seq}") == answer(f"/api/v1/events/{no_seq}")
    hidden_event = answer(f"/epcis/events/{quote(event_hash, safe='')}")
    no_event = answer(f"/epcis/events/{quote(event_hash.replace('sha-256;', 'sha-256;0'), safe='')}")
    assert hidden_event[0] == no_event[0] == 404
    assert json.loads(hidden_event[1])["code"] == json.loads(no_event[1])["code"]


def test_the_event_list_page_shows_no_site_of_another_organisations_event(loop):
    made, _, _, _ = loop

    own = member_client("nordic-remelt").get("/app/events/", {"operation": "remelting"}).content.decode()
    other = member_client("autocirc").get("/app/events/", {"operation": "remelting"}).content.decode()

    assert f"#{remelting(made).entry_id}" in own and f"#{remelting(made).entry_id}" in other
    assert "Remelt shop" in own and "Remelt shop" not in other


def test_footprints_name_no_supplier_footprint_of_a_lot_the_reader_cannot_see(loop):
    made, clients, _, _ = loop
    primary = bind_supplier_footprint(clients, made)
    footprints_catch_up()
    melt = TraceableObject.objects.get(identifier=made["melt"]).pk
    tray = TraceableObject.objects.get(identifier=made["trays"][0]).pk

    holder = clients["remelter"].get(f"/api/v1/objects/{melt}/footprint").json()
    user = clients["die_caster"].get(f"/api/v1/objects/{melt}/footprint").json()
    public = Client().get(f"/part/{tray}", HTTP_ACCEPT="application/json").json()

    # the melt's footprint used the remelter's supplier footprint of its primary ingot
    assert f"supplier_footprint:*@lot{primary}:v1" in holder[0]["factors"]
    assert "supplier_footprint:*@lot:v1" in user[0]["factors"]
    assert [r["totalKg"] for r in user] == [r["totalKg"] for r in holder]
    for answer in (user, public):
        assert f"@lot{primary}:" not in json.dumps(answer)


# --- everything a partner may open, searched for what it may not see ------------------------

PARTNERS = {"dismantler": "autocirc", "remelter": "nordic-remelt", "die_caster": "castline"}


@pytest.mark.parametrize("role", sorted(PARTNERS))
def test_nothing_a_partner_may_open_names_an_object_it_cannot_see(loop, role):
    # given: footprints and passports computed, a supplier footprint bound by the remelter
    made, clients, expected, _ = loop
    bind_supplier_footprint(clients, made)
    footprints_catch_up()
    passports_catch_up()
    client, secrets = clients[role], unseen_by(PARTNERS[role])
    visible = TraceableObject.objects.filter(identifier__in=expected[role])

    # when: every list, and every object's detail, genealogy, footprint, passport and page
    answers = {
        path: client.get(path, {"page_size": 1000}).content.decode()
        for path in ("/api/v1/objects", "/api/v1/events", "/api/v1/factors", "/epcis/events")
    }
    for obj in visible:
        for path in (
            f"/api/v1/objects/{obj.pk}",
            f"/api/v1/objects/{obj.pk}/genealogy?direction=backward",
            f"/api/v1/objects/{obj.pk}/genealogy?direction=forward",
            f"/api/v1/objects/{obj.pk}/footprint",
            f"/part/{obj.pk}?format=json",
        ):
            answers[path] = client.get(path).content.decode()
    for seq in EventRecord.objects.filter(involved__in=visible).values_list("entry_id", flat=True):
        answers[f"/api/v1/events/{seq}"] = client.get(f"/api/v1/events/{seq}").content.decode()
    member = member_client(PARTNERS[role])
    answers["/app/events/"] = member.get("/app/events/").content.decode()
    for obj in visible:
        answers[f"/app/lots/{obj.pk}/"] = member.get(f"/app/lots/{obj.pk}/").content.decode()

    # then: pages also neither link to nor name (as an element's text) an object it cannot see
    hidden = TraceableObject.objects.exclude(identifier__in=expected[role])
    on_pages = secrets + [f"/app/lots/{o.pk}/" for o in hidden] + [f">{o.label}<" for o in hidden]
    assert len(answers) > 6 * len(visible)
    found = {path: leaked(text, on_pages if path.startswith("/app/") else secrets) for path, text in answers.items()}
    assert {path: names for path, names in found.items() if names} == {}
