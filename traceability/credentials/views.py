"""Public credential URLs: DID documents, status lists, credentials, their anchors, per-org lists.

Credentials answer in the form the ``Accept`` header asks for: ``application/vc+jwt`` the JWT,
``application/vc`` or ``application/json`` (or nothing) the Data Integrity-secured JSON, each the
stored bytes. What the signed credential cannot carry (the ledger proof of its anchoring fact,
which needs a checkpoint signed after it) is at ``/credentials/<uuid>/anchor``, linked from every
credential answer. A credential that is not public is its issuer's only: to anyone else, 404.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from traceability.accept import accepted_types
from traceability.api.authentication import request_organisation
from traceability.api.pagination import NewestFirst
from traceability.credentials import events, selectors
from traceability.credentials.core.did import DID_MEDIA_TYPE
from traceability.credentials.core.securing import JWT_MEDIA_TYPE
from traceability.credentials.services import credential_revoke
from traceability.errors import ApplicationError
from traceability.models import Credential

DI_MEDIA_TYPE = "application/vc"
JSON = "application/json"
PUBLIC_CACHE = "public, max-age=60"


def preferred(accept: str, offered: tuple[str, ...]) -> str:
    """The first of ``offered`` the ``Accept`` header ranks highest (``offered[0]`` when none is named)."""
    return next((media for media in accepted_types(accept) if media in offered), offered[0])


def _public(response: HttpResponse) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = "*"
    response["Vary"] = "Accept"
    return response


def _error(error: ApplicationError) -> JsonResponse:
    return JsonResponse({"code": error.code, "detail": error.message}, status=error.status)


def _secured(*, jwt: str, secured_json: str, accept: str) -> HttpResponse:
    wanted = preferred(accept, (JSON, DI_MEDIA_TYPE, JWT_MEDIA_TYPE))
    if wanted == JWT_MEDIA_TYPE:
        return HttpResponse(jwt.encode("ascii"), content_type=JWT_MEDIA_TYPE)
    return HttpResponse(secured_json.encode("utf-8"), content_type=wanted)


@require_safe
def did_document(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        organisation = selectors.organisation_by_slug(slug)
    except ApplicationError as error:
        return _error(error)
    document = selectors.organisation_did_document(organisation)
    response = HttpResponse(json.dumps(document, separators=(",", ":")).encode(), content_type=DID_MEDIA_TYPE)
    response["Cache-Control"] = PUBLIC_CACHE
    return _public(response)


@require_safe
def status_list(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    try:
        found = selectors.status_list_get(organisation=selectors.organisation_by_slug(slug), number=number)
    except ApplicationError as error:
        return _error(error)
    response = _secured(jwt=found.jwt, secured_json=found.secured_json, accept=request.headers.get("Accept", ""))
    # A flip must reach verifiers soon; a list is a few hundred bytes to re-read.
    response["Cache-Control"] = "public, max-age=5"
    return _public(response)


class AnyAccept(BaseContentNegotiation):
    """Errors are JSON whatever the Accept header names: the views pick the credential's form themselves."""

    def select_parser(self, request, parsers):  # type: ignore[no-untyped-def]
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):  # type: ignore[no-untyped-def]
        return renderers[0], renderers[0].media_type


def credential_response(credential: Credential, *, accept: str) -> HttpResponse:
    """The stored credential in the form ``accept`` asks for, linking its anchor; a public one
    cacheable and open to any origin, any other for its reader only."""
    response = _secured(jwt=credential.jwt, secured_json=credential.secured_json, accept=accept)
    response["Link"] = f'<{selectors.credential_url(credential)}/anchor>; rel="describedby"'
    response["Cache-Control"] = PUBLIC_CACHE if credential.public else "private, no-store"
    response["Vary"] = "Accept"
    return _public(response) if credential.public else response


CREDENTIAL_MEDIA_TYPES = (DI_MEDIA_TYPE, JWT_MEDIA_TYPE)


def credential_asked(accept: str, *, others: tuple[str, ...]) -> str | None:
    """The credential form (``application/vc`` or ``application/vc+jwt``) when the ``Accept`` header
    ranks one above the ``others`` a URL serves (``others[0]`` is what it serves by default)."""
    wanted = preferred(accept, (*others, *CREDENTIAL_MEDIA_TYPES))
    return wanted if wanted in CREDENTIAL_MEDIA_TYPES else None


