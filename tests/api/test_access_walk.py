"""Every URL pattern of the project, requested by every role, and what each answer shows.

The URL resolver is walked (``get_resolver().url_patterns``, recursively); every pattern must be
classified in ``ROUTES`` with the policy that governs it, and the table must cover exactly the
resolver's patterns: a new endpoint without a policy fails ``test_every_url_pattern_has_a_policy``.
The Django admin is one classified prefix, and the changelist of every registered model is
requested under it.

Each pattern's path parameters are filled with real values of a world of several organisations
(the loop of ``test_access_matrix`` between a dismantler, a remelter and a die-caster; a second
dismantler; an OEM, a battery recycler, a battery maker and a regulator looking on; the platform
operator; the public), with footprints, passports and a supplier footprint computed, and requested
with GET by every role through every way it authenticates (API key, signed-in member, PACT bearer
token). What a role may read is the visibility policy's answer (``traceability.visibility``); the
body of every answer (JSON, HTML, CSV) must contain no identifier, VIN or battery code of an object
the role may not read, nor the value of a factor bound to such an object, and no answer is a
server error. Each policy class also fixes who gets in at all (the public, members, regulators).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
from django.urls import URLResolver, get_resolver

from carbon.services import factor_add, footprints_catch_up
from passport.models import Passport
from passport.services import passports_catch_up
from tests.api.test_access_matrix import OPERATIONS
from tests.api.test_access_matrix import ROLES as PARTNER_ROLES
from tests.api.test_operations_api import client_for, run_loop
from tests.api.test_pact import pact
from tests.factories import make_partner, make_site, valid_vin
from traceability import visibility
from traceability.credentials.services import credential_issue
from traceability.epcis.api.urls import RESOURCES as EPCIS_RESOURCES
from traceability.epcis.subscriptions import epcis_query_create
from traceability.models import (
    EpcisEvent,
    EpcisSubscription,
    EventRecord,
    Membership,
    Organisation,
    TraceableObject,
)
from traceability.services import platform_organisation

pytestmark = pytest.mark.django_db

OPERATOR = "operator"
ANONYMOUS = "anonymous"
ROLES = [*PARTNER_ROLES, OPERATOR, ANONYMOUS]

# --- the policy of every URL pattern ------------------------------------------------------------

PUBLIC = "public"  # anyone, signed in or not; shows no organisation's private data
PASSPORT = "public passport"  # anyone; a passport at the reader's tier (the public tier names its battery or part)
MEMBER = "member"  # an organisation's callers only; what they see is filtered by the visibility policy
REGULATOR = "regulator"  # regulators only (reports, audit exports): they read everything
WRITE = "write"  # POST only: a GET is refused, and never shows anything
SIGN_IN = "sign-in"  # the console's own sign-in and sign-out
ADMIN = "admin"  # operators everything; members what the policy lets them read; the public nothing
OPERATOR_ONLY = "operator only"  # console pages of the platform operator (partner PACT hosts): others refused

RESOLVER = r"^01/(?P<gtin>[^/]+)/21/(?P<serial>[^/]+)/?$"
# Link types of the resolver's linkset that only readers of the battery may follow.
NON_PUBLIC_LINK_TYPES = ("https://gs1.org/voc/epcis", "https://ns.looptrace.example/voc/pactFootprint")

ROUTES = {
    "": PUBLIC,
    "admin/": ADMIN,
    "app/login/": SIGN_IN,
    "app/logout/": SIGN_IN,
    "app/": MEMBER,
    "app/lots/": MEMBER,
    "app/lots/<int:pk>/": MEMBER,
    "app/lots/<int:pk>/checkpoint": WRITE,  # operators sign checkpoints, by POST
    "app/events/": MEMBER,
    "app/events/<int:seq>/": MEMBER,
    "app/sites/": MEMBER,
    "app/sites/<int:pk>/account/": MEMBER,
    "app/sites/<int:pk>/account/<str:period>/": MEMBER,
    "app/organisation/": MEMBER,  # its keys and members; administrators change them by POST below
    "app/organisation/api-keys/": WRITE,
    "app/organisation/api-keys/<int:pk>/revoke": WRITE,
    "app/organisation/client-keys/": WRITE,
    "app/organisation/keys/<int:pk>/revoke": WRITE,
    "app/organisation/keys/<int:pk>/rotate": WRITE,
    "app/organisation/members/": WRITE,
    "app/organisation/members/<int:pk>/remove": WRITE,
    "app/record/": MEMBER,
    "app/record/<slug:operation>/": MEMBER,
    "app/passports/": MEMBER,
    "app/audit/": REGULATOR,
    "app/reports/": REGULATOR,
    "app/pact/partners/": OPERATOR_ONLY,
    "app/pact/partners/<slug:slug>/remove": WRITE,  # operators remove a partner's PACT host, by POST
    "api/schema/": PUBLIC,
    "tlog/checkpoint.witnessed": PUBLIC,  # the cosigned checkpoint: meant to be gossiped
    "api/docs/": PUBLIC,
    "api/v1/health": PUBLIC,
    "api/v1/ledger/checkpoint": PUBLIC,  # POST: operators only
    "api/v1/ledger/checkpoint/witnessed": PUBLIC,  # checkpoints and witnesses' cosignatures
    "api/v1/ledger/entries": MEMBER,
    "api/v1/ledger/entries/<int:seq>": MEMBER,
    "api/v1/ledger/entries/<int:seq>/proof": PUBLIC,  # Merkle hashes only, like the checkpoint
    "api/v1/ledger/batches": WRITE,
    "api/v1/ledger/consistency": PUBLIC,  # Merkle hashes only, for anyone holding an old checkpoint
    "api/v1/ledger/keys": PUBLIC,
    "api/v1/sites": MEMBER,  # POST: material-holding members add their own
    "api/v1/sites/<int:pk>": MEMBER,
    "api/v1/sites/<int:pk>/accounts": MEMBER,  # the site's organisation, regulators and the operator
    "api/v1/sites/<int:pk>/accounts/<str:period>": MEMBER,
    "api/v1/objects": MEMBER,
    "api/v1/objects/<object:ref>": MEMBER,
    "api/v1/objects/<object:ref>/genealogy": MEMBER,
    "api/v1/objects/<object:ref>/footprint": MEMBER,
    "api/v1/objects/<object:ref>/battery-footprint": MEMBER,
    "api/v1/footprints/weekly": MEMBER,
    "api/v1/items": MEMBER,
    "api/v1/lots": MEMBER,
    "api/v1/events": MEMBER,
    "api/v1/events/<int:seq>": MEMBER,
    "api/v1/events/<int:seq>/credential": MEMBER,  # its document's readers only; issued on their first request
    **{f"api/v1/operations/{name}": WRITE for name in OPERATIONS},
    "api/v1/factors": MEMBER,  # POST: registry defaults are the operator's
    "api/v1/passports/<str:reference>": PASSPORT,
    "api/v1/passports/<str:reference>/versions": PASSPORT,
    "api/v1/reports/<slug:report>.<slug:file_format>": REGULATOR,
    "api/v1/audit/export": REGULATOR,
    "epcis/capture": MEMBER,  # GET lists the caller's own capture jobs
    "epcis/capture/<str:capture_id>": MEMBER,
    "epcis/events": MEMBER,
    "epcis/events/<path:event_id>": MEMBER,
    "epcis/": MEMBER,  # the names of the top-level resources
    **{
        route: MEMBER  # values among the events the caller may see, and those events
        for resource in EPCIS_RESOURCES
        for route in (
            f"epcis/{resource}",
            f"epcis/^{resource}/(?P<value>.+)$",
            f"epcis/^{resource}/(?P<value>.+)/events$",
        )
    },
    "epcis/queries": MEMBER,  # the caller's own named queries
    "epcis/queries/<str:name>": MEMBER,
    "epcis/queries/<str:name>/events": MEMBER,
    "epcis/queries/<str:name>/subscriptions": MEMBER,
    "epcis/queries/<str:name>/subscriptions/<str:subscription_id>": MEMBER,
    "auth/token": WRITE,
    "3/footprints": MEMBER,
    "3/footprints/<str:pf_id>": MEMBER,
    "3/events": WRITE,
    "2/footprints": MEMBER,
    "2/footprints/<str:pf_id>": MEMBER,
    "2/events": WRITE,
    "passports/": PASSPORT,
    "part/<int:pk>": PASSPORT,
    "passport/<str:reference>": PASSPORT,
    r"^passport/(?P<reference>[^/]+)/qr\.(?P<kind>svg|png)$": PASSPORT,
    RESOLVER: PASSPORT,  # the GS1 resolver: links at the reader's tier, the linkset requested too
    ".well-known/gs1resolver": PUBLIC,
    # Verifiable credentials: DID documents and status lists are public keys and bits; a credential,
    # its anchor and an issuer's list show the public ones, and the issuer's own to the issuer only.
    "orgs/<slug:slug>/did.json": PUBLIC,
    "orgs/<slug:slug>/status/<int:number>": PUBLIC,
    "orgs/<slug:slug>/credentials": PUBLIC,
    "credentials/<str:credential>": PUBLIC,
    "credentials/<str:credential>/anchor": PUBLIC,
    "credentials/<str:credential>/revoke": WRITE,  # the issuer withdraws its claim, by POST
}


def resolver_routes() -> list[str]:
    """Every URL pattern of the project as its full route; the admin site as one prefix."""

    def walk(patterns, prefix: str) -> list[str]:  # type: ignore[no-untyped-def]
        routes = []
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                routes += [route] if pattern.app_name == "admin" else walk(pattern.url_patterns, route)
            else:
                routes.append(route)
        return routes

    return walk(get_resolver().url_patterns, "")


def test_every_url_pattern_has_a_policy():
    routes = resolver_routes()

    assert len(routes) == len(set(routes))
    assert set(routes) - set(ROUTES) == set(), "URL patterns without a policy: classify them in ROUTES"
    assert set(ROUTES) - set(routes) == set(), "ROUTES names patterns the project no longer has"


# --- the world ------------------------------------------------------------------------------------

# A supplier footprint's value, distinctive enough to find in any answer.
BOUND_FACTOR_VALUE = "7.654321"
# The GTIN of the passported battery (its check digit, 9, is what gtin_check_digit computes).
DIGITAL_LINK_GTIN = "04012345000009"
# Who sold the remelter its primary ingot (in the lot's receipt): the remelter's business alone.
PRIVATE_SUPPLIER = "Hydro smelter"


@dataclass
class Caller:
    organisation: Organisation | None
    clients: dict[str, Client]  # how it authenticates -> a client that does


@dataclass
class World:
    callers: dict[str, Caller]
    values: dict[str, list[str]]  # path parameter -> real values
    objects: dict[int, tuple[str, str]]  # pk -> (identifier, label)
    bound_factor_lot: int
    public_identities: set[int]  # passported batteries and cast parts: their public pages name them


def member_client(organisation: Organisation, username: str) -> Client:
    user = get_user_model().objects.create_user(username, password="pw-for-tests-only", is_staff=True)
    Membership.objects.create(user=user, organisation=organisation)
    client = Client()
    client.force_login(user)
    return client


def build_world() -> World:
    # the loop between three partners, as test_access_matrix's world
    partners = {
        "dismantler": make_partner("autocirc", role="dismantler"),
        "remelter": make_partner("nordic-remelt", role="remelter"),
        "die_caster": make_partner("castline", role="die_caster"),
    }
    sites = {role: make_site(p, f"{role} site") for role, p in partners.items()}
    made = run_loop({role: (p, sites[role], client_for(p)) for role, p in partners.items()})
    partners["second_dismantler"] = make_partner("second-dismantler", role="dismantler")
    client_for(partners["second_dismantler"]).post(
        "/api/v1/operations/vehicle-intake",
        {
            "site": make_site(partners["second_dismantler"], "Other yard").pk,
            "vin": valid_vin(77),
            "mass": "1.7 t",
            "make": "V",
            "model": "M",
        },
        format="json",
    )
    for role in ("oem", "battery_recycler", "battery_maker", "regulator"):
        partners[role] = make_partner(f"onlooker-{role}", role=role)
    primary = TraceableObject.objects.get(identifier=made["primary"])
    factor_add(
        code="supplier_footprint",
        lot=primary,
        value=Decimal(BOUND_FACTOR_VALUE),
        unit="kg/kg",
        source="supplier PCF",
        organisation=partners["remelter"].organisation,
    )
    footprints_catch_up()
    passports_catch_up()

    callers = {}
    for role, partner in partners.items():
        clients = {"api key": client_for(partner), "session": member_client(partner.organisation, f"user-{role}")}
        clients["pact"] = pact(partner)
        callers[role] = Caller(partner.organisation, clients)
    operator = platform_organisation()
    callers[OPERATOR] = Caller(operator, {"session": member_client(operator, "operator")})
    callers[ANONYMOUS] = Caller(None, {"none": Client()})

    def first(query) -> str:  # type: ignore[no-untyped-def]
        return str(query.values_list("pk", flat=True).first())

    objects = TraceableObject.objects
    tray = objects.filter(kind="part", attributes__partType="battery_tray")
    pk = [
        first(objects.filter(kind="vehicle", created_by__slug="autocirc")),
        first(objects.filter(identifier=made["melt"])),
        first(tray),
        first(objects.filter(created_by__slug="second-dismantler")),
        first(objects.filter(kind="battery_pack")),
    ]
    seq = [
        first(EventRecord.objects.filter(organisation__slug=slug).order_by("entry"))
        for slug in ("autocirc", "nordic-remelt", "castline", "second-dismantler")
    ]
    passport = Passport.objects.select_related("battery").first()
    # its battery carries GS1 keys, so the resolver at its Digital Link answers with its links
    passport.battery.attributes = {**passport.battery.attributes, "gtin": DIGITAL_LINK_GTIN, "serialNumber": "PACK-1"}
    passport.battery.save(update_fields=["attributes"])
    pf_ids = [
        document["id"]
        for document in callers["die_caster"].clients["pact"].get("/3/footprints", secure=True).json()["data"]
    ][:1] or ["00000000-0000-0000-0000-000000000000"]
    events = [
        quote(
            EpcisEvent.objects.filter(entry__organisation__slug=slug).values_list("event_hash", flat=True).first(),
            safe="",
        )
        for slug in ("autocirc", "nordic-remelt")
    ]
    # A named query of the remelter's over every event, with a subscription: its owner runs it with its
    # own visibility, and to everyone else it does not exist.
    named_query = epcis_query_create(
        organisation=Organisation.objects.get(slug="nordic-remelt"),
        name="every-event",
        query={"eventType": ["ObjectEvent", "AggregationEvent", "TransformationEvent", "TransactionEvent"]},
    )
    subscription = EpcisSubscription.objects.create(
        query=named_query, dest="https://client.example.com/hook", stream=True, created_at=named_query.created_at
    )
    # A public credential of the die-caster's and a private one: the private one is its issuer's only.
    credentials = [
        credential_issue(
            organisation=Organisation.objects.get(slug="castline"),
            kind="DigitalConformityCredential",
            subject=f"walk:{public}",
            public=public,
            credential={
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "type": ["VerifiableCredential", "DigitalConformityCredential"],
                "credentialSubject": {"id": "urn:example:walk", "public": public},
            },
        )
        for public in (True, False)
    ]
    values = {
        "pk": pk,
        # objects by id and by identifier (URL-encoded, as a client sends it)
        "ref": [*pk, *(quote(objects.get(pk=int(p)).identifier, safe="") for p in pk)],
        "seq": seq,
        "reference": [str(passport.pk)],
        "report": ["recycled-content", "recycling"],
        "file_format": ["csv"],
        "event_id": events,
        "capture_id": ["1"],
        "name": [named_query.name],
        # a resource value: an event type, and the identifier of the dismantler's vehicle (its own)
        "value": [
            "ObjectEvent",
            objects.filter(kind="vehicle", created_by__slug="autocirc").values_list("identifier", flat=True)[0],
        ],
        "subscription_id": [str(subscription.pk)],
        "slug": ["castline"],
        "pf_id": pf_ids,
        "operation": ["remelting", "dismantling"],
        "period": ["2026", "1999"],
        "kind": ["svg"],
        "gtin": [DIGITAL_LINK_GTIN],
        "serial": ["PACK-1"],
        "number": ["1"],
        "credential": [*(str(c.public_id) for c in credentials), "00000000-0000-4000-8000-000000000000", "not-a-uuid"],
    }
    public = set(Passport.objects.values_list("battery_id", flat=True)) | set(tray.values_list("pk", flat=True))
    return World(
        callers=callers,
        values=values,
        objects={pk: (identifier, label) for pk, identifier, label in objects.values_list("pk", "identifier", "label")},
        bound_factor_lot=primary.pk,
        public_identities=public,
    )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """Built once for the module, in a transaction rolled back at its end."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


