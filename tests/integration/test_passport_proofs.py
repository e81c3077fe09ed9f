"""A passport downloaded over HTTP verifies offline with only the log's and the witnesses' keys.

Two witness processes (as in test_witness) cosign the checkpoint through the platform's own
witnessing task; the passport JSON is fetched from a live server, saved, and checked by
``python -m passport.verify`` in a separate process. Any changed byte makes it fail.
"""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
from collections.abc import Callable

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command

from carbon.services import footprints_catch_up
from passport import services as passports
from passport.models import Passport
from passport.verify.__main__ import _no_constant, _unique
from passport.verify.passport import verify_passport
from tests.conftest import PROJECT_ROOT
from tests.integration.test_witness import ORIGIN, log_vkey, policy_for, witnesses  # noqa: F401  (fixtures)
from tests.loop import build_loop
from traceability import services
from traceability.ledger import checkpoint as notes
from traceability.ledger import witness as core
from traceability.models import WitnessCosignature

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def issued(witnesses, live_server):  # type: ignore[no-untyped-def]  # noqa: F811
    loop = build_loop()
    footprints_catch_up()
    passports.passports_catch_up()
    return Passport.objects.get(battery__identifier=loop.packs[0])


def fetch(live_server, passport: Passport, **params: str) -> dict:  # type: ignore[no-untyped-def]
    answer = httpx.get(f"{live_server.url}/api/v1/passports/{passport.urn}", params=params, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def keys(log_vkey: str, witnesses) -> dict:  # type: ignore[no-untyped-def]  # noqa: F811
    return {
        "log_keys": [notes.parse_verifier_key(log_vkey)],
        "witness_keys": [(w.name, w.public_key) for w in witnesses],
        "quorum": 2,
    }


def test_before_any_checkpoint_the_proof_is_null_with_a_reason(issued, live_server):
    document = fetch(live_server, issued)
    assert document["ledgerProof"] is None
    assert "no signed checkpoint covers" in document["ledgerProofReason"]
    page = httpx.get(f"{live_server.url}/passport/{issued.pk}", timeout=30).text
    assert "Not yet in a signed checkpoint" in page


def test_a_downloaded_passport_verifies_offline_with_two_witnesses(issued, live_server, log_vkey, witnesses, tmp_path):  # noqa: F811
    # given: a checkpoint, cosigned by both witnesses through the platform's witnessing task
    checkpoint = services.ledger_checkpoint_create()
    assert WitnessCosignature.objects.filter(checkpoint=checkpoint).count() == 2

    # when: anyone downloads the public passport JSON and runs the verifier on it
    document = fetch(live_server, issued)
    proof = document["ledgerProof"]
    assert proof["witnessed"] is True and proof["cosignatures"] == 2
    assert proof["checkpointSize"] == checkpoint.tree_size and proof["seq"] == document["ledgerSeq"]
    path = tmp_path / "passport.json"
    path.write_text(json.dumps(document))
    command = [sys.executable, "-m", "passport.verify", str(path), "--log-key", log_vkey]
    for witness in witnesses:
        command += ["--witness-key", witness.vkey]
    run = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True)

    # then: every check is printed and holds
    assert run.returncode == 0, run.stdout + run.stderr
    for name in ("checkpoint signature", "witness quorum", "inclusion", "fact signature", "document digest"):
        assert f"ok   {name}" in run.stdout
    assert "passport verified" in run.stdout

    # and: a changed byte fails in a separate process too, with its reason
    document["passport"]["GeneralProductInformation"]["batteryMass"] += 1
    path.write_text(json.dumps(document))
    failed = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert failed.returncode == 1 and "FAIL document digest" in failed.stdout

    # and: the public page says so, and its own JSON verifies the same way
    page = httpx.get(f"{live_server.url}/passport/{issued.pk}", timeout=30).text
    assert f"cosigned by 2 witnesses (checkpoint size {checkpoint.tree_size})" in page
    page_json = httpx.get(f"{live_server.url}/passport/{issued.pk}", params={"format": "json"}, timeout=30).json()
    assert verify_passport(page_json, **keys(log_vkey, witnesses)).ok

    # and: the same version asked for by number (not the cached public view) verifies too
    assert verify_passport(fetch(live_server, issued, version=str(document["version"])), **keys(log_vkey, witnesses)).ok


