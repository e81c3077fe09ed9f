"""PACT endpoints: ``/auth/token``, ``/3/footprints``, ``/3/events`` and their ``/2/`` equivalents.

Thin views: parse the request, call a service or selector, shape PACT's bodies and errors.
"""

from __future__ import annotations

import base64
import binascii
import itertools
from functools import partial
from typing import Any
from urllib.parse import unquote_plus, urlencode

from django.http import Http404
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.parsers import FormParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from carbon.models import ProductFootprint
from carbon.pact import odata as odata_filter
from carbon.pact import selectors, services
from carbon.pact.api.authentication import CHALLENGE, PactBearerAuthentication, require_https
from carbon.pact.errors import OAuthError, PactError
from traceability import throttle, visibility
from traceability.api.parsers import StrictJSONParser
from traceability.errors import ApplicationError
from traceability.paging import MAX_PAGE_SIZE, page_size
from traceability.tlog.proofs import proof_anchors

DEFAULT_LIMIT = 100
# Past any page that can exist, and inside the database's integers.
MAX_OFFSET = 10**12
CODES_BY_STATUS = {400: "BadRequest", 401: "BadRequest", 403: "AccessDenied", 404: "NotFound", 501: "NotImplemented"}


class CloudEventsParser(StrictJSONParser):
    media_type = "application/cloudevents+json"


def pact_exception_handler(exc: Exception, context: dict[str, Any], *, spec: str) -> Response | None:
    """PACT's ``{"code", "message"}`` for every refusal; OAuth's body for the token endpoint."""
    if isinstance(exc, OAuthError):
        headers = {"Cache-Control": "no-store"}
        if exc.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="pact"'
        return Response({"error": exc.error, "error_description": exc.description}, status=exc.status, headers=headers)
    if isinstance(exc, PactError):
        error = exc
    elif isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        error = PactError("BadRequest", "a bearer token from /auth/token is required", status=401)
    elif isinstance(exc, Http404):
        error = PactError("NotFound", "not found", status=404)
    elif isinstance(exc, ApplicationError):
        error = PactError(CODES_BY_STATUS.get(exc.status, "BadRequest"), exc.message, status=exc.status)
    elif isinstance(exc, exceptions.APIException):
        error = PactError(CODES_BY_STATUS.get(exc.status_code, "BadRequest"), str(exc.detail), status=exc.status_code)
    else:
        return None
    status = error.status
    # A missing or invalid token is PACT's "all other cases": code BadRequest. 3.0.3 answers it
    # 401 (its UnauthorizedResponse); 2.3 knows no 401 but TokenExpired, so BadRequest's 400.
    if spec == "2" and error.code == "BadRequest" and status == 401:
        status = 400
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = CHALLENGE + (', error="invalid_token"' if error.code == "TokenExpired" else "")
    if isinstance(exc, exceptions.Throttled) and exc.wait:
        headers["Retry-After"] = str(int(exc.wait))
    return Response(error.body(spec), status=status, headers=headers)


def token_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """OAuth's body (RFC 6749 5.2) for every refusal of the token endpoint, a malformed request too."""
    if isinstance(exc, exceptions.APIException):
        exc = OAuthError("invalid_request", str(exc.detail), status=exc.status_code)
    return pact_exception_handler(exc, context, spec="3")


class PactSchema(AutoSchema):
    """Operation ids by PACT action and version: one view class serves both ``/2/`` and ``/3/``."""

    def get_operation_id(self) -> str:
        version = self.path.strip("/").split("/")[0]
        action = "footprint_get" if "{pf_id}" in self.path else super().get_operation_id().split("_", 1)[1]
        return f"pact_v{version}_{action}"


class PactView(APIView):
    schema = PactSchema()
    spec = "3"
    authentication_classes = [PactBearerAuthentication]
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer]
    parser_classes = [CloudEventsParser, StrictJSONParser]
    throttle_classes: list[type] = []

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        require_https(request)
        super().initial(request, *args, **kwargs)

    def get_exception_handler(self):  # type: ignore[no-untyped-def]
        return partial(pact_exception_handler, spec=self.spec)


