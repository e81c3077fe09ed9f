"""The fields of an EPCIS event that queries filter on, in comparable form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from traceability.epcis.core.hashing import EventHashError, event_hash, is_event_hash
from traceability.epcis.core.identifiers import canonical_digital_link
from traceability.epcis.core.vocabulary import full_uri
from traceability.moments import MomentError, parse_moment

# Event field -> index role of the identifiers it lists.
EPC_ROLES = (
    ("epcList", "epc"),
    ("childEPCs", "child"),
    ("inputEPCList", "input"),
    ("outputEPCList", "output"),
)
QUANTITY_ROLES = (
    ("quantityList", "quantity"),
    ("childQuantityList", "child_quantity"),
    ("inputQuantityList", "input_quantity"),
    ("outputQuantityList", "output_quantity"),
)
MAX_VALUE = 500


@dataclass(frozen=True)
class IndexedEvent:
    event_hash: str
    event_id: str
    event_type: str
    event_time: datetime
    action: str
    biz_step: str
    disposition: str
    read_point: str
    biz_location: str
    transformation_id: str
    epcs: tuple[tuple[str, str, str], ...]  # (role, value, canonical)
    error_declaration: bool = False  # the event declares the event of the same hash erroneous


def canonical_id(value: str) -> str:
    """An identifier as queries compare it: its canonical Digital Link when it is a GS1 key."""
    return canonical_digital_link(value) or value


def named_identifiers(event: Mapping[str, object]) -> list[str]:
    """Every object identifier an event names: its EPC lists, parent and quantity classes, as written."""
    values = [v for field, _ in EPC_ROLES for v in (event.get(field) or []) if isinstance(v, str)]
    if isinstance(event.get("parentID"), str):
        values.append(str(event["parentID"]))
    for field, _ in QUANTITY_ROLES:
        for item in event.get(field) or []:
            if isinstance(item, dict) and isinstance(item.get("epcClass"), str):
                values.append(item["epcClass"])
    return values


def _location(value: object) -> str:
    return str(value.get("id", ""))[:MAX_VALUE] if isinstance(value, dict) else ""


def parse_time(text: object) -> datetime:
    try:
        return parse_moment(str(text))
    except MomentError as exc:
        raise EventHashError(str(exc)) from exc


def index_event(
    event: Mapping[str, object], *, context: object = None, computed_hash: str | None = None
) -> IndexedEvent:
    """What the query index keeps of one event (``computed_hash`` when the caller already has it)."""
    digest = computed_hash or event_hash(event, context=context)
    event_id = event.get("eventID")
    epcs: list[tuple[str, str, str]] = []
    for field, role in EPC_ROLES:
        values = event.get(field) or []
        epcs += [(role, str(v)[:MAX_VALUE], canonical_id(str(v))[:MAX_VALUE]) for v in values if isinstance(v, str)]
    if isinstance(event.get("parentID"), str):
        parent = str(event["parentID"])
        epcs.append(("parent", parent[:MAX_VALUE], canonical_id(parent)[:MAX_VALUE]))
    for field, role in QUANTITY_ROLES:
        for item in event.get(field) or []:
            if isinstance(item, dict) and isinstance(item.get("epcClass"), str):
                value = item["epcClass"]
                epcs.append((role, value[:MAX_VALUE], canonical_id(value)[:MAX_VALUE]))
    return IndexedEvent(
        event_hash=digest,
        event_id=str(event_id)[:MAX_VALUE] if isinstance(event_id, str) and event_id else digest,
        event_type=str(event.get("type", ""))[:200],
        event_time=parse_time(event.get("eventTime")),
        action=str(event.get("action", ""))[:10],
        biz_step=full_uri("bizStep", str(event["bizStep"]))[:MAX_VALUE] if event.get("bizStep") else "",
        disposition=full_uri("disposition", str(event["disposition"]))[:MAX_VALUE] if event.get("disposition") else "",
        read_point=_location(event.get("readPoint")),
        biz_location=_location(event.get("bizLocation")),
        transformation_id=str(event.get("transformationID", ""))[:MAX_VALUE],
        epcs=tuple(epcs),
        error_declaration=declares_error(event),
    )


def declares_error(event: Mapping[str, object]) -> bool:
    """Whether an event is an error declaration (its hash is the declared event's)."""
    return isinstance(event.get("errorDeclaration"), dict)


__all__ = [
    "IndexedEvent",
    "canonical_id",
    "declares_error",
    "index_event",
    "is_event_hash",
    "named_identifiers",
    "parse_time",
]
