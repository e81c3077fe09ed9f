"""Reads of the traceability app: ledger entries, proofs, checkpoints, keys."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from traceability.choices import OrganisationRole
from traceability.errors import ApplicationError
from traceability.ledger import merkle
from traceability.models import (
    Checkpoint,
    EventRecord,
    LedgerEntry,
    MerkleNode,
    Organisation,
    SigningKey,
    TraceableObject,
)

# Roles that read every organisation's objects, events and documents.
READ_ALL_ROLES = frozenset({OrganisationRole.REGULATOR, OrganisationRole.OPERATOR})


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


def may_read_documents_of(*, reader: Organisation, owner_id: int) -> bool:
    """Documents are the recorder's; regulators and the operator read all of them."""
    return reader.pk == owner_id or reader.role in READ_ALL_ROLES


def objects_visible_to(*, organisation: Organisation) -> QuerySet[TraceableObject]:
    """What an organisation made, holds, or held (it recorded an event about it then)."""
    objects = TraceableObject.objects.select_related("created_by", "custodian")
    if organisation.role in READ_ALL_ROLES:
        return objects.all()
    held = EventRecord.involved.through.objects.filter(eventrecord__organisation=organisation).values(
        "traceableobject_id"
    )
    return objects.filter(Q(created_by=organisation) | Q(custodian=organisation) | Q(pk__in=held))


def events_visible_to(*, organisation: Organisation) -> QuerySet[EventRecord]:
    """Events an organisation recorded, and events about objects it can see."""
    events = EventRecord.objects.select_related("entry", "organisation")
    if organisation.role in READ_ALL_ROLES:
        return events.all()
    concerning = EventRecord.involved.through.objects.filter(
        traceableobject__in=objects_visible_to(organisation=organisation).values("pk")
    ).values("eventrecord_id")
    return events.filter(Q(organisation=organisation) | Q(pk__in=concerning))
