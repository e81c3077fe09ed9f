from django.db import models

from traceability.models.organisations import Organisation

__all__ = ["Checkpoint", "LedgerEntry", "MerkleNode", "ledger_entry_columns"]

# Tables the database itself keeps append-only (see the triggers migration).
APPEND_ONLY_TABLES = ("traceability_ledgerentry", "traceability_checkpoint", "traceability_merklenode")


# Every stored column of a ledger entry, in the order the writer copies them and readers
# read them; the organisation as the name a reader chooses (its id, its slug...).
_ENTRY_COLUMNS = (
    "seq",
    "kind",
    "organisation",
    "document",
    "digest",
    "key_id",
    "signature",
    "prev_hash",
    "entry_hash",
    "recorded_at",
)


def ledger_entry_columns(*, organisation: str = "organisation_id") -> tuple[str, ...]:
    """The ledger entry's columns, with the organisation read as ``organisation``."""
    return tuple(organisation if column == "organisation" else column for column in _ENTRY_COLUMNS)


class LedgerEntry(models.Model):
    """One signed document in the hash chain. Never updated, never deleted."""

    seq = models.BigIntegerField(primary_key=True)
    kind = models.CharField(max_length=32)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="ledger_entries")
    # The RFC 8785 canonical bytes of the document, as text: exactly what was signed.
    document = models.TextField()
    digest = models.CharField(max_length=64)
    key_id = models.CharField(max_length=64)
    signature = models.CharField(max_length=88)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "ledger entries"
        indexes = [models.Index(fields=["organisation", "seq"]), models.Index(fields=["recorded_at"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind} ({self.organisation_id})"


class MerkleNode(models.Model):
    """Hash of a perfect subtree covering leaves [index * 2**level, (index + 1) * 2**level).

    Kept so that roots and proofs of a tree of any size read O(log n) rows.
    """

    level = models.PositiveSmallIntegerField()
    index = models.BigIntegerField()
    hash = models.BinaryField(max_length=32)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["level", "index"], name="merkle_node_unique")]

    def __str__(self) -> str:
        return f"node level {self.level} index {self.index}"


class Checkpoint(models.Model):
    """A signed statement of the tree's size and root (C2SP tlog-checkpoint note)."""

    tree_size = models.BigIntegerField(unique=True)
    root_hash = models.CharField(max_length=64)
    note = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-tree_size"]
        get_latest_by = "tree_size"

    def __str__(self) -> str:
        return f"checkpoint {self.tree_size}"
