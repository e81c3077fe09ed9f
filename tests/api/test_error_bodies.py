"""Every error Django answers by itself has the path family's body, with DEBUG off and on: an unknown
URL, an uncaught exception, a bad Host, a failed CSRF check, a body over the limit. A 500 names no
exception; pages keep HTML for browsers, without a traceback."""

import json

import pytest
from django.test import Client

from tests.api.failing_urls import SECRET
from tests.factories import make_partner
from traceability.models import CaptureJob, LedgerEntry

pytestmark = pytest.mark.django_db

# (path, the body's keys, its code for a 500 and a 404)
FAMILIES = {
    "api": ("/api/v1/", {"code", "detail"}, "server_error", "not_found"),
    "epcis": ("/epcis/", {"code", "detail", "type", "title", "status"}, "server_error", "not_found"),
    "pact3": ("/3/", {"code", "message"}, "InternalError", "NotFound"),
    "pact2": ("/2/", {"code", "message"}, "InternalError", "NoSuchFootprint"),
}


@pytest.fixture(params=[False, True], ids=["DEBUG=0", "DEBUG=1"])
def debug(request, settings):  # type: ignore[no-untyped-def]
    settings.DEBUG = request.param
    return request.param


def anonymous() -> Client:
    return Client(raise_request_exception=False)


def json_body(response) -> dict:  # type: ignore[no-untyped-def]
    """The JSON body; under ``/epcis/`` an RFC 7807 problem, served as ``application/problem+json``."""
    path = response.wsgi_request.path if hasattr(response, "wsgi_request") else ""
    expected = "application/problem+json" if path.startswith("/epcis/") else "application/json"
    assert response["Content-Type"].startswith(expected), response.content[:200]
    return json.loads(response.content)


@pytest.mark.urls("tests.api.failing_urls")
@pytest.mark.parametrize("family", FAMILIES)
def test_an_uncaught_exception_is_the_familys_json_500_naming_no_exception(debug, family):
    prefix, keys, code, _ = FAMILIES[family]

    response = anonymous().get(f"{prefix}boom", secure=True)

    assert response.status_code == 500
    body = json_body(response)
    assert set(body) == keys and body["code"] == code
    if family == "epcis":
        assert body["type"] == "epcisException:ImplementationException" and body["status"] == 500
    assert SECRET not in response.content.decode() and "Traceback" not in response.content.decode()


@pytest.mark.urls("tests.api.failing_urls")
def test_an_uncaught_exception_in_a_plain_django_view_under_the_api_is_json(debug):
    response = anonymous().get("/api/v1/boom-plain")

    assert response.status_code == 500
    assert json_body(response) == {"code": "server_error", "detail": response.json()["detail"]}
    assert SECRET not in response.content.decode()


@pytest.mark.urls("tests.api.failing_urls")
def test_a_page_500_is_html_without_a_traceback_and_json_when_asked_for(settings):
    settings.DEBUG = False

    page = anonymous().get("/app/boom")
    asked_json = anonymous().get("/app/boom", HTTP_ACCEPT="application/json")

    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")
    assert SECRET not in page.content.decode() and "Traceback" not in page.content.decode()
    assert asked_json.status_code == 500 and json_body(asked_json)["code"] == "server_error"
    assert SECRET not in asked_json.content.decode()


@pytest.mark.parametrize("family", FAMILIES)
def test_an_unknown_url_is_the_familys_json_404(debug, family):
    prefix, keys, _, code = FAMILIES[family]

    response = anonymous().get(f"{prefix}no/such/thing", secure=True)

    assert response.status_code == 404
    body = json_body(response)
    assert set(body) == keys and body["code"] == code


def test_an_unknown_url_on_a_page_path_is_html_and_json_when_asked_for(settings):
    settings.DEBUG = False

    page = anonymous().get("/no/such/page")
    asked_json = anonymous().get("/no/such/page", HTTP_ACCEPT="application/json")

    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
    assert asked_json.status_code == 404 and json_body(asked_json) == {"code": "not_found", "detail": "not found"}


