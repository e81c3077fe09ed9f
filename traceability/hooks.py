"""What other apps may hear from traceability, without traceability importing them.

The followers of the ledger are declared, in order, in ``settings.LEDGER_FOLLOWERS``
(dotted paths of callables taking the new head ``seq``): carbon's footprints first,
then passports, which read the footprints. After every committed append each is called
once per transaction, after the commit, so a follower never sees a write that is later
rolled back. A follower that fails (the broker is down) is logged and never fails the
append: the event is committed, and whoever follows the ledger catches up from its
cursor at the next nudge.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

_paused = 0


@lru_cache(maxsize=8)
def _resolve(paths: tuple[str, ...]) -> tuple[Callable[[int], None], ...]:
    return tuple(import_string(path) for path in paths)


def followers() -> tuple[Callable[[int], None], ...]:
    return _resolve(tuple(getattr(settings, "LEDGER_FOLLOWERS", ())))


def after_commit(seq: int) -> None:
    if _paused:
        return
    for follower in followers():
        transaction.on_commit(lambda follower=follower: follower(seq), robust=True)


@contextmanager
def paused() -> Iterator[None]:
    """Bulk loads (the demo, benchmarks) pause the nudges and catch up once at the end."""
    global _paused
    _paused += 1
    try:
        yield
    finally:
        _paused -= 1
