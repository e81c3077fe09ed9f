"""The offline verifier and the engine's JSON form, without a database: a small export is built
here from the pure cores alone, the way any other implementation of the format would."""

import base64
import io
import json
import re
from datetime import UTC, datetime

import pytest
import rfc8785
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from carbon.engine import CarbonError, Material, Parameters, Source, compute
from carbon.engine.model import CHAINS_OF_CUSTODY, METHODS, RAW_MATERIAL, Activity, Claim, Footprint, Shares
from carbon.engine.serial import (
    activity_from_json,
    activity_to_json,
    footprint_from_json,
    footprint_to_json,
    parameters_from_json,
    parameters_to_json,
    source_from_json,
    source_to_json,
)
from passport.verify import VerificationError, load_trusted_checkpoint, load_trusted_key, verify_export
from passport.verify.format import (
    SECTION_OF_TYPE,
    SectionDigests,
    encode_line_without_floats,
    manifest_signed_bytes,
)
from traceability.ledger import checkpoint as notes
from traceability.ledger.canonical import canonical_json, sha256
from traceability.ledger.chain import GENESIS_PREV, EntryHeader, format_time, key_registration_document
from traceability.ledger.merkle import MemoryTree
from traceability.ledger.signing import b64encode, generate_private_key, key_id, public_key_raw, sign_bytes

ORIGIN = "test.example/ledger"
T0 = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
SOURCES = [
    Source(1, 100.0, "vehicle", vehicle_make="Volta"),
    Source(2, 50.0, "primary", {RAW_MATERIAL: 4.1}, primary_data=True),
    Source(4, 30.0, "pre_consumer", {RAW_MATERIAL: 0.1}, generator_per_kg=2.5),
]
ACTIVITIES = [
    Activity(
        seq=3,
        inputs=((1, 100.0), (2, 50.0), (4, 30.0)),
        outputs=((3, 160.0), (5, 10.0)),
        losses_kg=10.0,
        burdens={RAW_MATERIAL: 17.3},
        site=1,
        period="2026",
        substitutes=True,
        products=frozenset({3}),
        materials=((3, "aluminium", 1.0), (5, "cobalt", 0.2)),
    ),
    # 40 kg of the 160 kg melt claimed post-consumer closed-loop: the melt credits 100 / 180 x 170 kg
    Activity(
        seq=4,
        inputs=((3, 160.0),),
        outputs=((3, 160.0),),
        site=1,
        period="2026",
        claim=Claim("post_consumer", 40.0, "Volta", 0.0, 40.0, (("Volta", 40.0),)),
    ),
    Activity(seq=6, inputs=((3, 160.0),), outputs=((3, 160.0),), burdens={RAW_MATERIAL: 0.7}, flows=((3, 3, 160.0),)),
]
PARAMS = Parameters(
    materials={
        "aluminium": Material(
            e_virgin_per_kg=8.6, e_virgin_star_per_kg=8.6, a=0.2, r2=0.1, erec_eol_per_kg=0.3, ed_per_kg=0.05
        ),
        "cobalt": Material(e_virgin_per_kg=30.0, a=0.2, r2=0.9, r3=0.05, e_er_per_kg=0.4, ed_per_kg=0.01),
    }
)


def round_trip(value):  # type: ignore[no-untyped-def]
    return json.loads(rfc8785.dumps(value))


# --- the engine's JSON form ---------------------------------------------------------------------


def test_inputs_survive_json_exactly_and_recompute_bit_for_bit():
    # given
    sources = [source_from_json(round_trip(source_to_json(s))) for s in SOURCES]
    activities = [activity_from_json(round_trip(activity_to_json(a))) for a in ACTIVITIES]
    params = parameters_from_json(round_trip(parameters_to_json(PARAMS)))

    # then
    assert sources == SOURCES
    assert activities == ACTIVITIES
    assert params == PARAMS
    for method in METHODS:
        for chain in CHAINS_OF_CUSTODY:
            here = compute(SOURCES, ACTIVITIES, method=method, chain=chain, params=PARAMS)
            there = compute(sources, activities, method=method, chain=chain, params=params)
            assert here == there
            assert {n: footprint_from_json(round_trip(footprint_to_json(f))) for n, f in here.items()} == here


