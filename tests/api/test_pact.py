"""PACT 3.0 and 2.3 footprint exchange: token, list, filters, pages, get, access, versions, HTTPS,
events answered by callback to the requester's own PACT host. Bodies are validated against the
component schemas of the carried PACT OpenAPI documents."""

import base64
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from carbon import services as carbon_services
from carbon.models import PactAccessToken, PactEvent, ProductFootprint
from carbon.pact import schemas
from carbon.pact import services as pact_services
from tests.factories import make_partner
from tests.loop import build_loop

pytestmark = pytest.mark.django_db
REL = 1e-9
V3_REQUEST = "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3"


@pytest.fixture
def loop():
    built = build_loop()
    carbon_services.footprints_catch_up()
    return built


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def credentials(partner) -> tuple[str, str]:
    client_id, _, secret = partner.api_key.partition(".")
    return client_id, secret


def token_request(form: dict[str, str], **headers):
    """A token request as OAuth clients send it: form-encoded."""
    return APIClient().post("/auth/token", urlencode(form), content_type="application/x-www-form-urlencoded", **headers)


def token_of(partner) -> str:
    response = token_request(
        {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(*credentials(partner)), secure=True
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def pact(partner) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_of(partner)}")
    return client


def get(client: APIClient, path: str, **params):
    return client.get(path, params, secure=True)


def assert_valid(spec: str, component: str, instance) -> None:
    assert schemas.errors(spec, component, instance) == []


def listed(client: APIClient, spec: str = "3", **params) -> list[dict]:
    response = get(client, f"/{spec}/footprints", **params)
    assert response.status_code == 200, response.content
    for document in response.json()["data"]:
        assert_valid(spec, "ProductFootprint", document)
    return response.json()["data"]


# --- /auth/token ----------------------------------------------------------------------------


def test_a_token_is_issued_for_an_api_credential_and_only_its_hash_is_stored(loop):
    # given
    client_id, secret = credentials(loop.die_caster)

    # when
    response = token_request(
        {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(client_id, secret), secure=True
    )

    # then
    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert response["Cache-Control"] == "no-store"
    stored = PactAccessToken.objects.get()
    assert stored.token_hash == pact_services.hash_token(body["access_token"])
    assert body["access_token"] not in stored.token_hash


@pytest.mark.parametrize(
    ("authorization", "form", "status", "error"),
    [
        ("wrong-secret", {"grant_type": "client_credentials"}, 401, "invalid_client"),
        ("unknown-client", {"grant_type": "client_credentials"}, 401, "invalid_client"),
        ("none", {"grant_type": "client_credentials"}, 401, "invalid_client"),
        ("garbage", {"grant_type": "client_credentials"}, 401, "invalid_client"),
        ("valid", {}, 400, "invalid_request"),
        ("valid", {"grant_type": "password"}, 400, "unsupported_grant_type"),
    ],
)
def test_refused_token_requests_get_the_oauth_error_body(loop, authorization, form, status, error):
    client_id, secret = credentials(loop.die_caster)
    headers = {
        "wrong-secret": {"HTTP_AUTHORIZATION": basic(client_id, secret + "x")},
        "unknown-client": {"HTTP_AUTHORIZATION": basic("nobody", secret)},
        "none": {},
        "garbage": {"HTTP_AUTHORIZATION": "Basic %%%"},
        "valid": {"HTTP_AUTHORIZATION": basic(client_id, secret)},
    }[authorization]

    response = token_request(form, secure=True, **headers)

    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["error_description"]
    if status == 401:
        assert response["WWW-Authenticate"].startswith("Basic")
    assert not PactAccessToken.objects.exists() or authorization == "valid"


# The conformance tool's TC6 (ListFootprints), TC7 (GetFootprint) and TC16 (Events) with an
# invalid token expect 400 or 401 and the code BadRequest (the specs' "in all other cases").
# 3.0.3 answers 401 (its UnauthorizedResponse); 2.3 has no 401 but TokenExpired, so 400.
@pytest.mark.parametrize(("spec", "status"), [("3", 401), ("2", 400)])
def test_every_action_needs_a_valid_bearer_token_and_refuses_others_with_bad_request(loop, spec, status):
    pf_id = str(uuid.uuid4())
    published = cloud_event(f"org.wbcsd.pact.ProductFootprint.PublishedEvent.{spec}", pfIds=[pf_id])
    if spec == "2":
        published["type"] = "org.wbcsd.pathfinder.ProductFootprint.Published.v1"
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer not-a-token"}, {"HTTP_AUTHORIZATION": loop.die_caster.api_key}):
        client = APIClient()
        responses = [
            client.get(f"/{spec}/footprints", secure=True, **headers),
            client.get(f"/{spec}/footprints/{pf_id}", secure=True, **headers),
            client.post(
                f"/{spec}/events",
                json.dumps(published),
                content_type="application/cloudevents+json",
                secure=True,
                **headers,
            ),
        ]

        for response in responses:
            assert response.status_code == status, response.content
            assert response.json()["code"] == "BadRequest"
            assert_valid(spec, "Error" if spec == "3" else "ErrorResponse", response.json())
            assert ("WWW-Authenticate" in response) == (status == 401)
    assert not PactEvent.objects.exists()


def test_an_expired_token_is_refused_with_token_expired(loop):
    client = pact(loop.die_caster)
    PactAccessToken.objects.update(expires_at=timezone.now())

    response = get(client, "/3/footprints")

    assert response.status_code == 401
    assert response.json() == {"code": "TokenExpired", "message": "the access token has expired; request a new one"}
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


# --- ListFootprints and GetFootprint -----------------------------------------------------------


def test_a_partner_lists_the_footprints_of_what_it_may_read_valid_against_pact_3(loop):
    # when
    documents = listed(pact(loop.die_caster))

    # then: the trays it cast (per piece), its run-around lot and the melt it consumed (per kg)
    by_product = {d["productIds"][0]: d for d in documents}
    assert set(loop.trays) | {loop.run_around, loop.melt} <= set(by_product)
    assert loop.primary not in by_product and loop.scrap_lot not in by_product
    tray, melt = loop.obj(loop.trays[0]), loop.obj(loop.melt)
    result = tray.footprints.get(method="cut_off", chain="physical")
    document = by_product[loop.trays[0]]
    assert document["status"] == "Active" and "precedingPfIds" not in document
    assert document["companyIds"] == ["urn:looptrace:organisation:castline"]
    assert document["pcf"]["declaredUnitOfMeasurement"] == "piece"
    assert float(document["pcf"]["productMassPerDeclaredUnit"]) == float(tray.initial_kg)
    assert float(document["pcf"]["pcfExcludingBiogenicUptake"]) == pytest.approx(result.total_kg, rel=1e-6)
    assert document["pcf"]["geographyCountry"] == "DE"
    assert float(document["pcf"]["primaryDataShare"]) == pytest.approx(result.primary_data_share * 100, abs=1e-6)
    assert {"name": "Looptrace factor registry primary_aluminium:hydro", "version": "v1"} in document["pcf"][
        "secondaryEmissionFactorSources"
    ]
    extension = document["extensions"][0]["data"]
    assert float(extension["recycledContent"]["postConsumerShare"]) == pytest.approx(result.post_consumer_share)
    assert set(extension["ghgEmissionsPerKgByLifecycleStage"]) == set(result.per_kg)
    melt_document = by_product[loop.melt]
    assert melt_document["pcf"]["declaredUnitOfMeasurement"] == "kilogram"
    assert float(melt_document["pcf"]["pcfExcludingBiogenicUptake"]) == pytest.approx(
        melt.footprints.get(method="cut_off", chain="physical").total_per_kg, rel=1e-6
    )


def test_version_2_3_lists_the_same_footprints_per_kilogram_with_its_own_field_names(loop):
    client = pact(loop.die_caster)

    v2 = {d["id"]: d for d in listed(client, "2")}
    v3 = {d["id"]: d for d in listed(client, "3")}

    assert set(v2) == set(v3)
    tray = next(d for d in v2.values() if d["productIds"] == [loop.trays[0]])
    assert tray["specVersion"] == "2.3.0" and tray["version"] == 1 and "updated" not in tray
    assert tray["pcf"]["declaredUnit"] == "kilogram"
    assert float(tray["pcf"]["unitaryProductAmount"]) == float(loop.obj(loop.trays[0]).initial_kg)
    per_piece = float(v3[tray["id"]]["pcf"]["pcfExcludingBiogenicUptake"])
    assert float(tray["pcf"]["pCfExcludingBiogenic"]) * float(tray["pcf"]["unitaryProductAmount"]) == pytest.approx(
        per_piece, rel=1e-6
    )


def test_filters_match_case_insensitively_or_within_and_between_criteria(loop):
    client = pact(loop.die_caster)
    tray0, tray1 = loop.trays[0], loop.trays[1]

    assert [d["productIds"] for d in listed(client, productId=tray0.upper())] == [[tray0]]
    assert {d["productIds"][0] for d in listed(client, productId=[tray0, tray1])} == {tray0, tray1}
    assert {d["productIds"][0] for d in listed(client, productid=[tray0, tray1])} == {tray0, tray1}
    assert listed(client, productId=tray0, geography="FR") == []
    assert len(listed(client, productId=tray0, geography=["fr", "de"])) == 1
    parts = listed(client, classification="urn:looptrace:kind:part")
    assert {d["productIds"][0] for d in parts} == set(loop.trays)
    assert {d["productIds"][0] for d in listed(client, companyId="urn:looptrace:organisation:nordic-remelt")} == {
        loop.melt
    }
    everything = listed(client)
    start = min(d["validityPeriodStart"] for d in everything)
    assert len(listed(client, validOn=start)) >= 1
    assert listed(client, validAfter="2999-01-01T00:00:00Z") == []
    assert len(listed(client, validAfter="2000-01-01T00:00:00Z")) == len(everything)
    assert listed(client, validBefore="2000-01-01T00:00:00Z") == []
    assert len(listed(client, status="active")) == len(everything)
    assert listed(client, status="Deprecated") == []
    # TC37: a status no footprint has is no error, it matches nothing; OR with a known one still matches.
    assert listed(client, status="BogusStatusX1") == []
    assert len(listed(client, status=["BogusStatusX1", "Active"])) == len(everything)
    for bad in ({"validOn": "yesterday"}, {"limit": "0"}, {"limit": "x"}):
        response = get(client, "/3/footprints", **bad)
        assert response.status_code == 400
        assert_valid("3", "Error", response.json())


def test_pages_follow_the_link_header_on_the_requests_host_until_the_last(loop):
    client = pact(loop.die_caster)
    everything = [d["id"] for d in listed(client)]

    seen, response = [], get(client, "/3/footprints", limit=3, classification="urn:looptrace:kind:part")
    while True:
        assert response.status_code == 200
        assert len(response.json()["data"]) <= 3
        seen += [d["id"] for d in response.json()["data"]]
        link = response.headers.get("Link")
        if not link:
            break
        url = link.split(";")[0].strip("<>")
        assert link.endswith('; rel="next"') and url.startswith("https://testserver/3/footprints?")
        split = urlsplit(url)
        response = client.get(split.path, parse_qs(split.query), secure=True)

    parts = [d["id"] for d in listed(client, classification="urn:looptrace:kind:part")]
    assert seen == parts and len(set(seen)) == len(loop.trays)
    assert set(seen) < set(everything)


def test_version_2_3_filters_with_its_odata_subset_and_pages_the_filtered_list(loop):
    client = pact(loop.die_caster)
    everything = listed(client, "2")
    created = sorted(d["created"] for d in everything)
    middle = created[len(created) // 2]

    later = listed(client, "2", **{"$filter": f"created ge '{middle}'"})
    assert {d["id"] for d in later} == {d["id"] for d in everything if d["created"] >= middle}
    tray = listed(client, "2", **{"$filter": f"productIds/any(productId:(productId eq '{loop.trays[0]}'))"})
    assert [d["productIds"] for d in tray] == [[loop.trays[0]]]
    both = "(pcf/geographyCountry eq 'DE') and (created lt '2000-01-01T00:00:00Z')"
    assert listed(client, "2", **{"$filter": both}) == []
    german = listed(client, "2", **{"$filter": "pcf/geographyCountry eq 'DE'"})
    assert german and all(d["pcf"]["geographyCountry"] == "DE" for d in german)
    # a first version has no "updated": OData's null compares false
    assert listed(client, "2", **{"$filter": "updated ge '2000-01-01T00:00:00Z'"}) == [
        d for d in everything if "updated" in d
    ]

    seen, response = [], get(client, "/2/footprints", limit=2, **{"$filter": "pcf/geographyCountry eq 'DE'"})
    while True:
        assert response.status_code == 200 and len(response.json()["data"]) <= 2
        seen += [d["id"] for d in response.json()["data"]]
        if "Link" not in response.headers:
            break
        split = urlsplit(response.headers["Link"].split(";")[0].strip("<>"))
        assert "$filter" in parse_qs(split.query)
        response = client.get(split.path, parse_qs(split.query), secure=True)
    assert seen == [d["id"] for d in german]

    for expression, code in [
        ("created ge '2023-01-01T00:00:00Z' or created lt '2000-01-01T00:00:00Z'", "NotImplemented"),
        ("comment eq 'x'", "NotImplemented"),
        ("created ne '2023-01-01T00:00:00Z'", "NotImplemented"),
        ("created ge 2023", "BadRequest"),
        ("created ge 'yesterday'", "BadRequest"),
        ("(created ge '2023-01-01T00:00:00Z'", "BadRequest"),
        ("productIds/any(p:(p eq 'x')", "BadRequest"),
    ]:
        response = get(client, "/2/footprints", **{"$filter": expression})
        assert response.status_code == 400, expression
        assert response.json()["code"] == code, expression
        assert_valid("2", "ErrorResponse", response.json())
    # 3.x has no $filter: it is an unknown parameter there, and ignored
    assert len(listed(client, "3", **{"$filter": "created ge '2999-01-01T00:00:00Z'"})) == len(everything)


def test_get_footprint_returns_it_and_404s_unknown_ids_and_what_the_partner_may_not_read_alike(loop):
    tray_id = next(d["id"] for d in listed(pact(loop.die_caster)) if d["productIds"] == [loop.trays[0]])
    stranger = make_partner("elsewhere", role="die_caster")

    for spec in ("3", "2"):
        response = get(pact(loop.die_caster), f"/{spec}/footprints/{tray_id}")
        assert response.status_code == 200
        assert_valid(spec, "ProductFootprint", response.json()["data"])
        assert response.json()["data"]["id"] == tray_id

        missing = get(pact(loop.die_caster), f"/{spec}/footprints/{uuid.uuid4()}")
        assert missing.status_code == 404
        assert missing.json()["code"] == ("NotFound" if spec == "3" else "NoSuchFootprint")
        assert_valid(spec, "Error" if spec == "3" else "ErrorResponse", missing.json())

        # a footprint of a product the partner may not read answers as one never issued
        forbidden = get(pact(stranger), f"/{spec}/footprints/{tray_id}")
        assert (forbidden.status_code, forbidden.json()) == (missing.status_code, missing.json())
    assert listed(pact(stranger)) == []


def test_a_changed_result_issues_a_new_version_and_deprecates_the_old_one(loop):
    # given: the tray's first footprint has been read
    client = pact(loop.die_caster)
    first = listed(client, productId=loop.trays[0])[0]

    # when: a new grid factor version changes every result downstream of the melt
    carbon_services.factor_add(code="electricity_grid", region="DE", value=0.5, unit="kg/kWh", source="test: 2027 grid")
    carbon_services.footprints_recompute()

    # then
    versions = listed(client, productId=loop.trays[0])
    assert [d["status"] for d in versions] == ["Deprecated", "Active"]
    old, new = versions
    assert old["id"] == first["id"] and old["pcf"] == first["pcf"]
    assert new["precedingPfIds"] == [first["id"]] and new["id"] != first["id"]
    assert float(new["pcf"]["pcfExcludingBiogenicUptake"]) > float(old["pcf"]["pcfExcludingBiogenicUptake"])
    assert {"name": "Looptrace factor registry electricity_grid:DE", "version": "v2"} in new["pcf"][
        "secondaryEmissionFactorSources"
    ]
    assert [d["id"] for d in listed(client, productId=loop.trays[0], status="Active")] == [new["id"]]
    v2 = {d["id"]: d for d in listed(client, "2", productId=loop.trays[0])}
    assert v2[new["id"]]["version"] == 2 and v2[new["id"]]["updated"] == v2[new["id"]]["created"]
    assert get(client, f"/3/footprints/{first['id']}").json()["data"]["status"] == "Deprecated"


def test_recomputing_an_unchanged_result_issues_nothing_and_issued_rows_cannot_change(loop, django_assert_num_queries):
    client = pact(loop.die_caster)
    listed(client)
    issued = ProductFootprint.objects.count()

    carbon_services.footprints_recompute()
    listed(client)

    assert ProductFootprint.objects.count() == issued
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError), transaction.atomic():
        ProductFootprint.objects.update(version=99)


# --- HTTPS only in production ----------------------------------------------------------------


def test_plain_http_is_refused_in_production_and_served_in_development(loop, settings):
    token = token_of(loop.die_caster)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    settings.DEBUG = False

    assert APIClient().get("/3/footprints", **bearer).status_code == 403
    assert APIClient().get("/3/footprints", **bearer).json()["message"] == "PACT is served over HTTPS only"
    assert token_request({"grant_type": "client_credentials"}).status_code == 403
    assert APIClient().get("/3/footprints", secure=True, **bearer).status_code == 200
    # behind a TLS-terminating proxy, only when its header is trusted
    forwarded = {"HTTP_X_FORWARDED_PROTO": "https", **bearer}
    assert APIClient().get("/2/footprints", **forwarded).status_code == 403
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert APIClient().get("/2/footprints", **forwarded).status_code == 200

    settings.DEBUG = True
    assert APIClient().get("/3/footprints", **bearer).status_code == 200


# --- events, answered by callback to the requester's own PACT host -------------------------------


class RequesterHost:
    """The requester's PACT host, in a thread: issues a token for its client credentials and
    records the events posted to ``/3/events`` and ``/2/events`` with that token."""

    client_id, secret, token = "looptrace-at-nordic", "s3cret:with+chars", "requester-token-1"

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict]] = []
        host = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _answer(self, status: int, body: dict | None = None) -> None:
                payload = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                if self.path == "/auth/token":
                    expected = basic(host.client_id, host.secret)
                    if self.headers.get("Authorization") != expected or b"client_credentials" not in body:
                        return self._answer(401, {"error": "invalid_client"})
                    return self._answer(200, {"access_token": host.token, "token_type": "bearer"})
                if self.headers.get("Authorization") != f"Bearer {host.token}":
                    return self._answer(401, {"code": "AccessDenied", "message": "no"})
                host.events.append((self.path, self.headers.get("Content-Type"), json.loads(body)))
                return self._answer(200)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def requester_host(loop):
    with RequesterHost() as host:
        pact_services.partner_register(
            organisation=loop.die_caster.organisation,
            base_url=host.url,
            client_id=host.client_id,
            client_secret=host.secret,
        )
        yield host