# --- requests ---------------------------------------------------------------------------------------

PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


def paths_of(route: str, values: dict[str, list[str]]) -> list[str]:
    """The route with every combination of real values for its parameters."""
    template = route.removeprefix("^").replace("/^", "/").removesuffix("$").replace("\\.", ".")
    names = [a or b for a, b in PARAMETER.findall(template)]
    paths = []
    for combination in itertools.product(*(values[name] for name in names)):
        chosen = iter(combination)
        paths.append("/" + PARAMETER.sub(lambda _, chosen=chosen: next(chosen), template))
    return paths


def admin_paths(values: dict[str, list[str]]) -> list[str]:
    """The admin's index, and for every registered model its changelist and the change pages of
    some rows: the world's objects and events, else the first and the last row."""
    paths = ["/admin/"]
    for model in admin.site._registry:
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        rows = {
            "traceableobject": values["pk"],
            "eventrecord": values["seq"],
            "ledgerentry": values["seq"],
        }.get(model._meta.model_name) or [
            str(pk)
            for pk in (
                model._default_manager.order_by("pk").values_list("pk", flat=True).first(),
                model._default_manager.order_by("-pk").values_list("pk", flat=True).first(),
            )
            if pk is not None
        ]
        paths += [base, *(f"{base}{row}/change/" for row in rows)]
    return paths


