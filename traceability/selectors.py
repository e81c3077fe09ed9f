"""Reads of the traceability app: ledger entries, proofs, checkpoints, keys, and the figures of the
recycler console's pages (lots, events, verification) in a few queries each. The mass balance of
an operation is read where its rule lives, in ``traceability.operations.selectors``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from django.conf import settings
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q, QuerySet, Sum
from django.utils.module_loading import import_string

from traceability.choices import BATTERY_KINDS, KeyCustody, ObjectKind, ObjectStatus, OrganisationRole
from traceability.errors import ApplicationError
from traceability.ledger import checkpoint as notes
from traceability.ledger import merkle
from traceability.ledger.canonical import sha256
from traceability.ledger.chain import EntryHeader
from traceability.ledger.errors import LedgerError
from traceability.ledger.signing import b64decode, public_key_from_raw, verify_bytes
from traceability.models import (
    Checkpoint,
    EventRecord,
    LedgerEntry,
    MerkleNode,
    Organisation,
    SigningKey,
    Site,
    TraceableObject,
)
from traceability.visibility import documents_readable_by, events_visible_to, objects_visible_to, sites_visible_to

MELT_KINDS = (ObjectKind.MELT_BATCH, ObjectKind.INGOT_LOT, ObjectKind.MOLTEN_LADLE)


def merkle_nodes_get(keys: set[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The stored perfect-subtree hashes for ``keys``, in one query."""
    if not keys:
        return {}
    condition = Q()
    for level, index in keys:
        condition |= Q(level=level, index=index)
    rows = MerkleNode.objects.filter(condition).values_list("level", "index", "hash")
    return {(level, index): bytes(node_hash) for level, index, node_hash in rows}


def ledger_size() -> int:
    return LedgerEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def ledger_version() -> str:
    """A token that changes with every append: the head's seq and entry hash (so two ledgers,
    say before and after a database is recreated, never share one). Cache keys of data built
    on the ledger carry it."""
    head = LedgerEntry.objects.order_by("-seq").values_list("seq", "entry_hash").first()
    return f"{head[0]}-{head[1][:16]}" if head else "0"


def ledger_entry_get(*, seq: int) -> LedgerEntry:
    entry = LedgerEntry.objects.select_related("organisation").filter(seq=seq).first()
    if entry is None:
        raise ApplicationError("entry_not_found", f"no ledger entry {seq}", status=404)
    return entry


def checkpoint_latest() -> Checkpoint | None:
    return Checkpoint.objects.order_by("-tree_size").first()


def _check_sizes(*, within: int, sizes: dict[str, int]) -> None:
    for name, value in sizes.items():
        if value < 0 or value > within:
            raise ApplicationError(
                "tree_size_invalid", f"{name}={value} is outside the ledger (0..{within})", status=400
            )


def inclusion_proof(*, seq: int, tree_size: int) -> list[bytes]:
    """The RFC 9162 inclusion proof of entry ``seq`` (leaf ``seq - 1``) in the tree of ``tree_size``."""
    _check_sizes(within=ledger_size(), sizes={"tree_size": tree_size})
    if not 1 <= seq <= tree_size:
        raise ApplicationError("seq_outside_tree", f"entry {seq} is not in a tree of size {tree_size}")
    ranges = merkle.inclusion_proof_keys(seq - 1, tree_size)
    return merkle.inclusion_proof(seq - 1, tree_size, merkle_nodes_get(merkle.keys_for(ranges)))


def consistency_proof(*, first: int, second: int) -> list[bytes]:
    _check_sizes(within=ledger_size(), sizes={"first": first, "second": second})
    if first > second:
        raise ApplicationError("tree_size_invalid", "first must not exceed second")
    ranges = merkle.consistency_proof_keys(first, second)
    return merkle.consistency_proof(first, second, merkle_nodes_get(merkle.keys_for(ranges)))


