"""``Idempotency-Key``: a retried POST gets the first response instead of a second effect.

The first successful response is stored with the key in the same transaction as the
write, so a key is either bound to a committed effect or to nothing. Requests with the
same key from one organisation take turns on a lock of that key (a PostgreSQL advisory
lock, held to the end of the transaction): the first does the work, the others wait,
then find its stored response and replay it. On SQLite (one writer at a time) a late
request that still loses on the unique constraint rolls back its own write and replays
the winner's response. The same key with a different request is refused.
"""

import functools
import hashlib
import json
from collections.abc import Callable

from django.db import IntegrityError, transaction
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from traceability.api.authentication import request_organisation
from traceability.errors import ApplicationError
from traceability.locks import take_name_lock
from traceability.models import IdempotencyRecord, Organisation

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
# The first key of the two-key advisory lock form, naming idempotency keys' locks apart from
# others (the ledger's append lock uses the one-key form, a separate key space).
IDEMPOTENCY_LOCK_CLASS = 0x49444D50


def _replay(record: IdempotencyRecord, digest: str) -> Response:
    if record.request_digest != digest:
        raise ApplicationError("idempotency_key_reused", f"this {HEADER} was used for a different request", status=422)
    return Response(record.body, status=record.status, headers={"Idempotent-Replayed": "true"})


def _take_key_lock(organisation: Organisation | None, key: str) -> None:
    """Wait for any other request with this organisation's key, until the end of the transaction."""
    take_name_lock(IDEMPOTENCY_LOCK_CLASS, str(organisation.pk) if organisation else "", key)


def idempotent(handler: Callable[..., Response]) -> Callable[..., Response]:
    @functools.wraps(handler)
    def wrapper(view, request: Request, *args, **kwargs) -> Response:  # type: ignore[no-untyped-def]
        key = request.headers.get(HEADER)
        if not key:
            return handler(view, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH:
            raise ApplicationError("idempotency_key_invalid", f"{HEADER} is at most {MAX_KEY_LENGTH} characters")
        organisation = request_organisation(request)
        digest = hashlib.sha256(f"{request.method} {request.path}\n".encode() + request.body).hexdigest()
        try:
            with transaction.atomic():
                _take_key_lock(organisation, key)
                existing = IdempotencyRecord.objects.filter(organisation=organisation, key=key).first()
                if existing is not None:
                    return _replay(existing, digest)
                response = handler(view, request, *args, **kwargs)
                if 200 <= response.status_code < 300:
                    IdempotencyRecord.objects.create(
                        organisation=organisation,
                        key=key,
                        request_digest=digest,
                        status=response.status_code,
                        body=json.loads(json.dumps(response.data, cls=JSONEncoder)),
                    )
        except IntegrityError:
            winner = IdempotencyRecord.objects.filter(organisation=organisation, key=key).first()
            if winner is None:
                raise
            return _replay(winner, digest)
        return response

    return wrapper
