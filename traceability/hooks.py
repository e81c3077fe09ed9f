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

from traceability.errors import ApplicationError

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


def after_checkpoint(tree_size: int) -> None:
    """A new checkpoint is signed: ``settings.CHECKPOINT_FOLLOWERS`` hear of it after the commit."""
    for follower in _resolve(tuple(getattr(settings, "CHECKPOINT_FOLLOWERS", ()))):
        transaction.on_commit(lambda follower=follower: follower(tree_size), robust=True)


@contextmanager
def paused() -> Iterator[None]:
    """Bulk loads (the demo, benchmarks) pause the nudges and catch up once at the end."""
    global _paused
    _paused += 1
    try:
        yield
    finally:
        _paused -= 1


def recycled_content_credits() -> Callable[..., None]:
    """The check that a recycled-content claim stays within its site's mass-balance credits.

    Credits are computed by the carbon engine from the recycled inputs of the site's melts, so
    the check is carbon's, named in ``settings.RECYCLED_CONTENT_CREDITS`` (a dotted path) and
    called inside the append transaction, under the ledger's append lock: two claims on one
    account take turns, and the second sees the first. It is called with keyword arguments
    ``site_id``, ``period`` (the year, as text), ``category``, ``vehicle_make`` and ``kg``
    (Decimal), and raises ``ApplicationError`` to refuse the claim.
    """
    path = getattr(settings, "RECYCLED_CONTENT_CREDITS", None)
    if not path:
        return _credits_unknown
    (check,) = _resolve((path,))
    return check


def _credits_unknown(**claim: object) -> None:
    raise ApplicationError(
        "credits_unknown", "no mass-balance account is kept here: claims cannot be checked", status=503
    )
