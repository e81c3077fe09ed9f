"""Fuzzing the parsers partners' data goes through: whatever JSON or text arrives, each answers
with its own error type (turned into a 4xx) or a value, never an unexpected exception (a 5xx)."""

import json

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import PROJECT_ROOT
from traceability.epcis.core import schema
from traceability.epcis.core.hashing import EventHashError, event_hash
from traceability.ledger.canonical import _same_as_json, canonical_json
from traceability.ledger.checkpoint import parse_checkpoint, parse_verifier_key
from traceability.ledger.errors import LedgerError

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)
EXAMPLE = json.loads(
    (PROJECT_ROOT / "tests" / "data" / "epcis2_examples" / "Example_9.6.1-ObjectEvent.jsonld").read_text()
)
REAL_EVENT = schema.events_of(EXAMPLE)[0]
KEYS = [*sorted(REAL_EVENT), "type", "eventTime", "epcList", "quantityList", "sensorElementList", "ilmd", "bizStep"]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=10), JSON, max_size=8), JSON)
def test_the_event_hash_answers_every_event_with_a_hash_or_its_error(event, context):
    try:
        value = event_hash(event, context=context)
    except EventHashError:
        return
    assert value.startswith("ni:///sha-256;") and value.endswith("?ver=CBV2.0")


@FUZZ
@given(st.data())
def test_a_real_event_with_any_field_replaced_still_gets_a_hash_or_its_error(data):
    event = dict(REAL_EVENT)
    event[data.draw(st.sampled_from(sorted(event)))] = data.draw(JSON)
    try:
        event_hash(event, context=EXAMPLE["@context"])
    except EventHashError:
        pass
    assert isinstance(schema.event_errors(event), list)


@FUZZ
@given(JSON)
def test_schema_validation_names_errors_of_any_document(document):
    assert isinstance(schema.document_errors(document), list)
    assert isinstance(schema.event_errors(document), list)


@FUZZ
@given(JSON)
def test_canonical_json_answers_any_value_or_its_error(value):
    try:
        assert isinstance(canonical_json(value), bytes)
    except LedgerError as error:
        assert error.code == "document_not_canonicalisable"


NUMBERS = (
    st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([1e-4, 9.99e-5, 1e16, 1e16 - 2, 0.1, -0.0, 5.0, 2**53 - 1, 2**53, 1e21, 1.5e-7])
)
DOCUMENTS = st.recursive(
    st.none() | st.booleans() | NUMBERS | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(DOCUMENTS)
def test_canonical_json_writes_exactly_what_rfc8785_writes(value):
    try:
        expected = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError):
        with pytest.raises(LedgerError):
            canonical_json(value)
        return
    assert canonical_json(value) == expected


def test_canonical_json_takes_the_fast_path_for_plain_events():
    # the reason for the fast path: an ordinary event never reaches rfc8785
    assert _same_as_json(REAL_EVENT)
    assert not _same_as_json({"kg": 5.0}) and not _same_as_json({"\U0001f600": 1}) and not _same_as_json(2**53)


@FUZZ
@given(st.text(max_size=300) | st.binary(max_size=300))
def test_the_checkpoint_parser_answers_any_note_or_its_error(note):
    try:
        parse_checkpoint(note)
    except LedgerError:
        pass


@FUZZ
@given(st.text(max_size=200))
def test_the_verifier_key_parser_answers_any_text_or_its_error(text):
    try:
        parse_verifier_key(text)
    except LedgerError:
        pass
