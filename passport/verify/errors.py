"""The one error type of the offline verifier."""


class VerificationError(Exception):
    """Raised when the verifier cannot run at all: an unreadable export, a malformed trusted key or checkpoint.

    What the verifier finds wrong *inside* an export is not raised: it is reported,
    one ``Failure`` per problem, so a single run names every one of them.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
