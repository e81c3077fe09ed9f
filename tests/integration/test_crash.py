"""A server killed with SIGKILL in the middle of batches from several clients.

Three clients send batches of events to a real gunicorn server on the test database; the
server is killed (the whole process group, SIGKILL) while they do, and started again. A
client whose batch got no answer sends the same batch again, as a partner's system would.
Afterwards every acknowledged event is in the ledger, none twice (a resent event that had
committed is refused as a duplicate by its canonical hash), and the chain verifies.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import PROJECT_ROOT
from tests.factories import object_event
from tests.workers import database_url
from traceability.models import LedgerEntry
from traceability.verification import verify_ledger

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.slow]
CLIENTS = 3
BATCHES = 8
BATCH_SIZE = 25
KILL_AFTER_ACKNOWLEDGED = 6


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--workers", "2", "--bind", f"127.0.0.1:{port}"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": database_url(), "LOG_LEVEL": "WARNING"},
        start_new_session=True,  # its own process group, so the kill takes master and workers
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2):
                return server
        except OSError:
            time.sleep(0.2)
    os.killpg(server.pid, signal.SIGKILL)
    raise AssertionError("the server did not start")


class Client(threading.Thread):
    def __init__(self, number: int, port: int, api_key: str, acknowledged: list[int]) -> None:
        super().__init__(daemon=True)
        self.number, self.port, self.api_key, self.acknowledged = number, port, api_key, acknowledged
        self.retries = 0
        self.errors: list[str] = []

    def run(self) -> None:
        for batch in range(BATCHES):
            first = (self.number * BATCHES + batch) * BATCH_SIZE
            numbers = list(range(first, first + BATCH_SIZE))
            body = json.dumps({"entries": [{"document": object_event(100_000 + n)} for n in numbers]}).encode()
            deadline = time.monotonic() + 120
            while True:
                status = self._send(body)
                if status in (201, 409):  # stored now, or stored before the crash (duplicate)
                    self.acknowledged.extend(numbers)
                    break
                if time.monotonic() > deadline:
                    self.errors.append(f"batch {batch}: no answer")
                    return
                self.retries += 1
                time.sleep(0.2)

    def _send(self, body: bytes) -> int | None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/v1/ledger/batches",
            data=body,
            headers={"Authorization": f"Api-Key {self.api_key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as error:
            if error.code == 409:
                return 409
            self.errors.append(f"HTTP {error.code}: {error.read()[:300]!r}")
            return None
        except OSError:
            return None  # connection refused or reset: the server is down


def test_a_killed_server_loses_no_acknowledged_event_and_stores_none_twice(partner):
    # given: a server and three clients sending batches
    port = _free_port()
    server = _start(port)
    acknowledged: list[int] = []
    clients = [Client(n, port, partner.api_key, acknowledged) for n in range(CLIENTS)]
    for client in clients:
        client.start()

    # when: the server is killed mid-stream, then started again
    deadline = time.monotonic() + 120
    while len(acknowledged) < KILL_AFTER_ACKNOWLEDGED * BATCH_SIZE and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(server.pid, signal.SIGKILL)
    server.wait(timeout=30)
    killed_at = len(acknowledged)
    time.sleep(0.5)
    server = _start(port)
    try:
        for client in clients:
            client.join(timeout=300)
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)

    # then
    assert killed_at < CLIENTS * BATCHES * BATCH_SIZE, "the kill came after the last batch"
    assert sum(client.retries for client in clients) > 0, "no request was cut off by the kill"
    assert [error for client in clients for error in client.errors if "no answer" in error] == []
    assert sorted(acknowledged) == list(range(CLIENTS * BATCHES * BATCH_SIZE))
    documents = [json.loads(d) for d in LedgerEntry.objects.filter(kind="event").values_list("document", flat=True)]
    epcs = [document["epcList"][0] for document in documents]
    assert len(epcs) == len(set(epcs)) == CLIENTS * BATCHES * BATCH_SIZE
    seqs = list(LedgerEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    report = verify_ledger(processes=2)
    assert report.ok, report.failures[:5]
