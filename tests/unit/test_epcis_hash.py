"""The CBV 2.0 event hash against hashes GS1's reference implementation computed.

Vectors: GS1's EPCIS 2.0 example documents and the hashes the reference implementation
(PyPI ``epcis-event-hash-generator`` 1.9.3, MIT licence) computes for them, carried in
``tests/data/epcis_hash/`` (its README says how they were made).
"""

import json
from datetime import UTC, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import PROJECT_ROOT
from tests.unit.test_pure_cores import imported_modules
from traceability.epcis.core.hashing import EventHashError, event_hash, prehash, time_value, vocabulary_uris
from traceability.epcis.core.identifiers import canonical_digital_link, check_digit

VECTORS = Path(__file__).resolve().parents[1] / "data" / "epcis_hash"
EXPECTED = {k: v for k, v in json.loads((VECTORS / "expected_hashes.json").read_text()).items() if k[0] != "_"}
CASES = [(name, index, expected) for name, hashes in sorted(EXPECTED.items()) for index, expected in enumerate(hashes)]


@pytest.mark.parametrize(("name", "index", "expected"), CASES, ids=[f"{n}#{i}" for n, i, _ in CASES])
def test_event_hash_matches_the_reference_implementation(name, index, expected):
    # given
    document = json.loads((VECTORS / name).read_text())
    events = document["epcisBody"]["eventList"]
    vocabulary = frozenset().union(*(vocabulary_uris(e) for e in events))

    # when
    computed = event_hash(events[index], context=document["@context"], vocabulary=vocabulary)

    # then
    assert computed == expected


SENSOR_EVENT = {
    "type": "ObjectEvent",
    "eventTime": "2023-02-12T12:04:03.1415+01:00",
    "eventTimeZoneOffset": "+01:00",
    "certificationInfo": "https://accreditation-council.example.org/certificate/ABC12345",
    "epcList": ["urn:epc:id:sgtin:4012345.099999.XYZ-1234"],
    "action": "OBSERVE",
    "bizStep": "receiving",
    "readPoint": {"id": "urn:epc:id:sgln:4012345.00011.0", "ex:myField1": "AB-12"},
    "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:4012345.00000"}],
    "bizTransactionList": [{"bizTransaction": "urn:epcglobal:cbv:bt:0614141000005:42", "type": "po"}],
    "sensorElementList": [{"sensorReport": [{"type": "Temperature", "value": 26.0, "uom": "CEL"}]}],
    "errorDeclaration": {"declarationTime": "2024-01-01T00:00:00Z", "reason": "incorrect_data"},
}


def test_the_pre_hash_string_follows_the_reference_order_and_normalisation():
    context = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"ex": "https://ns.example.com/"}]
    # certificationInfo right after the time zone; sensorElementList written as a token; the
    # GS1 measurement type under https://gs1.org/voc/; readPoint's extension after its id; the
    # party lists after the standard fields, sorted, each entry's pair in the order written;
    # 141.5 ms rounds to even; errorDeclaration takes no part.
    assert prehash(SENSOR_EVENT, context=context) == (
        "eventType=ObjectEventeventTime=2023-02-12T11:04:03.142ZeventTimeZoneOffset=+01:00"
        "certificationInfo=https://accreditation-council.example.org/certificate/ABC12345"
        "epcListepc=https://id.gs1.org/01/04012345999990/21/XYZ-1234action=OBSERVE"
        "bizStep=https://ref.gs1.org/cbv/BizStep-receiving"
        "readPointid=https://id.gs1.org/414/4012345000115{https://ns.example.com/}myField1=AB-12"
        "sensorElementListsensorElementsensorReporttype=https://gs1.org/voc/Temperaturevalue=26uom=CEL"
        "bizTransactionListbizTransaction=urn:epcglobal:cbv:bt:0614141000005:42type=https://ref.gs1.org/cbv/BTT-po"
        "sourceListtype=https://ref.gs1.org/cbv/SDT-owning_partysource=https://id.gs1.org/417/4012345000009"
    )


def test_the_hash_ignores_event_id_record_time_error_declaration_field_order_and_list_order():
    shuffled = dict(reversed(list(SENSOR_EVENT.items())))
    shuffled["eventID"] = "urn:uuid:7a2f4a4e-0000-4000-8000-000000000001"
    shuffled["recordTime"] = "2030-01-01T00:00:00Z"
    del shuffled["errorDeclaration"]
    assert event_hash(shuffled) == event_hash(SENSOR_EVENT)


