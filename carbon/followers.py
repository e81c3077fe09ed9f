"""Work that runs after a carbon write commits, declared in settings so the services never
import the tasks that call them (the way ``settings.LEDGER_FOLLOWERS`` serves the ledger).

- ``FACTOR_FOLLOWERS``: called with a factor version's id once it has marked results dirty
  (carbon's catch-up recomputes them);
- ``PACT_REQUEST_FOLLOWERS``: called with a received PACT request event's id (answered later,
  by a worker, with retries);
- ``FOOTPRINT_FOLLOWERS``: called with the ledger size once recomputed results have committed
  (PACT reissues the footprints partners follow, and announces them);
- ``PACT_PUBLICATION_FOLLOWERS``: called with a queued PublishedEvent's id (delivered by a worker,
  with retries).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string


def followers(setting: str) -> tuple[Callable[[int], None], ...]:
    return tuple(import_string(path) for path in getattr(settings, setting, ()))


def after_commit(setting: str, pk: int, *, robust: bool) -> None:
    """Call each follower of ``setting`` with ``pk`` after the transaction commits. ``robust``: a
    follower that fails (the broker is down) is logged, and the write stands."""
    for follower in followers(setting):
        transaction.on_commit(lambda follower=follower: follower(pk), robust=robust)
