"""What other apps may hear from traceability, without traceability importing them.

Carbon registers a callback at start-up; after every committed append it is called
with the new head ``seq`` (once per transaction, after the commit, so a callback never
sees a write that is later rolled back). A callback that fails (the broker is down) is
logged and never fails the append: the event is committed, and whoever follows the
ledger catches up from its cursor at the next nudge.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import transaction

_callbacks: list[Callable[[int], None]] = []
_paused = 0


def on_ledger_append(callback: Callable[[int], None]) -> None:
    if callback not in _callbacks:
        _callbacks.append(callback)


def after_commit(seq: int) -> None:
    if _paused or not _callbacks:
        return
    for callback in _callbacks:
        transaction.on_commit(lambda callback=callback: callback(seq), robust=True)


@contextmanager
def paused() -> Iterator[None]:
    """Bulk loads (the demo, benchmarks) pause the nudges and catch up once at the end."""
    global _paused
    _paused += 1
    try:
        yield
    finally:
        _paused -= 1