def test_the_same_event_written_with_urns_or_digital_links_and_short_or_full_vocabulary_hashes_alike():
    urn_form = {
        "type": "ObjectEvent",
        "eventTime": "2005-04-03T20:33:31.116-06:00",
        "eventTimeZoneOffset": "-06:00",
        "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"],
        "action": "OBSERVE",
        "bizStep": "shipping",
    }
    web_form = {
        **urn_form,
        "eventTime": "2005-04-04T02:33:31.116Z",
        "epcList": ["https://example.com/01/10614141073464/21/2017?src=label"],
        "bizStep": "urn:epcglobal:cbv:bizstep:shipping",
    }
    assert event_hash(urn_form) == event_hash(web_form)
    assert event_hash(urn_form) != event_hash({**urn_form, "action": "ADD"})


def test_times_are_utc_with_milliseconds_rounded_half_to_even():
    assert time_value("2023-02-02T11:04:03.1415Z") == "2023-02-02T11:04:03.142Z"  # 141.5 -> 142 (even)
    assert time_value("2023-02-02T11:04:03.1425Z") == "2023-02-02T11:04:03.142Z"  # 142.5 -> 142 (even)
    assert time_value("2023-02-02T11:04:03.1414Z") == "2023-02-02T11:04:03.141Z"
    assert time_value("2023-02-02T12:04:03+01:00") == "2023-02-02T11:04:03.000Z"
    assert time_value("2023-02-02T23:59:59.9996Z") == "2023-02-03T00:00:00.000Z"
    with pytest.raises(EventHashError):
        time_value("2023-02-02T11:04:03")


@given(st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))])))
def test_a_time_is_written_as_strftime_writes_it_the_year_unpadded(moment):
    """The written time is the one strftime gave (years before 1000 without leading zeros), however it is built."""
    try:
        written = time_value(moment.isoformat())
    except EventHashError:  # rounds past the last year
        return
    rounded = moment.astimezone(UTC)
    rounded = rounded.replace(microsecond=0) + timedelta(microseconds=round(rounded.microsecond, -3))
    assert written == rounded.strftime("%Y-%m-%dT%H:%M:%S.") + f"{rounded.microsecond // 1000:03d}Z"


@pytest.mark.parametrize(
    ("uri", "canonical"),
    [
        ("urn:epc:id:sgtin:0614141.107346.2018", "https://id.gs1.org/01/10614141073464/21/2018"),
        ("urn:epc:id:sscc:0614141.1234567890", "https://id.gs1.org/00/106141412345678908"),
        ("urn:epc:id:sgln:0012345.11111.400", "https://id.gs1.org/414/0012345111112/254/400"),
        ("urn:epc:id:sgln:0012345.11111.0", "https://id.gs1.org/414/0012345111112"),
        ("urn:epc:class:lgtin:4012345.012345.998877", "https://id.gs1.org/01/04012345123456/10/998877"),
        ("urn:epc:idpat:sgtin:4012345.098765.*", "https://id.gs1.org/01/04012345987652"),
        ("urn:epc:id:gdti:0614141.00001.1618034", "https://id.gs1.org/253/06141410000121618034"),
        ("https://id.gs1.de/01/04012345999990/10/LOT/21/XYZ-1234", "https://id.gs1.org/01/04012345999990/21/XYZ-1234"),
        ("https://brand.example/gtin/614141073467?linkType=all", "https://id.gs1.org/01/00614141073467"),
        ("urn:looptrace:vin:WVWZZZ1JZXW000001", None),
        ("http://transaction.acme.com/po/12345678", None),
    ],
)
def test_gs1_keys_become_constrained_canonical_digital_links(uri, canonical):
    assert canonical_digital_link(uri) == canonical


def test_check_digit():
    assert check_digit("061414107346") == "7"
    assert check_digit("061414100001") == "2"


def test_an_event_without_type_or_with_a_time_without_zone_has_no_hash():
    with pytest.raises(EventHashError):
        event_hash({"eventTime": "2020-01-01T00:00:00Z"})
    with pytest.raises(EventHashError):
        event_hash({"type": "ObjectEvent", "eventTime": "2020-01-01T00:00:00", "eventTimeZoneOffset": "+00:00"})


def test_the_epcis_hash_core_imports_no_django():
    files = sorted((PROJECT_ROOT / "traceability" / "epcis" / "core").rglob("*.py"))
    assert len(files) >= 5
    offenders = {
        str(p): sorted(m for m in imported_modules(p) if m.split(".")[0] in {"django", "rest_framework", "celery"})
        for p in files
    }
    assert {p: m for p, m in offenders.items() if m} == {}
