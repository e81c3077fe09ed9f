"""Writing the EPCIS query index of ledger events, inside the append transaction.

Called for every event the ledger accepts, so ``/epcis/events`` finds Looptrace's own
operation events and captured foreign events alike. The canonical event hash is the
de-duplication key: an event whose hash (or eventID) is already stored is refused.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import IntegrityError, connection, transaction

from traceability.epcis.core.fields import IndexedEvent, index_event
from traceability.epcis.core.hashing import EventHashError, event_hash
from traceability.errors import ApplicationError
from traceability.models import EpcisEvent, EpcisEventEpc, LedgerEntry
from traceability.writer import Appended, Prepared, Projector

# Annotations of a submitted event: its canonical hash when the caller computed it, and
# whether its @context was copied from the capture document.
EVENT_HASH = "event_hash"
CONTEXT_INHERITED = "context_inherited"

EVENT_COLUMNS = (
    "entry_id",
    "event_hash",
    "event_id",
    "organisation_id",
    "event_type",
    "event_time",
    "record_time",
    "action",
    "biz_step",
    "disposition",
    "read_point",
    "biz_location",
    "transformation_id",
    "context_inherited",
    "error_declaration",
)


def indexed_events(
    items: Sequence[tuple[LedgerEntry, dict[str, object], str | None, bool]],
) -> list[tuple[LedgerEntry, IndexedEvent, bool]]:
    rows = []
    for position, (entry, document, computed_hash, inherited) in enumerate(items):
        try:
            rows.append((entry, index_event(document, computed_hash=computed_hash), inherited))
        except EventHashError as exc:
            raise ApplicationError("event_invalid", str(exc), extra={"index": position}) from exc
    return rows


def _refuse_duplicates(rows: list[tuple[LedgerEntry, IndexedEvent, bool]]) -> None:
    # An event and its error declaration share hash and eventID: each is unique with the flag.
    hashes = [(row.event_hash, row.error_declaration) for _, row, _ in rows]
    ids = [(row.event_id, row.error_declaration) for _, row, _ in rows]
    stored_hashes = EpcisEvent.objects.filter(event_hash__in=[h for h, _ in hashes])
    stored_keys = {
        (h, d): seq for h, d, seq in stored_hashes.values_list("event_hash", "error_declaration", "entry_id")
    }
    stored = next(((key, stored_keys[key]) for key in hashes if key in stored_keys), None)
    if stored is not None or len(set(hashes)) != len(hashes):
        duplicate = stored[0] if stored else next(h for h in hashes if hashes.count(h) > 1)
        raise ApplicationError(
            "event_duplicate",
            f"the event {duplicate[0]} is already recorded" + (f" (entry {stored[1]})" if stored else ""),
            status=409,
            extra={"index": hashes.index(duplicate), "eventHash": duplicate[0]},
        )
    taken_ids = EpcisEvent.objects.filter(event_id__in=[i for i, _ in ids]).values_list("event_id", "error_declaration")
    taken = next((key for key in ids if key in set(taken_ids)), None)
    if taken is not None or len(set(ids)) != len(ids):
        clash = (taken or next(i for i in ids if ids.count(i) > 1))[0]
        raise ApplicationError(
            "event_id_taken",
            f"eventID {clash} already names another event",
            status=409,
            extra={"index": [i for i, _ in ids].index(clash), "eventID": clash},
        )


def index_ledger_events(items: Sequence[tuple[LedgerEntry, dict[str, object], str | None, bool]]) -> None:
    """Index appended events: ``(entry, event document, precomputed hash or None, context inherited)``."""
    rows = indexed_events(items)
    events = [
        (
            entry.seq,
            row.event_hash,
            row.event_id,
            entry.organisation_id,
            row.event_type,
            row.event_time,
            entry.recorded_at,
            row.action,
            row.biz_step,
            row.disposition,
            row.read_point,
            row.biz_location,
            row.transformation_id,
            inherited,
            row.error_declaration,
        )
        for entry, row, inherited in rows
    ]
    epcs = [(entry.seq, role, value, canonical) for entry, row, _ in rows for role, value, canonical in row.epcs]
    # The unique indexes on the hash and the eventID find duplicates; only then is the
    # batch searched for them, to name one (a savepoint keeps the transaction usable).
    try:
        with transaction.atomic():
            _insert(events, epcs)
    except IntegrityError:
        _refuse_duplicates(rows)
        raise


def _insert(events: list[tuple[object, ...]], epcs: list[tuple[int, str, str, str]]) -> None:
    if connection.vendor != "postgresql":
        EpcisEvent.objects.bulk_create(EpcisEvent(**dict(zip(EVENT_COLUMNS, values, strict=True))) for values in events)
        EpcisEventEpc.objects.bulk_create(
            EpcisEventEpc(event_id=seq, role=role, value=value, canonical=canonical)
            for seq, role, value, canonical in epcs
        )
        return
    # Django's wrapper turns the raw cursor's unique violation into its IntegrityError.
    with connection.wrap_database_errors, connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY traceability_epcisevent ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
            for values in events:
                copy.write_row(values)
        with raw.copy("COPY traceability_epciseventepc (event_id, role, value, canonical) FROM STDIN") as copy:
            for values in epcs:
                copy.write_row(values)


def _with_event_hash(item: Prepared) -> Prepared:
    """An event with its canonical EPCIS event hash (an event that cannot be hashed is
    named later, in order, when it is indexed)."""
    if item.annotations.get(EVENT_HASH) is not None or item.parsed is None:
        return item
    try:
        digest = event_hash(item.parsed)
    except EventHashError:
        return item
    return item.annotated(**{EVENT_HASH: digest})


def _index(appended: Sequence[Appended]) -> None:
    index_ledger_events(
        [
            (item.entry, item.document, item.annotations.get(EVENT_HASH), bool(item.annotations.get(CONTEXT_INHERITED)))
            for item in appended
        ]
    )


EPCIS_INDEX = Projector(name="EPCIS query index", project=_index, prepare=_with_event_hash)