def _flip_base64(line: str) -> str:
    head, _, encoded = line.rpartition(" ")
    middle = len(encoded) // 2
    swapped = "A" if encoded[middle] != "A" else "B"
    return (
        f"{head} {encoded[:middle]}{swapped}{encoded[middle + 1 :]}"
        if head
        else encoded[:middle] + swapped + encoded[middle + 1 :]
    )


def _proof_lines(document: dict, edit: Callable[[list[str]], None]) -> None:
    lines = document["ledgerProof"]["proof"].split("\n")
    edit(lines)
    document["ledgerProof"]["proof"] = "\n".join(lines)


def _cosignature(lines: list[str]) -> None:
    last = max(i for i, line in enumerate(lines) if line.startswith("\u2014 witness"))
    lines[last] = _flip_base64(lines[last])


def _log_signature(lines: list[str]) -> None:
    at = next(i for i, line in enumerate(lines) if line.startswith(f"\u2014 {ORIGIN}"))
    lines[at] = _flip_base64(lines[at])


def _proof_hash(lines: list[str]) -> None:
    lines[3] = _flip_base64(lines[3])


def _dropped_cosignature(lines: list[str]) -> None:
    lines.remove(next(line for line in lines if line.startswith("\u2014 witness")))


MUTATIONS: dict[str, tuple[Callable[[dict], None], str]] = {
    "view field": (
        lambda d: d["passport"]["GeneralProductInformation"].update(productIdentifier="X"),
        "document digest",
    ),
    "status": (lambda d: d.update(status="repurposed"), "passport fact"),
    "version": (lambda d: d.update(version=d["version"] + 1), "passport fact"),
    "fact byte": (lambda d: d.update(ledgerFact=d["ledgerFact"].replace('"version":', '"version": ')), "fact digest"),
    "leaf data": (lambda d: _proof_lines(d, lambda ls: ls.__setitem__(1, _flip_base64(ls[1]))), "inclusion"),
    "proof hash": (lambda d: _proof_lines(d, _proof_hash), "inclusion"),
    "index": (lambda d: _proof_lines(d, lambda ls: ls.__setitem__(2, "index 0")), "inclusion"),
    "log signature": (lambda d: _proof_lines(d, _log_signature), "checkpoint signature"),
    "cosignature": (lambda d: _proof_lines(d, _cosignature), "cosignature"),
    "cosignature dropped": (lambda d: _proof_lines(d, _dropped_cosignature), "witness quorum"),
    "checkpoint size": (lambda d: d["ledgerProof"].update(checkpointSize=1), "proof wrapper"),
    "cosignature count": (lambda d: d["ledgerProof"].update(cosignatures=3), "proof wrapper"),
    "ceased": (lambda d: d.update(ceased=True), "passport fact"),
    "ceased at": (lambda d: d.update(ceasedAt="2030-01-01T00:00:00.000000Z"), "passport fact"),
    "issued at": (lambda d: d.update(issuedAt="1999" + d["issuedAt"][4:]), "passport fact"),
    "reason": (lambda d: d.update(reason="repurposed"), "passport fact"),
    # what the log cannot prove is covered by the platform's signature over the JSON as served
    "successors": (lambda d: d.update(successors=[*d["successors"], "urn:looptrace:passport:forged"]), "served"),
    "witnessed flag": (lambda d: d["ledgerProof"].update(witnessed=not d["ledgerProof"]["witnessed"]), "served"),
    "added field": (lambda d: d.update(note="verified by the operator"), "served"),
    "served signature": (lambda d: d["servedSignature"].update(signedAt="2020-01-01T00:00:00.000000Z"), "served"),
    "served signature dropped": (lambda d: d.pop("servedSignature"), "served"),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_any_changed_byte_fails_with_its_reason(issued, live_server, log_vkey, witnesses, mutation):  # noqa: F811
    services.ledger_checkpoint_create()
    document = fetch(live_server, issued)
    trusted = keys(log_vkey, witnesses)
    assert verify_passport(document, **trusted).ok

    edit, reason = MUTATIONS[mutation]
    changed = copy.deepcopy(document)
    edit(changed)
    assert changed != document
    report = verify_passport(changed, **trusted)
    assert not report.ok
    failed = [name for name, ok, _ in report.checks if not ok]
    assert any(name.startswith(reason) for name in failed), report.lines()


def test_every_byte_of_the_downloaded_file_is_checked(issued, live_server, log_vkey, witnesses, capsys):  # noqa: F811
    """Bytes of the file as downloaded, changed one at a time (a sample of 400 positions, and every
    byte of what the log cannot prove: successors and the proof wrapper): each change is unreadable
    JSON or fails a check. An old platform key given beside the current one changes nothing."""
    services.ledger_checkpoint_create()
    text = httpx.get(f"{live_server.url}/passport/{issued.pk}", params={"format": "json"}, timeout=30).text
    other = notes.verifier_key(ORIGIN, bytes(range(32)))
    trusted = {**keys(log_vkey, witnesses), "log_keys": [notes.parse_verifier_key(other)]}
    assert not verify_passport(json.loads(text), **trusted).ok
    call_command("ledger_vkey", "--all")  # every platform key the log has used: here the one
    listed = capsys.readouterr().out.split()
    assert listed == [log_vkey]
    trusted["log_keys"] += [notes.parse_verifier_key(vkey) for vkey in listed]
    assert verify_passport(json.loads(text), **trusted).ok

    unproven = [text.index('"successors"'), text.index('"ledgerProof"'), text.index('"servedSignature"')]
    positions = set(random.Random(7).sample(range(len(text)), 400))
    for start in unproven:
        positions.update(range(start, text.index("}", start) if "{" in text[start : start + 20] else start + 60))
    for position in sorted(positions):
        flipped = text[:position] + ("B" if text[position] != "B" else "C") + text[position + 1 :]
        try:
            document = json.loads(flipped, object_pairs_hook=_unique, parse_constant=_no_constant)
        except ValueError:
            continue  # the verifier refuses to read it (exit 2)
        report = verify_passport(document, **trusted)
        assert not report.ok, (position, text[max(0, position - 30) : position + 30])


def test_a_tlog_policy_file_names_the_log_the_witnesses_and_the_quorum(
    issued,
    live_server,
    log_vkey,  # noqa: F811
    witnesses,  # noqa: F811
    tmp_path,
):
    services.ledger_checkpoint_create()
    path = tmp_path / "passport.json"
    path.write_text(httpx.get(f"{live_server.url}/api/v1/passports/{issued.urn}", timeout=30).text)
    policy = tmp_path / "witness.policy"

    def verify(policy_text: str) -> subprocess.CompletedProcess[str]:
        policy.write_text(policy_text)
        command = [sys.executable, "-m", "passport.verify", str(path), "--policy", str(policy)]
        return subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True)

    # the platform's own policy (both witnesses), with the log's key: verified, by its quorum
    run = verify(f"log {log_vkey}\n" + policy_for(witnesses))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ok   witness policy: quorum 'both'; cosigned by W1, W2" in run.stdout

    # a reader's stricter policy: a third witness that never saw the log is also required
    stricter = f"log {log_vkey}\nwitness W1 {witnesses[0].vkey}\nwitness W2 {witnesses[1].vkey}\n"
    stricter += f"witness W3 {_other_witness_vkey()}\ngroup all3 all W1 W2 W3\nquorum all3\n"
    run = verify(stricter)
    assert run.returncode == 1 and "FAIL witness policy: quorum 'all3'; cosigned by W1, W2" in run.stdout

    # two of three of the same: met
    run = verify(stricter.replace("group all3 all", "group all3 2"))
    assert run.returncode == 0, run.stdout

    # no log line and no --log-key: nothing to trust
    run = verify(policy_for(witnesses))
    assert run.returncode == 2 and "no log key" in run.stderr


def _other_witness_vkey() -> str:
    return core.cosigner_vkey("witness3.example/w", Ed25519PrivateKey.generate().public_key().public_bytes_raw())
