"""Witnesses as separate processes: they cosign the growing ledger, refuse forks, and remember.

Each witness is ``python -m traceability.witness serve`` on a free port with its own key (made
by its ``keygen``) and state directory; the platform reaches it through the witnessing task
(eager here, a real worker in the last test) exactly as it would a regulator's.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.test import Client

from tests.conftest import PROJECT_ROOT
from tests.factories import object_event
from tests.workers import celery_worker
from traceability import events, services
from traceability.ledger import checkpoint as notes
from traceability.ledger import merkle
from traceability.ledger import witness as core
from traceability.models import Checkpoint, MerkleNode, WitnessCosignature

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ORIGIN = "looptrace.example/ledger"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class WitnessProcess:
    """One witness: its key from ``keygen``, its state directory, a port it keeps across restarts."""

    def __init__(self, directory: Path, name: str, log_vkey: str) -> None:
        directory.mkdir()
        self.directory = directory
        self.key_file = directory / "witness.key"
        made = subprocess.run(
            [sys.executable, "-m", "traceability.witness", "keygen", "--name", name, "--out", str(self.key_file)],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        self.vkey = made.stdout.strip()
        self.name, self.public_key = core.parse_cosigner_vkey(self.vkey)
        self.log_vkey = log_vkey
        self.port = free_port()
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [sys.executable, "-m", "traceability.witness", "serve", "--state", str(self.directory / "state")]
        command += ["--key", str(self.key_file), "--log", f"{ORIGIN}={self.log_vkey}", "--port", str(self.port)]
        with open(self.directory / "stderr.log", "a") as errors:
            self.process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=errors, text=True)
        assert self.process.stdout is not None
        assert "listening" in self.process.stdout.readline(), (self.directory / "stderr.log").read_text()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def submit(self, old_size: int, proof: list[bytes], note: str) -> httpx.Response:
        body = core.add_checkpoint_body(old_size, proof, note)
        return httpx.post(f"{self.url}/add-checkpoint", content=body, timeout=10)


@pytest.fixture
def log_vkey(capsys, settings) -> str:  # type: ignore[no-untyped-def]
    settings.LEDGER_ORIGIN = ORIGIN
    call_command("ledger_vkey")
    return capsys.readouterr().out.strip()


@pytest.fixture
def witnesses(tmp_path, log_vkey, settings):  # type: ignore[no-untyped-def]
    """Two running witnesses, both required by the ledger's policy."""
    pair = [WitnessProcess(tmp_path / f"w{n}", f"witness{n}.example/w", log_vkey) for n in (1, 2)]
    settings.LEDGER_WITNESS_POLICY = policy_for(pair)
    for witness in pair:
        witness.start()
    yield pair
    for witness in pair:
        witness.stop()


def policy_for(pair: list[WitnessProcess]) -> str:
    return (
        f"witness W1 {pair[0].vkey} {pair[0].url}\n"
        f"witness W2 {pair[1].vkey} {pair[1].url}\n"
        "group both all W1 W2\nquorum both\n"
    )


def grow(partner, count: int) -> Checkpoint:  # type: ignore[no-untyped-def]
    """Append ``count`` events and sign a checkpoint; its witnessing runs as the checkpoint commits."""
    start = Checkpoint.objects.count() * 1000 + WitnessCosignature.objects.count()
    for number in range(count):
        events.ledger_append(organisation=partner.organisation, document=object_event(start + number))
    return services.ledger_checkpoint_create()


def leaves() -> list[bytes]:
    return [bytes(h) for h in MerkleNode.objects.filter(level=0).order_by("index").values_list("hash", flat=True)]


def forked_checkpoint(size: int) -> tuple[merkle.MemoryTree, str]:
    """The platform's own key signing another history: leaf 3 replaced, then grown to ``size``."""
    honest = leaves()
    forged = [*honest[:3], hashlib.sha256(b"forged").digest(), *honest[4:]]
    forged += [hashlib.sha256(b"extra %d" % n).digest() for n in range(size - len(forged))]
    tree = merkle.MemoryTree(forged[:size])
    _, private_key = services.platform_signing_key()
    return tree, notes.sign_checkpoint(notes.Checkpoint(ORIGIN, size, tree.root()), ORIGIN, private_key)


