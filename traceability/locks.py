"""Transaction-scoped locks on names: PostgreSQL advisory locks keyed by a hash of the name.

A lock class (a 32-bit constant per use) keeps the names of one use apart from another's; the
name's SHA-256 gives the second key. Two names may share a key (32 bits): they then wait for
each other, which costs time, never correctness. Elsewhere (SQLite, the embedded mode) requests
run one at a time and nothing is taken.
"""

from __future__ import annotations

import hashlib

from django.db import connection


def take_name_lock(lock_class: int, *name: str) -> None:
    """Wait for any other transaction holding ``name`` in ``lock_class``, until this one ends."""
    if connection.vendor != "postgresql":
        return
    digest = hashlib.sha256("\n".join(name).encode()).digest()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", [lock_class, int.from_bytes(digest[:4], "big", signed=True)]
        )
