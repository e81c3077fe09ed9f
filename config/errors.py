"""Error bodies for failures outside a view's own error handling, in every mode.

DRF views shape their own refusals (``traceability.api.errors``, PACT's handler). What Django
answers by itself (an unknown URL, a bad Host, an oversized body, a failed CSRF check, an
uncaught exception) is shaped here by the path's family:

- ``/api/``: ``{"code", "detail"}``, as the API views answer; ``/epcis/``: the same inside EPCIS's
  RFC 7807 problem (``type``, ``title``, ``status``), as ``application/problem+json``, as the EPCIS
  views answer;
- ``/2/``, ``/3/``: PACT's ``{"code", "message"}`` with PACT's codes; ``/auth/token``: OAuth's
  ``{"error", "error_description"}`` (RFC 6749 5.2);
- pages (``/app/``, ``/passports/``, ``/admin/``...): Django's plain HTML error pages, never a
  traceback with ``DEBUG`` off; a client that prefers JSON (``Accept: application/json``, as the
  passport pages serve it) gets ``{"code", "detail"}``.

A 500 body names no exception: the traceback goes to the log. With ``DEBUG`` on, machine paths
still get JSON (Django's debug pages are HTML): ``ErrorBodyMiddleware`` turns an uncaught view
exception into the JSON 500 and any HTML error page into the family's JSON body.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.core import signals
from django.core.exceptions import (
    BadRequest,
    DisallowedHost,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import csrf, defaults

from carbon.pact.api.views import CODES_BY_STATUS as PACT_CODES_BY_STATUS
from carbon.pact.errors import PactError
from traceability.epcis.problems import PROBLEM_CONTENT_TYPE, problem

logger = logging.getLogger("django.request")

PACT_PREFIXES = ("/2/", "/3/")
PACT_AUTH_PATH = "/auth/token"
API_PREFIX = "/api/"
EPCIS_PREFIX = "/epcis/"
EPCIS_CAPTURE_PATH = "/epcis/capture"

# The code and generic detail of each status Django answers by itself.
GENERIC = {
    400: ("bad_request", "the request is malformed"),
    403: ("forbidden", "you may not do this"),
    404: ("not_found", "not found"),
    405: ("method_not_allowed", "this method is not allowed here"),
    413: ("body_too_large", "the request body is too large"),
    500: ("server_error", "the server failed to answer; the failure is logged"),
}
OAUTH_ERRORS = {401: "invalid_client", 500: "server_error"}


def family(path: str) -> str:
    """Which error body a path gets: ``json``, ``epcis``, ``pact``, ``oauth`` or ``page``."""
    if path.startswith(PACT_PREFIXES):
        return "pact"
    if path == PACT_AUTH_PATH:
        return "oauth"
    if path.startswith(EPCIS_PREFIX):
        return "epcis"
    if path.startswith(API_PREFIX):
        return "json"
    return "page"


def wants_json(request: HttpRequest) -> bool:
    return family(request.path) != "page" or (request.accepts("application/json") and not request.accepts("text/html"))


def body_limit(path: str) -> int:
    """The largest body a path takes: EPCIS capture documents hold up to 10,000 events."""
    return settings.EPCIS_CAPTURE_MAX_BODY_BYTES if path == EPCIS_CAPTURE_PATH else settings.REQUEST_BODY_MAX_BYTES


def error_response(request: HttpRequest, status: int, code: str, detail: str) -> HttpResponse:
    """``code`` and ``detail`` in the body the path's family speaks."""
    kind = family(request.path)
    if kind == "pact":
        pact_code = PACT_CODES_BY_STATUS.get(status, "InternalError" if status >= 500 else "BadRequest")
        body: dict[str, object] = {**PactError(pact_code, detail, status=status).body(request.path.split("/")[1])}
    elif kind == "oauth":
        body = {"error": OAUTH_ERRORS.get(status, "invalid_request"), "error_description": detail}
    elif kind == "epcis":
        body = problem({"code": code, "detail": detail}, status)
    else:
        body = {"code": code, "detail": detail}
    response = JsonResponse(body, status=status)
    if kind == "epcis":
        response["Content-Type"] = PROBLEM_CONTENT_TYPE
    if kind == "oauth":
        response["Cache-Control"] = "no-store"
    return response


