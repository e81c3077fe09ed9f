"""Recording a lifecycle operation: build its EPCIS 2.0 event from a typed input and append it.

``operation_record`` is the one service the API, the web forms, the demo and the benchmarks
call. It writes exactly one ledger entry, signed custodially for the organisation, and
returns the ``EventRecord`` the projection made of it. Every rule runs once: the recorder's
role here, the site and the operation's own rules inside the append (see ``engine``, which
checks the role too for events that arrive as documents); when one fails, nothing is stored.

The keyword services below (``remelting(organisation=..., site=..., ...)``) fill in the
operation's input type and record it, for callers that hold the fields one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from traceability.choices import Operation
from traceability.events import ledger_append
from traceability.models import EventRecord, Organisation
from traceability.operations import rules
from traceability.operations.battery_grading import BatteryGradingInput
from traceability.operations.battery_recycling import BatteryRecyclingInput
from traceability.operations.black_mass_refining import BlackMassRefiningInput
from traceability.operations.custody_transfer import CustodyTransferInput
from traceability.operations.die_casting import DieCastingInput
from traceability.operations.dismantling import DismantlingInput
from traceability.operations.inputs import BatteryOut, Energy, LotIn, LotOut, PartOut
from traceability.operations.material_receipt import MaterialReceiptInput
from traceability.operations.molten_transfer import MoltenTransferInput
from traceability.operations.projector import RECORDER_AUTHORISED
from traceability.operations.recycled_content_claim import RecycledContentClaimInput
from traceability.operations.registry import BY_INPUT_TYPE, BY_NAME
from traceability.operations.remelting import RemeltingInput
from traceability.operations.repurposing import RepurposingInput
from traceability.operations.scrap_sorting import ScrapSortingInput
from traceability.operations.vehicle_intake import VehicleIntakeInput

__all__ = [
    "Authorisation",
    "BatteryOut",
    "Energy",
    "LotIn",
    "LotOut",
    "PartOut",
    "operation_authorise",
    "operation_record",
]


@dataclass(frozen=True, slots=True)
class Authorisation:
    """What ``operation_authorise`` grants: this organisation may record this operation."""

    organisation_id: int
    operation: Operation


def operation_authorise(*, organisation: Organisation, operation: Operation) -> Authorisation:
    """Refuse a caller whose role never records ``operation`` (the API asks before reading the body)."""
    rules.recorder_role_allowed(operation, organisation.role, BY_NAME[operation].roles)
    return Authorisation(organisation_id=organisation.pk, operation=operation)


def operation_record(
    *, organisation: Organisation, data: object, authorisation: Authorisation | None = None
) -> EventRecord:
    """Record the operation whose input ``data`` is (one of the operations' ``*Input`` types).

    The recorder's role is checked once: here, unless ``authorisation`` shows it was already,
    and the engine is told so; every other rule runs in the engine, inside the append.
    """
    operation = BY_INPUT_TYPE[type(data)]
    if authorisation != Authorisation(organisation_id=organisation.pk, operation=operation.name):
        operation_authorise(organisation=organisation, operation=operation.name)
    entry = ledger_append(
        organisation=organisation,
        document=operation.build(organisation, data),
        annotations={RECORDER_AUTHORISED: True},
    )
    # The projection created the record in the same transaction and cached it on the entry.
    return entry.event_record


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


def recycled_content_claim(*, organisation: Organisation, **fields: Any) -> EventRecord:
    return operation_record(organisation=organisation, data=RecycledContentClaimInput(**fields))
