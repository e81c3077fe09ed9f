"""Failed sign-ins and API-key attempts, counted per credential and per client address.

Two counts, each with its own limit, in Django's cache (set ``CACHE_URL`` to Redis when
several processes serve: each would otherwise count alone):

- per credential (an API client id, which also names a PACT client, or a username): after
  ``AUTH_CREDENTIAL_FAILURE_LIMIT`` failures within ``AUTH_FAILURE_WINDOW_SECONDS`` that
  credential is refused, even with the right secret, until the window ends. However many
  addresses an attacker uses, guessing one credential's secret stays slow.
- per address: after ``AUTH_FAILURE_LIMIT`` failures an address is refused for every
  credential except those that signed in successfully from it within
  ``KNOWN_CREDENTIAL_SECONDS``. Spraying guesses over many credentials from one address
  stops, while partners who share that address (all of them, behind a load balancer when
  ``AUTH_TRUST_FORWARDED_FOR`` is off) keep working: one attacker among them cannot lock
  the others out, and for a known credential only its own count can refuse it.

A request that names no credential (a malformed API key, a bearer token nobody issued)
counts against its address alone.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

# How long a credential that signed in from an address stays known there: a partner's
# integration calls every day, so a day keeps it working through an attack on the address.
KNOWN_CREDENTIAL_SECONDS = 24 * 3600


def client_address(request: HttpRequest) -> str:
    """The peer's address; with ``AUTH_TRUST_FORWARDED_FOR``, the last ``X-Forwarded-For`` entry instead,
    the one the trusted proxy in front of the application appended (earlier entries are the client's
    word and could be anything)."""
    if settings.AUTH_TRUST_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return str(request.META.get("REMOTE_ADDR", "unknown"))


def _name(value: str) -> str:
    """A cache key part for any text a client sends (fixed length, no spaces or control characters)."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _address_key(request: HttpRequest) -> str:
    return f"auth-failures:address:{_name(client_address(request))}"


def _credential_key(credential: str) -> str:
    return f"auth-failures:credential:{_name(credential)}"


def _known_key(request: HttpRequest, credential: str) -> str:
    return f"auth-known:{_name(client_address(request))}:{_name(credential)}"


def _increment(key: str) -> None:
    cache.add(key, 0, timeout=settings.AUTH_FAILURE_WINDOW_SECONDS)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=settings.AUTH_FAILURE_WINDOW_SECONDS)


def record_failure(request: HttpRequest | None, credential: str | None = None) -> None:
    """Count a failed attempt against the address and, when the attempt named one, the credential."""
    if request is None:
        return
    _increment(_address_key(request))
    if credential:
        _increment(_credential_key(credential))


def record_success(request: HttpRequest | None, credential: str) -> None:
    """Remember that ``credential`` signed in from this address (it stays usable if the address is refused)."""
    if request is not None:
        cache.set(_known_key(request, credential), 1, timeout=KNOWN_CREDENTIAL_SECONDS)


def credential_blocked(credential: str | None) -> bool:
    return bool(credential) and int(cache.get(_credential_key(credential or ""), 0)) >= (
        settings.AUTH_CREDENTIAL_FAILURE_LIMIT
    )


def blocked(request: HttpRequest | None, credential: str | None = None) -> bool:
    """Whether this attempt is refused before its secret is looked at."""
    if request is None:
        return False
    if credential_blocked(credential):
        return True
    if int(cache.get(_address_key(request), 0)) < settings.AUTH_FAILURE_LIMIT:
        return False
    return not credential or cache.get(_known_key(request, credential)) is None