def test_a_host_not_served_is_a_json_400_on_the_api_and_html_on_pages(debug):
    api = anonymous().get("/api/v1/ledger/keys", HTTP_HOST="evil.example")
    page = anonymous().get("/passports/", HTTP_HOST="evil.example")

    assert api.status_code == 400 and json_body(api)["code"] in {"host_not_allowed", "bad_request"}
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")
    assert "Traceback" not in page.content.decode() or debug


@pytest.mark.urls("tests.api.failing_urls")
def test_a_failed_csrf_check_is_json_on_the_api_and_a_page_elsewhere(debug):
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)

    api = client.post("/api/v1/form", {"x": "1"})
    page = client.post("/app/form", {"x": "1"})

    assert api.status_code == 403 and json_body(api)["code"] == "csrf_failed"
    assert page.status_code == 403 and page["Content-Type"].startswith("text/html")


@pytest.fixture
def partner(db):  # type: ignore[no-untyped-def]
    return make_partner("nordic-remelt", role="remelter")


def oversized(limit: int) -> bytes:
    return b'{"padding": "' + b"x" * limit + b'"}'


def test_a_body_over_the_limit_is_a_json_413_and_stores_nothing(debug, partner, settings):
    client = anonymous()
    before = LedgerEntry.objects.count()

    response = client.post(
        "/api/v1/ledger/entries",
        oversized(settings.REQUEST_BODY_MAX_BYTES),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}",
    )

    assert response.status_code == 413
    assert json_body(response)["code"] == "body_too_large"
    assert LedgerEntry.objects.count() == before


@pytest.mark.parametrize(
    ("path", "keys"), [("/3/events", {"code", "message"}), ("/auth/token", {"error", "error_description"})]
)
def test_a_pact_body_over_the_limit_is_a_413_in_pacts_own_shape(debug, settings, path, keys):
    response = anonymous().post(
        path, oversized(settings.REQUEST_BODY_MAX_BYTES), content_type="application/json", secure=True
    )

    assert response.status_code == 413
    assert set(json_body(response)) == keys


def test_epcis_capture_takes_bodies_up_to_its_own_larger_limit(partner, settings):
    # given: the general limit is small, capture's larger (both scaled down to keep the test quick)
    settings.REQUEST_BODY_MAX_BYTES = 1_000
    settings.EPCIS_CAPTURE_MAX_BODY_BYTES = 10_000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    client = anonymous()
    headers = {"HTTP_AUTHORIZATION": f"Api-Key {partner.api_key}"}

    # when
    within = client.post("/epcis/capture", oversized(5_000), content_type="application/json", **headers)
    beyond = client.post("/epcis/capture", oversized(10_000), content_type="application/json", **headers)
    elsewhere = client.post("/epcis/events", oversized(5_000), content_type="application/json", **headers)

    # then: within capture's limit the document is read (and refused as no EPCIS document)
    assert within.status_code == 400 and json_body(within)["code"] == "epcis_document_invalid"
    assert beyond.status_code == 413 and json_body(beyond)["code"] == "body_too_large"
    assert json_body(beyond)["type"] == "epcisException:CaptureLimitExceededException"
    assert elsewhere.status_code == 413
    assert CaptureJob.objects.count() == 0


def test_the_token_endpoint_refuses_a_wrong_method_or_malformed_body_in_oauths_shape():
    client = anonymous()

    wrong_method = client.get("/auth/token", secure=True)
    malformed = client.post("/auth/token", "{" * 100, content_type="application/json", secure=True)

    assert wrong_method.status_code == 405
    assert json_body(wrong_method)["error"] == "invalid_request"
    assert malformed.status_code in {400, 401}
    assert set(json_body(malformed)) == {"error", "error_description"}


def test_a_browser_on_the_api_gets_the_views_own_json_error_not_the_browsable_page(debug, partner):
    response = anonymous().get(
        "/api/v1/passports/123456", HTTP_ACCEPT="text/html", HTTP_AUTHORIZATION=f"Api-Key {partner.api_key}"
    )

    assert response.status_code == 404
    assert json_body(response)["code"] == "passport_not_found"


def test_too_many_query_parameters_is_a_json_400_in_either_mode(debug, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10

    response = anonymous().get("/api/v1/ledger/keys?" + "&".join(f"p{n}=1" for n in range(20)))

    assert response.status_code == 400
    assert json_body(response)["code"] == "bad_request"
