"""The offline verifier of audit exports: a pure core that needs only Python, ``cryptography``,
``rfc8785`` and the pure cores ``traceability.ledger`` and ``carbon.engine``. No Django.

    python -m passport.verify export.jsonl [--trusted-key platform.pub] [--trusted-checkpoint kept.note]
"""

from passport.verify.errors import VerificationError
from passport.verify.trust import load_trusted_checkpoint, load_trusted_key
from passport.verify.verifier import Failure, Report, verify_export

__all__ = ["Failure", "Report", "VerificationError", "load_trusted_checkpoint", "load_trusted_key", "verify_export"]
