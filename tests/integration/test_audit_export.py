"""Regulator audit exports: written from the loop's ledger, verified offline, and every kind of
tampering caught and named by the verifier."""

import base64
import io
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import rfc8785
from django.core.management import CommandError, call_command
from django.utils import timezone

from carbon import services as carbon_services
from passport.export import upstream_inputs
from passport.verify import verify_export
from passport.verify.format import SECTION_OF_TYPE, SectionDigests, manifest_signed_bytes
from tests.conftest import PROJECT_ROOT
from tests.factories import object_event
from tests.loop import build_loop
from traceability import events, services
from traceability.ledger import checkpoint as notes
from traceability.ledger.signing import b64encode, generate_private_key, key_id, public_key_raw, sign_bytes
from traceability.models import Checkpoint, EventRecord, LedgerEntry, SigningKey

pytestmark = pytest.mark.django_db
ORIGIN = "looptrace.example/ledger"


@pytest.fixture
def loop():
    built = build_loop()
    carbon_services.footprints_catch_up()
    services.ledger_checkpoint_create()
    # one more event after the kept checkpoint, so the export's tree is larger than it
    events.ledger_append(organisation=built.remelter.organisation, document=object_event(7))
    return built


@pytest.fixture
def export(loop, tmp_path) -> Path:
    path = tmp_path / "audit.jsonl"
    call_command("export_audit", "--out", str(path))
    return path


@pytest.fixture
def platform_key_file(tmp_path) -> Path:
    key = SigningKey.objects.get(organisation__slug="looptrace")
    path = tmp_path / "platform.pub"
    path.write_text(b64encode(bytes(key.public_key)))
    return path


def verify(path: Path, **trusted):  # type: ignore[no-untyped-def]
    with path.open("rb") as stream:
        return verify_export(stream, **trusted)


def codes(report) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {(f.where, f.code) for f in report.failures}


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def write_lines(path: Path, lines: list[dict]) -> Path:
    tampered = path.with_name("tampered.jsonl")
    tampered.write_bytes(b"".join(rfc8785.dumps(line) + b"\n" for line in lines))
    return tampered


def resign(lines: list[dict], private_key) -> list[dict]:  # type: ignore[no-untyped-def]
    """What an attacker with their own key does: fresh digests of every section, their own signature."""
    digests = SectionDigests()
    for line in lines[:-1]:
        digests.add(SECTION_OF_TYPE[line["type"]], rfc8785.dumps(line) + b"\n")
    public = public_key_raw(private_key)
    manifest = {**lines[-1], "sections": digests.as_json(), "keyId": key_id(public), "publicKey": b64encode(public)}
    manifest["signature"] = b64encode(sign_bytes(private_key, manifest_signed_bytes(manifest)))
    return [*lines[:-1], manifest]


def entry_lines(lines: list[dict], kind: str = "event") -> list[dict]:
    return [line for line in lines if line["type"] == "entry" and line["kind"] == kind]


# --- a faithful export verifies ------------------------------------------------------------------


def test_a_full_export_verifies_offline_with_its_proofs_and_recomputed_footprints(export, platform_key_file):
    # given: the kept checkpoint, as a regulator would have saved it
    kept = Checkpoint.objects.order_by("tree_size")[0]

    # when
    report = verify(
        export,
        trusted_key=base64.b64decode(platform_key_file.read_text()),
        trusted_checkpoint=kept.note.encode(),
    )

    # then
    assert report.failures == []
    assert report.entries == report.selected == LedgerEntry.objects.count()
    assert report.tree_size == LedgerEntry.objects.count()
    assert report.keys == SigningKey.objects.count()
    assert report.consistency_proofs == 1
    assert report.results == 6 * len({line["node"] for line in read_lines(export) if line["type"] == "result"})
    assert report.results > 6 * 20
    assert report.summary().startswith("OK: audit export of looptrace.example/ledger at tree size")