TEXT_TYPES = (
    "application/json",
    "text/",
    "application/ld+json",
    "application/linkset+json",
    "application/problem+json",
    "image/svg",
)


def body_of(response) -> str:  # type: ignore[no-untyped-def]
    if not response.get("Content-Type", "").startswith(TEXT_TYPES):
        return ""
    if response.streaming:
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def forbidden(world: World, role: str, route: str) -> dict[str, str]:
    """What must not appear in an answer to ``role``: token -> what it is."""
    organisation = world.callers[role].organisation
    if organisation is None:
        readable: set[int] = set()
    else:
        readable = set(visibility.objects_visible_to(organisation=organisation).values_list("pk", flat=True))
    tokens = {}
    for pk, (identifier, label) in world.objects.items():
        if pk in readable or (ROUTES[route] == PASSPORT and pk in world.public_identities):
            continue
        tokens[identifier] = f"identifier of object {pk}"
        if len(label) >= 8:  # VINs, battery codes, lot numbers: short labels (W1-0) occur in hashes
            tokens[label] = f"label of object {pk}"
    if world.bound_factor_lot not in readable:
        tokens[BOUND_FACTOR_VALUE] = "the supplier footprint bound to a lot the caller may not read"
        tokens[PRIVATE_SUPPLIER] = "the supplier of a lot the caller may not read"
    return tokens


