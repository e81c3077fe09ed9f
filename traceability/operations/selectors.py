"""Reads of the operations: each event's mass balance, as its rule judges it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from traceability.models import EventRecord, TraceableObject
from traceability.operations.engine import mass_balance_tolerance
from traceability.operations.registry import OPERATIONS
from traceability.operations.rules import mass_balance_holds, mass_balanced

# Transformations whose inputs must equal outputs plus declared losses (their rules say so).
BALANCED_OPERATIONS = frozenset(operation.name for operation in OPERATIONS if mass_balanced in operation.rules)


@dataclass
class Balance:
    event: EventRecord
    inputs: list[tuple[TraceableObject, Decimal]]
    outputs: list[TraceableObject]
    losses: dict[str, Decimal]
    balanced: bool  # the engine requires inputs = outputs + losses for this operation
    inputs_kg: Decimal = Decimal(0)
    outputs_kg: Decimal = Decimal(0)
    losses_kg: Decimal = Decimal(0)
    difference_kg: Decimal = Decimal(0)
    within_tolerance: bool = True


def lot_history(*, lot: TraceableObject) -> list[Balance]:
    """Every event about the object, oldest first, with the mass that went in, out and was lost.

    Three queries: the events, the objects they consumed, the objects they made."""
    events = list(EventRecord.objects.filter(involved=lot).select_related("entry", "site").order_by("entry_id"))
    consumed_ids = {int(pk) for event in events for pk in event.consumed}
    consumed = TraceableObject.objects.in_bulk(consumed_ids) if consumed_ids else {}
    seqs = [event.entry_id for event in events]
    made: dict[int, list[TraceableObject]] = {}
    for obj in TraceableObject.objects.filter(created_seq__in=seqs).order_by("pk"):
        made.setdefault(obj.created_seq, []).append(obj)
    tolerance = mass_balance_tolerance()
    history = []
    for event in events:
        document = json.loads(event.entry.document)
        losses = {str(k): Decimal(str(v)) for k, v in (document.get("lt:lossesKg") or {}).items()}
        inputs = [(consumed[int(pk)], Decimal(kg)) for pk, kg in event.consumed.items() if int(pk) in consumed]
        outputs = made.get(event.entry_id, [])
        balance = Balance(event, inputs, outputs, losses, event.operation in BALANCED_OPERATIONS)
        balance.inputs_kg = sum((kg for _, kg in inputs), Decimal(0))
        balance.outputs_kg = sum((o.initial_kg for o in outputs), Decimal(0))
        balance.losses_kg = sum(losses.values(), Decimal(0))
        balance.difference_kg = balance.inputs_kg - balance.outputs_kg - balance.losses_kg
        balance.within_tolerance = mass_balance_holds(
            inputs_kg=balance.inputs_kg,
            outputs_kg=balance.outputs_kg,
            losses_kg=balance.losses_kg,
            tolerance=tolerance,
        )
        history.append(balance)
    return history
