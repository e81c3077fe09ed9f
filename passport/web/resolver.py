"""The GS1-Conformant Resolver (1.2.0) at the passports' Digital Links, ``/01/{gtin}/21/{serial}``.

- ``?linkType=linkset`` (or ``all``), or ``Accept: application/linkset+json``: the RFC 9264 linkset
  of the links the reader may follow (``passport.resolver``).
- ``?linkType=gs1:pip`` (a compact link type or its IRI): 307 to that link, the one whose media type
  the ``Accept`` header prefers; 404 ``link_type_not_available`` when the reader has no such link.
- ``Accept: application/vc+jwt`` or ``application/vc`` first: 307 to the passport version's UNTP
  product passport credential in that form (``untp:dpp``), when it was issued as one.
- Otherwise 307 to the default link, the passport page, or to the passport JSON at the reader's
  tier when the ``Accept`` header asks for JSON rather than HTML (a better match, as the standard
  allows). Every redirect passes the request's other query parameters on.
- A malformed GTIN or serial number is a 400, an unknown battery a 404, each a ``{code, detail}`` body.

Every answer carries a ``Link`` header: the linkset (``rel="linkset"``), the JSON-LD context that
reads it as linked data, and each link the reader may follow.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseRedirectBase
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from carbon.pact.services import footprints_issue
from passport import resolver, selectors
from passport.web.views import resolver_root
from traceability.accept import accepted_types
from traceability.api.authentication import request_organisation
from traceability.credentials.views import credential_asked
from traceability.errors import ApplicationError
from traceability.identifiers import validate_gs1_serial, validate_gtin
from traceability.visibility import objects_visible_to

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Accept-Language, Authorization",
    "Access-Control-Expose-Headers": "Link, Location",
}
HTML = "text/html"
JSON = "application/json"


class AnyAcceptNegotiation(DefaultContentNegotiation):
    """Errors are JSON whatever the client accepts: a resolver is asked for HTML, linksets and
    redirects alike, and a 406 would hide the error it answers."""

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            return renderers[0], str(renderers[0].media_type)


def accepted(request: HttpRequest) -> list[str]:
    """The media types of the ``Accept`` header, most preferred first (quality, then order)."""
    return accepted_types(request.headers.get("Accept", ""))


def preferred(links: list[resolver.Link], request: HttpRequest) -> resolver.Link:
    """The link whose media type the client prefers; the first link when none is named."""
    for media_type in accepted(request):
        for link in links:
            if link.type == media_type:
                return link
    return links[0]


def passed_on(href: str, request: HttpRequest) -> str:
    """The target with the request's query parameters (but ``linkType``) passed on, as the standard asks."""
    extra = [(name, value) for name, value in parse_qsl(request.META.get("QUERY_STRING", "")) if name != "linkType"]
    if not extra:
        return href
    parts = urlsplit(href)
    names = {name for name, _ in extra}
    query = [(name, value) for name, value in parse_qsl(parts.query) if name not in names] + extra
    return urlunsplit(parts._replace(query=urlencode(query)))


def link_header(linkset: resolver.Linkset) -> str:
    """The ``Link`` header: the linkset, its JSON-LD context, and every link the reader may follow."""
    entries = [
        f'<{linkset.anchor}?linkType=linkset>; rel="linkset"; type="{resolver.LINKSET_MEDIA_TYPE}"',
        f'<{resolver.LINKSET_CONTEXT}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"',
    ]
    for link_type, links in linkset.links.items():
        for link in links:
            entries.append(
                f'<{link.href}>; rel="{resolver.expand(link_type)}"; title="{link.title}"; type="{link.type}"; '
                f'hreflang="{",".join(link.hreflang)}"'
            )
    return ", ".join(entries)


class TemporaryRedirect(HttpResponseRedirectBase):
    """307: the standard's redirect, which keeps the method and leaves clients to ask again next time."""

    status_code = 307


@extend_schema(exclude=True)  # a GS1 resolver, described by /.well-known/gs1resolver, not the API
class DigitalLinkView(APIView):
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = AnyAcceptNegotiation
    linkset: resolver.Linkset | None = None

    def get(self, request: Request, gtin: str, serial: str) -> HttpResponse:
        passport = selectors.passport_by_digital_link(gtin=validate_gtin(gtin), serial=validate_gs1_serial(serial))
        organisation = request_organisation(request)
        if organisation is not None:
            # PACT issues footprints when they are first read; a reader of the battery may read its footprint
            footprints_issue(nodes=objects_visible_to(organisation=organisation).filter(pk=passport.battery_id))
        self.linkset = resolver.passport_linkset(
            passport=passport, organisation=organisation, root=resolver_root(request)
        )
        return self.answer(request, self.linkset)

    def answer(self, request: Request, linkset: resolver.Linkset) -> HttpResponse:
        requested = request.query_params.get("linkType")
        media_types = accepted(request)
        if requested in resolver.LINKSET_REQUESTS or (
            requested is None and media_types[:1] == [resolver.LINKSET_MEDIA_TYPE]
        ):
            return JsonResponse(linkset.document(), content_type=resolver.LINKSET_MEDIA_TYPE)
        credential_links = linkset.links.get(resolver.UNTP_DPP, [])
        if (
            requested is None
            and credential_links
            and credential_asked(request.headers.get("Accept", ""), others=(HTML, JSON))
        ):
            # a verifier scanning the code for the passport's credential
            return TemporaryRedirect(passed_on(preferred(credential_links, request).href, request))
        if requested is None:
            wants_json = JSON in media_types and (
                HTML not in media_types or media_types.index(JSON) < media_types.index(HTML)
            )
            links = linkset.links[resolver.PRODUCT_PASSPORT]
            documents = [link for link in links if link.type == JSON]
            # the passport JSON at the reader's own tier, the last (highest) one listed
            target = documents[-1] if wants_json and documents else linkset.default()
            return TemporaryRedirect(passed_on(target.href, request))
        link_type = resolver.compact(requested)
        links = linkset.links.get(link_type, []) if link_type else []
        if not links:
            offered = sorted(linkset.links)
            raise ApplicationError(
                "link_type_not_available",
                f"no link of type {requested!r} for this item that you may follow; available: {', '.join(offered)}",
                status=404,
                extra={"linkType": requested, "available": offered},
            )
        return TemporaryRedirect(passed_on(preferred(links, request).href, request))

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        for name, value in CORS_HEADERS.items():
            response[name] = value
        if self.linkset is not None:  # every answer about an item names its linkset, a 404 of a link type too
            response["Link"] = link_header(self.linkset)
        response["Vary"] = "Accept, Authorization, Cookie"
        return response


@extend_schema(exclude=True)
class ResolverDescriptionView(APIView):
    """``/.well-known/gs1resolver``: what this resolver supports (GS1-Conformant Resolver 1.2.0)."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []
    renderer_classes = [JSONRenderer]
    content_negotiation_class = AnyAcceptNegotiation

    def get(self, request: Request) -> Response:
        return Response(resolver.description_file(root=resolver_root(request)), headers=CORS_HEADERS)