def test_two_witnesses_cosign_a_growing_ledger_and_both_refuse_a_fork(partner, witnesses):
    # when: the ledger grows and three checkpoints are signed
    checkpoints = [grow(partner, count) for count in (5, 9, 14)]

    # then: each checkpoint carries both witnesses' cosignatures, which verify with their keys
    for checkpoint in checkpoints:
        cosigned = checkpoint.note + "".join(c.line for c in checkpoint.cosignatures.all())
        for witness in witnesses:
            assert core.verify_cosignature(cosigned, witness.name, witness.public_key) > 0
    latest = checkpoints[-1]

    # and: the cosigned checkpoint is published, meeting the policy
    served = Client().get("/tlog/checkpoint.witnessed")
    assert served.status_code == 200
    note = served.content.decode()
    assert note.startswith(latest.note)
    for witness in witnesses:
        core.verify_cosignature(note, witness.name, witness.public_key)
    api = Client().get("/api/v1/ledger/checkpoint/witnessed").json()
    assert api["latest"]["treeSize"] == latest.tree_size and api["latest"]["policyMet"] is True
    assert sorted(c["witness"] for c in api["latest"]["cosignatures"]) == ["W1", "W2"]

    # and: each witness serves what it cosigned to monitors
    for witness in witnesses:
        monitored = httpx.get(f"{witness.url}/{core.origin_hash(ORIGIN)}/checkpoint").text
        assert monitored.startswith(latest.note)
        core.verify_cosignature(monitored, witness.name, witness.public_key)

    # when: someone holding the platform's key shows another history, grown or of the same size
    forked, fork_note = forked_checkpoint(latest.tree_size + 6)
    _, same_size_fork = forked_checkpoint(latest.tree_size)
    for witness in witnesses:
        grown = witness.submit(latest.tree_size, forked.consistency_proof(latest.tree_size, forked.size), fork_note)
        same_size = witness.submit(latest.tree_size, [], same_size_fork)

        # then: both witnesses refuse, saying why, and keep the honest checkpoint
        assert grown.status_code == 422 and "fork" in grown.text
        assert same_size.status_code == 422 and f"size {latest.tree_size}" in same_size.text
        assert witness.submit(0, [], fork_note).status_code == 409
    assert not Checkpoint.objects.filter(tree_size=forked.size).exists()


def test_a_restarted_witness_keeps_its_state_refusing_the_fork_and_accepting_the_continuation(partner, witnesses):
    # given: a cosigned checkpoint
    first = grow(partner, 8)
    assert first.cosignatures.count() == 2
    witness = witnesses[0]

    # when: the witness is killed and started again on the same state directory
    witness.stop()
    witness.start()

    # then: it still knows the size it cosigned (a 409 names it) and still refuses the fork
    stale = witness.submit(0, [], first.note)
    assert (stale.status_code, stale.text, stale.headers["content-type"]) == (
        409,
        f"{first.tree_size}\n",
        "text/x.tlog.size",
    )
    forked, fork_note = forked_checkpoint(first.tree_size + 4)
    assert (
        witness.submit(first.tree_size, forked.consistency_proof(first.tree_size, forked.size), fork_note).status_code
        == 422
    )

    # and: the honest continuation is cosigned by both through the platform's task
    second = grow(partner, 4)
    assert sorted(second.cosignatures.values_list("key_name", flat=True)) == sorted(w.name for w in witnesses)


