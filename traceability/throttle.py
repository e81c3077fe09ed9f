"""Failed sign-ins and API-key attempts, counted per client address, so guessing is slow.

The counts live in Django's cache: set ``CACHE_URL`` to Redis when several processes serve
(each would otherwise count alone). After ``AUTH_FAILURE_LIMIT`` failures within
``AUTH_FAILURE_WINDOW_SECONDS`` an address is refused until the window ends, even with
the right secret.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The peer's address. A trusted proxy's ``X-Forwarded-For`` is used only when configured."""
    if settings.AUTH_TRUST_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return str(request.META.get("REMOTE_ADDR", "unknown"))


def _key(request: HttpRequest) -> str:
    return f"auth-failures:{client_address(request)}"


def record_failure(request: HttpRequest | None) -> None:
    if request is None:
        return
    key = _key(request)
    cache.add(key, 0, timeout=settings.AUTH_FAILURE_WINDOW_SECONDS)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=settings.AUTH_FAILURE_WINDOW_SECONDS)


def blocked(request: HttpRequest | None) -> bool:
    return request is not None and int(cache.get(_key(request), 0)) >= settings.AUTH_FAILURE_LIMIT
