"""Fuzzing the parsers partners' data goes through: whatever JSON or text arrives, each answers
with its own error type (turned into a 4xx) or a value, never an unexpected exception (a 5xx)."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import PROJECT_ROOT
from traceability.epcis.core import schema
from traceability.epcis.core.hashing import EventHashError, event_hash
from traceability.ledger.canonical import canonical_json
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