def test_the_export_holds_keys_proofs_engine_inputs_and_a_signed_manifest(export):
    lines = read_lines(export)
    types = [line["type"] for line in lines]

    assert types[0] == "header" and types[-1] == "manifest"
    header, manifest = lines[0], lines[-1]
    checkpoint = notes.verify_checkpoint(
        header["checkpoint"]["note"], ORIGIN, base64.b64decode(header["platformKey"]["publicKey"])
    )
    assert checkpoint.size == LedgerEntry.objects.count()
    assert [line["seq"] for line in lines if line["type"] == "entry"] == list(range(1, checkpoint.size + 1))
    assert all(line["inclusionProof"] for line in lines if line["type"] == "entry")
    assert {line["keyId"] for line in lines if line["type"] == "key"} == set(
        SigningKey.objects.values_list("key_id", flat=True)
    )
    carbon = next(line for line in lines if line["type"] == "carbon")
    assert "primary_aluminium:hydro:v1" in {factor["reference"] for factor in carbon["factors"]}
    assert set(carbon["parameters"]["materials"]) >= {"aluminium", "cobalt", "nickel", "lithium"}
    assert set(carbon["parameters"]["materials"]["aluminium"]) >= {"a", "qsInOverQp", "qsOutOverQp", "r2", "r3"}
    assert types.count("source") == 3 + 2  # the roots: three vehicles, primary ingot and silicon
    assert manifest["sections"]["entries"]["lines"] == checkpoint.size
    assert manifest["keyId"] == header["platformKey"]["keyId"]


def test_an_export_of_one_organisation_carries_only_what_its_footprints_need(loop, tmp_path):
    # given
    path = tmp_path / "castline.jsonl"

    # when
    call_command("export_audit", "--out", str(path), "--org", "castline")
    report = verify(path)

    # then: castline's entries are selected, key entries come along unselected
    assert report.failures == []
    lines = read_lines(path)
    entries = [line for line in lines if line["type"] == "entry"]
    selected = {line["seq"] for line in entries if line["selected"]}
    assert selected == set(LedgerEntry.objects.filter(organisation__slug="castline").values_list("seq", flat=True))
    assert {line["seq"] for line in entries if not line["selected"]} == set(
        LedgerEntry.objects.filter(kind__startswith="key.").values_list("seq", flat=True)
    )
    # the trays and run-around scrap are touched; the die-casting's upstream melt, but not the dismantling's batteries
    results = {line["identifier"] for line in lines if line["type"] == "result"}
    assert set(loop.trays) <= results
    assert loop.melt in results
    assert not results & set(loop.packs)
    activity_seqs = {line["seq"] for line in lines if line["type"] == "activity"}
    remelting = EventRecord.objects.get(operation="remelting").entry_id
    assert remelting in activity_seqs
    assert EventRecord.objects.filter(operation="dismantling").first().entry_id in activity_seqs
    assert report.selected == len(selected)


def test_a_date_window_selects_by_recording_time(loop, tmp_path):
    path = tmp_path / "window.jsonl"
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()

    call_command("export_audit", "--out", str(path), "--since", tomorrow)
    report = verify(path)

    assert report.failures == []
    assert report.selected == 0
    assert report.results == 0
    assert report.selection["since"].startswith(tomorrow)


def test_the_footprint_inputs_are_the_upstream_closure_with_mass_balance_accounts(loop):
    # given: the whole graph as the workers see it
    from carbon import graph
    from carbon.factors import FactorBook

    book = FactorBook.load()
    records = EventRecord.objects.select_related("entry", "site").prefetch_related("involved").order_by("entry_id")
    sources, activities = graph.build(records, book)
    melt = loop.obj(loop.melt).pk

    # when
    chosen_sources, chosen_activities = upstream_inputs({melt}, sources, activities)

    # then: recomputing on the closure gives the melt what the whole graph gives it
    from carbon.engine import compute

    params = carbon_services.parameters(book)
    for chain in ("physical", "mass_balance"):
        whole = compute(sources, activities, method="cff", chain=chain, params=params)
        part = compute(chosen_sources, chosen_activities, method="cff", chain=chain, params=params)
        assert part[melt] == whole[melt]
    assert len(chosen_activities) < len(activities)
    assert not {s.node for s in chosen_sources} & {loop.obj(p).pk for p in loop.packs}


