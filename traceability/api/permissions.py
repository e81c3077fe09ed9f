from rest_framework.permissions import BasePermission

from traceability.api.authentication import request_organisation


class IsOrganisationMember(BasePermission):
    """Every API call acts for an organisation: an API key's, or a signed-in member's."""

    message = "authenticate with an organisation's API key, or sign in as a member of an organisation"

    def has_permission(self, request, view):  # type: ignore[no-untyped-def]
        return request_organisation(request) is not None
