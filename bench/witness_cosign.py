"""``witness_cosign``: checkpoints one witness process cosigns per second, over HTTP, on a tree of 1,000,000.

The tree (``MemoryTree``, 1,000,000 leaves) is built in memory, untimed: a witness needs only
checkpoints and consistency proofs, never entries. A log key signs ``CHECKPOINTS`` checkpoints
of growing sizes spread over the last tenth of the tree (900,050, 900,100, ... 1,000,000), each
with its RFC 9162 consistency proof from the one before (17 to 20 hashes); the request bodies
are built before any timing.

Subject: ``python -m traceability.witness serve`` (one process, a fresh state directory),
started first with the checkpoint of size 900,000, then sent every checkpoint in order over
one keep-alive HTTP connection. Each answer must be 200 with a cosignature that verifies;
each request costs the witness the parsing, the log's Ed25519 signature check, the consistency
proof, an Ed25519 cosignature and the state written to disk (temporary file, fsync, rename)
before it answers, as tlog-witness requires.

Baseline: what any conforming witness must do per checkpoint, in this process: one Ed25519
verify of the log's signature, one Ed25519 cosignature, and one durable write of the result
(the note and cosignature written to a file and fsynced: tlog-witness requires the state to be
persisted before the answer). The ratio is the witness's rate over that floor, so it says what
HTTP, parsing, the consistency proof and the atomic state file (temporary file, fsync, rename,
directory fsync) cost on top. A plain HTTP round trip to the same server (its monitoring GET)
is measured too and goes to standard error. On this machine's disk an fsync takes about 3 ms,
more than everything else together, which is why the floor includes one.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import tempfile
import time
from hashlib import sha256
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from tqdm import tqdm

from bench.report import BenchError, Result
from traceability.ledger import checkpoint as notes
from traceability.ledger import merkle
from traceability.ledger import witness as core

TARGET = ">=0.3"
TREE_SIZE = 1_000_000
CHECKPOINTS = 2_000
FIRST_SIZE = 900_000
STEP = (TREE_SIZE - FIRST_SIZE) // CHECKPOINTS
ORIGIN = "bench.looptrace.example/ledger"
WITNESS_NAME = "bench.looptrace.example/witness"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
ROUND_TRIPS = 2_000
BLOCKS = 4


def _tree() -> merkle.MemoryTree:
    tree = merkle.MemoryTree()
    for index in tqdm(range(TREE_SIZE), desc="witness_cosign: tree", unit="leaf", leave=False, mininterval=1):
        tree.append(merkle.leaf_hash(sha256(index.to_bytes(8, "big")).digest()))
    return tree


def _requests(tree: merkle.MemoryTree, log_key: Ed25519PrivateKey) -> tuple[bytes, list[bytes], list[str]]:
    def note(size: int) -> str:
        return notes.sign_checkpoint(notes.Checkpoint(ORIGIN, size, tree.root(size)), ORIGIN, log_key)

    first = core.add_checkpoint_body(0, [], note(FIRST_SIZE))
    bodies, signed = [], []
    previous = FIRST_SIZE
    for size in range(FIRST_SIZE + STEP, TREE_SIZE + 1, STEP):
        signed.append(note(size))
        bodies.append(core.add_checkpoint_body(previous, tree.consistency_proof(previous, size), signed[-1]))
        previous = size
    return first, bodies, signed


def _post(connection: http.client.HTTPConnection, body: bytes) -> tuple[int, bytes]:
    connection.request("POST", "/add-checkpoint", body=body, headers={"Content-Type": "text/plain"})
    response = connection.getresponse()
    return response.status, response.read()


def _floor(
    log_public: Ed25519PublicKey, witness_key: Ed25519PrivateKey, notes_block: list[str], record: Path, first: int
) -> float:
    """Seconds for the baseline's verify, sign and fsynced write of each note of the block."""
    texts = [notes.parse_note(note) for note in notes_block]
    started = time.perf_counter()
    for number, ((text, signatures), note) in enumerate(zip(texts, notes_block, strict=True), start=first):
        log_public.verify(signatures[0].signature, text.encode())
        cosignature = witness_key.sign(core.cosignature_message(text, 1_700_000_000 + number))
        with open(record, "wb") as handle:
            handle.write(note.encode() + cosignature)
            handle.flush()
            os.fsync(handle.fileno())
    return time.perf_counter() - started


def run() -> Result:
    tree = _tree()
    log_key = Ed25519PrivateKey.generate()
    log_vkey = notes.verifier_key(ORIGIN, log_key.public_key().public_bytes_raw())
    first, bodies, signed = _requests(tree, log_key)
    witness_key = Ed25519PrivateKey.generate()
    witness_public = witness_key.public_key().public_bytes_raw()
    answers: list[tuple[int, bytes]] = []
    subject_seconds = baseline_seconds = 0.0

    with tempfile.TemporaryDirectory(prefix="witness-bench-") as directory:
        key_file = Path(directory) / "witness.key"
        key_file.write_text(core.signer_key_text(WITNESS_NAME, witness_key) + "\n")
        command = [sys.executable, "-m", "traceability.witness", "serve", "--state", f"{directory}/state"]
        command += ["--key", str(key_file), "--log", f"{ORIGIN}={log_vkey}", "--port", "0"]
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            if "listening" not in line:
                raise BenchError(f"the witness did not start: {line!r}")
            port = int(line.split("http://127.0.0.1:", 1)[1].split("/", 1)[0])
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            status, answer = _post(connection, first)
            if status != 200:
                raise BenchError(f"the first checkpoint was refused: {status} {answer!r}")

            # Subject and baseline alternate in blocks, on the same disk, so drift weighs on both.
            size = len(bodies) // BLOCKS
            for block in range(0, len(bodies), size):
                started = time.perf_counter()
                answers.extend(_post(connection, body) for body in bodies[block : block + size])
                subject_seconds += time.perf_counter() - started
                record = Path(directory) / "floor"
                baseline_seconds += _floor(
                    log_key.public_key(), witness_key, signed[block : block + size], record, block
                )

            path = f"/{core.origin_hash(ORIGIN)}/checkpoint"
            started = time.perf_counter()
            for _ in range(ROUND_TRIPS):
                connection.request("GET", path)
                connection.getresponse().read()
            round_trip_seconds = time.perf_counter() - started
            connection.close()
        finally:
            process.terminate()
            process.wait(timeout=30)

    for (status, answer), note in zip(answers, signed, strict=True):
        if status != 200:
            raise BenchError(f"a consistent checkpoint was refused: {status} {answer!r}")
        core.verify_cosignature(note + answer.decode(), WITNESS_NAME, witness_public)

    subject_rate, baseline_rate = len(bodies) / subject_seconds, len(signed) / baseline_seconds
    print(
        f"witness_cosign: {subject_rate:.0f} checkpoints/s over HTTP; plain HTTP round trips to the same server "
        f"{ROUND_TRIPS / round_trip_seconds:.0f}/s; in-process verify+sign+fsync {baseline_rate:.0f}/s",
        file=sys.stderr,
    )
    return Result.of(value=subject_rate, baseline=baseline_rate, unit="checkpoints/s", target=TARGET)
