"""Every lifecycle operation, and which one an event document or a typed input is."""

from __future__ import annotations

from traceability.errors import ApplicationError
from traceability.operations import (
    battery_grading,
    battery_recycling,
    black_mass_refining,
    custody_transfer,
    die_casting,
    dismantling,
    material_receipt,
    molten_transfer,
    recycled_content_claim,
    remelting,
    repurposing,
    scrap_sorting,
    vehicle_intake,
)
from traceability.operations.definition import OperationDefinition
from traceability.operations.epcis import OPERATION_FIELD

OPERATIONS: tuple[OperationDefinition, ...] = (
    vehicle_intake.OPERATION,
    material_receipt.OPERATION,
    dismantling.OPERATION,
    battery_grading.OPERATION,
    repurposing.OPERATION,
    battery_recycling.OPERATION,
    black_mass_refining.OPERATION,
    scrap_sorting.OPERATION,
    remelting.OPERATION,
    molten_transfer.OPERATION,
    die_casting.OPERATION,
    custody_transfer.OPERATION,
    recycled_content_claim.OPERATION,
)
BY_NAME: dict[str, OperationDefinition] = {operation.name.value: operation for operation in OPERATIONS}
BY_INPUT_TYPE: dict[type, OperationDefinition] = {operation.input_type: operation for operation in OPERATIONS}


def operation_for(document: dict[str, object]) -> OperationDefinition:
    name = document.get(OPERATION_FIELD)
    operation = BY_NAME.get(str(name))
    if operation is None:
        raise ApplicationError("operation_unknown", f"unknown {OPERATION_FIELD} {name!r}; known: {sorted(BY_NAME)}")
    return operation
