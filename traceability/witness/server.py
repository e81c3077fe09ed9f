"""The witness's HTTP service (C2SP tlog-witness), on the standard library's threading HTTP server.

POST /add-checkpoint          cosign a checkpoint that extends the last one cosigned
GET  /<origin hash>/checkpoint  the last cosigned checkpoint of a log, with its cosignature
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from traceability.ledger import witness as core
from traceability.ledger.witness import LogState, WitnessError
from traceability.witness.state import WitnessState

_MONITOR_PATH = re.compile(r"/([0-9a-f]{64})/checkpoint")


class Witness:
    """The witness without HTTP: one key, the logs it follows, its state and a clock."""

    def __init__(
        self,
        *,
        name: str,
        private_key: Ed25519PrivateKey,
        log_keys: Mapping[str, Sequence[tuple[str, bytes]]],
        state: WitnessState,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.private_key = private_key
        self.log_keys = log_keys
        self.state = state
        self.clock = clock
        self._origins_by_hash = {core.origin_hash(origin): origin for origin in log_keys}

    def add_checkpoint(self, body: bytes) -> str:
        """The cosignature line for a valid submission; raises :class:`WitnessError` otherwise."""
        request = core.parse_add_checkpoint(body)

        def decide(latest: dict[str, LogState]) -> tuple[str, LogState, str]:
            observed = core.check_add_checkpoint(request, log_keys=self.log_keys, latest=latest)
            line = core.cosign(observed.text, self.name, self.private_key, max(1, int(self.clock())))
            return observed.origin, LogState(observed.size, observed.root_hash, request.note + line), line

        return self.state.advance(decide)

    def latest_note(self, origin_hash: str) -> str | None:
        origin = self._origins_by_hash.get(origin_hash)
        state = self.state.get(origin) if origin else None
        return state.note if state else None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as tlog-witness recommends
    # Headers and body leave in two writes: without TCP_NODELAY, Nagle's algorithm holds the body
    # until the client's delayed ACK (some 40 ms), capping a keep-alive connection near 25 requests/s.
    disable_nagle_algorithm = True
    server_version = "looptrace-witness"
    witness: Witness

    def do_POST(self) -> None:
        if self.path != "/add-checkpoint":
            self._answer(404, "text/plain", b"not found\n")
            return
        length_header = self.headers.get("Content-Length")
        if length_header is None or not length_header.isdigit():
            self._answer(411, "text/plain", b"a Content-Length is required\n", close=True)
            return
        length = int(length_header)
        if length > core.MAX_REQUEST_BYTES:
            self._answer(413, "text/plain", b"the body is too large\n", close=True)
            return
        body = self.rfile.read(length)
        try:
            line = self.witness.add_checkpoint(body)
        except WitnessError as exc:
            if exc.status != core.CONFLICT:
                print(f"witness: refused ({exc.status}): {exc}", file=sys.stderr, flush=True)
            if exc.status == core.CONFLICT:
                self._answer(409, core.SIZE_CONTENT_TYPE, f"{exc.known_size}\n".encode("ascii"))
            else:
                self._answer(exc.status, "text/plain; charset=utf-8", f"{exc}\n".encode())
            return
        self._answer(200, "text/plain; charset=utf-8", line.encode("utf-8"))

    def do_GET(self) -> None:
        match = _MONITOR_PATH.fullmatch(self.path)
        note = self.witness.latest_note(match.group(1)) if match else None
        if note is None:
            self._answer(404, "text/plain", b"not found\n")
        else:
            self._answer(200, "text/plain; charset=utf-8", note.encode("utf-8"))

    def _answer(self, status: int, content_type: str, body: bytes, *, close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: refusals are logged where they happen, successes need no line each."""


def make_server(witness: Witness, host: str, port: int) -> ThreadingHTTPServer:
    handler = type("WitnessHandler", (_Handler,), {"witness": witness})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
