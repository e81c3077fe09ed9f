"""An independent client (tests/tlog_client.py: C2SP and RFC 9162 only) verifies the log over HTTP.

This module imports nothing of Looptrace: the fixtures (tests/integration/conftest.py) build a
ledger with the tiles follower running and start gunicorn on it; the client is given only the
URL prefix, the origin and the log's verifier key, as any auditor would be.
"""

import ast
import base64
import hashlib
import json
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.tlog_client import WIDTH, TlogClient, TlogError, leaf_hash

pytestmark = [pytest.mark.django_db, pytest.mark.postgres, pytest.mark.slow]

CLIENT_MODULE = Path(__file__).resolve().parent.parent / "tlog_client.py"


def test_the_client_imports_only_the_standard_library_httpx_and_cryptography():
    tree = ast.parse(CLIENT_MODULE.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports"
            imported.add(str(node.module).split(".")[0])
    assert imported <= {"__future__", "base64", "hashlib", "dataclasses", "httpx", "cryptography"}
    this_module = ast.parse(Path(__file__).read_text())
    modules = {
        str(getattr(node, "module", None) or node.names[0].name).split(".")[0]
        for node in ast.walk(this_module)
        if isinstance(node, ast.Import | ast.ImportFrom)
    }
    assert not modules & {"traceability", "passport", "carbon", "config", "django"}


def test_a_client_recomputes_the_root_and_proves_random_entries(tiled_log, tlog_server):
    # given only the log's URL prefix, origin and verifier key
    client = TlogClient(tlog_server, tiled_log.vkey, tiled_log.origin)

    # when it verifies the checkpoint and recomputes its root from the tiles
    log = client.open()

    # then the tree is the ledger's, and random entries (first and last too) are proved included
    assert log.checkpoint.size == tiled_log.size > 2 * WIDTH
    for index in {0, WIDTH - 1, WIDTH, log.checkpoint.size - 1, *random.sample(range(log.checkpoint.size), 20)}:
        entry = client.prove(log, index)
        # the leaf data is the entry's header as RFC 8785 JSON, and the leaf hash covers exactly it
        header = json.loads(entry)
        assert header["seq"] == index + 1
        if index:
            previous = client.prove(log, index - 1)
            assert header["prev"] == leaf_hash(previous).hex()


@pytest.mark.parametrize("tiled_log", [WIDTH * WIDTH + 300], indirect=True)
def test_a_log_past_a_full_level_1_tile_verifies_too(tiled_log, tlog_server):
    # given a log of more than 256 * 256 entries: full tiles at level 0 and 1, partial ones at 0, 1 and 2
    client = TlogClient(tlog_server, tiled_log.vkey, tiled_log.origin)

    # when the client recomputes the root and proves entries across tiles
    log = client.open()
    indexes = {
        0,
        WIDTH * WIDTH - 1,
        WIDTH * WIDTH,
        log.checkpoint.size - 1,
        *random.sample(range(log.checkpoint.size), 20),
    }

    # then each is proved, through level-0 tiles checked against the full level-1 tile
    assert log.checkpoint.size > WIDTH * WIDTH
    for index in indexes:
        assert json.loads(client.prove(log, index))["seq"] == index + 1


def test_any_static_file_server_serves_the_same_log(tiled_log):
    # given the tiles directory served by Python's plain http.server, nothing of Looptrace
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "http.server",
        str(port),
        "--bind",
        "127.0.0.1",
        "--directory",
        str(tiled_log.directory),
    ]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        prefix = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(prefix + "checkpoint", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "http.server did not start"
                time.sleep(0.1)

        # when the client verifies it, then the root and random entries check out
        client = TlogClient(prefix, tiled_log.vkey, tiled_log.origin)
        log = client.open()
        assert log.checkpoint.size == tiled_log.size
        for index in random.sample(range(log.checkpoint.size), 10):
            client.prove(log, index)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_checkpoint_signed_by_another_key_is_refused(tiled_log, tlog_server):
    # given the verifier key of another Ed25519 key under the log's name
    name = tiled_log.vkey.split("+", 1)[0]
    material = b"\x01" + Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    key_id = hashlib.sha256(name.encode() + b"\n" + material).digest()[:4]
    other = f"{name}+{key_id.hex()}+{base64.b64encode(material).decode()}"

    # then the log's checkpoint is refused under it, and under another origin
    with pytest.raises(TlogError, match="no signature by the log's key"):
        TlogClient(tlog_server, other, tiled_log.origin).open()
    with pytest.raises(TlogError, match="origin"):
        TlogClient(tlog_server, tiled_log.vkey, "another.example/log").open()


@pytest.mark.parametrize(
    ("name", "offset", "reason"),
    [
        ("tile/0/000", 5 * 32, "parent"),  # a full level-0 tile: no longer its hash in the level-1 tile
        ("tile/entries/001", 40, "does not hash to its leaf"),  # an entry bundle
        ("partial/0", 0, "root"),  # the partial level-0 tile
        ("partial/1", 32, "root"),  # the partial level-1 tile
    ],
)
def test_a_tampered_tile_or_entry_makes_the_client_fail(tiled_log, tlog_server, name, offset, reason):
    # given a log whose served files were changed by one bit (as a compromised mirror or CDN could)
    client = TlogClient(tlog_server, tiled_log.vkey, tiled_log.origin)
    size = tiled_log.size
    if name.startswith("partial/"):
        level = int(name[-1])
        width = (size >> (8 * level)) % WIDTH
        name = f"tile/{level}/{size >> (8 * (level + 1)):03d}.p/{width}"
    path = tiled_log.directory / name
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))

    # when the client verifies the root and proves every entry, then it fails
    with pytest.raises(TlogError, match=reason):
        log = client.open()
        for index in range(size):
            client.prove(log, index)
