"""Repurposing (second life): the battery continues under a new identity linked to the old one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from traceability.choices import BATTERY_KINDS, ObjectStatus, Operation, OrganisationRole
from traceability.identifiers import validate_uri
from traceability.models import Organisation, Site
from traceability.operations import documents, epcis, rules
from traceability.operations.definition import OperationDefinition
from traceability.operations.effects import Consumption, Effects, Flow
from traceability.operations.inputs import BatteryOut


@dataclass(frozen=True, kw_only=True)
class RepurposingInput:
    site: Site
    battery: str
    new_battery: BatteryOut
    application: str
    event_time: datetime | None = None


def build(organisation: Organisation, data: RepurposingInput) -> dict[str, object]:
    uri, facts = documents.battery(data.new_battery)
    facts["application"] = data.application
    facts["previousIdentity"] = data.battery
    return documents.event(
        "ObjectEvent",
        Operation.REPURPOSING,
        site=data.site,
        event_time=data.event_time,
        epcList=[uri],
        action="ADD",
        bizStep="repairing",
        disposition="active",
        **{"lt:previousIdentity": validate_uri(data.battery), "lt:objects": {uri: facts}},
    )


def parse(document: dict[str, object]) -> Effects:
    previous = validate_uri(str(document.get("lt:previousIdentity", "")))
    (new,) = documents.new_objects(document, epcis.read_list(document, "epcList"), kinds=frozenset(BATTERY_KINDS))
    return documents.effects(
        document,
        inputs=[Consumption(previous)],
        outputs=[new],
        input_end_status=ObjectStatus.REPURPOSED,
        homogeneous=False,
        flows=[Flow(previous, new.identifier, new.kg)],
    )


OPERATION = OperationDefinition(
    name=Operation.REPURPOSING,
    roles=frozenset({OrganisationRole.BATTERY_RECYCLER, OrganisationRole.BATTERY_MAKER, OrganisationRole.DISMANTLER}),
    input_type=RepurposingInput,
    build=build,
    parse=parse,
    rules=(rules.outputs_are_new, rules.touched_objects_usable, rules.inputs_available),
)
