"""Validation against the GS1 EPCIS 2.0 JSON schema (the copy in ``traceability/data/epcis2``).

The schema's ``$ref``s are resolved once into one plain tree (it has no recursion), and
each event is checked against the definition of its own type: the same verdicts as the
whole-document schema at a fraction of the cost of resolving references per event.

Most events are valid, so each is first checked by a compiled validator (``jsonschema-rs``,
a tenth of a pure-Python one's cost); only an event it refuses (or cannot read) is walked by
``jsonschema``, which names every error and has the last word (the compiled one also checks
formats, which the reference validator does not, so it may refuse more but never accepts what
the reference refuses).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema import Draft7Validator

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "data" / "epcis2" / "EPCIS-JSON-Schema.json"
EVENT_TYPES = ("ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent")
DOCUMENT_TYPES = {"EPCISDocument": "epcisDocument", "EPCISQueryDocument": "epcisQueryDocument"}
# Errors reported per document: enough to fix it, bounded for a hostile one.
MAX_ERRORS = 20


@dataclass(frozen=True)
class SchemaError:
    path: str
    message: str


@cache
def _definitions() -> dict[str, Any]:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return dict(schema["definitions"])


def _inline(node: Any, stack: tuple[str, ...] = ()) -> Any:
    if isinstance(node, dict):
        if set(node) == {"$ref"}:
            name = node["$ref"].rsplit("/", 1)[-1].replace("%40", "@")
            if name in stack:
                raise ValueError(f"recursive schema definition {name}")
            return _inline(_definitions()[name], (*stack, name))
        return {key: _inline(value, stack) for key, value in node.items() if key != "definitions"}
    if isinstance(node, list):
        return [_inline(value, stack) for value in node]
    return node


@cache
def _validator(definition: str) -> Draft7Validator:
    return Draft7Validator(_inline(_definitions()[definition], (definition,)))


@cache
def _compiled(definition: str) -> jsonschema_rs.Draft7Validator:
    return jsonschema_rs.Draft7Validator(_inline(_definitions()[definition], (definition,)), validate_formats=True)


def _valid(definition: str, instance: object) -> bool:
    """Whether the compiled validator accepts ``instance``; a value it cannot read (a number
    beyond its range, a type JSON has not) is left to the reference validator."""
    try:
        return bool(_compiled(definition).is_valid(instance))
    except Exception:  # any failure of the fast path means: ask the reference
        return False


def _errors(validator: Draft7Validator, instance: object, prefix: str) -> list[SchemaError]:
    found = []
    for error in validator.iter_errors(instance):
        path = prefix + "".join(f"/{part}" for part in error.absolute_path)
        found.append(SchemaError(path=path or "/", message=error.message[:300]))
        if len(found) >= MAX_ERRORS:
            break
    return found


def event_errors(event: object, *, path: str = "") -> list[SchemaError]:
    """Schema errors of one event (with its own ``@context`` optional, as inside a document)."""
    if not isinstance(event, dict):
        return [SchemaError(path=path or "/", message="an event must be a JSON object")]
    event_type = event.get("type")
    definition = event_type if event_type in EVENT_TYPES else "Extended-Event"
    if _valid(definition, event):
        return []
    return _errors(_validator(definition), event, path)


def document_errors(document: object) -> list[SchemaError]:
    """Schema errors of an EPCISDocument or EPCISQueryDocument: its envelope, then each event."""
    if not isinstance(document, dict) or document.get("type") not in DOCUMENT_TYPES:
        return [SchemaError(path="/type", message=f"the document type must be one of {sorted(DOCUMENT_TYPES)}")]
    events = events_of(document)
    found = _errors(_validator(DOCUMENT_TYPES[document["type"]]), _envelope(document), "")
    base = (
        "/epcisBody/eventList"
        if document["type"] == "EPCISDocument"
        else "/epcisBody/queryResults/resultsBody/eventList"
    )
    for index, event in enumerate(events):
        if len(found) >= MAX_ERRORS:
            break
        found += event_errors(event, path=f"{base}/{index}")
    return found[:MAX_ERRORS]


def _envelope(document: dict[str, Any]) -> dict[str, Any]:
    """The document with an empty event list (each event is checked on its own): copied only
    along the way to the list, so the events themselves are neither copied nor changed."""
    envelope = dict(document)
    body = envelope.get("epcisBody")
    if not isinstance(body, dict):
        return envelope
    body = envelope["epcisBody"] = dict(body)
    if document["type"] == "EPCISDocument" and isinstance(body.get("eventList"), list):
        body["eventList"] = []
        return envelope
    query = body.get("queryResults")
    if isinstance(query, dict) and isinstance(query.get("resultsBody"), dict):
        query = body["queryResults"] = dict(query)
        results = query["resultsBody"] = dict(query["resultsBody"])
        if isinstance(results.get("eventList"), list):
            results["eventList"] = []
    return envelope


def events_of(document: dict[str, Any]) -> list[Any]:
    """The events of an EPCISDocument or EPCISQueryDocument (empty when the body is malformed)."""
    body = document.get("epcisBody")
    if not isinstance(body, dict):
        return []
    if document.get("type") == "EPCISQueryDocument":
        results = body.get("queryResults")
        body = results.get("resultsBody") if isinstance(results, dict) else None
        if not isinstance(body, dict):
            return []
    events = body.get("eventList")
    return events if isinstance(events, list) else []
