"""EPCIS 2.0 queries over the ledger's events, and EPCIS documents of them."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from traceability import visibility
from traceability.epcis import query_fields
from traceability.epcis.core.fields import canonical_id
from traceability.epcis.core.vocabulary import full_uri
from traceability.errors import ApplicationError
from traceability.models import EpcisEvent, EpcisEventEpc, Organisation
from traceability.moments import MomentError, parse_moment
from traceability.operations.epcis import EPCIS_CONTEXT
from traceability.paging import page_size

# EPCIS 2.0's default perPage; a larger one is clamped to the platform's page cap.
DEFAULT_PER_PAGE = 30
SCHEMA_VERSION = "2.0"

# MATCH_ parameters: the roles of the identifiers each one searches.
MATCH_ROLES = {
    "MATCH_epc": ("epc", "child"),
    "MATCH_parentID": ("parent",),
    "MATCH_inputEPC": ("input",),
    "MATCH_outputEPC": ("output",),
    "MATCH_anyEPC": ("epc", "child", "parent", "input", "output"),
    "MATCH_epcClass": ("quantity", "child_quantity"),
    "MATCH_inputEPCClass": ("input_quantity",),
    "MATCH_outputEPCClass": ("output_quantity",),
    "MATCH_anyEPCClass": ("quantity", "child_quantity", "input_quantity", "output_quantity"),
}
TIME_FILTERS = {
    "GE_eventTime": "event_time__gte",
    "LT_eventTime": "event_time__lt",
    "GE_recordTime": "record_time__gte",
    "LT_recordTime": "record_time__lt",
}
EQ_FILTERS = {
    "EQ_action": "action",
    "EQ_readPoint": "read_point",
    "EQ_bizLocation": "biz_location",
    "EQ_transformationID": "transformation_id",
}
VOCABULARY_FILTERS = {"EQ_bizStep": ("biz_step", "bizStep"), "EQ_disposition": ("disposition", "disposition")}
PAGING = ("perPage", "nextPageToken", "orderBy", "orderDirection", "eventCountLimit", "maxEventCount")
# orderBy values: the index column each one sorts by (extension fields are not orderable here).
ORDER_FIELDS = {"eventTime": "event_time", "recordTime": "record_time"}
# maxEventCount is checked by counting at most this many events (beyond it the query is too large).
MAX_EVENT_COUNT = 10_000
# EXISTS_ parameters: the index field that says the event has the field.
EXISTS_FILTERS = {"EXISTS_errorDeclaration": "error_declaration"}
# Filterable fields that an event's outline keeps (``visibility.OUTLINE_FIELDS``).
OUTLINED = frozenset({"action", "biz_step"})
SUPPORTED = frozenset(
    {"eventType", "EQ_eventID", *MATCH_ROLES, *TIME_FILTERS, *EQ_FILTERS, *VOCABULARY_FILTERS, *EXISTS_FILTERS, *PAGING}
)


@dataclass(frozen=True)
class EventPage:
    events: list[EpcisEvent]
    next_token: str | None


def _parameter_error(name: str, message: str) -> ApplicationError:
    return ApplicationError("query_parameter_invalid", f"{name}: {message}", extra={"parameter": name})


def epcis_events_visible_to(*, organisation: Organisation) -> QuerySet[EpcisEvent]:
    """Events the organisation captured or recorded, and events about objects it can see."""
    events = EpcisEvent.objects.all()
    if visibility.reads_all(organisation):
        return events
    operations = visibility.events_visible_to(organisation=organisation).values("pk")
    identifiers = visibility.objects_visible_to(organisation=organisation).values("identifier")
    naming = EpcisEventEpc.objects.filter(value__in=identifiers).values("event_id")
    return events.filter(Q(organisation=organisation) | Q(entry_id__in=operations) | Q(entry_id__in=naming))


def _values(params: Mapping[str, str], name: str) -> list[str]:
    values = [v for v in params[name].split("|") if v]
    if not values:
        raise _parameter_error(name, "needs at least one value")
    return values


def _time(name: str, text: str) -> datetime:
    try:
        # A "+" in a query string arrives as a space when the client did not percent-encode it.
        return parse_moment(text.replace(" ", "+"))
    except MomentError as exc:
        raise _parameter_error(name, str(exc)) from exc


def _identifier_condition(values: Iterable[str]) -> Q:
    """Exact identifiers compare in canonical form; EPC pattern URIs (``...idpat...*``) as prefixes."""
    condition = Q()
    for value in values:
        if value.startswith("urn:epc:idpat:") and value.endswith("*"):
            scheme_and_body = value.removeprefix("urn:epc:idpat:").rstrip("*")
            condition |= Q(value__startswith="urn:epc:id:" + scheme_and_body)
            condition |= Q(value__startswith=value.rstrip("*"))
        else:
            condition |= Q(canonical=canonical_id(value))
    return condition


@dataclass(frozen=True)
class _Position:
    """Where the next page starts: the last event served, its sort key, and how many were served."""

    seq: int
    order: str = ""
    key: str = ""
    served: int = 0


def _decode_token(token: str) -> _Position:
    try:
        text = base64.urlsafe_b64decode(token.encode("ascii") + b"==").decode("ascii")
        if text.isdigit():  # a token of ledger order, as earlier versions issued them
            return _Position(seq=int(text))
        data = json.loads(text)
        return _Position(seq=int(data["s"]), order=str(data["o"]), key=str(data["k"]), served=int(data["n"]))
    except (binascii.Error, ValueError, UnicodeError, KeyError, TypeError) as exc:
        raise _parameter_error("nextPageToken", "not a token this server issued") from exc


def _encode_token(position: _Position) -> str:
    if not position.order and not position.served:
        text = str(position.seq)
    else:
        text = json.dumps({"s": position.seq, "o": position.order, "k": position.key, "n": position.served})
    return base64.urlsafe_b64encode(text.encode("ascii")).decode("ascii").rstrip("=")


def _count_parameter(params: Mapping[str, str], name: str) -> int | None:
    if name not in params:
        return None
    try:
        value = int(params[name])
    except ValueError as exc:
        raise _parameter_error(name, "must be a whole number") from exc
    if value < 1:
        raise _parameter_error(name, "must be at least 1")
    return value


def _ordering(params: Mapping[str, str]) -> tuple[str, bool]:
    """The index column to sort by ("" for ledger order) and whether descending."""
    direction = params.get("orderDirection", "DESC")
    if direction not in {"ASC", "DESC"}:
        raise _parameter_error("orderDirection", "must be ASC or DESC")
    if "orderBy" not in params:
        return "", False
    if params["orderBy"] not in ORDER_FIELDS:
        raise _parameter_error(
            "orderBy", f"must be one of {', '.join(ORDER_FIELDS)} (extension fields are not orderable)"
        )
    return ORDER_FIELDS[params["orderBy"]], direction == "DESC"


def ordered_page(events: QuerySet[EpcisEvent], params: Mapping[str, str]) -> EventPage:
    """One page of ``events`` in ``orderBy`` order (ledger order by default), keyset-paged, with
    ``eventCountLimit`` (the first N in that order) and ``maxEventCount`` (more is an error)."""
    per_page = _per_page(params)
    field, descending = _ordering(params)
    limit = _count_parameter(params, "eventCountLimit")
    most = _count_parameter(params, "maxEventCount")
    if limit is not None and most is not None:
        raise _parameter_error("eventCountLimit", "and maxEventCount exclude each other")
    if limit is not None and not field:
        raise _parameter_error("eventCountLimit", "needs orderBy")
    position = _decode_token(params["nextPageToken"]) if "nextPageToken" in params else None
    if position is not None and position.order != (params.get("orderBy", "") and f"{field}:{descending}"):
        raise _parameter_error("nextPageToken", "belongs to another ordering")
    if most is not None and position is None:
        cap = min(most, MAX_EVENT_COUNT)
        if events.order_by()[: cap + 1].count() > cap:
            raise ApplicationError("query_too_large", f"more than {cap} events match (maxEventCount)", status=413)
    if field:
        sign = "-" if descending else ""
        if position is not None:
            key = _time("nextPageToken", position.key)
            beyond = "lt" if descending else "gt"
            events = events.filter(
                Q(**{f"{field}__{beyond}": key}) | Q(**{field: key, f"entry_id__{beyond}": position.seq})
            )
        events = events.order_by(f"{sign}{field}", f"{sign}entry_id")
    else:
        if position is not None:
            events = events.filter(entry_id__gt=position.seq)
        events = events.order_by("entry_id")
    served = position.served if position is not None else 0
    if limit is not None:
        per_page = max(0, min(per_page, limit - served))
    page = list(events.select_related("entry")[: per_page + 1])
    more = len(page) > per_page and (limit is None or served + per_page < limit)
    page = page[:per_page]
    if not more or not page:
        return EventPage(events=page, next_token=None)
    last = page[-1]
    following = _Position(
        seq=last.entry_id,
        order=f"{field}:{descending}" if field else "",
        key=getattr(last, field).isoformat() if field else "",
        served=served + len(page) if limit is not None else 0,
    )
    return EventPage(events=page, next_token=_encode_token(following))


def epcis_events_query(*, organisation: Organisation, params: Mapping[str, str]) -> EventPage:
    """One page of the events matching the EPCIS query parameters, in ledger order (or ``orderBy``)."""
    return ordered_page(epcis_events_matching(organisation=organisation, params=params), params)


def epcis_events_matching(*, organisation: Organisation, params: Mapping[str, str]) -> QuerySet[EpcisEvent]:
    """The events visible to ``organisation`` that match the EPCIS query parameters (paging and order
    aside); a parameter that is unknown or malformed raises ``query_parameter_*`` before anything is read."""
    unknown = sorted(name for name in set(params) - SUPPORTED if not query_fields.is_document_parameter(name))
    if unknown:
        raise ApplicationError(
            "query_parameter_unsupported",
            f"unsupported query parameters: {', '.join(unknown)}",
            extra={"parameters": unknown},
        )
    events = epcis_events_visible_to(organisation=organisation)
    if "eventType" in params:
        events = events.filter(event_type__in=_values(params, "eventType"))
    for name, lookup in TIME_FILTERS.items():
        if name in params:
            events = events.filter(**{lookup: _time(name, params[name])})
    # A field withheld from the outline of an event the caller may not read matches only in the
    # events whose documents it reads, so a query cannot probe what the outline leaves out.
    readable = visibility.documents_readable_by(organisation=organisation)
    for name, field in EQ_FILTERS.items():
        if name in params:
            if field not in OUTLINED:
                events = events.filter(readable)
            events = events.filter(**{f"{field}__in": _values(params, name)})
    for name, (field, vocabulary) in VOCABULARY_FILTERS.items():
        if name in params:
            if field not in OUTLINED:
                events = events.filter(readable)
            events = events.filter(**{f"{field}__in": [full_uri(vocabulary, v) for v in _values(params, name)]})
    for name, field in EXISTS_FILTERS.items():
        if name in params:  # a Void parameter: its value, if any, means nothing
            events = events.filter(readable, **{field: True})
    if "EQ_eventID" in params:
        wanted = _values(params, "EQ_eventID")
        events = events.filter(Q(event_id__in=wanted) | Q(event_hash__in=wanted))
    named = _named_to(organisation)
    for name, roles in MATCH_ROLES.items():
        if name in params:
            matching = named.filter(_identifier_condition(_values(params, name)), role__in=roles)
            events = events.filter(entry_id__in=matching.values("event_id"))
    # The other fields are read from the stored event: only in the events whose documents it reads.
    for name in sorted(set(params) - SUPPORTED):
        values = _values(params, name) if not name.startswith("EXISTS_") else []
        events = query_fields.document_filter(
            events.filter(readable), name=name, params=params, values=values, organisation=organisation
        )
    return events


def _named_to(organisation: Organisation) -> QuerySet[EpcisEventEpc]:
    """The identifiers events name as the caller sees them: every one in the events whose documents
    it reads, and in the outline of the others those of objects it can see."""
    named = EpcisEventEpc.objects.all()
    if visibility.reads_all(organisation):
        return named
    visible = visibility.objects_visible_to(organisation=organisation).values("identifier")
    return named.filter(
        visibility.documents_readable_by(organisation=organisation, recorder="event__organisation")
        | Q(value__in=visible)
    )


def _per_page(params: Mapping[str, str]) -> int:
    if "perPage" not in params:
        return DEFAULT_PER_PAGE
    try:
        value = int(params["perPage"])
    except ValueError as exc:
        raise _parameter_error("perPage", "must be a whole number") from exc
    if value < 1:
        raise _parameter_error("perPage", "must be at least 1")
    # The standard lets the server return fewer than perPage; the cap is stated in the docs.
    return page_size(value)


def epcis_event_get(*, organisation: Organisation, event_id: str) -> EpcisEvent:
    event = (
        epcis_events_visible_to(organisation=organisation)
        .select_related("entry")
        .filter(Q(event_id=event_id) | Q(event_hash=event_id))
        # An event and its error declaration share eventID and hash: the event itself answers.
        .order_by("error_declaration", "entry_id")
        .first()
    )
    if event is None:
        raise ApplicationError("event_not_found", f"no event {event_id} visible to you", status=404)
    return event


# --- documents ----------------------------------------------------------------------------


def _context_items(context: object) -> list[object]:
    return list(context) if isinstance(context, list) else [context] if context is not None else []


def _merge_context(top: list[object], prefixes: dict[str, object], context: object) -> bool:
    """Add an event's @context to the document's; False when a prefix would change meaning."""
    items = _context_items(context)
    for item in items:
        if isinstance(item, dict) and any(k in prefixes and prefixes[k] != v for k, v in item.items()):
            return False
    for item in items:
        if isinstance(item, dict):
            prefixes.update(item)
        elif item not in top:
            top.append(item)
    return True


def _as_read_by(
    events: Iterable[EpcisEvent], reader: Organisation | None
) -> Iterator[tuple[EpcisEvent, dict[str, object]]]:
    """Each event's document, or its outline where ``reader`` (None: the public) may not read it."""
    documents = [(event, json.loads(event.entry.document)) for event in events]
    named = {
        identifier
        for event, document in documents
        if not visibility.may_read_documents_of(reader=reader, owner_id=event.organisation_id)
        for identifier in visibility.event_identifiers(document)
    }
    seen_by = visibility.event_reader(organisation=reader, identifiers=named)
    for event, document in documents:
        yield event, seen_by.document(document, owner_id=event.organisation_id)


