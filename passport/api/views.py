"""Battery passports over the API, filtered by the caller's access tier (Annex XIII).

Anyone may read the public tier without credentials; an organisation linked to the
battery reads the legitimate-interest tier; a regulator reads the authorities' tier.
A caller may ask for a lower tier (``?tier=public``), never a higher one.
"""

from typing import Any

from django.core.cache import cache
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from passport import selectors
from passport.choices import AccessTier
from passport.models import Passport, PassportVersion
from traceability.api.authentication import request_organisation
from traceability.credentials.views import CredentialOrPage, credential_asked, credential_response
from traceability.ledger.chain import format_time
from traceability.tlog.proofs import ledger_fact, ledger_proof, served_document

JSON = "application/json"
TIER_PARAMETER = OpenApiParameter(
    "tier", str, enum=list(AccessTier.values), description="read at a lower tier than yours (default: yours)"
)


class VersionSerializer(serializers.Serializer):
    version = serializers.IntegerField(source="number")
    status = serializers.CharField()
    reason = serializers.CharField()
    ceased = serializers.BooleanField()
    ledgerSeq = serializers.IntegerField(source="ledger_seq", help_text="the passport.version ledger fact")
    basisSeq = serializers.IntegerField(source="basis_seq", help_text="the event this version reflects")
    issuedAt = serializers.SerializerMethodField(help_text="when the ledger recorded the version (its entry's time)")
    ceasedAt = serializers.SerializerMethodField(help_text="when the passport ceased, on the version that says so")
    digest = serializers.SerializerMethodField(help_text="SHA-256 of the RFC 8785 form of this tier's view")

    # Times are spelt as the ledger spells them, so a verifier compares them with the logged ones.
    def get_issuedAt(self, version: PassportVersion) -> str:
        return format_time(version.issued_at)

    def get_ceasedAt(self, version: PassportVersion) -> str | None:
        if not version.ceased:  # only the last version: one read of the passport at most
            return None
        ceased_at = version.passport.ceased_at
        return format_time(ceased_at) if ceased_at is not None else None

    def get_digest(self, version: PassportVersion) -> str:
        return str(version.tier_digests[self.context["tier"]])


def passport_header(passport: Passport, tier: AccessTier) -> dict[str, object]:
    return {
        "passportId": passport.urn,
        "battery": passport.battery.identifier,
        "status": passport.status,
        "ceased": passport.ceased,
        "ceasedAt": format_time(passport.ceased_at) if passport.ceased_at else None,
        "previous": passport.previous.urn if passport.previous else None,
        "successors": [successor.urn for successor in passport.successors.order_by("created_at")],
        "tier": tier.value,
    }


def passport_payload(passport: Passport, version: PassportVersion, tier: AccessTier) -> dict[str, Any]:
    """The passport JSON of one version at one tier, before the platform signs it as served.

    Beside the tier's view it carries the ``passport.version`` fact (its exact signed bytes) and
    the fact's C2SP tlog-proof, so that with the log's and witnesses' keys alone a reader proves
    the view was issued and logged.
    """
    return {
        **passport_header(passport, tier),
        **VersionSerializer(version, context={"tier": tier}).data,
        "passport": selectors.passport_view(version=version, tier=tier),
        "ledgerFact": ledger_fact(seq=version.ledger_seq),
        **ledger_proof(seq=version.ledger_seq),
    }


def passport_document(passport: Passport, version: PassportVersion, tier: AccessTier) -> dict[str, Any]:
    """The passport JSON as the API and the public page serve it: signed as served (``servedSignature``)."""
    return served_document(passport_payload(passport, version, tier))


def _tier(request: Request, passport: Passport) -> AccessTier:
    allowed = selectors.reader_tier(organisation=request_organisation(request), passport=passport)
    return selectors.read_tier(allowed=allowed, requested=request.query_params.get("tier"))


def version_number(request: Request) -> int | None:
    """``?version=N``: an earlier version (anything but digits: the latest)."""
    number = request.query_params.get("version")
    return int(number) if number and number.isdigit() else None


def credential_answer(request: Request, passport: Passport) -> HttpResponse:
    """The version's product passport credential, in the form the ``Accept`` header asks for."""
    version = selectors.passport_version_get(passport=passport, number=version_number(request))
    credential = selectors.version_credential(version=version)
    return credential_response(credential, accept=request.headers.get("Accept", ""))


class PassportView(APIView):
    """The passport JSON; with ``Accept: application/vc+jwt`` or ``application/vc``, the version's
    UNTP product passport credential (public-tier content, whoever asks)."""

    permission_classes = [AllowAny]
    content_negotiation_class = CredentialOrPage

    @extend_schema(
        parameters=[TIER_PARAMETER, OpenApiParameter("version", int, description="an earlier version")],
        responses=OpenApiTypes.OBJECT,
        summary="A battery passport (Battery Pass 1.2.0 aspects) at the caller's access tier",
    )
    def get(self, request: Request, reference: str) -> HttpResponse:
        if credential_asked(request.headers.get("Accept", ""), others=(JSON,)):
            return credential_answer(request, selectors.passport_get(reference=reference))
        number = request.query_params.get("version")
        passport_id = selectors.passport_id_of(reference)
        # An anonymous reader of the latest version (a QR code scan) gets the cached public view.
        public = (
            passport_id is not None
            and number is None
            and request_organisation(request) is None
            and request.query_params.get("tier") in (None, AccessTier.PUBLIC)
        )
        if public:
            cached = cache.get(selectors.public_view_key(passport_id))  # type: ignore[arg-type]
            if cached is not None:
                return HttpResponse(cached, content_type="application/json")
        passport = selectors.passport_get(reference=reference)
        tier = _tier(request, passport)
        version = selectors.passport_version_get(passport=passport, number=version_number(request))
        payload = passport_document(passport, version, tier)
        # The proof is cached with the view: it stays true (against an older checkpoint, or "not yet")
        # for the PUBLIC_VIEW_SECONDS the entry lives.
        if public:
            rendered = JSONRenderer().render(payload)
            cache.set(selectors.public_view_key(passport.pk), rendered, selectors.PUBLIC_VIEW_SECONDS)
        return Response(payload)


class PassportVersionsView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[TIER_PARAMETER],
        responses=VersionSerializer(many=True),
        summary="Every version of a passport, each with its ledger fact and the digest of the tier's view",
    )
    def get(self, request: Request, reference: str) -> Response:
        passport = selectors.passport_get(reference=reference)
        tier = _tier(request, passport)
        versions = selectors.passport_versions(passport=passport)
        serialised = VersionSerializer(versions, many=True, context={"tier": tier}).data
        return Response({**passport_header(passport, tier), "versions": serialised})