def cloud_event(event_type: str = V3_REQUEST, **data) -> dict:
    return {
        "type": event_type,
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "//castline.example/3/events",
        "time": "2026-11-02T10:00:00Z",
        "data": data,
    }


def post_event(client: APIClient, event, spec: str = "3", content_type: str = "application/cloudevents+json"):
    body = event if isinstance(event, str) else json.dumps(event)
    return client.post(f"/{spec}/events", body, content_type=content_type, secure=True)


def test_a_footprint_request_is_accepted_then_fulfilled_by_callback(
    loop, requester_host, django_capture_on_commit_callbacks
):
    client = pact(loop.die_caster)
    request = cloud_event(productId=[loop.trays[0].upper()], geography=["DE"])
    assert_valid("3", "RequestCreatedEvent", request)

    with django_capture_on_commit_callbacks(execute=True):
        response = post_event(client, request)

    assert response.status_code == 200 and response.content == b""
    [(path, content_type, answer)] = requester_host.events
    assert path == "/3/events" and content_type.startswith("application/cloudevents+json")
    assert_valid("3", "RequestFulfilledEvent", answer)
    assert answer["type"] == "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3"
    assert answer["data"]["requestEventId"] == request["id"]
    assert answer["source"] == "//testserver/3/events"
    assert [pf["productIds"] for pf in answer["data"]["pfs"]] == [[loop.trays[0]]]
    stored = PactEvent.objects.get(event_id=request["id"])
    assert stored.answer == PactEvent.Answer.FULFILLED and stored.attempts == 1