def _basic_credentials(request: Request) -> tuple[str, str]:
    scheme, _, encoded = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "basic":
        raise OAuthError("invalid_client", "authenticate with HTTP Basic: your client id and secret", status=401)
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OAuthError("invalid_client", "malformed HTTP Basic credentials", status=401) from exc
    client_id, separator, secret = decoded.partition(":")
    if not separator or not client_id or "\x00" in decoded:
        raise OAuthError("invalid_client", "malformed HTTP Basic credentials", status=401)
    # RFC 6749 2.3.1: client id and secret are form-encoded before Basic encoding.
    return unquote_plus(client_id), unquote_plus(secret)


TOKEN_REQUEST = {"type": "object", "properties": {"grant_type": {"type": "string"}}}


class TokenView(PactView):
    """OAuth 2 client credentials grant (RFC 6749 4.4), the client authenticated by HTTP Basic."""

    authentication_classes: list[type] = []
    permission_classes: list[type] = []
    parser_classes = [FormParser, StrictJSONParser]

    def get_exception_handler(self):  # type: ignore[no-untyped-def]
        return token_exception_handler

    @extend_schema(
        request={"application/x-www-form-urlencoded": TOKEN_REQUEST},
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 401: OpenApiTypes.OBJECT},
        auth=[],
        summary="PACT Action Authenticate: a bearer token for an organisation's API credential",
        tags=["pact"],
    )
    def post(self, request: Request) -> Response:
        require_https(request)
        client_id, secret = _basic_credentials(request)
        if throttle.blocked(request, client_id):
            raise OAuthError("invalid_client", "too many failed attempts; try again later", status=429)
        try:
            token, lifetime = services.access_token_issue(client_id=client_id, client_secret=secret)
        except OAuthError:
            throttle.record_failure(request, client_id)
            raise
        throttle.record_success(request, client_id)
        grant_type = request.data.get("grant_type")
        if not grant_type:
            raise OAuthError("invalid_request", "grant_type is required")
        if grant_type != "client_credentials":
            raise OAuthError("unsupported_grant_type", "only client_credentials is supported")
        return Response(
            {"access_token": token, "token_type": "bearer", "expires_in": lifetime},
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )


LIST_PARAMETERS = [
    OpenApiParameter(
        "limit",
        int,
        description=f"at most this many footprints (up to {MAX_PAGE_SIZE}); the next page is in the Link header",
    ),
    OpenApiParameter("offset", int, description="set by the Link header's next page"),
    *[OpenApiParameter(name, str, many=True, explode=True) for name in ("productId", "companyId", "geography")],
    OpenApiParameter("classification", str, many=True, explode=True),
    *[OpenApiParameter(name, OpenApiTypes.DATETIME) for name in ("validOn", "validAfter", "validBefore")],
    OpenApiParameter("status", str, description="Active or Deprecated; another value matches nothing"),
    OpenApiParameter(
        "$filter",
        str,
        description="PACT 2.x only (/2/footprints): its OData subset, e.g. created ge '2023-01-15T10:15:30Z'",
    ),
]


