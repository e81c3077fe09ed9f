"""``tiles_serve``: full C2SP tiles per second through the stack, against a static file server.

The ledger gets ``ENTRIES`` entries (custodially signed ObjectEvents, untimed), a signed
checkpoint, and its tiles published by the tiles follower into a directory of its own:
``ENTRIES / 256`` full hash tiles and as many full entry bundles.

Subject: gunicorn (``WORKERS`` sync workers, ``DEBUG=0``, the production middleware) serving
``/tlog/tile/...`` from that directory through Django (``traceability.tlog.views``).
Baseline: the same gunicorn, with as many workers, serving the same directory as static files
through a minimal WSGI file server (``bench/static_files.py``), so the ratio is the cost of
Django's routing, middleware and path parsing over plain file serving. For reference (no
ratio), the same loop against Python's ``http.server`` and, where installed, nginx, on
standard error. The same client loop drives them all: ``CLIENTS`` processes, each fetching every
full tile and bundle in turn over a new connection per request (both servers close it after
each answer) with ``http.client`` for ``SECONDS`` seconds, checking each answer's status and
bytes against the file. Subject and baseline rounds alternate, short, and the median round of
each counts (the machine may be shared: a burst of other work spoils a round or two, not the
median). The ratio is stack tiles/s over static tiles/s (target >= 0.5).
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.database import BenchDatabase
from bench.report import BenchError, Result

TARGET = ">=0.5"
ENTRIES = 16_384
BATCH = 1_000
WORKERS = 2
CLIENTS = 2
SECONDS = 3.0
ROUNDS = 7
ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr)


def _wait(server: subprocess.Popen[bytes], port: int, path: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchError(f"the server on port {port} exited with {server.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise BenchError(f"no answer on port {port} within a minute")


def _fetch_loop(port: int, paths: list[str], expected: list[bytes], seconds: float, queue: object) -> None:
    count = 0
    position = os.getpid() % len(paths)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", paths[position])
        response = connection.getresponse()
        body = response.read()
        connection.close()
        if response.status != 200 or body != expected[position]:
            queue.put(-1)  # type: ignore[attr-defined]
            return
        count += 1
        position = (position + 1) % len(paths)
    queue.put(count)  # type: ignore[attr-defined]


def _tiles_per_second(port: int, paths: list[str], expected: list[bytes]) -> float:
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    clients = [
        context.Process(target=_fetch_loop, args=(port, paths, expected, SECONDS, queue)) for _ in range(CLIENTS)
    ]
    started = time.monotonic()
    for client in clients:
        client.start()
    counts = [queue.get(timeout=SECONDS + 60) for _ in clients]
    elapsed = time.monotonic() - started
    for client in clients:
        client.join()
    if any(count < 0 for count in counts):
        raise BenchError("a tile was answered with another status or other bytes than the file")
    return sum(counts) / elapsed


def _build_log(directory: Path) -> list[str]:
    from traceability import events, services
    from traceability.ledger.tiles import full_tiles
    from traceability.tlog.publish import tiles_publish
    from traceability.writer import SubmittedDocument

    organisation = services.organisation_create(slug="bench-tiles", name="Bench tiles", role="remelter")
    services.signing_key_create_custodial(organisation=organisation)
    for start in range(0, ENTRIES, BATCH):
        documents = [
            {
                "type": "ObjectEvent",
                "eventTime": "2026-11-01T08:00:00.000Z",
                "eventTimeZoneOffset": "+00:00",
                "epcList": [f"urn:looptrace:vin:BENCHTILE{number:09d}"],
                "action": "OBSERVE",
                "bizStep": "inspecting",
            }
            for number in range(start, min(start + BATCH, ENTRIES))
        ]
        events.ledger_append_batch(
            organisation=organisation, items=[SubmittedDocument(document=document) for document in documents]
        )
    checkpoint = services.ledger_checkpoint_create()
    published = tiles_publish(directory=directory)
    if published.checkpoint_size != checkpoint.tree_size:
        raise BenchError("the tiles follower did not publish the checkpoint")
    tiles = [tile for tile in full_tiles(0, checkpoint.tree_size) if tile.level == 0]
    return [tile.path() for tile in tiles] + [f"tile/entries/{tile.path()[len('tile/0/') :]}" for tile in tiles]


def _start_http_server(directory: Path, _scratch: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(directory)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), port


def _start_nginx(directory: Path, prefix: Path) -> tuple[subprocess.Popen[bytes], int] | None:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        return None
    port = _free_port()
    user = "user root;" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(
        f"{user} worker_processes {WORKERS}; error_log stderr error; pid {prefix}/nginx.pid;\n"
        "events { worker_connections 256; }\n"
        f"http {{ access_log off; client_body_temp_path {prefix}; proxy_temp_path {prefix};\n"
        f"  fastcgi_temp_path {prefix}; uwsgi_temp_path {prefix}; scgi_temp_path {prefix};\n"
        f"  default_type application/octet-stream;\n"
        f"  server {{ listen 127.0.0.1:{port}; root {directory}; }} }}\n"
    )
    command = [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL), port


def run(database: BenchDatabase) -> Result:
    with (
        tempfile.TemporaryDirectory(prefix="looptrace-bench-tiles-") as temporary,
        tempfile.TemporaryDirectory(prefix="looptrace-bench-scratch-") as scratch,
    ):
        directory = Path(temporary)
        paths = _build_log(directory)
        expected = [(directory / path).read_bytes() for path in paths]
        env = {
            **os.environ,
            "DATABASE_URL": database.url,
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "TLOG_TILES_DIR": str(directory),
            "STATIC_ROOT": str(directory),
            "LOG_LEVEL": "WARNING",
        }
        servers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
        try:
            for name, app, probe in (
                ("stack", "config.wsgi:application", "/tlog/checkpoint"),
                ("static", "bench.static_files:application", "/checkpoint"),
            ):
                port = _free_port()
                command = [sys.executable, "-m", "gunicorn", app, "--workers", str(WORKERS)]
                command += ["--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
                servers[name] = (subprocess.Popen(command, cwd=ROOT, env=env), port)
                _wait(servers[name][0], port, probe)
            stack_paths = [f"/tlog/{path}" for path in paths]
            static_paths = [f"/{path}" for path in paths]
            stack_rates, static_rates = [], []
            for number in range(1, ROUNDS + 1):
                stack_rates.append(_tiles_per_second(servers["stack"][1], stack_paths, expected))
                static_rates.append(_tiles_per_second(servers["static"][1], static_paths, expected))
                _log(
                    f"tiles_serve: round {number}: stack {stack_rates[-1]:,.0f} tiles/s, "
                    f"static (gunicorn) {static_rates[-1]:,.0f} tiles/s"
                )
            for name, start in (("http.server", _start_http_server), ("nginx", _start_nginx)):
                started = start(directory, Path(scratch))
                if started is None:
                    continue
                servers[name] = started
                _wait(started[0], started[1], "/checkpoint")
                rate = _tiles_per_second(started[1], static_paths, expected)
                _log(f"tiles_serve: for reference, {name} {rate:,.0f} tiles/s")
        finally:
            for server, _port in servers.values():
                server.terminate()
                server.wait(timeout=30)
    _log(
        f"tiles_serve: {len(paths)} full tiles and bundles of a {ENTRIES:,}-entry ledger, "
        f"{WORKERS} workers each, {CLIENTS} client processes"
    )
    return Result.of(
        value=statistics.median(stack_rates), baseline=statistics.median(static_rates), unit="tiles/s", target=TARGET
    )