def test_a_request_nothing_matches_is_rejected_by_callback_and_a_repeat_is_answered_once(
    loop, requester_host, django_capture_on_commit_callbacks
):
    client = pact(loop.die_caster)
    request = cloud_event(productId=["urn:example:no-such-product"])

    with django_capture_on_commit_callbacks(execute=True):
        first = post_event(client, request)
    with django_capture_on_commit_callbacks(execute=True):
        again = post_event(client, request)

    assert first.status_code == again.status_code == 200
    [(_, _, answer)] = requester_host.events
    assert_valid("3", "RequestRejectedEvent", answer)
    assert answer["data"]["error"]["code"] == "NotFound"
    assert PactEvent.objects.get().answer == PactEvent.Answer.REJECTED


def test_version_2_requests_are_answered_on_the_requesters_2_events(
    loop, requester_host, django_capture_on_commit_callbacks
):
    client = pact(loop.die_caster)
    request = cloud_event("org.wbcsd.pathfinder.ProductFootprintRequest.Created.v1", pf={"productIds": [loop.melt]})
    assert_valid("2", "PathfinderEvent", request)

    with django_capture_on_commit_callbacks(execute=True):
        response = post_event(client, request, spec="2", content_type="application/cloudevents+json; charset=UTF-8")

    assert response.status_code == 200
    [(path, _, answer)] = requester_host.events
    assert path == "/2/events"
    assert answer["type"] == "org.wbcsd.pathfinder.ProductFootprintRequest.Fulfilled.v1"
    [pf] = answer["data"]["pfs"]
    assert_valid("2", "ProductFootprint", pf)
    assert pf["productIds"] == [loop.melt]