def _whole(events: Iterable[EpcisEvent]) -> Iterator[tuple[EpcisEvent, dict[str, object]]]:
    return ((event, json.loads(event.entry.document)) for event in events)


def events_as_documents(
    documents: Iterable[tuple[EpcisEvent, dict[str, object]]],
) -> tuple[list[object], list[dict[str, object]]]:
    """The document-level @context and the events' documents (a copied @context moves to the document)."""
    top: list[object] = [EPCIS_CONTEXT]
    prefixes: dict[str, object] = {}
    rendered = []
    for event, document in documents:
        if event.context_inherited and _merge_context(top, prefixes, document.get("@context")):
            document.pop("@context", None)
        rendered.append(document)
    return top + ([prefixes] if prefixes else []), rendered


def _with_event_id(
    documents: Iterable[tuple[EpcisEvent, dict[str, object]]],
) -> Iterator[tuple[EpcisEvent, dict[str, object]]]:
    """Each event with its eventID: one captured without an eventID is named by its CBV 2.0 hash
    (which ignores eventID), the id ``GET /epcis/events/{eventID}`` finds it by."""
    for event, document in documents:
        if "eventID" in document:
            yield event, document
        else:
            kind = {"type": document["type"]} if "type" in document else {}
            yield event, {**kind, "eventID": event.event_id, **document}


def query_document(events: Iterable[EpcisEvent], *, reader: Organisation | None) -> dict[str, object]:
    """An EPCISQueryDocument holding ``events`` as ``reader`` may see them, each with its eventID."""
    context, rendered = events_as_documents(_with_event_id(_as_read_by(events, reader)))
    return {
        "@context": context,
        "type": "EPCISQueryDocument",
        "schemaVersion": SCHEMA_VERSION,
        "creationDate": timezone.now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "epcisBody": {"queryResults": {"queryName": "SimpleEventQuery", "resultsBody": {"eventList": rendered}}},
    }


def export_document(events: Iterable[EpcisEvent]) -> dict[str, object]:
    """An EPCISDocument holding ``events`` whole: what a partner's EPCIS repository can capture (the
    operator's export command; no reader's view)."""
    context, rendered = events_as_documents(_whole(events))
    return {
        "@context": context,
        "type": "EPCISDocument",
        "schemaVersion": SCHEMA_VERSION,
        "creationDate": timezone.now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "epcisBody": {"eventList": rendered},
    }