def _count(value: str | None, *, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise PactError("BadRequest", f"{name} must be an integer") from exc
    if number < (1 if name == "limit" else 0):
        raise PactError("BadRequest", f"{name} must be at least {1 if name == 'limit' else 0}")
    return min(number, MAX_OFFSET)


class FootprintListView(PactView):
    @extend_schema(
        parameters=LIST_PARAMETERS,
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 401: OpenApiTypes.OBJECT},
        summary="PACT Action ListFootprints",
        tags=["pact"],
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        # 2.x's OData $filter (its subset, carbon.pact.odata) tests the documents themselves.
        odata = odata_filter.predicate(params["$filter"]) if self.spec == "2" and params.get("$filter") else None
        # PACT lets a host return fewer footprints than asked for: a limit over the cap is clamped.
        limit = page_size(_count(params.get("limit"), name="limit", default=DEFAULT_LIMIT))
        offset = _count(params.get("offset"), name="offset", default=0)
        # PACT matches parameter names as given, and its own example spells productId in lower case.
        by_name = {name.lower(): name for name in selectors.FILTERS}
        values: dict[str, list[str]] = {}
        for key in params:
            if key.lower() in by_name:
                values.setdefault(by_name[key.lower()], []).extend(params.getlist(key))
        criteria = selectors.criteria_from(values)
        organisation = request.user.organisation
        services.footprints_issue(nodes=visibility.objects_visible_to(organisation=organisation))
        matching = selectors.footprints_matching(selectors.footprints_visible_to(organisation=organisation), criteria)
        # (footprint, its document when the filter already made it)
        page: list[tuple[ProductFootprint, dict | None]]
        anchors = proof_anchors()  # one checkpoint search for the whole request
        if odata is None:
            page = [(f, None) for f in matching[offset : offset + limit + 1]]
        else:
            made = (
                (f, selectors.footprint_document(footprint=f, spec=self.spec, proof=False)) for f in matching.iterator()
            )
            page = list(itertools.islice((pair for pair in made if odata(pair[1])), offset, offset + limit + 1))
        headers = {}
        if len(page) > limit:
            following = [(k, v) for k in params if k not in {"limit", "offset"} for v in params.getlist(k)]
            following += [("limit", str(limit)), ("offset", str(offset + limit))]
            url = request.build_absolute_uri(request.path) + "?" + urlencode(following)
            headers["Link"] = f'<{url}>; rel="next"'
        shown = page[:limit]
        data = []
        for f, document in shown:
            if document is None:
                document = selectors.footprint_document(footprint=f, spec=self.spec, anchors=anchors)
            elif self.spec == "3":
                document["extensions"].append(selectors.footprint_proof_extension(footprint=f, anchors=anchors))
            data.append(document)
        services.subscriptions_record(
            organisation=organisation,
            footprints=[f for f, _ in shown],
            spec=self.spec,
            source=_events_source(request, self.spec),
        )
        return Response({"data": data}, headers=headers)


class FootprintDetailView(PactView):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
        summary="PACT Action GetFootprint",
        tags=["pact"],
    )
    def get(self, request: Request, pf_id: str) -> Response:
        organisation = request.user.organisation
        footprint = selectors.footprint_get(pf_id=pf_id, organisation=organisation)
        # A newer result may have superseded it since: issue first, so its status is current.
        services.footprints_issue(
            nodes=visibility.objects_visible_to(organisation=organisation).filter(identifier=footprint.node_id)
        )
        footprint = selectors.footprint_get(pf_id=pf_id, organisation=organisation)
        services.subscriptions_record(
            organisation=organisation, footprints=[footprint], spec=self.spec, source=_events_source(request, self.spec)
        )
        return Response({"data": selectors.footprint_document(footprint=footprint, spec=self.spec)})


def _events_source(request: Request, spec: str) -> str:
    """Our events endpoint as the partner reached it: the ``source`` of the events we send it."""
    return f"//{request.get_host()}/{spec}/events"


class EventsView(PactView):
    @extend_schema(
        request={"application/cloudevents+json": OpenApiTypes.OBJECT, "application/json": OpenApiTypes.OBJECT},
        responses={200: OpenApiResponse(description="accepted"), 400: OpenApiTypes.OBJECT},
        summary="PACT Action Events: footprint requests (answered later by callback) and notifications",
        tags=["pact"],
    )
    def post(self, request: Request) -> Response:
        services.event_receive(
            spec=self.spec,
            organisation=request.user.organisation,
            body=request.data,
            reply_source=_events_source(request, self.spec),
        )
        return Response(status=200)