def test_an_unreachable_requester_leaves_the_answer_undelivered_without_failing_the_request(
    loop, django_capture_on_commit_callbacks
):
    pact_services.partner_register(
        organisation=loop.die_caster.organisation, base_url="http://127.0.0.1:9", client_id="x", client_secret="y"
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = post_event(pact(loop.die_caster), cloud_event(productId=[loop.trays[0]]))

    assert response.status_code == 200
    stored = PactEvent.objects.get()
    assert stored.answer == PactEvent.Answer.UNDELIVERED and stored.attempts == 1
    assert stored.answer_body["type"].endswith("RequestFulfilledEvent.3") and stored.delivery_error


def test_published_notifications_are_accepted_and_malformed_events_refused(loop, requester_host):
    client = pact(loop.die_caster)
    published = cloud_event("org.wbcsd.pact.ProductFootprint.PublishedEvent.3", pfIds=[str(uuid.uuid4())])

    assert post_event(client, published).status_code == 200
    assert PactEvent.objects.get().answer == PactEvent.Answer.NONE
    malformed = [
        "{not json",
        json.dumps([1, 2]),
        {**cloud_event(), "type": "org.example.Unknown"},
        {k: v for k, v in cloud_event().items() if k != "id"},
        {**cloud_event(), "specversion": "0.3"},
        {**cloud_event(), "data": "everything"},
        {**cloud_event(), "time": "yesterday"},
        cloud_event(validOn="soon"),
        cloud_event("org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3", requestEventId="x", pfs=[]),
        cloud_event("org.wbcsd.pact.ProductFootprint.PublishedEvent.3", pfIds=["not-a-uuid"]),
    ]
    for event in malformed:
        response = post_event(client, event)
        assert response.status_code == 400, event
        assert response.json()["code"] == "BadRequest"
        assert_valid("3", "Error", response.json())
    assert PactEvent.objects.count() == 1
    assert requester_host.events == []


def test_a_request_from_an_organisation_without_a_registered_host_is_refused_at_once(loop):
    response = post_event(pact(loop.remelter), cloud_event(productId=[loop.melt]))

    assert response.status_code == 400
    assert "no PACT host is registered" in response.json()["message"]
    assert not PactEvent.objects.exists()
