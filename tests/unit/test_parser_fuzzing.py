"""Fuzzing the parsers partners' data goes through: whatever JSON or text arrives, each answers
with its own error type (turned into a 4xx) or a value, never an unexpected exception (a 5xx)."""

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import PROJECT_ROOT
from traceability.epcis.core import schema
from traceability.epcis.core.hashing import EventHashError, event_hash
from traceability.errors import ApplicationError
from traceability.jsonbody import MAX_JSON_DEPTH, JsonBodyError, loads, nesting_depth
from traceability.ledger.canonical import _same_as_json, canonical_json
from traceability.ledger.checkpoint import parse_checkpoint, parse_verifier_key
from traceability.ledger.errors import LedgerError
from traceability.moments import MAX_UTC_OFFSET, MomentError, parse_moment
from traceability.units import MAX_PLAUSIBLE_MASS_KG, MAX_QUANTITY_MAGNITUDE, to_kg, to_unit

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
    # whole-number floats on both sides of the safe integer range (JCS writes 450.0 as 450)
    | st.sampled_from([450.0, -3.0, float(2**53 - 1), float(2**53), -float(2**53 - 1), 1e15, 1e20])
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


# --- quantities, times and JSON bodies: a value within bounds, or the parser's own error ----------


WILD_NUMBERS = (
    st.floats()
    | st.integers(-(10**30), 10**30)
    | st.sampled_from(["NaN", "-Infinity", "sNaN", "1e309", "1e99999999999", "-0", "1e-400", "12.5", "0x10"])
    | st.decimals(allow_nan=True, allow_infinity=True).map(str)
)
UNITS = st.sampled_from(
    ["kg", "t", "g", "lb", "kWh", "MJ", "degC", "m**3", "km", "9**9**9 kg", "1e309 kg", ""]
) | st.text(max_size=12)
QUANTITIES = (
    st.fixed_dictionaries({"value": WILD_NUMBERS, "unit": UNITS})
    | st.builds(lambda n, u: f"{n} {u}", WILD_NUMBERS, UNITS)
    | st.text(max_size=30)
    | JSON
)


@FUZZ
@given(QUANTITIES)
def test_a_mass_is_a_plausible_positive_decimal_or_a_coded_refusal(quantity):
    try:
        kg = to_kg(quantity, field="mass")
    except ApplicationError as error:
        assert error.code and error.status == 400
        return
    assert isinstance(kg, Decimal) and kg.is_finite() and 0 < kg <= MAX_PLAUSIBLE_MASS_KG


@FUZZ
@given(QUANTITIES, st.sampled_from(["kWh", "m**3", "degC", "km"]))
def test_any_quantity_is_a_bounded_decimal_or_a_coded_refusal(quantity, unit):
    try:
        value = to_unit(quantity, unit, field="q")
    except ApplicationError as error:
        assert error.code and error.status == 400
        return
    assert value.is_finite() and abs(value) <= MAX_QUANTITY_MAGNITUDE


OFFSETS = st.integers(-24 * 60 + 1, 24 * 60 - 1).map(lambda minutes: timezone(timedelta(minutes=minutes)))


@FUZZ
@given(st.datetimes(timezones=OFFSETS | st.none()), st.sampled_from(["T", " "]))
def test_a_time_is_read_as_utc_or_refused_for_its_offset_or_range(moment, separator):
    text = moment.isoformat(sep=separator)
    try:
        parsed = parse_moment(text)
    except MomentError:
        offset = moment.utcoffset()
        assert offset is None or abs(offset) > MAX_UTC_OFFSET or not _has_utc(moment)
        return
    assert parsed.tzinfo is UTC and parsed == moment


def _has_utc(moment: datetime) -> bool:
    try:
        moment.astimezone(UTC)
    except OverflowError:
        return False
    return True


@FUZZ
@given(st.text(max_size=40) | JSON)
def test_any_text_is_a_time_or_a_moment_error(text):
    try:
        assert parse_moment(text).tzinfo is UTC
    except MomentError:
        pass


def _nest(value: object, depth: int) -> object:
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


@FUZZ
@given(JSON, st.integers(0, 3 * MAX_JSON_DEPTH))
def test_json_bodies_nested_beyond_the_limit_are_refused_and_others_read_back(value, extra_depth):
    text = json.dumps(_nest(value, extra_depth), allow_nan=True)
    depth = nesting_depth(text)
    try:
        parsed = loads(text)
    except JsonBodyError as error:
        assert depth > MAX_JSON_DEPTH or error.code in {"number_not_finite", "nul_character", "surrogate_character"}
        return
    assert depth <= MAX_JSON_DEPTH
    assert json.dumps(parsed, allow_nan=False) == text


@FUZZ
@given(st.text(max_size=300) | st.binary(max_size=300))
def test_any_body_is_json_or_a_coded_refusal(raw):
    try:
        loads(raw)
    except JsonBodyError as error:
        assert error.code in {
            "parse_error",
            "json_too_deep",
            "number_out_of_range",
            "number_not_finite",
            "nul_character",
            "surrogate_character",
        }


@FUZZ
@given(st.integers(MAX_JSON_DEPTH + 1, 20_000), st.sampled_from(["[", '{"a":']))
def test_deep_bodies_are_refused_without_parsing(depth, opener):
    closer = "]" if opener == "[" else "}"
    with pytest.raises(JsonBodyError) as refused:
        loads(opener * depth + "0" + closer * depth)
    assert refused.value.code == "json_too_deep"
