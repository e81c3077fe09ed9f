"""Audit exports for regulators: one JSON Lines file they can verify offline.

The format is defined in ``passport.verify.format`` and checked by ``passport.verify``.
An export is planned first (``audit_export_plan``: the selection is validated and the
export's checkpoint signed, so bad input fails before a byte is written), then its
lines are generated one at a time (``audit_export_lines``): entries are read in chunks
with a server-side cursor and their inclusion proofs built from the stored Merkle
nodes of that chunk, so memory stays flat however many entries are selected.

What ``--org``, ``--since`` and ``--until`` select: ledger entries the organisation
recorded, by the time the ledger recorded them. Every key entry up to the checkpoint
comes along (the verifier needs the whole key history), marked as not selected.

The footprint engine holds its graph in memory (as the carbon workers do); only the
part upstream of the touched objects, and the mass-balance accounts it draws on, is
written out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db.models import BooleanField, Case, Q, Value, When
from django.utils import timezone

from carbon import graph
from carbon import services as carbon_services
from carbon.engine import Activity, Source
from carbon.engine.model import CHAINS_OF_CUSTODY, METHODS
from carbon.engine.serial import activity_to_json, footprint_to_json, parameters_to_json, source_to_json
from carbon.factors import FactorBook
from carbon.models import FootprintResult
from carbon.selectors import footprint_from_result
from passport.verify import format as fmt
from traceability import selectors as trace_selectors
from traceability.errors import ApplicationError
from traceability.ledger import merkle
from traceability.ledger.chain import KEY_KINDS, format_time
from traceability.ledger.signing import b64encode, sign_bytes
from traceability.models import (
    Checkpoint,
    EventRecord,
    LedgerEntry,
    MerkleNode,
    Organisation,
    SigningKey,
    ledger_entry_columns,
)
from traceability.services import ledger_checkpoint_create, platform_signing_key

# Entries read, proved and written per round trip: about 2 MB of documents and a few
# thousand Merkle nodes for typical events; the only part of the export held at once.
EXPORT_CHUNK_SIZE = 2000
# Footprint results read per round trip.
RESULT_CHUNK_SIZE = 2000

ENTRY_FIELDS = (*ledger_entry_columns(organisation="organisation__slug"), "is_selected")


@dataclass(frozen=True)
class AuditSelection:
    """Entries recorded by ``organisation`` (all when ``None``) with ``since <= recorded_at < until``."""

    organisation: Organisation | None = None
    since: datetime | None = None
    until: datetime | None = None

    def condition(self) -> Q:
        condition = Q()
        if self.organisation is not None:
            condition &= Q(organisation=self.organisation)
        if self.since is not None:
            condition &= Q(recorded_at__gte=self.since)
        if self.until is not None:
            condition &= Q(recorded_at__lt=self.until)
        return condition

    def as_json(self) -> dict[str, str | None]:
        return {
            "organisation": self.organisation.slug if self.organisation else None,
            "since": format_time(self.since) if self.since else None,
            "until": format_time(self.until) if self.until else None,
        }


@dataclass(frozen=True)
class AuditExportPlan:
    selection: AuditSelection
    checkpoint: Checkpoint
    entries: int
    consistency_from: tuple[Checkpoint, ...]

    @property
    def filename(self) -> str:
        return f"looptrace-audit-{self.checkpoint.tree_size}.jsonl"


def _moment(text: str, *, name: str, end_of_day: bool) -> datetime:
    """A date (a whole day: from its start, or up to its end) or an ISO 8601 time (UTC if no zone)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is not None:
        moment = datetime.combine(day, time.min, tzinfo=UTC)
        return moment + timedelta(days=1) if end_of_day else moment
    try:
        moment = datetime.fromisoformat(text)
        # In UTC: the database takes no offsets beyond 15:59, and some times have no UTC equivalent.
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise ApplicationError(
            "date_invalid", f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 time in years 1 to 9999, not {text!r}"
        ) from None


