"""The compiled validator (fast path) and the reference validator agree on GS1's own examples and on
broken events, so the fast path never lets through what ``jsonschema`` would refuse."""

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


TRICKY_STRINGS = [
    "2026-11-01T10:00:00.000Z",
    "2026-11-01T10:00:00+14:00",
    "2026-11-01 10:00:00",
    "+00:00",
    "+00:00\n",
    "-14:00",
    "+14:30",
    "KGM",
    "KG\n",
    "kgm",
    "ADD",
    "shipping",
    "urn:epc:id:sgtin:4012345.011111.1",
    "https://ref.gs1.org/cbv/BizStep-shipping",
    "urn:epcglobal:cbv:bizstep:shipping",
    "http://ns.gs1.org/cbv/x",
    "https://gs1.org/voc/Temperature",
    "not a uri",
    "1.2.3",
    "\u0661\u0662",
    "A0f",
    "",
]
VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.sampled_from(TRICKY_STRINGS)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(TRICKY_STRINGS), children, max_size=3)
    ),
    max_leaves=8,
)


def _mutated(data: st.DataObject) -> dict:
    event = copy.deepcopy(data.draw(st.sampled_from(EVENTS)))
    for _ in range(data.draw(st.integers(1, 3))):
        target = event
        # Walk a little way into the event, then replace, add or drop one field there.
        while True:
            inner = [k for k, v in target.items() if isinstance(v, dict)]
            if not inner or not data.draw(st.booleans()):
                break
            target = target[data.draw(st.sampled_from(inner))]
        names = st.sampled_from(TRICKY_STRINGS)
        key = data.draw(st.sampled_from(sorted(target)) | names if target else names)
        if data.draw(st.booleans()):
            target.pop(key, None)
        else:
            target[key] = data.draw(VALUES)
    return event


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_the_fast_path_never_accepts_what_the_reference_validator_refuses(data):
    event = _mutated(data)
    definition = event["type"] if event.get("type") in schema.EVENT_TYPES else "Extended-Event"

    if schema._valid(definition, event):
        assert not list(schema._validator(definition).iter_errors(event))
        assert schema.event_errors(event) == []
    else:
        # Refused by the fast path: the reference validator has the last word, and names what it refuses.
        errors = schema.event_errors(event)
        assert errors == [] or all(error.path for error in errors)