# What a page that also serves credentials serves by default, as its renderers name them.
PAGE_MEDIA_TYPES = ("text/html", JSON)


class CredentialOrPage(DefaultContentNegotiation):
    """A page's negotiation, but for ``Accept`` headers that rank a credential form first: those get
    the JSON renderer (for errors); the view itself answers with the credential."""

    def select_renderer(self, request, renderers, format_suffix=None):  # type: ignore[no-untyped-def]
        if credential_asked(request.headers.get("Accept", ""), others=PAGE_MEDIA_TYPES):
            renderer = next((r for r in renderers if r.media_type == JSON), renderers[0])
            return renderer, renderer.media_type
        return super().select_renderer(request, renderers, format_suffix)


class CredentialView(APIView):
    permission_classes = [AllowAny]
    content_negotiation_class = AnyAccept

    @extend_schema(exclude=True)
    def get(self, request: Request, credential: str) -> HttpResponse:
        found = selectors.credential_get(public_id=credential, reader=request_organisation(request))
        return credential_response(found, accept=request.headers.get("Accept", ""))


class EventCredentialView(APIView):
    """The UNTP Digital Traceability Event of a ledger event, issued by its recorder on the first
    request (``traceability.credentials.events``), then the same bytes every time."""

    content_negotiation_class = AnyAccept

    @extend_schema(
        responses={(200, JSON): OpenApiTypes.OBJECT, (200, JWT_MEDIA_TYPE): OpenApiTypes.STR},
        summary="The event as a W3C verifiable credential (UNTP Digital Traceability Event), by Accept",
    )
    def get(self, request: Request, seq: int) -> HttpResponse:
        found = events.event_credential(seq=seq, reader=request_organisation(request))
        return credential_response(found, accept=request.headers.get("Accept", ""))


class CredentialRevokeView(APIView):
    """The issuer withdraws a claim: ``POST {"reason": "..."}`` sets the credential's status bit,
    by a ``credential.status`` ledger fact. Readers who are not the issuer are refused (403), and
    to anyone else the credential does not exist (404)."""

    content_negotiation_class = AnyAccept

    @extend_schema(
        request={"application/json": {"type": "object", "properties": {"reason": {"type": "string"}}}},
        responses={200: OpenApiTypes.OBJECT},
        summary="Revoke a credential you issued (its status list bit is set)",
    )
    def post(self, request: Request, credential: str) -> Response:
        reader = request_organisation(request)
        found = selectors.credential_get(public_id=credential, reader=reader)
        reason = request.data.get("reason") if isinstance(request.data, dict) else None
        if not isinstance(reason, str):
            raise ApplicationError("reason_invalid", 'give the reason as {"reason": "..."}, at most 200 characters')
        revoked = credential_revoke(organisation=reader, credential=found, reason=reason)  # type: ignore[arg-type]
        return Response(selectors.credential_anchor(revoked), headers={"Cache-Control": "no-store"})


class CredentialAnchorView(APIView):
    permission_classes = [AllowAny]
    content_negotiation_class = AnyAccept

    @extend_schema(exclude=True)
    def get(self, request: Request, credential: str) -> Response:
        found = selectors.credential_get(public_id=credential, reader=request_organisation(request))
        return Response(selectors.credential_anchor(found), headers={"Cache-Control": "no-cache"})


def credential_summary(credential: Credential) -> dict[str, object]:
    return {
        "id": credential.credential_id,
        "url": selectors.credential_url(credential),
        "kind": credential.kind,
        "subject": credential.subject,
        "state": credential.state,
        "public": credential.public,
        "issued": credential.created_at,
        "digest": credential.digest,
        "ledgerEntry": credential.anchor_seq,
    }


class OrganisationCredentialsView(APIView):
    """An issuer's credentials: the public ones, and to the issuer itself all of them."""

    permission_classes = [AllowAny]
    content_negotiation_class = AnyAccept

    @extend_schema(exclude=True)
    def get(self, request: Request, slug: str) -> Response:
        organisation = selectors.organisation_by_slug(slug)
        rows = selectors.credentials_of(organisation=organisation, reader=request_organisation(request))
        pages = NewestFirst()
        page = pages.paginate_queryset(rows, request, view=self) or []
        return pages.get_paginated_response([credential_summary(row) for row in page])
