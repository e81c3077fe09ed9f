from django.db import models

from traceability.models import TraceableObject

__all__ = ["DirtyNode", "FootprintResult", "LedgerCursor"]


class FootprintResult(models.Model):
    """The footprint and recycled-content shares of one object under one method and custody model."""

    node = models.ForeignKey(TraceableObject, on_delete=models.CASCADE, related_name="footprints")
    method = models.CharField(max_length=16)
    chain = models.CharField(max_length=16)
    per_kg = models.JSONField(help_text="kg CO2e per kg by lifecycle stage")
    total_per_kg = models.FloatField()
    total_kg = models.FloatField(help_text="kg CO2e of the whole object")
    pre_consumer_share = models.FloatField()
    post_consumer_share = models.FloatField()
    post_consumer_by_make = models.JSONField(default=dict)
    primary_data_share = models.FloatField()
    pending_recycled = models.BooleanField(default=False)
    factors = models.JSONField(default=list, help_text="factor versions used")
    ledger_size = models.BigIntegerField(help_text="the ledger (tree size) this result reflects")
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["node", "method", "chain"], name="footprint_unique")]

    def __str__(self) -> str:
        return f"{self.node_id} {self.method}/{self.chain}: {self.total_per_kg:.3f} kg CO2e/kg"


class LedgerCursor(models.Model):
    """How far carbon has followed the ledger: the last ``seq`` whose effects are computed."""

    name = models.CharField(max_length=32, unique=True)
    seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} at {self.seq}"


class DirtyNode(models.Model):
    """An object whose stored results were computed with something that has since changed (a
    factor version superseded, a supplier footprint bound to it or to one of its ancestors).

    Rows are the work list of the catch-up: it recomputes these nodes in ledger order and
    deletes their rows in the same transaction, so a worker that was down finds them later.
    """

    node = models.OneToOneField(TraceableObject, on_delete=models.CASCADE, primary_key=True, related_name="+")
    marked_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.node_id} dirty since {self.marked_at:%Y-%m-%d %H:%M:%S}"