@pytest.mark.parametrize(
    ("reader", "value", "what"),
    [
        (source_from_json, {"node": 1}, "has no 'massKg'"),
        (source_from_json, [], "not a JSON object"),
        (source_from_json, {**source_to_json(SOURCES[0]), "massKg": True}, "massKg is not a number"),
        (activity_from_json, {**activity_to_json(ACTIVITIES[0]), "flows": [[1, 2]]}, "not [source, target, kg]"),
        (activity_from_json, {**activity_to_json(ACTIVITIES[0]), "inputs": [[1.5, 2]]}, "node is not an integer"),
        (parameters_from_json, {**parameters_to_json(PARAMS), "b": 0}, "unknown fields"),
        (parameters_from_json, {"defaultMaterial": "al", "materials": {"al": {"a": 0.2}}}, "has no 'eVirginPerKg'"),
        (activity_from_json, {**activity_to_json(ACTIVITIES[0]), "materials": [[3, "aluminium"]]}, "[node, material"),
        (footprint_from_json, {"perKg": {}}, "has no 'postConsumerByMake'"),
    ],
)
def test_malformed_engine_json_is_refused(reader, value, what):
    with pytest.raises(CarbonError, match=re.escape(what)) as error:
        reader(value)
    assert error.value.code == "serial_malformed"


# --- an export built from the pure cores --------------------------------------------------------


def build_export(platform=None) -> list[dict]:  # type: ignore[no-untyped-def]
    platform = platform or generate_private_key()
    partner = generate_private_key()
    documents = [
        ("key.registered", "looptrace", platform, "looptrace", "platform"),
        ("key.registered", "looptrace", platform, "acme", "client"),
    ]
    facts = [
        (
            kind,
            signer_org,
            key,
            key_registration_document(
                organisation=owner,
                public_key=public_key_raw(key if owner == "looptrace" else partner),
                valid_from=T0,
                custody=custody,
            ),
        )
        for kind, signer_org, key, owner, custody in documents
    ]
    facts.append(("event", "acme", partner, {"type": "ObjectEvent", "action": "OBSERVE", "epcList": ["urn:x:1"]}))
    tree, prev, entries = MemoryTree(), GENESIS_PREV, []
    for seq, (kind, organisation, key, document) in enumerate(facts, start=1):
        data = canonical_json(document)
        header = EntryHeader(
            seq, kind, organisation, sha256(data), key_id(public_key_raw(key)), sign_bytes(key, data), prev, T0
        )
        prev = header.entry_hash()
        tree.append(prev)
        entries.append((header, data))
    size, root = tree.size, tree.root()
    platform_public = public_key_raw(platform)
    lines: list[dict] = [
        {
            "type": "header",
            "format": "looptrace-audit-export",
            "version": 1,
            "origin": ORIGIN,
            "selection": {"organisation": None},
            "checkpoint": {
                "note": notes.sign_checkpoint(notes.Checkpoint(ORIGIN, size, root), ORIGIN, platform),
                "treeSize": size,
                "rootHash": b64encode(root),
            },
            "platformKey": {"keyId": key_id(platform_public), "publicKey": b64encode(platform_public)},
        }
    ]
    for seq, owner, key in ((1, "looptrace", platform), (2, "acme", partner)):
        lines.append(
            {
                "type": "key",
                "keyId": key_id(public_key_raw(key)),
                "organisation": owner,
                "publicKey": b64encode(public_key_raw(key)),
                "validFrom": format_time(T0),
                "registeredSeq": seq,
                "revokedSeq": None,
            }
        )
    for header, data in entries:
        lines.append(
            {
                "type": "entry",
                "after": header.seq - 1,
                "selected": True,
                "document": data.decode(),
                "entryHash": header.entry_hash().hex(),
                "inclusionProof": [b64encode(h) for h in tree.inclusion_proof(header.seq - 1)],
                **header.as_json(),
            }
        )
    lines.append({"type": "carbon", "parameters": parameters_to_json(PARAMS)})
    lines += [{"type": "source", **source_to_json(s)} for s in SOURCES]
    lines += [{"type": "activity", **activity_to_json(a)} for a in ACTIVITIES]
    for method in METHODS:
        for chain in CHAINS_OF_CUSTODY:
            result = compute(SOURCES, ACTIVITIES, method=method, chain=chain, params=PARAMS)[3]
            lines.append(
                {
                    "type": "result",
                    "node": 3,
                    "method": method,
                    "chain": chain,
                    "footprint": footprint_to_json(result),
                    "totalPerKg": result.total_per_kg,
                    "totalKg": result.total_per_kg * 160.0,
                }
            )
    return sign_manifest(lines, platform, size)