def test_a_witness_ahead_of_the_platform_answers_409_and_the_platform_proves_from_its_size(partner, witnesses):
    # given: a checkpoint the platform has not sent yet, submitted to one witness by someone else
    first = grow(partner, 6)
    WitnessCosignature.objects.filter(checkpoint=first, witness_vkey=witnesses[1].vkey).delete()
    assert witnesses[1].submit(0, [], first.note).status_code == 409  # it already holds size 6

    # when: the next checkpoint goes out; the platform believes witness 2 cosigned nothing
    second = grow(partner, 5)

    # then: the 409 told it the witness's size and the retried proof from there was accepted
    assert second.cosignatures.count() == 2


def rewrite_history(tamper, *, seq: int) -> None:  # type: ignore[no-untyped-def]
    """The operator's rewrite: one entry's hash replaced, and the Merkle nodes recomputed to match."""
    forged = hashlib.sha256(b"rewritten").hexdigest()
    tamper("UPDATE traceability_ledgerentry SET entry_hash = %s WHERE seq = %s", [forged, seq])
    new_leaves = leaves()
    new_leaves[seq - 1] = bytes.fromhex(forged)
    tamper("DELETE FROM traceability_merklenode")
    for level, index, digest in merkle.nodes_for_appends(0, new_leaves, {}):
        tamper("INSERT INTO traceability_merklenode (level, index, hash) VALUES (%s, %s, %s)", [level, index, digest])


def test_a_history_rewritten_in_the_database_is_refused_by_both_and_named_by_verify_ledger(
    partner, witnesses, tamper, tmp_path, capsys
):
    # given: a witnessed checkpoint someone kept
    kept = grow(partner, 10)
    trusted = tmp_path / "trusted.checkpoint"
    trusted.write_text(Client().get("/tlog/checkpoint.witnessed").content.decode())

    # when: the operator rewrites an entry (and the tree over it), then the log grows and is checkpointed
    rewrite_history(tamper, seq=4)
    forked = grow(partner, 3)

    # then: neither witness cosigns the forked checkpoint; the published one is still the honest one
    assert forked.cosignatures.count() == 0
    assert Client().get("/tlog/checkpoint.witnessed").content.decode() == trusted.read_text()
    api = Client().get("/api/v1/ledger/checkpoint/witnessed").json()
    assert api["latest"]["policyMet"] is False and api["witnessed"]["treeSize"] == kept.tree_size
    for witness in witnesses:
        assert "refused (422)" in (witness.directory / "stderr.log").read_text()

    # and: verify_ledger against the kept checkpoint names the fork, its size and both roots
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_ledger", "--trusted-checkpoint", str(trusted), "--json")
    assert exit_info.value.code == 1
    report = json.loads(capsys.readouterr().out)
    (fork,) = [f for f in report["failures"] if f["code"] == "trusted_checkpoint_fork"]
    kept_root = base64.b64encode(bytes.fromhex(kept.root_hash)).decode()
    assert fork["seq"] == kept.tree_size
    assert f"fork: the trusted checkpoint has size {kept.tree_size} and root {kept_root}" in fork["message"]
    assert "this ledger's entries give root" in fork["message"]


def test_an_honest_ledger_is_proven_consistent_with_a_kept_checkpoint(partner, witnesses, tmp_path, capsys):
    kept = grow(partner, 7)
    trusted = tmp_path / "trusted.checkpoint"
    trusted.write_text(Client().get("/tlog/checkpoint.witnessed").content.decode())
    later = grow(partner, 9)

    call_command("verify_ledger", "--trusted-checkpoint", str(trusted))

    out = capsys.readouterr().out
    assert out.startswith("OK: ")
    assert f"trusted checkpoint: size {kept.tree_size} " in out
    assert f"is consistent with size {later.tree_size} " in out


