"""``/tlog/`` answered early in the middleware chain, as WhiteNoise answers static files.

The tiles are public files: no session, user, CSRF token or message storage is needed to
serve them, and skipping those (and URL resolution) keeps the stack near a static file
server. The middleware sits after the security headers ones, so the answers still carry
their headers, and after the error-body middleware, so a malformed request is still refused
there first.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from traceability.tlog import views

PREFIX = "/tlog/"
TILE_PREFIX = PREFIX + "tile/"


class TilesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path == PREFIX + "checkpoint":
            return views.checkpoint(request)
        if path.startswith(TILE_PREFIX):
            return views.tile(request, path[len(PREFIX) :])
        return self.get_response(request)
