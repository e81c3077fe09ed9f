"""PACT's error bodies: ``{"code", "message"}`` for the API, RFC 6749 ``{"error", ...}`` for tokens."""

from __future__ import annotations

# PACT 2.3 names a missing footprint NoSuchFootprint; 3.0 calls it NotFound.
V2_CODES = {"NotFound": "NoSuchFootprint"}


class PactError(Exception):
    """A request PACT refuses: ``code`` is one of the spec's error codes (BadRequest, AccessDenied...)."""

    def __init__(self, code: str, message: str, *, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def body(self, spec: str) -> dict[str, str]:
        return {"code": V2_CODES.get(self.code, self.code) if spec == "2" else self.code, "message": self.message}


class OAuthError(Exception):
    """A refused token request (RFC 6749 section 5.2)."""

    def __init__(self, error: str, description: str, *, status: int = 400):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
