"""``/tlog/``: the files the tiles follower wrote, served as C2SP tlog-tiles says (routed by
``traceability.tlog.middleware``).

The views only read: a path is parsed into a tile (one spelling, bounded numbers) and
the file name is built from the parsed numbers, never from the request's text.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from traceability.ledger.errors import LedgerError
from traceability.ledger.tiles import parse_tile_path
from traceability.tlog.publish import CHECKPOINT_FILE

# Full tiles and bundles never change; partial ones are replaced by the full tile, the checkpoint moves.
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=5"
OCTETS = "application/octet-stream"


def _answer(body: bytes, *, status: int = 200, content_type: str, cache: str) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type=content_type)
    response["Cache-Control"] = cache
    response["Content-Length"] = str(len(body))
    # Public, read-only data: monitors and witnesses running in a browser may read it too.
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _plain(status: int, text: str) -> HttpResponse:
    return _answer((text + "\n").encode(), status=status, content_type="text/plain; charset=utf-8", cache="no-store")


def _file(name: str) -> bytes | None:
    # os.path and open() rather than pathlib: this is most of a tile request's own work.
    try:
        with open(os.path.join(settings.TLOG_TILES_DIR, name), "rb") as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


@require_safe
def checkpoint(request: HttpRequest) -> HttpResponse:
    note = _file(CHECKPOINT_FILE)
    if note is None:
        return _plain(404, "no checkpoint has been published yet")
    return _answer(note, content_type="text/plain; charset=utf-8", cache=SHORT)


@require_safe
def tile(request: HttpRequest, path: str) -> HttpResponse:
    try:
        wanted = parse_tile_path(path)
    except LedgerError as exc:
        return _plain(400, exc.message)
    data = _file(wanted.path())
    if data is None:
        return _plain(404, "no such tile in the published tree")
    return _answer(data, content_type=OCTETS, cache=IMMUTABLE if wanted.is_full else SHORT)
