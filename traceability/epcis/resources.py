"""Reads behind the EPCIS top-level resources: the distinct event types, EPCs, business steps,
locations, read points and dispositions among the events an organisation may see.

A page of values costs one short index scan per value (``ORDER BY column LIMIT 1`` after the
last value served), not a pass over every event: the loose index scan PostgreSQL does not do by
itself. Fields outside an event's outline count only in the events whose documents the caller
reads, as in queries.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass

from django.db.models import QuerySet

from traceability import visibility
from traceability.epcis.core.fields import canonical_id
from traceability.epcis.core.vocabulary import full_uri
from traceability.epcis.selectors import _named_to, epcis_events_visible_to
from traceability.errors import ApplicationError
from traceability.models import EpcisEvent, EpcisEventEpc, Organisation

DEFAULT_PER_PAGE = 30
# Values one page lists at most: each costs one index probe.
MAX_PER_PAGE = 100
# Resource -> the events query parameter its ``/{value}/events`` sets.
RESOURCE_FILTERS = {
    "eventTypes": "eventType",
    "epcs": "MATCH_anyEPC",
    "bizSteps": "EQ_bizStep",
    "bizLocations": "EQ_bizLocation",
    "readPoints": "EQ_readPoint",
    "dispositions": "EQ_disposition",
}
# Resource -> (index column, whether the outline keeps it, vocabulary of bare words).
EVENT_COLUMNS = {
    "eventTypes": ("event_type", True, None),
    "bizSteps": ("biz_step", True, "bizStep"),
    "bizLocations": ("biz_location", False, None),
    "readPoints": ("read_point", False, None),
    "dispositions": ("disposition", False, "disposition"),
}
EPC_ROLES = ("epc", "child", "parent", "input", "output")


@dataclass(frozen=True)
class ValuePage:
    values: list[str]
    next_token: str | None


def _parameter_error(name: str, message: str) -> ApplicationError:
    return ApplicationError("query_parameter_invalid", f"{name}: {message}", extra={"parameter": name})


def _per_page(params: Mapping[str, str]) -> int:
    try:
        value = int(params.get("perPage", DEFAULT_PER_PAGE))
    except ValueError as exc:
        raise _parameter_error("perPage", "must be a whole number") from exc
    if value < 1:
        raise _parameter_error("perPage", "must be at least 1")
    return min(value, MAX_PER_PAGE)


def _after(params: Mapping[str, str]) -> str | None:
    if "nextPageToken" not in params:
        return None
    try:
        token = params["nextPageToken"].encode("ascii")
        return base64.b64decode(token + b"=" * (-len(token) % 4), altchars=b"-_", validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeError) as exc:
        raise _parameter_error("nextPageToken", "not a token this server issued") from exc


def _rows(organisation: Organisation, resource: str) -> tuple[QuerySet[EpcisEvent] | QuerySet[EpcisEventEpc], str]:
    if resource == "epcs":
        return _named_to(organisation).filter(role__in=EPC_ROLES), "value"
    column, outlined, _ = EVENT_COLUMNS[resource]
    events = epcis_events_visible_to(organisation=organisation)
    if not outlined:
        events = events.filter(visibility.documents_readable_by(organisation=organisation))
    return events, column


def resource_values(*, organisation: Organisation, resource: str, params: Mapping[str, str]) -> ValuePage:
    """One page of the distinct values of ``resource`` among the events the organisation may see."""
    per_page = _per_page(params)
    current = _after(params)
    rows, column = _rows(organisation, resource)
    rows = rows.exclude(**{column: ""})
    values: list[str] = []
    for _ in range(per_page + 1):
        following = rows.filter(**{f"{column}__gt": current}) if current is not None else rows
        value = following.order_by(column).values_list(column, flat=True).first()
        if value is None:
            break
        values.append(value)
        current = value
    if len(values) <= per_page:
        return ValuePage(values=values, next_token=None)
    last = values[per_page - 1]
    token = base64.urlsafe_b64encode(last.encode("utf-8")).decode("ascii").rstrip("=")
    return ValuePage(values=values[:per_page], next_token=token)


def resource_value_get(*, organisation: Organisation, resource: str, value: str) -> str:
    """The value as stored, when an event the organisation may see has it; else a 404."""
    rows, column = _rows(organisation, resource)
    if resource == "epcs":
        found = rows.filter(canonical=canonical_id(value)).values_list("value", flat=True).first()
    else:
        vocabulary = EVENT_COLUMNS[resource][2]
        stored = full_uri(vocabulary, value) if vocabulary else value
        found = rows.filter(**{column: stored}).values_list(column, flat=True).first()
    if found is None:
        # The value is not echoed: an answer never carries an identifier its reader may not see.
        raise ApplicationError(
            "resource_not_found", f"no such {resource} value among the events you may see", status=404
        )
    return found