def sign_manifest(lines: list[dict], key, size: int) -> list[dict]:  # type: ignore[no-untyped-def]
    digests = SectionDigests()
    for line in lines:
        digests.add(SECTION_OF_TYPE[line["type"]], rfc8785.dumps(line) + b"\n")
    public = public_key_raw(key)
    entries = [line["seq"] for line in lines if line["type"] == "entry"]
    manifest = {
        "type": "manifest",
        "keyId": key_id(public),
        "publicKey": b64encode(public),
        "sections": digests.as_json(),
        "lastEntrySeq": entries[-1],
        "treeSize": size,
    }
    manifest["signature"] = b64encode(sign_bytes(key, manifest_signed_bytes(manifest)))
    return [*lines, manifest]


def as_stream(lines: list[dict]) -> io.BytesIO:
    return io.BytesIO(b"".join(rfc8785.dumps(line) + b"\n" for line in lines))


def found(report) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {(f.where, f.code) for f in report.failures}


def test_an_export_written_by_another_implementation_verifies():
    platform = generate_private_key()

    report = verify_export(as_stream(build_export(platform)), trusted_key=public_key_raw(platform))

    assert report.failures == []
    assert (report.entries, report.keys, report.results, report.tree_size) == (3, 2, 6, 3)


def test_an_entry_signed_by_a_key_registered_after_it_is_named():
    # given: the event moved before the registration of the key that signed it (and everything re-signed)
    platform = generate_private_key()
    lines = build_export(platform)[:-1]
    registration, event = lines[4], lines[5]
    event["seq"], event["after"], registration["seq"], registration["after"] = 2, 1, 3, 2
    lines[4], lines[5] = event, registration

    report = verify_export(as_stream(sign_manifest(lines, platform, 3)))

    assert ("seq 2", "key_unknown") in found(report)
    assert ("seq 2", "entry_hash_mismatch") in found(report)


def test_a_key_list_that_disagrees_with_the_key_entries_is_named():
    platform = generate_private_key()
    lines = build_export(platform)[:-1]
    lines[2]["organisation"] = "someone-else"

    report = verify_export(as_stream(sign_manifest(lines, platform, 3)))

    assert found(report) == {("seq 2", "key_list_mismatch")}


def test_an_input_changed_under_its_results_is_caught_by_recomputation():
    platform = generate_private_key()
    lines = build_export(platform)[:-1]
    activity = next(line for line in lines if line["type"] == "activity")
    activity["burdens"][RAW_MATERIAL] = 7.3

    report = verify_export(as_stream(sign_manifest(lines, platform, 3)))

    assert {where for where, code in found(report) if code == "result_mismatch"} == {
        f"node 3 {m}/{c}" for m in METHODS for c in CHAINS_OF_CUSTODY
    }


def test_a_cff_parameter_changed_under_its_results_is_caught_by_recomputation():
    # given: the export's E_v of aluminium is changed (the manifest is signed again, as a forger would)
    platform = generate_private_key()
    lines = build_export(platform)[:-1]
    carbon = next(line for line in lines if line["type"] == "carbon")
    carbon["parameters"]["materials"]["aluminium"]["eVirginPerKg"] = 9.0

    # when
    report = verify_export(as_stream(sign_manifest(lines, platform, 3)))

    # then: the CFF results no longer recompute; the other methods do not read E_v
    assert {where for where, code in found(report) if code == "result_mismatch"} == {
        f"node 3 cff/{c}" for c in CHAINS_OF_CUSTODY
    }