# --- tampering -------------------------------------------------------------------------------------


def test_a_changed_entry_is_named_by_its_seq(export):
    lines = read_lines(export)
    victim = entry_lines(lines)[2]
    victim["document"] = victim["document"].replace("2026-10-01", "2026-10-02", 1)

    report = verify(write_lines(export, lines))

    assert (f"seq {victim['seq']}", "digest_mismatch") in codes(report)
    assert ("section entries", "section_digest_mismatch") in codes(report)


def test_a_changed_entry_with_its_digest_recomputed_fails_its_signature_hash_and_proof(export):
    import hashlib

    lines = read_lines(export)
    victim = entry_lines(lines)[2]
    victim["document"] = victim["document"].replace("2026-10-01", "2026-10-02", 1)
    victim["digest"] = hashlib.sha256(victim["document"].encode()).hexdigest()

    found = codes(verify(write_lines(export, lines)))

    seq = f"seq {victim['seq']}"
    assert {(seq, "signature_invalid"), (seq, "entry_hash_mismatch"), (seq, "inclusion_proof_invalid")} <= found


def test_a_dropped_entry_is_named_by_its_seq(export):
    lines = read_lines(export)
    victim = entry_lines(lines)[4]
    lines.remove(victim)

    report = verify(write_lines(export, lines))

    assert (f"seq {victim['seq']}", "entry_missing") in codes(report)
    assert ("section entries", "section_digest_mismatch") in codes(report)


def test_a_dropped_last_entry_is_named_by_its_seq(export):
    lines = read_lines(export)
    last = [line for line in lines if line["type"] == "entry"][-1]
    lines.remove(last)

    assert (f"seq {last['seq']}", "entry_missing") in codes(verify(write_lines(export, lines)))


def test_swapped_inclusion_proofs_are_named_for_both_entries(export):
    lines = read_lines(export)
    first, second = entry_lines(lines)[1], entry_lines(lines)[5]
    first["inclusionProof"], second["inclusionProof"] = second["inclusionProof"], first["inclusionProof"]

    found = codes(verify(write_lines(export, lines)))

    assert {
        (f"seq {first['seq']}", "inclusion_proof_invalid"),
        (f"seq {second['seq']}", "inclusion_proof_invalid"),
    } <= (found)


def test_an_altered_result_is_named_by_node_method_and_chain(export):
    lines = read_lines(export)
    victim = next(
        line for line in lines if line["type"] == "result" and line["method"] == "allocation" and line["totalPerKg"]
    )
    victim["totalPerKg"] *= 0.9
    victim["footprint"]["perKg"]["raw_material_acquisition"] *= 0.9

    report = verify(write_lines(export, lines))

    where = f"node {victim['node']} allocation/{victim['chain']}"
    failure = next(f for f in report.failures if f.where == where)
    assert failure.code == "result_mismatch"
    assert "totalPerKg exported" in failure.message and victim["identifier"] in failure.message
    assert ("section results", "section_digest_mismatch") in codes(report)


def test_an_altered_share_is_caught_even_under_a_manifest_the_attacker_re_signed(export, platform_key_file):
    # given: the shares of a tray inflated and the manifest re-signed with the attacker's key
    lines = read_lines(export)
    victim = next(line for line in lines if line["type"] == "result" and line["identifier"].endswith("TRAY-0000"))
    victim["footprint"]["postConsumerShare"] = 0.9
    tampered = write_lines(export, resign(lines, generate_private_key()))

    # when
    without_trust = codes(verify(tampered))
    with_trust = codes(verify(tampered, trusted_key=base64.b64decode(platform_key_file.read_text())))

    # then: the digests now agree, but the share does not recompute and the signer is no platform key
    where = f"node {victim['node']} {victim['method']}/{victim['chain']}"
    assert (where, "result_mismatch") in without_trust
    assert ("manifest", "manifest_key_unregistered") in without_trust
    assert ("manifest", "header_key_mismatch") in without_trust
    assert not any(code == "section_digest_mismatch" for _, code in without_trust)
    assert ("manifest", "manifest_key_untrusted") in with_trust


