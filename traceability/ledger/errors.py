"""The one error type of the pure ledger core."""


class LedgerError(Exception):
    """Raised by the ledger core when data does not verify or is malformed.

    ``code`` is a stable, machine-readable reason (for API error bodies and
    ``verify_ledger`` reports); the message is for people.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
