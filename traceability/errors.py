"""The domain error of the traceability app, mapped to HTTP 4xx by the API."""

from traceability.ledger.errors import LedgerError


class ApplicationError(Exception):
    """A request that breaks a rule. ``code`` is stable and machine-readable."""

    def __init__(self, code: str, message: str, *, status: int = 400, extra: dict[str, object] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra or {}

    @classmethod
    def from_ledger(cls, error: LedgerError, *, status: int = 400) -> "ApplicationError":
        return cls(error.code, error.message, status=status)

    def at_position(self, position: int, count: int) -> "ApplicationError":
        """Name the document of a batch that broke the rule (a batch of one needs no index)."""
        if count > 1:
            self.extra["index"] = position
            self.message = f"document {position}: {self.message}"
        return self

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
