"""Every GET endpoint of the OpenAPI schema, and the pages, against every role and the public.

Two checks over the same world as ``test_access_matrix`` (a loop between three partners,
a second dismantler, onlookers of every other role, a regulator), with footprints and
passports computed: no endpoint answers any caller with a server error, and no endpoint
that takes an object, an event or a ledger entry shows a caller anything of another
organisation's that the caller may not read.
"""

import itertools
import json
import re
from urllib.parse import quote

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from carbon.services import footprints_catch_up
from passport.models import Passport
from passport.services import passports_catch_up
from tests.api.test_access_matrix import ROLES, world  # noqa: F401 - fixture
from tests.api.test_operations_api import parties  # noqa: F401 - fixture
from traceability.models import EpcisEvent, EventRecord, LedgerEntry, TraceableObject

pytestmark = pytest.mark.django_db
ANONYMOUS = "anonymous"
# Readable by anyone, by design: liveness, the signed checkpoint, Merkle proofs and public keys (for offline
# verification), passports at the public tier, part passports' public summary.
PUBLIC = {
    "/api/v1/health",
    "/api/v1/ledger/checkpoint",
    "/api/v1/ledger/checkpoint/witnessed",
    "/api/v1/ledger/keys",
    "/api/v1/ledger/consistency",
    "/api/v1/ledger/entries/{seq}/proof",
    "/api/v1/passports/{reference}",
    "/api/v1/passports/{reference}/versions",
    "/part/{id}",
    "/auth/token",
}
OBJECT_ENDPOINTS = [
    "/api/v1/objects/{ref}",
    "/api/v1/objects/{ref}/genealogy",
    "/api/v1/objects/{ref}/footprint",
    "/api/v1/objects/{ref}/battery-footprint",
]
PAGES = ["/", "/passports/", "/api/docs/"]


@pytest.fixture
def computed(world):  # noqa: F811 - the fixture imported above
    footprints_catch_up()
    passports_catch_up()
    return world


def get_paths() -> list[str]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(path for path, operations in schema["paths"].items() if "get" in operations)


def filled(path: str) -> str:
    """The path with a real value for each parameter (something exists behind every one)."""
    tray = TraceableObject.objects.filter(kind="part", attributes__partType="battery_tray").first()
    values = {
        "id": str(tray.pk if tray else TraceableObject.objects.first().pk),
        "ref": quote((tray or TraceableObject.objects.first()).identifier, safe=""),
        "seq": str(EventRecord.objects.first().entry_id),
        "reference": str(Passport.objects.first().pk),
        "report": "recycled-content",
        "file_format": "csv",
        "event_id": quote(EpcisEvent.objects.first().event_hash, safe=""),
        "capture_id": "1",
        # an EPCIS top-level resource's value (an event type; a 404 for the other resources)
        "value": "ObjectEvent",
        "pf_id": "00000000-0000-0000-0000-000000000000",
        # a named query and a subscription of it nobody has: a 404, never a server error
        "name": "no-such-query",
        "subscription_id": "00000000-0000-0000-0000-000000000000",
        "period": str(EventRecord.objects.order_by("-entry_id").first().event_time.year),
    }
    return re.sub(r"\{(\w+)\}", lambda match: values[match.group(1)], path)


def client_of(clients: dict[str, APIClient], role: str) -> APIClient:
    return APIClient() if role == ANONYMOUS else clients[role]


@pytest.mark.parametrize("role", [*ROLES, ANONYMOUS])
def test_no_get_endpoint_or_page_answers_anyone_with_a_server_error(computed, role):
    _, clients, _, _ = computed
    client = client_of(clients, role)

    answers = {path: client.get(filled(path)).status_code for path in get_paths()}
    pages = {path: client.get(path).status_code for path in PAGES}

    assert {path: status for path, status in {**answers, **pages}.items() if status >= 500} == {}
    if role == ANONYMOUS:
        closed = {path: status for path, status in answers.items() if path not in PUBLIC and status < 400}
        assert closed == {}, "endpoints open to the anonymous public"


@pytest.mark.parametrize("role", [*ROLES, ANONYMOUS])
def test_nothing_of_another_organisation_leaks_through_any_object_event_or_entry(computed, role):
    _, clients, expected, everything = computed
    client = client_of(clients, role)
    allowed = expected.get(role, set())

    for identifier in everything - allowed:
        obj = TraceableObject.objects.get(identifier=identifier)
        for path, ref in itertools.product(OBJECT_ENDPOINTS, (obj.pk, quote(identifier, safe=""))):
            status = client.get(path.format(ref=ref)).status_code
            assert status in (401, 403, 404), (role, path, identifier, ref, status)
        part = client.get(f"/part/{obj.pk}", HTTP_ACCEPT="application/json")
        if part.status_code == 200:
            assert "sources" not in part.json()["provenance"], (role, identifier)
        if hasattr(obj, "passport"):
            tier = client.get(f"/api/v1/passports/{obj.passport.pk}").json().get("tier")
            assert tier in (None, "public"), (role, identifier, tier)

    recorded_by = {"dismantler": "autocirc", "remelter": "nordic-remelt", "die_caster": "castline"}
    readable = set(
        EventRecord.objects.filter(involved__identifier__in=allowed).values_list("entry_id", flat=True)
    ) | set(
        EventRecord.objects.filter(organisation__slug=recorded_by.get(role, role.replace("_", "-"))).values_list(
            "entry_id", flat=True
        )
    )
    for record in EventRecord.objects.select_related("entry"):
        if role == "regulator" or record.entry_id in readable:
            continue
        assert client.get(f"/api/v1/events/{record.entry_id}").status_code in (401, 403, 404)
        credential = client.get(f"/api/v1/events/{record.entry_id}/credential", HTTP_ACCEPT="application/vc+jwt")
        assert credential.status_code in (401, 403, 404), (role, record.entry_id, credential.status_code)
        entry = client.get(f"/api/v1/ledger/entries/{record.entry_id}")
        if entry.status_code == 200:
            assert entry.json().get("document") is None, (role, record.entry_id)
        epcis = client.get(
            f"/epcis/events/{quote(EpcisEvent.objects.get(entry_id=record.entry_id).event_hash, safe='')}"
        )
        assert epcis.status_code in (401, 403, 404), (role, record.entry_id, epcis.status_code)

    if role != ANONYMOUS:
        documents = client.get("/epcis/events", {"perPage": 1000}).json()
        events = documents["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        hashes = {
            EpcisEvent.objects.filter(entry__document=json.dumps(event)).values_list("entry_id", flat=True).first()
            for event in events
        }
        assert role == "regulator" or not (hashes - readable - {None}), role
    assert LedgerEntry.objects.exists()