def merkle_root(*, tree_size: int) -> bytes:
    return merkle.root_from_nodes(tree_size, merkle_nodes_get(set(merkle.root_keys(tree_size))))


def signing_keys_list() -> QuerySet[SigningKey]:
    return SigningKey.objects.select_related("organisation").order_by("registered_seq")


# --- the recycler console's pages ----------------------------------------------------------


def _own_events(organisation: Organisation) -> QuerySet[EventRecord]:
    return EventRecord.objects.filter(documents_readable_by(organisation=organisation))


@dataclass
class DashboardCounts:
    operations: dict[str, int]
    routes: dict[str, int]
    scrap: list[dict[str, object]]
    castings: int


def dashboard_counts(*, organisation: Organisation) -> DashboardCounts:
    """Operations the organisation recorded, its graded packs by route, its scrap lots by category."""
    operations = dict(_own_events(organisation).values_list("operation").annotate(n=Count("pk")).order_by("operation"))
    visible = objects_visible_to(organisation=organisation)
    routes = dict(
        visible.filter(kind__in=BATTERY_KINDS, attributes__has_key="route")
        .values_list("attributes__route")
        .annotate(n=Count("pk"))
        .order_by()
    )
    scrap = list(
        visible.filter(kind=ObjectKind.SCRAP_LOT)
        .values(category=F("attributes__scrapCategory"))
        .annotate(lots=Count("pk"), kg=Sum("initial_kg"), active=Count("pk", filter=Q(status=ObjectStatus.ACTIVE)))
        .order_by("category")
    )
    castings = visible.filter(kind=ObjectKind.PART, created_by__role=OrganisationRole.DIE_CASTER).count()
    return DashboardCounts(operations=operations, routes=routes, scrap=scrap, castings=castings)


def lots_search(*, organisation: Organisation, query: str = "", kind: str = "", status: str = "") -> QuerySet:
    objects = objects_visible_to(organisation=organisation).select_related("site")
    if query:
        objects = objects.filter(Q(label__icontains=query) | Q(identifier__icontains=query))
    if kind:
        objects = objects.filter(kind=kind)
    if status:
        objects = objects.filter(status=status)
    return objects.order_by("-created_seq", "-pk")


def events_search(*, organisation: Organisation, query: str = "", operation: str = "") -> QuerySet:
    # Another organisation's event shows no site or warnings (its document's) to a reader who may not read it.
    readable = ExpressionWrapper(documents_readable_by(organisation=organisation), output_field=BooleanField())
    events = events_visible_to(organisation=organisation).select_related("site").annotate(document_readable=readable)
    if query:
        condition = Q(operation__icontains=query) | Q(organisation__slug__icontains=query)
        if query.isdigit():
            condition |= Q(entry_id=int(query))
        events = events.filter(condition)
    if operation:
        events = events.filter(operation=operation)
    return events.order_by("-entry_id")


def lot_choices(*, organisation: Organisation, kinds: frozenset[str] | tuple[str, ...]) -> list[TraceableObject]:
    """Active objects in the organisation's custody, for the pickers of the forms."""
    return list(
        TraceableObject.objects.filter(custodian=organisation, status=ObjectStatus.ACTIVE, kind__in=kinds)
        .only("identifier", "label", "kind", "remaining_kg")
        .order_by("-created_seq")[:500]
    )


def lot_get(*, organisation: Organisation, pk: int) -> TraceableObject:
    lot = objects_visible_to(organisation=organisation).select_related("site").filter(pk=pk).first()
    if lot is None:
        raise ApplicationError("object_not_found", f"no object {pk} that you can see", status=404)
    return lot


@dataclass
class Verification:
    """The verdict on the entry that created an object, checked here, on the server."""

    seq: int
    ok: bool = False
    pending: bool = False  # no signed checkpoint covers the entry yet
    tree_size: int | None = None
    root_hash: str = ""
    proof_length: int = 0
    checks: list[tuple[str, bool, str]] = field(default_factory=list)


