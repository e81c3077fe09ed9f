"""Writes of witnessing: ask each configured witness to cosign a checkpoint, keep what it signs.

For each witness of the policy that has not cosigned the checkpoint yet, ``add-checkpoint`` is
sent with a consistency proof from the size that witness last cosigned for us. A 409 names the
size the witness really holds (a fresh witness, or one whose answer we lost): the request is
sent again once with a proof from there. A witness that cannot be reached, or answers 5xx, is
left for a later attempt; one that refuses (a fork, a bad signature) is logged and not asked
again for this checkpoint: asking again would give the same answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from traceability import selectors as ledger
from traceability.ledger import witness as core
from traceability.ledger.errors import LedgerError
from traceability.ledger.witness import PolicyWitness
from traceability.models import Checkpoint, WitnessCosignature
from traceability.witnessing.selectors import witness_last_cosigned_size, witness_policy, witness_vkey

logger = logging.getLogger(__name__)

# A 409 is followed by one more request from the size the witness named; a second 409 means
# the witness moved on meanwhile, which the next attempt sorts out.
CONFLICT_ROUNDS = 2
MAX_ANSWER_BYTES = 64 * 1024
# Cosignatures dated further ahead than this are refused (tlog-cosignature allows it): clocks drift.
FUTURE_TOLERANCE_SECONDS = 3600


@dataclass
class WitnessingOutcome:
    cosigned: list[str] = field(default_factory=list)
    """Policy names of the witnesses that cosign the checkpoint (now or before)."""
    unreachable: list[str] = field(default_factory=list)
    """Witnesses to ask again later: down, timing out, or answering 5xx."""
    refused: dict[str, str] = field(default_factory=dict)
    """Witnesses that refused, with their reason: a fork, a bad signature, a newer checkpoint held."""


def checkpoint_witness(*, checkpoint_id: int, client: httpx.Client | None = None) -> WitnessingOutcome:
    """Send checkpoint ``checkpoint_id`` to every witness of the policy that has not cosigned it."""
    outcome = WitnessingOutcome()
    policy = witness_policy()
    checkpoint = Checkpoint.objects.get(pk=checkpoint_id)
    if policy is None:
        return outcome
    done = set(checkpoint.cosignatures.values_list("witness_vkey", flat=True))
    owned = client is None
    client = client or httpx.Client(timeout=settings.LEDGER_WITNESS_TIMEOUT_SECONDS)
    try:
        for name, witness in policy.witnesses.items():
            if witness_vkey(witness) in done:
                outcome.cosigned.append(name)
                continue
            if not witness.url:
                outcome.refused[name] = "the policy gives no URL for this witness"
                continue
            _ask(client, checkpoint, name, witness, outcome)
    finally:
        if owned:
            client.close()
    return outcome


def _ask(
    client: httpx.Client, checkpoint: Checkpoint, name: str, witness: PolicyWitness, outcome: WitnessingOutcome
) -> None:
    vkey = witness_vkey(witness)
    old = witness_last_cosigned_size(vkey=vkey, at_most=checkpoint.tree_size)
    url = witness.url.rstrip("/") + "/add-checkpoint"
    for _round in range(CONFLICT_ROUNDS):
        proof = ledger.consistency_proof(first=old, second=checkpoint.tree_size) if 0 < old else []
        body = core.add_checkpoint_body(old, proof, checkpoint.note)
        try:
            response = client.post(url, content=body, headers={"Content-Type": "text/plain"})
        except httpx.HTTPError as exc:
            logger.warning("witness %s unreachable: %s", name, exc)
            outcome.unreachable.append(name)
            return
        if response.status_code == 200:
            _store(checkpoint, name, witness, vkey, response.content, outcome)
            return
        if response.status_code == 409:
            known = _known_size(response)
            if known is None or known > checkpoint.tree_size:
                outcome.refused[name] = f"the witness holds size {known}, beyond this checkpoint"
                return
            old = known
            continue
        if response.status_code >= 500:
            outcome.unreachable.append(name)
            return
        reason = response.text[:500].strip()
        logger.error(
            "witness %s refused checkpoint %s (%s): %s", name, checkpoint.tree_size, response.status_code, reason
        )
        outcome.refused[name] = f"{response.status_code}: {reason}"
        return
    outcome.unreachable.append(name)


def _known_size(response: httpx.Response) -> int | None:
    text = response.text
    if not text.endswith("\n") or not text[:-1].isdigit() or len(text) > 21:
        return None
    return int(text[:-1])


def _store(
    checkpoint: Checkpoint, name: str, witness: PolicyWitness, vkey: str, answer: bytes, outcome: WitnessingOutcome
) -> None:
    """Keep the witness's line once it verifies with the policy's key; ignore other keys' lines."""
    if len(answer) > MAX_ANSWER_BYTES:
        outcome.refused[name] = "the answer is too large"
        return
    try:
        line, timestamp = core.cosignature_from_answer(checkpoint.note, answer, witness.key_name, witness.public_key)
    except LedgerError as exc:
        logger.error("witness %s answered a cosignature that does not verify: %s", name, exc)
        outcome.refused[name] = str(exc)
        return
    if timestamp > timezone.now().timestamp() + FUTURE_TOLERANCE_SECONDS:
        outcome.refused[name] = f"the cosignature's time {timestamp} is in the future"
        return
    try:
        with transaction.atomic():
            WitnessCosignature.objects.create(
                checkpoint=checkpoint,
                witness_vkey=vkey,
                key_name=witness.key_name,
                line=line,
                cosigned_at=datetime.fromtimestamp(timestamp, tz=UTC),
                received_at=timezone.now(),
            )
    except IntegrityError:
        pass  # another attempt stored this witness's cosignature first
    outcome.cosigned.append(name)
