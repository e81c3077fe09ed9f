"""Battery grading: a removed battery is tested and routed to second life or to recycling."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from traceability.choices import Operation, OrganisationRole
from traceability.errors import ApplicationError
from traceability.identifiers import validate_uri
from traceability.models import Organisation, Site
from traceability.operations import documents, epcis, rules
from traceability.operations.definition import OperationDefinition
from traceability.operations.effects import Effects

ROUTES = frozenset({"second_life", "recycling"})


@dataclass(frozen=True, kw_only=True)
class BatteryGradingInput:
    site: Site
    battery: str
    state_of_health_pct: Decimal
    capacity_kwh: Decimal
    route: str
    event_time: datetime | None = None


def build(organisation: Organisation, data: BatteryGradingInput) -> dict[str, object]:
    moment = epcis.event_time_text(data.event_time or timezone.now())
    reports = [
        {"type": "lt:StateOfHealth", "value": float(data.state_of_health_pct), "uom": "P1"},
        {"type": "lt:Capacity", "value": float(data.capacity_kwh), "uom": "KWH"},
    ]
    return documents.event(
        "ObjectEvent",
        Operation.BATTERY_GRADING,
        site=data.site,
        event_time=data.event_time,
        epcList=[validate_uri(data.battery)],
        action="OBSERVE",
        bizStep="inspecting",
        sensorElementList=[{"sensorMetadata": {"time": moment}, "sensorReport": reports}],
        **{"lt:route": data.route},
    )


def parse(document: dict[str, object]) -> Effects:
    (battery,) = epcis.read_list(document, "epcList") or [None]
    if battery is None:
        raise ApplicationError("document_malformed", "grading observes one battery")
    readings: dict[str, object] = {}
    for element in document.get("sensorElementList") or []:
        for report in element.get("sensorReport", []) if isinstance(element, dict) else []:
            if report.get("type") == "lt:StateOfHealth":
                readings["stateOfHealthPct"] = float(report["value"])
            elif report.get("type") == "lt:Capacity":
                readings["capacityKWh"] = float(report["value"])
    route = document.get("lt:route")
    if route not in ROUTES:
        raise ApplicationError("route_invalid", "lt:route must be second_life or recycling")
    if not 0 <= float(readings.get("stateOfHealthPct", -1)) <= 100:
        raise ApplicationError("state_of_health_invalid", "state of health is a percentage between 0 and 100")
    readings.update(route=route, gradedAt=document["eventTime"])
    return documents.effects(document, observed={battery: readings})


OPERATION = OperationDefinition(
    name=Operation.BATTERY_GRADING,
    roles=frozenset({OrganisationRole.DISMANTLER, OrganisationRole.BATTERY_RECYCLER, OrganisationRole.BATTERY_MAKER}),
    input_type=BatteryGradingInput,
    build=build,
    parse=parse,
    rules=(rules.touched_objects_usable,),
)
