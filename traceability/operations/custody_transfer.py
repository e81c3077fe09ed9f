"""Custody transfer: objects are shipped to another organisation, who becomes their custodian."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from traceability.choices import MATERIAL_HOLDING_ROLES, Operation
from traceability.errors import ApplicationError
from traceability.identifiers import validate_uri
from traceability.models import Organisation, Site
from traceability.operations import documents, epcis, rules
from traceability.operations.definition import OperationDefinition
from traceability.operations.effects import Effects
from traceability.operations.inputs import LotIn


@dataclass(frozen=True, kw_only=True)
class CustodyTransferInput:
    site: Site
    items: Sequence[str]
    lots: Sequence[LotIn]
    receiver: Organisation
    event_time: datetime | None = None


def build(organisation: Organisation, data: CustodyTransferInput) -> dict[str, object]:
    fields: dict[str, object] = {}
    if data.items:
        fields["epcList"] = [validate_uri(i) for i in data.items]
    if data.lots:
        fields["quantityList"] = documents.lot_inputs(data.lots)
    return documents.event(
        "TransactionEvent",
        Operation.CUSTODY_TRANSFER,
        site=data.site,
        event_time=data.event_time,
        action="ADD",
        bizStep="shipping",
        disposition="in_transit",
        bizTransactionList=[
            {"type": "desadv", "bizTransaction": f"urn:looptrace:desadv:{timezone.now():%Y%m%d%H%M%S%f}"}
        ],
        sourceList=[{"type": "owning_party", "source": epcis.party_uri(organisation)}],
        destinationList=[{"type": "owning_party", "destination": epcis.party_uri(data.receiver)}],
        **fields,
    )


def parse(document: dict[str, object]) -> Effects:
    items = epcis.read_list(document, "epcList") + [i for i, _ in epcis.read_quantities(document, "quantityList")]
    destinations = [d for d in document.get("destinationList") or [] if isinstance(d, dict)]
    owners = [d.get("destination") for d in destinations if str(d.get("type", "")).endswith("owning_party")]
    if not items or len(owners) != 1:
        raise ApplicationError("document_malformed", "a transfer ships objects to one owning party")
    return documents.effects(document, moved=items, new_custodian=epcis.parse_party(owners[0]))


OPERATION = OperationDefinition(
    name=Operation.CUSTODY_TRANSFER,
    roles=MATERIAL_HOLDING_ROLES,
    input_type=CustodyTransferInput,
    build=build,
    parse=parse,
    rules=(rules.touched_objects_usable, rules.new_custodian_known, rules.custody_goes_to_a_holder),
)
