"""One error body for every API failure: ``{"code": ..., "detail": ...}`` with a 4xx status."""

from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from traceability.errors import ApplicationError
from traceability.ledger.errors import LedgerError


def exception_handler(exc, context):  # type: ignore[no-untyped-def]
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
        response.data = {"code": "invalid", "detail": "the request is invalid", "fields": response.data}
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        response.data = {"code": codes if isinstance(codes, str) else "error", "detail": str(exc.detail)}
    return response
