"""Reads of witnessing: the policy in force, and checkpoints with their cosignatures."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.db.models import Max

from traceability.errors import ApplicationError
from traceability.ledger import witness as core
from traceability.ledger.errors import LedgerError
from traceability.ledger.witness import Policy, PolicyWitness
from traceability.models import Checkpoint, WitnessCosignature

# How many of the newest checkpoints are searched for one that meets the policy: bounds the cost
# of a read when witnesses have fallen behind (they are then far from serving anything anyway).
WITNESSED_SEARCH_DEPTH = 64


def policy_text() -> str:
    text = str(getattr(settings, "LEDGER_WITNESS_POLICY", ""))
    path = str(getattr(settings, "LEDGER_WITNESS_POLICY_FILE", ""))
    if not text and path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ApplicationError("witness_policy_unreadable", f"the witness policy file: {exc}", status=500) from exc
    return text


@lru_cache(maxsize=4)
def _parsed(text: str) -> Policy:
    try:
        return core.parse_policy(text)
    except LedgerError as exc:
        raise ApplicationError("witness_policy_invalid", str(exc), status=500) from exc


def witness_policy() -> Policy | None:
    """The configured policy, or None when the ledger has no witnesses."""
    text = policy_text()
    return _parsed(text) if text.strip() else None


def witness_vkey(witness: PolicyWitness) -> str:
    return core.cosigner_vkey(witness.key_name, witness.public_key)


def witness_last_cosigned_size(*, vkey: str, at_most: int) -> int:
    """The largest checkpoint size (up to ``at_most``) this witness cosigned for us; 0 if none."""
    found = WitnessCosignature.objects.filter(witness_vkey=vkey, checkpoint__tree_size__lte=at_most).aggregate(
        size=Max("checkpoint__tree_size")
    )["size"]
    return int(found or 0)


@dataclass(frozen=True)
class CosignedCheckpoint:
    checkpoint: Checkpoint
    note: str
    """The checkpoint's note with every stored cosignature line appended."""
    witnesses: list[tuple[str, str]]
    """(policy name or key name, ISO time of the cosignature) of each cosignature."""
    policy_met: bool


def checkpoint_cosigned(checkpoint: Checkpoint, policy: Policy | None = None) -> CosignedCheckpoint:
    policy = policy if policy is not None else witness_policy()
    names = {witness_vkey(w): name for name, w in policy.witnesses.items()} if policy else {}
    cosignatures = list(checkpoint.cosignatures.order_by("key_name", "witness_vkey"))
    note = checkpoint.note + "".join(c.line for c in cosignatures)
    witnesses = [(names.get(c.witness_vkey, c.key_name), c.cosigned_at.isoformat()) for c in cosignatures]
    cosigned_by = {names[c.witness_vkey] for c in cosignatures if c.witness_vkey in names}
    met = policy is not None and policy.satisfied_by(cosigned_by)
    return CosignedCheckpoint(checkpoint, note, witnesses, met)


def checkpoint_witnessed_latest() -> CosignedCheckpoint | None:
    """The newest checkpoint whose cosignatures meet the policy (among the newest few), if any."""
    policy = witness_policy()
    if policy is None:
        return None
    candidates = Checkpoint.objects.order_by("-tree_size")
    if policy.quorum != "none":
        candidates = candidates.filter(cosignatures__isnull=False).distinct()
    for checkpoint in candidates[:WITNESSED_SEARCH_DEPTH]:
        cosigned = checkpoint_cosigned(checkpoint, policy)
        if cosigned.policy_met:
            return cosigned
    return None