def test_a_manifest_re_signed_with_another_key_is_refused_by_the_trusted_key(export, platform_key_file, tmp_path):
    # given: nothing changed but the signer, who also rewrote the header to name their key
    attacker = generate_private_key()
    lines = read_lines(export)
    lines[0]["platformKey"] = {
        "keyId": key_id(public_key_raw(attacker)),
        "publicKey": b64encode(public_key_raw(attacker)),
    }
    tampered = write_lines(export, resign(lines, attacker))

    # when
    report = verify(tampered, trusted_key=base64.b64decode(platform_key_file.read_text()))

    # then
    assert ("manifest", "manifest_key_untrusted") in codes(report)
    assert ("manifest", "manifest_key_unregistered") in codes(report)


def test_a_truncated_export_is_named(export):
    data = export.read_bytes()
    for cut in (len(data) // 2, data.rindex(b"\n", 0, len(data) - 1) + 1):
        truncated = export.with_name(f"cut-{cut}.jsonl")
        truncated.write_bytes(data[:cut])

        report = verify(truncated)

        assert ("file", "export_truncated") in codes(report)


def test_a_forged_checkpoint_in_the_header_is_named(export):
    lines = read_lines(export)
    forged_root = bytes(32)
    checkpoint = notes.Checkpoint(ORIGIN, lines[0]["checkpoint"]["treeSize"], forged_root)
    lines[0]["checkpoint"]["note"] = notes.sign_checkpoint(checkpoint, ORIGIN, generate_private_key())
    lines[0]["checkpoint"]["rootHash"] = b64encode(forged_root)

    found = codes(verify(write_lines(export, lines)))

    assert ("checkpoint", "checkpoint_signature_invalid") in found
    assert ("seq 1", "inclusion_proof_invalid") in found


def test_a_wrong_trusted_checkpoint_is_named(export):
    # given: the platform's key, and the checkpoint a regulator kept
    _, platform = services.platform_signing_key()
    kept = Checkpoint.objects.order_by("tree_size")[0]
    forked = notes.sign_checkpoint(notes.Checkpoint(ORIGIN, kept.tree_size, bytes(32)), ORIGIN, platform)
    foreign = notes.sign_checkpoint(
        notes.Checkpoint(ORIGIN, kept.tree_size, bytes.fromhex(kept.root_hash)), ORIGIN, generate_private_key()
    )
    unproven = notes.sign_checkpoint(notes.Checkpoint(ORIGIN, 3, bytes(32)), ORIGIN, platform)
    where = f"trusted checkpoint {kept.tree_size}"

    # when / then: a history that forked from the kept one
    assert (where, "trusted_checkpoint_mismatch") in codes(verify(export, trusted_checkpoint=forked.encode()))
    # a checkpoint no platform key of this ledger signed
    assert (where, "trusted_checkpoint_signature_invalid") in codes(verify(export, trusted_checkpoint=foreign.encode()))
    # a size the export has no consistency proof from
    assert ("trusted checkpoint 3", "trusted_checkpoint_unproven") in codes(
        verify(export, trusted_checkpoint=unproven.encode())
    )


def test_a_consistency_proof_that_does_not_hold_is_named(export):
    lines = read_lines(export)
    proof = next(line for line in lines if line["type"] == "consistency")
    proof["proof"] = list(reversed(proof["proof"])) if len(proof["proof"]) > 1 else [b64encode(bytes(32))]

    found = codes(verify(write_lines(export, lines)))

    assert (f"consistency from {proof['fromSize']}", "consistency_proof_invalid") in found


def test_a_consistency_proof_is_added_from_a_checkpoint_the_regulator_names(loop, tmp_path):
    # given: three checkpoints, the oldest kept by the regulator
    oldest = Checkpoint.objects.order_by("tree_size")[0]
    events.ledger_append(organisation=loop.remelter.organisation, document=object_event(8))
    services.ledger_checkpoint_create()
    events.ledger_append(organisation=loop.remelter.organisation, document=object_event(9))
    path = tmp_path / "audit.jsonl"

    # when
    call_command("export_audit", "--out", str(path), "--consistency-from", str(oldest.tree_size))
    report = verify(path, trusted_checkpoint=oldest.note.encode())

    # then
    assert report.failures == []
    assert report.consistency_proofs == 2


def test_a_revoked_key_cannot_sign_later_entries_in_an_export(loop, tmp_path):
    # given: the remelter's client key revoked, then an entry forged with it behind the database's back
    services.signing_key_revoke(key=loop.remelter.client_key, reason="lost")
    path = tmp_path / "audit.jsonl"
    call_command("export_audit", "--out", str(path))
    lines = read_lines(path)
    revocation = entry_lines(lines, "key.revoked")[-1]

    # then: the key history in the export says when it was revoked
    assert verify(path).failures == []
    listed = next(line for line in lines if line["type"] == "key" and line["keyId"] == loop.remelter.client_key.key_id)
    assert listed["revokedSeq"] == revocation["seq"]


# --- the command line ---------------------------------------------------------------------------------


def run_verifier(*args: str, block_django: bool = False) -> subprocess.CompletedProcess:
    prelude = "import sys; sys.modules['django'] = None; " if block_django else "import sys; "
    code = prelude + "import runpy; sys.argv[0] = 'verify'; runpy.run_module('passport.verify', run_name='__main__')"
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_the_verifier_command_exits_0_on_a_good_export_without_django(export, platform_key_file):
    result = run_verifier(str(export), "--trusted-key", str(platform_key_file), block_django=True)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: audit export")


@pytest.mark.slow
def test_the_verifier_command_exits_1_and_names_each_failure(export):
    lines = read_lines(export)
    victim = entry_lines(lines)[0]
    victim["signature"] = b64encode(bytes(64))
    tampered = write_lines(export, lines)

    result = run_verifier(str(tampered), "--json")

    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert {"where": f"seq {victim['seq']}", "code": "signature_invalid"} in [
        {"where": f["where"], "code": f["code"]} for f in report["failures"]
    ]


@pytest.mark.slow
def test_the_verifier_command_exits_2_when_it_cannot_start(export, tmp_path):
    bad_key = tmp_path / "bad.pub"
    bad_key.write_text("not a key")

    assert run_verifier(str(tmp_path / "missing.jsonl")).returncode == 2
    result = run_verifier(str(export), "--trusted-key", str(bad_key))
    assert result.returncode == 2
    assert "trusted_key_malformed" in result.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--org", "nobody"], "organisation_unknown"),
        (["--since", "yesterday"], "date_invalid"),
        (["--until", "2026-13-01"], "date_invalid"),
        (["--since", "2026-05-02", "--until", "2026-05-01"], "date_range_invalid"),
        (["--consistency-from", "999"], "checkpoint_unknown"),
    ],
)
def test_export_audit_refuses_bad_input_and_writes_nothing(db, tmp_path, capsys, arguments, message):
    # given
    services.ledger_checkpoint_create()
    out = tmp_path / "audit.jsonl"

    # when / then: as a function call
    with pytest.raises(CommandError, match=message):
        call_command("export_audit", "--out", str(out), *arguments)
    # and from the command line: a non-zero exit with the reason on stderr
    from passport.management.commands.export_audit import Command

    with pytest.raises(SystemExit) as exit_info:
        Command().run_from_argv(["manage.py", "export_audit", "--out", str(out), *arguments])
    assert exit_info.value.code == 1
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_export_audit_refuses_a_directory_that_does_not_exist(db, tmp_path):
    with pytest.raises(CommandError, match="not a directory"):
        call_command("export_audit", "--out", str(tmp_path / "no" / "audit.jsonl"))


