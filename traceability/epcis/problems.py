"""EPCIS 2.0's error body: RFC 7807 problem details (``type``, ``title``, ``status``), as the EPCIS
REST bindings define them, around the project's ``code`` and ``detail``, which stay."""

from __future__ import annotations

from traceability.epcis.services import (
    PROBLEM_CAPTURE_LIMIT,
    PROBLEM_CONFLICT,
    PROBLEM_IMPLEMENTATION,
    PROBLEM_VALIDATION,
)

# Every EPCIS error answer is served as RFC 7807 problem details.
PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_QUERY_PARAMETER = "epcisException:QueryParameterException"
PROBLEM_QUERY_TOO_LARGE = "epcisException:QueryTooLargeException"
PROBLEM_SECURITY = "epcisException:SecurityException"
PROBLEM_SUBSCRIPTION_CONTROLS = "epcisException:SubscriptionControlsException"
# The exception type the EPCIS 2.0 OpenAPI document names for each status.
PROBLEM_TYPES = {
    400: PROBLEM_VALIDATION,
    401: PROBLEM_SECURITY,
    403: PROBLEM_SECURITY,
    404: "epcisException:NoSuchResourceException",
    406: "epcisException:NotAcceptableException",
    409: PROBLEM_CONFLICT,
    413: PROBLEM_CAPTURE_LIMIT,
    414: "epcisException:URITooLongException",
    415: "epcisException:UnsupportedMediaTypeException",
}


def problem(body: dict[str, object], status: int) -> dict[str, object]:
    """``body`` with the problem's ``type``, ``title`` (the code) and ``status`` added."""
    code = str(body.get("code", ""))
    if code.startswith("query_parameter"):
        kind = PROBLEM_QUERY_PARAMETER
    elif code.startswith("subscription_") and status == 400:
        kind = PROBLEM_SUBSCRIPTION_CONTROLS
    elif code == "query_too_large":
        kind = PROBLEM_QUERY_TOO_LARGE
    else:
        kind = PROBLEM_TYPES.get(status, PROBLEM_IMPLEMENTATION if status >= 500 else PROBLEM_VALIDATION)
    return {"type": kind, "title": code or kind, "status": status, **body}
