"""Encryption at rest of the client secrets the platform uses to reach partners' PACT hosts:
sealed by the platform's key vault under PACT's own purpose, the partner's client id as the
associated data."""

from traceability import keyvault
from traceability.errors import ApplicationError

PARTNER_SECRETS = b"looptrace pact partner secrets v1"


def seal(secret: str, *, client_id: str) -> bytes:
    return keyvault.seal(secret.encode("utf-8"), purpose=PARTNER_SECRETS, associated_data=client_id.encode())


def unseal(blob: bytes, *, client_id: str) -> str:
    try:
        clear = keyvault.unseal(blob, purpose=PARTNER_SECRETS, associated_data=client_id.encode())
    except keyvault.SealedDataUnreadable as exc:
        raise ApplicationError("pact_secret_unreadable", "the partner secret does not decrypt", status=500) from exc
    return clear.decode("utf-8")