def audit_selection(
    *, organisation: str | None = None, since: str | None = None, until: str | None = None
) -> AuditSelection:
    """Validate what a regulator asked for; ``until`` as a date includes that whole day."""
    chosen = None
    if organisation:
        chosen = Organisation.objects.filter(slug=organisation).first()
        if chosen is None:
            raise ApplicationError("organisation_unknown", f"no organisation {organisation!r}", status=404)
    start = _moment(since, name="since", end_of_day=False) if since else None
    end = _moment(until, name="until", end_of_day=True) if until else None
    if start is not None and end is not None and start >= end:
        raise ApplicationError("date_range_invalid", "since must come before until")
    return AuditSelection(organisation=chosen, since=start, until=end)


def audit_export_plan(*, selection: AuditSelection, consistency_from: Sequence[int] = ()) -> AuditExportPlan:
    """Check the request, then sign the checkpoint the export proves everything against.

    The export always carries a consistency proof from the newest checkpoint signed
    before this one; ``consistency_from`` adds proofs from other signed checkpoints
    (the ones a regulator kept).
    """
    wanted = sorted(set(consistency_from))
    stored = {c.tree_size: c for c in Checkpoint.objects.filter(tree_size__in=wanted)}
    missing = [size for size in wanted if size not in stored]
    if missing:
        raise ApplicationError("checkpoint_unknown", f"no signed checkpoint of tree size {missing[0]}", status=404)
    checkpoint = ledger_checkpoint_create()
    previous = Checkpoint.objects.filter(tree_size__gt=0, tree_size__lt=checkpoint.tree_size).order_by("-tree_size")
    chosen = {c.tree_size: c for c in [*stored.values(), *previous[:1]] if 0 < c.tree_size < checkpoint.tree_size}
    return AuditExportPlan(
        selection=selection,
        checkpoint=checkpoint,
        entries=_entries(selection, checkpoint.tree_size).count(),
        consistency_from=tuple(chosen[size] for size in sorted(chosen)),
    )


def _entries(selection: AuditSelection, tree_size: int):  # type: ignore[no-untyped-def]
    selected = selection.condition()
    entries = LedgerEntry.objects.filter(seq__lte=tree_size)
    if not selected:
        return entries.annotate(is_selected=Value(True, output_field=BooleanField())).order_by("seq")
    return (
        entries.filter(selected | Q(kind__in=KEY_KINDS))
        .annotate(is_selected=Case(When(selected, then=Value(True)), default=Value(False), output_field=BooleanField()))
        .order_by("seq")
    )


