"""A minimal static file server as a WSGI app: the ``tiles_serve`` benchmark's baseline.

``gunicorn bench.static_files:application`` with ``STATIC_ROOT`` set answers ``GET /<path>`` with
the bytes of that file under the root (``application/octet-stream``), 404 otherwise: what any
static server does, with nothing of Django in between.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(os.environ.get("STATIC_ROOT", ".")).resolve()


def application(environ: dict[str, object], start_response: Callable[..., object]) -> Iterable[bytes]:
    path = (ROOT / str(environ.get("PATH_INFO", "")).lstrip("/")).resolve()
    if ROOT not in path.parents or not path.is_file():
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "0")])
        return [b""]
    data = path.read_bytes()
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/octet-stream"),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "public, max-age=31536000, immutable"),
        ],
    )
    return [data]
