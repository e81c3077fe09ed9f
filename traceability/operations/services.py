"""Recording a lifecycle operation: build its EPCIS 2.0 event from a typed input and append it.

``operation_record`` is the one service the API, the web forms, the demo and the benchmarks
call. It writes exactly one ledger entry, signed custodially for the organisation, and
returns the ``EventRecord`` the projection made of it. Every rule (the recorder's role,
the site, the operation's own rules) runs once, inside the append (see ``engine``): when
one fails, nothing is stored.

The keyword services below (``remelting(organisation=..., site=..., ...)``) fill in the
operation's input type and record it, for callers that hold the fields one by one.
"""

from __future__ import annotations

from typing import Any

from traceability.choices import Operation
from traceability.errors import ApplicationError
from traceability.events import ledger_append
from traceability.models import EventRecord, Organisation
from traceability.operations.battery_grading import BatteryGradingInput
from traceability.operations.battery_recycling import BatteryRecyclingInput
from traceability.operations.black_mass_refining import BlackMassRefiningInput
from traceability.operations.custody_transfer import CustodyTransferInput
from traceability.operations.die_casting import DieCastingInput
from traceability.operations.dismantling import DismantlingInput
from traceability.operations.inputs import BatteryOut, LotIn, LotOut, PartOut
from traceability.operations.material_receipt import MaterialReceiptInput
from traceability.operations.molten_transfer import MoltenTransferInput
from traceability.operations.registry import BY_INPUT_TYPE, BY_NAME
from traceability.operations.remelting import RemeltingInput
from traceability.operations.repurposing import RepurposingInput
from traceability.operations.scrap_sorting import ScrapSortingInput
from traceability.operations.vehicle_intake import VehicleIntakeInput

__all__ = ["BatteryOut", "LotIn", "LotOut", "PartOut", "operation_authorise", "operation_record"]


def operation_record(*, organisation: Organisation, data: object) -> EventRecord:
    """Record the operation whose input ``data`` is (one of the operations' ``*Input`` types)."""
    operation = BY_INPUT_TYPE[type(data)]
    entry = ledger_append(organisation=organisation, document=operation.build(organisation, data))
    # The projection created the record in the same transaction and cached it on the entry.
    return entry.event_record


def operation_authorise(*, organisation: Organisation, operation: Operation) -> None:
    """Refuse a caller whose role never records ``operation`` before reading what it sent."""
    roles = BY_NAME[operation].roles
    if organisation.role not in roles:
        name = operation.replace("_", "-")
        raise ApplicationError("role_not_allowed", f"{name} is recorded by {', '.join(sorted(roles))}", status=403)


def vehicle_intake(*, organisation: Organisation, **fields: Any) -> EventRecord:
    return operation_record(organisation=organisation, data=VehicleIntakeInput(**fields))


def material_receipt(*, organisation: Organisation, **fields: Any) -> EventRecord:
    return operation_record(organisation=organisation, data=MaterialReceiptInput(**fields))


def dismantling(*, organisation: Organisation, **fields: Any) -> EventRecord:
    return operation_record(organisation=organisation, data=DismantlingInput(**fields))


def battery_grading(*, organisation: Organisation, **fields: Any) -> EventRecord:
    return operation_record(organisation=organisation, data=BatteryGradingInput(**fields))


def repurposing(*, organisation: Organisation, **fields: Any) -> EventRecord:
    return operation_record(organisation=organisation, data=RepurposingInput(**fields))


def battery_recycling(*, organisation: Organisation, **fields: Any) -> EventRecord:
    return operation_record(organisation=organisation, data=BatteryRecyclingInput(**fields))


def black_mass_refining(*, organisation: Organisation, **fields: Any) -> EventRecord:
    return operation_record(organisation=organisation, data=BlackMassRefiningInput(**fields))


def scrap_sorting(*, organisation: Organisation, **fields: Any) -> EventRecord:
    return operation_record(organisation=organisation, data=ScrapSortingInput(**fields))


def remelting(*, organisation: Organisation, **fields: Any) -> EventRecord:
    return operation_record(organisation=organisation, data=RemeltingInput(**fields))


def molten_transfer(*, organisation: Organisation, **fields: Any) -> EventRecord:
    return operation_record(organisation=organisation, data=MoltenTransferInput(**fields))


def die_casting(*, organisation: Organisation, **fields: Any) -> EventRecord:
    return operation_record(organisation=organisation, data=DieCastingInput(**fields))


def custody_transfer(*, organisation: Organisation, **fields: Any) -> EventRecord:
    return operation_record(organisation=organisation, data=CustodyTransferInput(**fields))
