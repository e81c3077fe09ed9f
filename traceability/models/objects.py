from django.db import models

from traceability.choices import ObjectKind, ObjectStatus
from traceability.models.ledger import LedgerEntry
from traceability.models.organisations import Organisation, Site

__all__ = ["AlloySpecification", "EventRecord", "MassFlow", "TraceableObject"]

MASS = {"max_digits": 16, "decimal_places": 3}


class TraceableObject(models.Model):
    """A serialised item or a mass lot: a projection of ledger events, never edited directly.

    ``rebuild_projections`` deletes and replays these rows from the ledger.
    """

    identifier = models.CharField(max_length=200, unique=True, help_text="EPC URN, GS1 Digital Link or Looptrace URI")
    kind = models.CharField(max_length=32, choices=ObjectKind.choices)
    label = models.CharField(max_length=100, help_text="VIN, battery code or lot number")
    status = models.CharField(max_length=16, choices=ObjectStatus.choices, default=ObjectStatus.ACTIVE)
    created_by = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    custodian = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="objects_held")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, null=True, blank=True, related_name="traceable_objects")
    attributes = models.JSONField(default=dict, blank=True)
    initial_kg = models.DecimalField(**MASS)
    remaining_kg = models.DecimalField(**MASS)
    inflow_kg = models.DecimalField(**MASS, default=0, help_text="kg that flowed in from parent objects")
    created_seq = models.BigIntegerField()
    created_at = models.DateTimeField(help_text="event time of the event that created it")
    ended_seq = models.BigIntegerField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_seq"]
        indexes = [
            models.Index(fields=["kind", "status"]),
            models.Index(fields=["custodian", "kind"]),
            models.Index(fields=["label"]),
            # carbon's catch-up finds what one event made
            models.Index(fields=["created_seq"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.label}"


class MassFlow(models.Model):
    """An edge of the genealogy: ``kg`` of ``source`` went into ``target`` at event ``seq``."""

    source = models.ForeignKey(TraceableObject, on_delete=models.CASCADE, related_name="flows_out")
    target = models.ForeignKey(TraceableObject, on_delete=models.CASCADE, related_name="flows_in")
    kg = models.DecimalField(**MASS)
    seq = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["target", "source"]),
            models.Index(fields=["source", "target"]),
            models.Index(fields=["seq"]),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} -> {self.target_id}: {self.kg} kg"


class EventRecord(models.Model):
    """An operation recorded in the ledger, indexed for queries (the entry is the truth)."""

    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, primary_key=True, related_name="event_record")
    operation = models.CharField(max_length=40)
    event_type = models.CharField(max_length=32)
    biz_step = models.CharField(max_length=64, blank=True)
    event_time = models.DateTimeField()
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="event_records")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    involved = models.ManyToManyField(TraceableObject, related_name="events", blank=True)
    warnings = models.JSONField(default=list, blank=True)
    consumed = models.JSONField(default=dict, blank=True, help_text="kg taken from each input, by object id")

    class Meta:
        ordering = ["-entry"]
        indexes = [models.Index(fields=["operation", "event_time"]), models.Index(fields=["organisation", "entry"])]

    def __str__(self) -> str:
        return f"#{self.entry_id} {self.operation}"


class AlloySpecification(models.Model):
    """Composition limits of a target alloy, each row with its source."""

    name = models.CharField(max_length=64, unique=True)
    description = models.CharField(max_length=200)
    limits = models.JSONField(help_text='{"Fe": {"max": 0.12}, "Si": {"min": 6.5, "max": 7.5}} in mass %')
    source = models.CharField(max_length=300)

    def __str__(self) -> str:
        return self.name
