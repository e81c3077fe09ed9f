"""Bearer tokens from ``/auth/token``, and the HTTPS-only rule of production."""

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from carbon.models import PactAccessToken
from carbon.pact.errors import PactError
from carbon.pact.services import hash_token
from traceability import throttle
from traceability.api.authentication import OrganisationPrincipal

CHALLENGE = 'Bearer realm="pact"'


def require_https(request) -> None:  # type: ignore[no-untyped-def]
    """In production (DEBUG off) PACT is served over HTTPS only: a plain-HTTP request is refused,
    not redirected, since its credentials have already crossed the network in clear. Behind a
    TLS-terminating proxy, ``SECURE_PROXY_SSL_HEADER`` makes ``is_secure()`` see the original scheme."""
    if not settings.DEBUG and not request.is_secure():
        raise PactError("AccessDenied", "PACT is served over HTTPS only", status=403)


class PactBearerAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):  # type: ignore[no-untyped-def]
        scheme, _, token = authentication.get_authorization_header(request).decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        row = (
            PactAccessToken.objects.select_related("credential__organisation")
            .filter(token_hash=hash_token(token.strip()))
            .first()
        )
        # A token names its client only once looked up: an address refused for its failures
        # still serves the clients known there (``traceability.throttle``).
        client_id = row.credential.client_id if row is not None else None
        if throttle.blocked(request, client_id):
            raise exceptions.Throttled(detail="too many invalid tokens from this address; try again later")
        if row is None or row.credential.revoked_at is not None:
            throttle.record_failure(request, client_id)
            raise PactError("BadRequest", "invalid access token", status=401)
        if row.expires_at <= timezone.now():
            raise PactError("TokenExpired", "the access token has expired; request a new one", status=401)
        throttle.record_success(request, row.credential.client_id)
        return OrganisationPrincipal(organisation=row.credential.organisation, client_id=row.credential.client_id), row

    def authenticate_header(self, request):  # type: ignore[no-untyped-def]
        return CHALLENGE


class PactBearerScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "carbon.pact.api.authentication.PactBearerAuthentication"
    name = "pactBearer"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {
            "type": "oauth2",
            "description": "OAuth 2 client credentials (RFC 6749 4.4) with an organisation's API credential.",
            "flows": {"clientCredentials": {"tokenUrl": "/auth/token", "scopes": {}}},
        }