def audit_export_lines(plan: AuditExportPlan, *, progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """The export, line by line, ending with the manifest signed by the platform key."""
    key, private_key = platform_signing_key()
    size = plan.checkpoint.tree_size
    digests = fmt.SectionDigests()

    def emit(section: str, value: dict[str, object]) -> bytes:
        line = fmt.encode_line_without_floats(value) if section == "entries" else fmt.encode_line(value)
        digests.add(section, line)
        return line

    yield emit(
        "header",
        {
            "type": "header",
            "format": fmt.FORMAT,
            "version": fmt.VERSION,
            "origin": settings.LEDGER_ORIGIN,
            "createdAt": format_time(timezone.now()),
            "selection": plan.selection.as_json(),
            "checkpoint": {
                "note": plan.checkpoint.note,
                "treeSize": size,
                "rootHash": b64encode(bytes.fromhex(plan.checkpoint.root_hash)),
            },
            "platformKey": {"keyId": key.key_id, "publicKey": b64encode(bytes(key.public_key))},
        },
    )
    for line in _key_lines(size):
        yield emit("keys", line)
    last_seq = 0
    for line in _entry_lines(plan.selection, size):
        last_seq = int(str(line["seq"]))
        yield emit("entries", line)
        if progress is not None:
            progress(1)
    for line in _consistency_lines(plan.consistency_from, size):
        yield emit("consistency", line)
    touched = _touched_objects(plan.selection, size)
    for line in _carbon_lines(touched, size):
        yield emit("carbon", line)
    for line in _result_lines(touched):
        yield emit("results", line)
    manifest: dict[str, object] = {
        "type": fmt.MANIFEST,
        "format": fmt.FORMAT,
        "version": fmt.VERSION,
        "keyId": key.key_id,
        "publicKey": b64encode(bytes(key.public_key)),
        "sections": digests.as_json(),
        "lastEntrySeq": last_seq,
        "treeSize": size,
    }
    manifest["signature"] = b64encode(sign_bytes(private_key, fmt.manifest_signed_bytes(manifest)))
    yield fmt.encode_line(manifest)


# --- keys and entries ------------------------------------------------------------------------


def _key_lines(size: int) -> Iterator[dict[str, object]]:
    keys = SigningKey.objects.filter(registered_seq__lte=size).select_related("organisation").order_by("registered_seq")
    for key in keys:
        revoked = key.revoked_seq is not None and key.revoked_seq <= size
        yield {
            "type": "key",
            "keyId": key.key_id,
            "organisation": key.organisation.slug,
            "publicKey": b64encode(bytes(key.public_key)),
            "custody": key.custody,
            "validFrom": format_time(key.valid_from),
            "registeredSeq": key.registered_seq,
            "revokedSeq": key.revoked_seq if revoked else None,
            "revokedAt": format_time(key.revoked_at) if revoked and key.revoked_at else None,
        }


def _chunks(rows: Iterable[tuple], size: int) -> Iterator[list[tuple]]:  # type: ignore[type-arg]
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _merkle_nodes(keys: set[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Stored nodes by key, one query per tree level (a few dozen at most)."""
    by_level: dict[int, list[int]] = defaultdict(list)
    for level, index in keys:
        by_level[level].append(index)
    nodes = {}
    for level, indexes in by_level.items():
        rows = MerkleNode.objects.filter(level=level, index__in=indexes).values_list("index", "hash")
        nodes.update({(level, index): bytes(digest) for index, digest in rows})
    return nodes


def _entry_lines(selection: AuditSelection, size: int) -> Iterator[dict[str, object]]:
    rows = _entries(selection, size).values_list(*ENTRY_FIELDS).iterator(chunk_size=EXPORT_CHUNK_SIZE)
    after = 0
    for chunk in _chunks(rows, EXPORT_CHUNK_SIZE):
        ranges = {row[0]: merkle.inclusion_proof_keys(row[0] - 1, size) for row in chunk}
        nodes = _merkle_nodes(merkle.keys_for(r for each in ranges.values() for r in each))
        for seq, kind, organisation, document, digest, key_id, signature, prev, entry_hash, recorded, chosen in chunk:
            proof = [merkle.range_hash(start, end, nodes) for start, end in ranges[seq]]
            yield {
                "type": "entry",
                "seq": seq,
                "after": after,
                "selected": bool(chosen),
                "kind": kind,
                "organisation": organisation,
                "document": document,
                "digest": digest,
                "keyId": key_id,
                "signature": signature,
                "prev": prev,
                "entryHash": entry_hash,
                "recordedAt": format_time(recorded),
                "inclusionProof": [b64encode(h) for h in proof],
            }
            after = seq


def _consistency_lines(earlier: Sequence[Checkpoint], size: int) -> Iterator[dict[str, object]]:
    for checkpoint in earlier:
        proof = trace_selectors.consistency_proof(first=checkpoint.tree_size, second=size)
        yield {
            "type": "consistency",
            "fromSize": checkpoint.tree_size,
            "fromRootHash": b64encode(bytes.fromhex(checkpoint.root_hash)),
            "fromNote": checkpoint.note,
            "toSize": size,
            "proof": [b64encode(h) for h in proof],
        }


# --- footprints ------------------------------------------------------------------------------


def _touched_objects(selection: AuditSelection, size: int) -> set[int]:
    """Objects the selected events involve, that have footprint results."""
    events = EventRecord.objects.filter(entry__in=_entries(selection, size).filter(selection.condition()).values("seq"))
    involved = EventRecord.involved.through.objects.filter(eventrecord__in=events.values("pk"))
    return set(
        FootprintResult.objects.filter(node_id__in=involved.values("traceableobject_id"))
        .values_list("node_id", flat=True)
        .distinct()
    )


def upstream_inputs(
    nodes: set[int], sources: Sequence[Source], activities: Sequence[Activity]
) -> tuple[list[Source], list[Activity]]:
    """The roots and activities the footprints of ``nodes`` depend on.

    That is every activity that made one of them or one of its inputs, recursively (a claim
    re-makes its lot, so every claim on a lot is among its makers), and, for a melt or a claim
    of a mass-balance account, every earlier melt and claim of that account (their credits and
    claims decide what this one may claim) with their own inputs.
    """
    makers: dict[int, list[Activity]] = defaultdict(list)
    accounts: dict[tuple[int | None, str | None], list[Activity]] = defaultdict(list)
    for activity in activities:
        for node, _ in activity.outputs:
            makers[node].append(activity)
        if activity.substitutes or activity.claim is not None:
            accounts[(activity.site, activity.period)].append(activity)
    roots = {source.node: source for source in sources}
    seen_nodes: set[int] = set()
    chosen: dict[int, Activity] = {}
    pending_nodes = list(nodes)
    pending_activities: list[Activity] = []
    while pending_nodes or pending_activities:
        if pending_activities:
            activity = pending_activities.pop()
            if activity.seq in chosen:
                continue
            chosen[activity.seq] = activity
            pending_nodes.extend(node for node, _ in activity.inputs)
            pending_nodes.extend(source for source, _, _ in activity.flows)
            if activity.substitutes or activity.claim is not None:
                account = accounts[(activity.site, activity.period)]
                pending_activities.extend(other for other in account if other.seq < activity.seq)
            continue
        node = pending_nodes.pop()
        if node in seen_nodes:
            continue
        seen_nodes.add(node)
        pending_activities.extend(makers.get(node, ()))
    chosen_sources = [roots[node] for node in sorted(seen_nodes) if node in roots]
    return chosen_sources, [chosen[seq] for seq in sorted(chosen)]


def _factor_lines(book: FactorBook) -> list[dict[str, object]]:
    factors = [*book.general.values(), *book.bound.values()]
    return [
        {
            "reference": factor.reference,
            "code": factor.code,
            "region": factor.region,
            "lot": factor.lot_id,
            "version": factor.version,
            "value": str(factor.value),
            "unit": factor.unit,
            "engineValue": book.converted[factor.pk],
            "source": factor.source,
        }
        for factor in sorted(factors, key=lambda f: f.reference)
        if factor.reference in book.used
    ]


def _carbon_lines(touched: set[int], size: int) -> Iterator[dict[str, object]]:
    book = FactorBook.load()
    sources: list[Source] = []
    activities: list[Activity] = []
    if touched:
        records = (
            EventRecord.objects.filter(entry_id__lte=size)
            .select_related("entry", "site")
            .prefetch_related("involved")
            .order_by("entry_id")
        )
        everything = graph.build(records, book)
        sources, activities = upstream_inputs(touched, *everything)
    params = carbon_services.parameters(book)
    yield {
        "type": "carbon",
        "parameters": parameters_to_json(params),
        "methods": list(METHODS),
        "chains": list(CHAINS_OF_CUSTODY),
        "factors": _factor_lines(book),
    }
    for source in sources:
        yield {"type": "source", **source_to_json(source)}
    for activity in activities:
        yield {"type": "activity", **activity_to_json(activity)}


def _result_lines(touched: set[int]) -> Iterator[dict[str, object]]:
    results = (
        FootprintResult.objects.filter(node_id__in=touched)
        .select_related("node")
        .order_by("node_id", "method", "chain")
        .iterator(chunk_size=RESULT_CHUNK_SIZE)
    )
    for result in results:
        yield {
            "type": "result",
            "node": result.node_id,
            "identifier": result.node.identifier,
            "method": result.method,
            "chain": result.chain,
            "massKg": float(result.node.initial_kg),
            "footprint": footprint_to_json(footprint_from_result(result)),
            "totalPerKg": result.total_per_kg,
            "totalKg": result.total_kg,
            "factors": result.factors,
            "ledgerSize": result.ledger_size,
        }