DENIED = {401, 403}
# PACT 2.3 has no 401 but TokenExpired: a missing or invalid token is its 400 BadRequest.
V2_DENIED = {400}


def allowed_in(route: str, role: str, how: str, path: str, status: int, location: str) -> None:
    """Who gets in, by the route's policy class."""
    policy = ROUTES[route]
    if path.startswith("/2/") and status in V2_DENIED and how != "pact":
        status = 401
    signed_out = role == ANONYMOUS
    to_login = status == 302 and "login" in location
    if policy in (PUBLIC, PASSPORT):
        assert status not in DENIED and not to_login, (path, role, status)
    elif policy == MEMBER:
        if signed_out:
            assert status in DENIED or to_login, (path, status)
    elif policy == REGULATOR:
        if role == "regulator":
            # console pages are for signed-in people: an API key is sent to sign in
            assert status == 200 or (how == "api key" and to_login), (path, how, status)
        else:
            assert status in DENIED or to_login, (path, role, status)
    elif policy == OPERATOR_ONLY:
        if role == OPERATOR:
            assert status == 200, (path, status)
        else:
            assert status in DENIED or to_login, (path, role, status)
    elif policy == WRITE:
        assert status in DENIED | {405}, (path, role, status)
    elif policy == ADMIN:
        if signed_out:
            assert to_login, (path, status)
        elif role == OPERATOR:
            assert status == 200, (path, status)