@pytest.mark.redis
@pytest.mark.slow
def test_a_real_worker_asks_a_witness_that_was_down_again_until_it_cosigns(
    partner, tmp_path, log_vkey, settings, monkeypatch
):
    # given: two witnesses in the policy, the second not running yet; a checkpoint not yet sent
    pair = [WitnessProcess(tmp_path / f"w{n}", f"witness{n}.example/w", log_vkey) for n in (1, 2)]
    policy = policy_for(pair)
    monkeypatch.setenv("LEDGER_WITNESS_POLICY", policy)
    monkeypatch.setenv("LEDGER_WITNESS_RETRY_SECONDS", "0.5")
    settings.LEDGER_WITNESS_POLICY = policy
    settings.CHECKPOINT_FOLLOWERS = ()
    pair[0].start()
    checkpoint = grow(partner, 6)
    try:
        with celery_worker() as (client, queue):
            # when: a worker witnesses it; witness 2 only comes up once the first attempt has failed on it
            result = client.send_task("traceability.tasks.checkpoint_witness_task", args=[checkpoint.pk], queue=queue)
            deadline = time.monotonic() + 60
            while not checkpoint.cosignatures.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert checkpoint.cosignatures.count() == 1
            pair[1].start()
            outcome = result.get(timeout=90)
    finally:
        for witness in pair:
            witness.stop()

    # then: the retry reached it, and both cosignatures are stored
    assert sorted(outcome["cosigned"]) == ["W1", "W2"]
    assert checkpoint.cosignatures.count() == 2


@pytest.fixture
def lone_witness(tmp_path):  # type: ignore[no-untyped-def]
    """A witness following a log whose key this test holds, and a 64-leaf tree of that log."""
    log_key = Ed25519PrivateKey.generate()
    witness = WitnessProcess(tmp_path / "w", "witness.example/lone", notes.verifier_key(ORIGIN, public_raw(log_key)))
    witness.start()
    tree = merkle.MemoryTree(hashlib.sha256(b"%d" % n).digest() for n in range(64))

    def note(size: int) -> str:
        return notes.sign_checkpoint(notes.Checkpoint(ORIGIN, size, tree.root(size)), ORIGIN, log_key)

    yield witness, tree, note
    witness.stop()


def public_raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes_raw()


def test_concurrent_submissions_from_one_size_advance_the_witness_once(lone_witness):
    # given: the witness holds size 10
    witness, tree, note = lone_witness
    assert witness.submit(0, [], note(10)).status_code == 200

    # when: eight clients each submit a different extension of size 10 at once
    def extend(size: int) -> int:
        return witness.submit(10, tree.consistency_proof(10, size), note(size)).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(extend, range(20, 60, 5)))

    # then: exactly one is cosigned; every other finds the size moved and gets a 409
    assert sorted(statuses) == [200] + [409] * 7


def test_the_witness_refuses_oversized_unsized_and_misdirected_requests(lone_witness):
    witness, _tree, note = lone_witness
    too_large = httpx.post(f"{witness.url}/add-checkpoint", content=b"old 0\n\n" + b"x" * 70_000, timeout=10)
    assert too_large.status_code == 413
    with socket.create_connection(("127.0.0.1", witness.port), timeout=10) as raw:
        raw.sendall(b"POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nConnection: close\r\n\r\n")
        assert raw.recv(100).startswith(b"HTTP/1.1 411")
    assert httpx.post(f"{witness.url}/other", content=b"old 0\n\n" + note(3).encode()).status_code == 404
    assert httpx.get(f"{witness.url}/{core.origin_hash(ORIGIN)}/checkpoint").status_code == 404  # nothing cosigned
    assert httpx.get(f"{witness.url}/../state/state.json").status_code == 404
    assert httpx.post(f"{witness.url}/add-checkpoint", content=b"old 0\n\n" + note(3).encode()).status_code == 200


def test_a_second_witness_process_cannot_take_a_state_directory_in_use(lone_witness):
    witness, _tree, _note = lone_witness
    command = [sys.executable, "-m", "traceability.witness", "serve", "--state", str(witness.directory / "state")]
    command += ["--key", str(witness.key_file), "--log", f"{ORIGIN}={witness.log_vkey}", "--port", "0"]
    second = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30)
    assert second.returncode == 2 and "another witness process" in second.stderr
