"""The one error type of the credential core."""

from traceability.ledger.errors import LedgerError


class CredentialError(LedgerError):
    """A credential, proof, key or status list that is malformed or does not verify.

    A ``LedgerError`` so the API's one error mapping turns it into ``{code, detail}``.
    """