def test_an_in_memory_stream_verifies_like_a_file(export):
    assert verify_export(io.BytesIO(export.read_bytes())).ok


def test_entries_are_read_and_proved_in_chunks(loop, tmp_path, monkeypatch):
    # given: chunks far smaller than the ledger, so proofs are built from each chunk's own nodes
    import passport.export

    monkeypatch.setattr(passport.export, "EXPORT_CHUNK_SIZE", 4)
    path = tmp_path / "chunked.jsonl"

    # when
    call_command("export_audit", "--out", str(path))
    report = verify(path)

    # then
    assert report.failures == []
    assert report.entries == LedgerEntry.objects.count() > 4 * 4


@pytest.mark.slow
def test_an_export_of_the_demo_verifies_offline(tmp_path, settings):
    # given: the demo the platform ships, its footprints computed
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", "--vehicles", "6")
    carbon_services.footprints_catch_up()
    path = tmp_path / "demo.jsonl"

    # when
    call_command("export_audit", "--out", str(path))
    report = verify(path)

    # then
    assert report.failures == []
    assert report.entries == LedgerEntry.objects.count()
    assert report.results > 0


# --- mass-balance claims ---------------------------------------------------------------------------


@pytest.fixture
def claimed_export(loop, tmp_path) -> Path:
    """The loop, then at the remelter: 300 kg post-consumer scrap + 200 kg primary, 10 kg loss ->
    490 kg (0.6 x 490 = 294 kg of credits, besides the loop melt's), of which 250 kg are claimed."""
    from decimal import Decimal

    from traceability.choices import ObjectKind
    from traceability.identifiers import local_uri
    from traceability.operations import services as ops

    organisation, site = loop.remelter.organisation, loop.remelt_site
    moment = EventRecord.objects.order_by("-event_time").values_list("event_time", flat=True).first()
    ops.material_receipt(
        organisation=organisation,
        site=site,
        event_time=moment + timedelta(hours=1),
        lots=[
            ops.LotOut(ObjectKind.SCRAP_LOT, Decimal(300), code="S-X", attributes={"scrapCategory": "post_consumer"}),
            ops.LotOut(ObjectKind.PRIMARY_INGOT, Decimal(200), code="P-X"),
        ],
    )
    ops.remelting(
        organisation=organisation,
        site=site,
        inputs=[
            ops.LotIn(local_uri("lot", "nordic-remelt", "S-X"), Decimal(300)),
            ops.LotIn(local_uri("lot", "nordic-remelt", "P-X"), Decimal(200)),
        ],
        output=ops.LotOut(ObjectKind.INGOT_LOT, Decimal(490), code="M-X"),
        melt_loss_kg=Decimal(10),
        dross_kg=Decimal(0),
        natural_gas_m3=Decimal(0),
        electricity_kwh=Decimal(0),
        event_time=moment + timedelta(hours=2),
    )
    ops.recycled_content_claim(
        organisation=organisation,
        site=site,
        lot=local_uri("lot", "nordic-remelt", "M-X"),
        kg=Decimal(250),
        category="post_consumer",
        event_time=moment + timedelta(hours=3),
    )
    carbon_services.footprints_catch_up()
    path = tmp_path / "claimed.jsonl"
    call_command("export_audit", "--out", str(path))
    return path


def test_an_export_with_claims_verifies_and_a_tampered_claim_fails(claimed_export):
    lines = read_lines(claimed_export)
    claims = [line for line in lines if line["type"] == "activity" and line["claim"]]
    assert [(c["claim"]["kg"], c["claim"]["lotPostConsumerKg"]) for c in claims] == [(250, 250)]
    assert verify(claimed_export).failures == []

    # when: the claim raised to 480 kg of the 490 kg lot, beyond the account's credits (the loop
    # melt's 167.6 / 707.6 x 690.6 = 163.6 kg and this melt's 294 kg: 457.6 kg)
    claims[0]["claim"].update(kg=480.0, lotPostConsumerKg=480.0)
    report = verify(write_lines(claimed_export, resign(lines, generate_private_key())))

    # then: the walk refuses the claim under mass balance
    assert {code for where, code in codes(report) if where.endswith("/mass_balance")} == {"credits_insufficient"}
