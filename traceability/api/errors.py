"""One error body for every API failure: ``{"code": ..., "detail": ...}`` with a 4xx status."""

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from traceability.errors import ApplicationError
from traceability.ledger.errors import LedgerError

# Seconds a client should wait before retrying when the database is unreachable (a restart).
RETRY_AFTER_SECONDS = 2
# SQLSTATE of a statement the server cancelled: ``statement_timeout`` (DB_STATEMENT_TIMEOUT_MS)
# ran out. psycopg raises it as QueryCanceled, which Django wraps in OperationalError.
QUERY_CANCELED = "57014"


def query_timed_out(exc: BaseException) -> bool:
    """Whether a database error is the statement timeout, not the database going away."""
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) == QUERY_CANCELED or getattr(cause, "pgcode", None) == QUERY_CANCELED


def exception_handler(exc, context):  # type: ignore[no-untyped-def]
    if isinstance(exc, OperationalError) and query_timed_out(exc):
        # The request asked for more work than one request may do; the same request will
        # time out again, so it is not marked retryable.
        return Response(
            {
                "code": "query_timeout",
                "detail": f"the request needed more than the {settings.DB_STATEMENT_TIMEOUT_MS} ms of database "
                "time one request may use; ask for less (a smaller page, a narrower filter)",
            },
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    if isinstance(exc, OperationalError | InterfaceError):
        # The database went away (restart, failover): nothing was committed by this request, and
        # a retry with the same Idempotency-Key is safe. Say so, instead of a bare 500.
        return Response(
            {"code": "database_unavailable", "detail": "the database is unreachable; retry shortly", "retryable": True},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, LedgerError):
        exc = ApplicationError.from_ledger(exc)
    if isinstance(exc, ApplicationError):
        return Response({"code": exc.code, "detail": exc.message, **exc.extra}, status=exc.status)
    if isinstance(exc, Http404):
        return Response({"code": "not_found", "detail": "not found"}, status=status.HTTP_404_NOT_FOUND)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.get_full_details()
        first = _first_error(fields)
        response.data = {
            "code": first.get("code", "invalid"),
            "detail": f"the request is invalid: {first.get('message', '')}".rstrip(": "),
            "fields": fields,
        }
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        response.data = {"code": codes if isinstance(codes, str) else "error", "detail": str(exc.detail)}
    return response


def _first_error(details: object) -> dict[str, str]:
    """The first ``{"message", "code"}`` leaf of DRF's nested error details."""
    if isinstance(details, dict):
        if "code" in details and "message" in details:
            return {"code": str(details["code"]), "message": str(details["message"])}
        for value in details.values():
            found = _first_error(value)
            if found:
                return found
    if isinstance(details, list):
        for value in details:
            found = _first_error(value)
            if found:
                return found
    return {}