def generic_response(request: HttpRequest, status: int) -> HttpResponse:
    code, detail = GENERIC.get(status, (HTTPStatus(status).phrase.lower().replace(" ", "_"), HTTPStatus(status).phrase))
    return error_response(request, status, code, detail)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        return body_too_large(request)
    if not wants_json(request):
        return defaults.bad_request(request, exception)  # type: ignore[arg-type]
    if isinstance(exception, DisallowedHost):
        return error_response(request, 400, "host_not_allowed", "the Host header names no host this server serves")
    return generic_response(request, 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not wants_json(request):
        return defaults.permission_denied(request, exception)  # type: ignore[arg-type]
    return generic_response(request, 403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not wants_json(request):
        return defaults.page_not_found(request, exception)  # type: ignore[arg-type]
    return generic_response(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    if not wants_json(request):
        return defaults.server_error(request)
    return generic_response(request, 500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if not wants_json(request):
        return csrf.csrf_failure(request, reason)
    return error_response(request, 403, "csrf_failed", f"CSRF verification failed: {reason}".rstrip(": "))


def body_too_large(request: HttpRequest) -> HttpResponse:
    limit = body_limit(request.path)
    detail = f"the request body is larger than {limit} bytes"
    if not wants_json(request):
        return HttpResponse(detail, status=413, content_type="text/plain; charset=utf-8")
    return error_response(request, 413, "body_too_large", detail)


def nul_character(request: HttpRequest) -> HttpResponse:
    detail = "the address, query or headers contain the NUL character"
    if not wants_json(request):
        return defaults.bad_request(request, SuspiciousOperation(detail))
    return error_response(request, 400, "nul_character", detail)


def _as_json(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """An HTML error page as JSON with the same status: a DRF view's own error body (its browsable
    page, for a browser) with its headers, else the generic body (Django's debug pages)."""
    data = getattr(response, "data", None)
    if not isinstance(data, dict) or not data:
        return generic_response(request, response.status_code)
    replaced = JsonResponse(data, status=response.status_code)
    if family(request.path) == "epcis":
        replaced["Content-Type"] = PROBLEM_CONTENT_TYPE
    for name, value in response.headers.items():
        if name.lower() not in {"content-type", "content-length"}:
            replaced.headers[name] = value
    return replaced


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path:
        return True
    for key, values in request.GET.lists():
        if "\x00" in key or any("\x00" in value for value in values):
            return True
    return any("\x00" in str(value) for key, value in request.META.items() if key.startswith("HTTP_"))


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class ErrorBodyMiddleware:
    """First in the chain: refuses what no view should see (a NUL in the address, query or headers;
    a body over the path's limit) and gives machine paths JSON for every failure, in every mode."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            if _has_nul(request):
                return nul_character(request)
        except SuspiciousOperation as exc:  # more query parameters than DATA_UPLOAD_MAX_NUMBER_FIELDS
            return bad_request(request, exc)
        if _declared_length(request) > body_limit(request.path):
            return body_too_large(request)
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and wants_json(request)
            and response.get("Content-Type", "").startswith("text/html")
        ):
            return _as_json(request, response)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """An uncaught view exception on a machine path: the JSON 500, also with DEBUG on."""
        if not wants_json(request) or settings.DEBUG_PROPAGATE_EXCEPTIONS:
            return None
        if isinstance(exception, RequestDataTooBig):
            return body_too_large(request)
        if isinstance(exception, Http404 | PermissionDenied | BadRequest | SuspiciousOperation):
            return None  # Django answers these with handler404, 403 or 400
        signals.got_request_exception.send(sender=None, request=request)
        logger.error("Internal Server Error: %s", request.path, exc_info=sys.exc_info())
        response = generic_response(request, 500)
        response._has_been_logged = True  # type: ignore[attr-defined]
        return response
