from django.db import models

from traceability.models.ledger import Checkpoint

__all__ = ["WitnessCosignature"]


class WitnessCosignature(models.Model):
    """A witness's C2SP tlog-cosignature of one checkpoint, checked against its key before it was stored."""

    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.PROTECT, related_name="cosignatures")
    # The witness's vkey (name, key id, key): which witness, whatever a policy calls it.
    witness_vkey = models.CharField(max_length=512)
    key_name = models.CharField(max_length=255)
    # The note signature line, newline included, to append to the checkpoint's note.
    line = models.TextField()
    cosigned_at = models.DateTimeField(help_text="the cosignature's own timestamp")
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["checkpoint", "key_name"]
        constraints = [
            models.UniqueConstraint(fields=["checkpoint", "witness_vkey"], name="cosignature_once_per_witness")
        ]
        indexes = [models.Index(fields=["witness_vkey", "checkpoint"])]

    def __str__(self) -> str:
        return f"{self.key_name} on checkpoint {self.checkpoint_id}"
