"""Fixtures of the integration tests that must not import the project themselves."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from django.conf import settings

from tests.conftest import PROJECT_ROOT
from tests.factories import object_event
from tests.workers import database_url
from traceability import events, services
from traceability.ledger.chain import KIND_EVENT
from traceability.ledger.checkpoint import verifier_key
from traceability.ledger.signing import public_key_raw
from traceability.writer import MAX_BATCH_DOCUMENTS, SubmittedDocument, append_prepared, prepare_signed

TILED_LOG_EVENTS = 700


@pytest.fixture
def tiled_log(request, partner, django_capture_on_commit_callbacks) -> SimpleNamespace:  # type: ignore[no-untyped-def]
    """A ledger of a few tiles (or ``request.param`` events), followed by the tiles follower as it
    grew, with a signed checkpoint published; with what a client is given out of band: the log's
    origin and verifier key."""
    count = getattr(request, "param", TILED_LOG_EVENTS)
    with django_capture_on_commit_callbacks(execute=True):
        if count == TILED_LOG_EVENTS:
            for start in range(1, count + 1, 350):
                items = [SubmittedDocument(document=object_event(n)) for n in range(start, start + 350)]
                events.ledger_append_batch(organisation=partner.organisation, items=items)
        else:
            # Large logs: signed events appended by the writer itself, without the event projections.
            for start in range(1, count + 1, MAX_BATCH_DOCUMENTS):
                prepared = [
                    prepare_signed(partner.organisation, KIND_EVENT, object_event(n), partner.private_key)
                    for n in range(start, min(start + MAX_BATCH_DOCUMENTS, count + 1))
                ]
                append_prepared(prepared)
    with django_capture_on_commit_callbacks(execute=True):
        checkpoint = services.ledger_checkpoint_create()
    _, private_key = services.platform_signing_key()
    return SimpleNamespace(
        directory=Path(settings.TLOG_TILES_DIR),
        origin=settings.LEDGER_ORIGIN,
        vkey=verifier_key(settings.LEDGER_ORIGIN, public_key_raw(private_key)),
        size=checkpoint.tree_size,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def tlog_server(tiled_log) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """gunicorn serving the project on a free port, its tiles directory the tiled log's; yields the /tlog/ URL."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "TLOG_TILES_DIR": str(tiled_log.directory),
        "SECRET_KEY": settings.SECRET_KEY,
        "KEY_ENCRYPTION_KEY": settings.KEY_ENCRYPTION_KEY,
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--workers", "1"]
    server = subprocess.Popen(
        [*command, "--bind", f"127.0.0.1:{port}", "--log-level", "warning"], cwd=PROJECT_ROOT, env=env
    )
    prefix = f"http://127.0.0.1:{port}/tlog/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(prefix + "checkpoint", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                pytest.fail("gunicorn did not serve /tlog/checkpoint within a minute")
            time.sleep(0.2)
        yield prefix
    finally:
        server.terminate()
        server.wait(timeout=30)