CASES = [pytest.param(route, role) for route in ROUTES for role in ROLES]


@pytest.mark.parametrize(("route", "role"), CASES)
def test_no_answer_shows_a_caller_what_it_may_not_read(world, route, role):
    caller = world.callers[role]
    paths = admin_paths(world.values) if ROUTES[route] == ADMIN else paths_of(route, world.values)
    if route == RESOLVER:  # the default answer is a redirect; the linkset is the body to check
        paths += [f"{path.rstrip('?')}?linkType=linkset" for path in paths]
    tokens = forbidden(world, role, route)
    leaks, errors = [], []

    for path, (how, client) in itertools.product(paths, caller.clients.items()):
        pact_route = path.startswith(("/2/", "/3/"))
        if (how == "pact") != pact_route and len(caller.clients) > 1:
            continue  # bearer tokens are for PACT; API keys and sessions for the rest
        response = client.get(path, secure=pact_route)
        if response.status_code >= 500:
            errors.append((path, how, response.status_code))
            continue
        allowed_in(route, role, how, path, response.status_code, response.get("Location", ""))
        body = body_of(response) if tokens else ""
        leaks += [(path, how, what) for token, what in tokens.items() if token in body]
        if route == RESOLVER and role == ANONYMOUS and "linkType=linkset" in path:
            leaks += [(path, how, link_type) for link_type in NON_PUBLIC_LINK_TYPES if link_type in body]

    assert errors == []
    assert leaks == [], sorted({(path, what) for path, _, what in leaks})[:8]
