"""The compiled validator (fast path) and the reference validator agree on GS1's own examples and on
broken events, so the fast path never lets through what ``jsonschema`` would refuse."""

import copy
import json

import pytest

from tests.conftest import PROJECT_ROOT
from traceability.epcis.core import schema

EXAMPLES = sorted((PROJECT_ROOT / "tests" / "data" / "epcis2_examples").glob("*.jsonld"))
EVENTS = [event for path in EXAMPLES for event in schema.events_of(json.loads(path.read_text(encoding="utf-8")))]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e["type"])
def test_valid_events_pass_both_validators(event):
    definition = event["type"]

    assert schema._valid(definition, event)
    assert not list(schema._validator(definition).iter_errors(event))
    assert schema.event_errors(event) == []


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda e: e.pop("eventTime"), "/"),
        (lambda e: e.update(eventTime=20260101), "/eventTime"),
        (lambda e: e.update(action="SOMETIMES"), "/action"),
    ],
    ids=["no eventTime", "bad time", "bad action"],
)
def test_broken_events_are_refused_and_named_by_the_reference_validator(change, path):
    event = copy.deepcopy(next(e for e in EVENTS if e["type"] == "ObjectEvent"))
    change(event)

    errors = schema.event_errors(event)

    assert not schema._valid("ObjectEvent", event)
    assert errors and errors[0].path == path