@pytest.mark.parametrize(
    ("data", "where", "code"),
    [
        (b"", "file", "export_truncated"),
        (b'{"type":"entry"}\n', "line 1", "header_missing"),
        (b"not json\n", "line 1", "line_malformed"),
    ],
)
def test_what_is_not_an_export_is_named(data, where, code):
    assert (where, code) in found(verify_export(io.BytesIO(data)))


def test_sections_out_of_order_are_named():
    lines = build_export()
    key_line = lines.pop(1)
    lines.insert(5, key_line)

    assert ("line 6", "section_out_of_order") in found(verify_export(as_stream(lines)))


# --- trusted inputs -------------------------------------------------------------------------------


def test_the_trusted_key_is_read_in_every_published_spelling():
    key = generate_private_key()
    raw = public_key_raw(key)
    pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)

    assert load_trusted_key(base64.b64encode(raw) + b"\n") == raw
    assert load_trusted_key(raw.hex().encode()) == raw
    assert load_trusted_key(pem) == raw
    assert load_trusted_key(notes.verifier_key(ORIGIN, raw).encode()) == raw


@pytest.mark.parametrize("data", [b"", b"hello", base64.b64encode(bytes(31)), b"-----BEGIN PUBLIC KEY-----\nxx\n"])
def test_a_malformed_trusted_key_is_refused(data):
    with pytest.raises(VerificationError) as error:
        load_trusted_key(data)
    assert error.value.code == "trusted_key_malformed"


def test_unusable_trusted_inputs_stop_the_verifier_before_it_starts():
    with pytest.raises(VerificationError, match="trusted_checkpoint_malformed"):
        load_trusted_checkpoint(b"not a note")
    with pytest.raises(VerificationError, match="trusted_key_malformed"):
        verify_export(as_stream(build_export()), trusted_key=bytes(16))


def test_shares_by_make_round_trip_sorted():
    footprint = Footprint({RAW_MATERIAL: 1.0}, Shares(0.1, 0.2, (("A", 0.05), ("B", 0.15))))

    assert footprint_from_json(round_trip(footprint_to_json(footprint))) == footprint


@pytest.mark.parametrize(
    "text",
    ['{"a":"b"}', 'quote " backslash \\ slash /', "\x00\x01\x1f\x7f \b\f\n\r\t", "é 中文 \u2028\u2029 😀", ""],
)
def test_the_fast_encoder_of_entry_lines_is_rfc_8785(text):
    value = {"type": "entry", "seq": 2**40, "selected": False, "document": text, "z": None, "proof": [text, "x"]}

    assert encode_line_without_floats(value) == rfc8785.dumps(value) + b"\n"


def test_a_claim_tampered_beyond_its_credits_is_named():
    # given: the claim raised from 40 kg to 100 kg; the melt credited only 100 / 180 x 170 = 94.4 kg
    platform = generate_private_key()
    lines = build_export(platform)[:-1]
    claim = next(line for line in lines if line["type"] == "activity" and line["claim"])
    claim["claim"].update(kg=100.0, lotPostConsumerKg=100.0, lotPostConsumerByMakeKg={"Volta": 100.0})

    report = verify_export(as_stream(sign_manifest(lines, platform, 3)))

    assert {code for where, code in found(report) if where.endswith("/mass_balance")} == {"credits_insufficient"}


def test_a_claim_tampered_within_its_credits_changes_the_recomputed_shares():
    platform = generate_private_key()
    lines = build_export(platform)[:-1]
    claim = next(line for line in lines if line["type"] == "activity" and line["claim"])
    claim["claim"].update(kg=50.0, lotPostConsumerKg=50.0, lotPostConsumerByMakeKg={"Volta": 50.0})

    report = verify_export(as_stream(sign_manifest(lines, platform, 3)))

    assert {where for where, code in found(report) if code == "result_mismatch"} == {
        f"node 3 {m}/mass_balance" for m in METHODS
    }
