"""The CBV 2.0 event hash against the reference implementation's expected hashes.

Vectors: documents of RalphTro/epcis-event-hash-generator ``tests/examples/documents/`` and
their hashes in ``tests/examples/expected/CBV2.0/*.hashes`` (MIT licence), carried as data
in ``tests/data/epcis_hash/``.
"""

import json
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tests.unit.test_pure_cores import imported_modules
from traceability.epcis.core.hashing import EventHashError, event_hash, prehash, time_value
from traceability.epcis.core.identifiers import canonical_digital_link, check_digit

VECTORS = Path(__file__).resolve().parents[1] / "data" / "epcis_hash"
EXPECTED = {k: v for k, v in json.loads((VECTORS / "expected_hashes.json").read_text()).items() if k[0] != "_"}
CASES = [(name, index, expected) for name, hashes in sorted(EXPECTED.items()) for index, expected in enumerate(hashes)]


@pytest.mark.parametrize(("name", "index", "expected"), CASES, ids=[f"{n}#{i}" for n, i, _ in CASES])
def test_event_hash_matches_the_reference_implementation(name, index, expected):
    # given
    document = json.loads((VECTORS / name).read_text())
    event = document["epcisBody"]["eventList"][index]

    # when
    computed = event_hash(event, context=document["@context"])

    # then
    assert computed == expected


def test_the_pre_hash_string_follows_the_canonical_order_and_normalisation():
    document = json.loads((VECTORS / "ReferenceEventHashAlgorithm3.jsonld").read_text())
    # Published in the reference's expected/CBV2.0/ReferenceEventHashAlgorithm3.prehashes.
    assert prehash(document["epcisBody"]["eventList"][0], context=document["@context"]) == (
        "eventType=ObjectEventeventTime=2020-03-04T10:00:30.000ZeventTimeZoneOffset=+01:00"
        "epcListepc=https://id.gs1.org/01/00614141111114/21/987action=OBSERVE"
        "bizStep=https://ref.gs1.org/cbv/BizStep-departingdisposition=https://ref.gs1.org/cbv/Disp-in_transit"
        "readPointid=https://id.gs1.org/414/4012345000115"
        "bizTransactionListtype=https://ref.gs1.org/cbv/BTT-pobizTransaction=https://id.gs1.org/253/4012345111118123"
        "sourceListtype=https://ref.gs1.org/cbv/SDT-owning_partysource=https://id.gs1.org/417/4012345000009"
        "destinationListtype=https://ref.gs1.org/cbv/SDT-owning_partydestination=https://id.gs1.org/417/0614141000005"
        "readPoint{https://ns.example.com/epcis/}myField1=AB-12{https://ns.example.com/epcis/}userExt=CD-34"
    )


def test_the_hash_ignores_event_id_record_time_field_order_and_list_order():
    document = json.loads((VECTORS / "ReferenceEventHashAlgorithm3.jsonld").read_text())
    event = document["epcisBody"]["eventList"][0]
    shuffled = dict(reversed(list(event.items())))
    shuffled["eventID"] = "urn:uuid:7a2f4a4e-0000-4000-8000-000000000001"
    shuffled["recordTime"] = "2030-01-01T00:00:00Z"
    assert event_hash(shuffled, context=document["@context"]) == EXPECTED["ReferenceEventHashAlgorithm3.jsonld"][0]


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


def test_times_are_utc_with_milliseconds_rounded_half_up():
    assert time_value("2023-02-02T11:04:03.1415Z") == "2023-02-02T11:04:03.142Z"
    assert time_value("2023-02-02T11:04:03.1414Z") == "2023-02-02T11:04:03.141Z"
    assert time_value("2023-02-02T12:04:03+01:00") == "2023-02-02T11:04:03.000Z"
    assert time_value("2023-02-02T23:59:59.9996Z") == "2023-02-03T00:00:00.000Z"
    with pytest.raises(EventHashError):
        time_value("2023-02-02T11:04:03")


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
