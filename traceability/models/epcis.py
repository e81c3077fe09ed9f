import uuid

from django.db import models

from traceability.models.ledger import LedgerEntry
from traceability.models.organisations import Organisation

__all__ = ["CaptureJob", "EpcisEvent", "EpcisEventEpc"]


class EpcisEvent(models.Model):
    """Query index of one ledger event: its GS1 canonical hash and the fields EPCIS queries filter on.

    A projection like ``EventRecord``: the ledger entry holds the event itself. The
    canonical hash is the de-duplication key, so an event is stored once. The hash ignores
    ``errorDeclaration`` (CBV 2.0): an error declaration is the declared event again, with
    the same hash and eventID, so it is its own row marked ``error_declaration``, linked to
    the event it declares erroneous by that hash; a declaration is stored once too.
    """

    entry = models.OneToOneField(LedgerEntry, primary_key=True, on_delete=models.PROTECT, related_name="epcis")
    event_hash = models.CharField(max_length=100, help_text="ni:///sha-256;...?ver=CBV2.0")
    event_id = models.CharField(max_length=500, help_text="the event's eventID, or its hash")
    error_declaration = models.BooleanField(
        default=False, help_text="the event declares the event of the same hash erroneous (errorDeclaration)"
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    event_type = models.CharField(max_length=200)
    event_time = models.DateTimeField()
    record_time = models.DateTimeField()
    action = models.CharField(max_length=10, blank=True)
    biz_step = models.CharField(max_length=500, blank=True, help_text="full CBV or custom URI")
    disposition = models.CharField(max_length=500, blank=True)
    read_point = models.CharField(max_length=500, blank=True)
    biz_location = models.CharField(max_length=500, blank=True)
    transformation_id = models.CharField(max_length=500, blank=True)
    # The capture document's @context was added to the stored event (it had none of its own).
    context_inherited = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event_hash", "error_declaration"], name="epcis_event_hash_once"),
            models.UniqueConstraint(fields=["event_id", "error_declaration"], name="epcis_event_id_once"),
        ]
        indexes = [
            models.Index(fields=["event_time"]),
            models.Index(fields=["record_time"]),
            models.Index(fields=["biz_step"]),
            # The top-level resources list each column's distinct values, one index probe each.
            models.Index(fields=["event_type"]),
            models.Index(fields=["disposition"]),
            models.Index(fields=["read_point"]),
            models.Index(fields=["biz_location"]),
            models.Index(fields=["organisation", "entry"]),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} #{self.entry_id}"


class EpcisEventEpc(models.Model):
    """One identifier an event names, in one role (``epc``, ``parent``, ``input``...)."""

    class Role(models.TextChoices):
        EPC = "epc", "epcList"
        CHILD = "child", "childEPCs"
        PARENT = "parent", "parentID"
        INPUT = "input", "inputEPCList"
        OUTPUT = "output", "outputEPCList"
        QUANTITY = "quantity", "quantityList"
        CHILD_QUANTITY = "child_quantity", "childQuantityList"
        INPUT_QUANTITY = "input_quantity", "inputQuantityList"
        OUTPUT_QUANTITY = "output_quantity", "outputQuantityList"

    event = models.ForeignKey(EpcisEvent, on_delete=models.PROTECT, related_name="epcs")
    role = models.CharField(max_length=16, choices=Role.choices)
    # As written in the event, and as constrained canonical GS1 Digital Link when it is a GS1 key.
    value = models.CharField(max_length=500)
    canonical = models.CharField(max_length=500)

    class Meta:
        indexes = [models.Index(fields=["canonical", "role"]), models.Index(fields=["value", "role"])]

    def __str__(self) -> str:
        return f"{self.role} {self.value}"


class CaptureJob(models.Model):
    """One EPCIS capture request: its status and errors (``GET /epcis/capture/{id}``)."""

    class Behaviour(models.TextChoices):
        ROLLBACK = "rollback", "rollback"
        PROCEED = "proceed", "proceed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    error_behaviour = models.CharField(max_length=10, choices=Behaviour.choices, default=Behaviour.ROLLBACK)
    running = models.BooleanField(default=True)
    success = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    event_count = models.PositiveIntegerField(default=0)
    captured_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    # The submitted document as JSON text, kept for the worker that captures it; emptied when done.
    pending_document = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"capture {self.id}"