def platform_keys() -> list[bytes]:
    """Every key the platform has held, newest first (an older checkpoint may be signed by an older one);
    a client key registered for the operator's organisation is no platform key."""
    keys = SigningKey.objects.filter(
        organisation__slug=settings.PLATFORM_ORGANISATION_SLUG, custody=KeyCustody.PLATFORM
    ).order_by("-registered_seq")
    return [bytes(key) for key in keys.values_list("public_key", flat=True)]


def entry_verification(*, seq: int) -> Verification:
    """Recompute the entry's hash, check its digest and signature, check the latest checkpoint's
    platform signature, then verify the RFC 9162 inclusion proof of the entry against that root."""
    result = Verification(seq=seq)
    entry = LedgerEntry.objects.select_related("organisation").filter(seq=seq).first()
    if entry is None:
        result.checks.append(("entry", False, f"ledger entry {seq} is missing"))
        return result
    document = entry.document.encode("utf-8")
    header = EntryHeader(
        seq=entry.seq,
        kind=entry.kind,
        organisation=entry.organisation.slug,
        digest=bytes.fromhex(entry.digest),
        key_id=entry.key_id,
        signature=b64decode(entry.signature, what="signature"),
        prev_hash=bytes.fromhex(entry.prev_hash),
        recorded_at=entry.recorded_at,
    )
    leaf = header.entry_hash()
    result.checks.append(("entry hash", leaf.hex() == entry.entry_hash, "the stored header hashes to its entry hash"))
    result.checks.append(("digest", sha256(document) == header.digest, "the document matches its SHA-256 digest"))
    key = SigningKey.objects.filter(key_id=entry.key_id, organisation=entry.organisation).first()
    try:
        if key is None:
            raise LedgerError("key_unknown", "the signing key is not registered to the organisation")
        verify_bytes(public_key_from_raw(bytes(key.public_key)), document, header.signature)
        result.checks.append(("signature", True, f"Ed25519 signature of {entry.organisation.slug}"))
    except LedgerError as exc:
        result.checks.append(("signature", False, exc.message))
    checkpoint = checkpoint_latest()
    if checkpoint is None or checkpoint.tree_size < seq:
        result.pending = True
        return result
    signed = None
    for public_key in platform_keys():
        try:
            signed = notes.verify_checkpoint(checkpoint.note, settings.LEDGER_ORIGIN, public_key)
            break
        except LedgerError:
            continue
    result.checks.append(("checkpoint", signed is not None, "the platform signed the checkpoint"))
    result.tree_size = checkpoint.tree_size
    if signed is not None:
        result.root_hash = signed.root_hash.hex()
        proof = inclusion_proof(seq=seq, tree_size=signed.size)
        result.proof_length = len(proof)
        try:
            merkle.verify_inclusion(leaf, seq - 1, signed.size, proof, signed.root_hash)
            result.checks.append(("inclusion", True, f"leaf {seq - 1} of {signed.size} leads to the signed root"))
        except LedgerError as exc:
            result.checks.append(("inclusion", False, exc.message))
    result.ok = all(ok for _, ok, _ in result.checks)
    return result


# --- sites ------------------------------------------------------------------------------------


def sites_list(*, organisation: Organisation, own: bool = False) -> QuerySet[Site]:
    """The sites ``organisation`` may read (``visibility.sites_visible_to``); ``own``: its own only
    (the console's page, where a regulator has none)."""
    sites = sites_visible_to(organisation=organisation)
    return sites.filter(organisation=organisation) if own else sites


@lru_cache(maxsize=4)
def _grid_region_source(path: str) -> Callable[[], Iterable[str]]:
    return import_string(path)


def grid_regions() -> frozenset[str]:
    """The regions a site's grid region may name: those of the factor registry's electricity
    factors, read through ``settings.GRID_REGIONS`` (the registry is carbon's)."""
    return frozenset(_grid_region_source(settings.GRID_REGIONS)())
