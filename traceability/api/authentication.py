"""Per-organisation API credentials: ``Authorization: Api-Key <client_id>.<secret>``."""

import hmac
from dataclasses import dataclass

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from traceability import throttle
from traceability.models import ApiCredential, Organisation
from traceability.services import hash_api_secret

SCHEME = "Api-Key"


@dataclass(frozen=True)
class OrganisationPrincipal:
    """The caller of an API-key request: an organisation, not a person."""

    organisation: Organisation
    client_id: str

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __str__(self) -> str:
        return f"{self.organisation.slug} ({self.client_id})"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):  # type: ignore[no-untyped-def]
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _, token = header.partition(" ")
        if scheme != SCHEME:
            return None
        client_id, _, secret = token.strip().partition(".")
        if throttle.blocked(request, client_id):
            raise exceptions.Throttled(detail="too many failed attempts with this API key or from this address")
        if not client_id or not secret:
            throttle.record_failure(request)
            raise exceptions.AuthenticationFailed("malformed API key: expected <client_id>.<secret>")
        credential = (
            ApiCredential.objects.select_related("organisation")
            .filter(client_id=client_id, revoked_at__isnull=True)
            .first()
        )
        expected = credential.secret_hash if credential else hash_api_secret("")
        if not hmac.compare_digest(expected, hash_api_secret(secret)) or credential is None:
            throttle.record_failure(request, client_id)
            raise exceptions.AuthenticationFailed("invalid API key")
        throttle.record_success(request, client_id)
        return OrganisationPrincipal(organisation=credential.organisation, client_id=client_id), credential

    def authenticate_header(self, request):  # type: ignore[no-untyped-def]
        return SCHEME


class ApiKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "traceability.api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <client_id>.<secret>`, as printed once by `manage.py create_partner`.",
        }


def request_organisation(request) -> Organisation | None:  # type: ignore[no-untyped-def]
    """The organisation a request acts for: its API key's, or its signed-in user's."""
    user = request.user
    if isinstance(user, OrganisationPrincipal):
        return user.organisation
    membership = getattr(user, "membership", None) if user.is_authenticated else None
    return membership.organisation if membership else None


__all__ = ["ApiKeyAuthentication", "OrganisationPrincipal", "request_organisation"]
