import uuid

from django.db import models

from traceability.models.organisations import Organisation

__all__ = ["EpcisDelivery", "EpcisNamedQuery", "EpcisSubscription"]


class EpcisNamedQuery(models.Model):
    """An EPCIS 2.0 named query (``/epcis/queries/{name}``): a view on the events its owner may read.

    ``definition`` keeps the query as it was posted; it is checked with the same parameter rules
    as ``GET /epcis/events`` when it is created, and runs with its owner's visibility.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    definition = models.JSONField(help_text="the EPCIS query parameters, as posted")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="epcis_query_name_once")]
        ordering = ["name"]

    def __str__(self) -> str:
        return f"query {self.name} ({self.organisation_id})"


class EpcisSubscription(models.Model):
    """A standing query: new matching events go to a webhook (``dest``) or to an open WebSocket.

    ``cursor`` is the ledger sequence number up to which the query has been run: each run reads
    only the events after it. WebSocket subscriptions live as long as their socket.
    """

    class Channel(models.TextChoices):
        WEBHOOK = "webhook", "webhook"
        WEBSOCKET = "websocket", "websocket"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    query = models.ForeignKey(EpcisNamedQuery, on_delete=models.CASCADE, related_name="subscriptions")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEBHOOK)
    dest = models.CharField(max_length=2000, blank=True)
    # The client's secret for signing deliveries (GS1-Signature), sealed at rest (keyvault); never shown.
    sealed_signature_token = models.BinaryField(blank=True, default=b"")
    report_if_empty = models.BooleanField(default=False)
    stream = models.BooleanField(default=False)
    schedule = models.JSONField(null=True, blank=True, help_text="QuerySchedule fields, when not a stream")
    initial_record_time = models.DateTimeField(null=True, blank=True)
    cursor = models.BigIntegerField(default=0, help_text="ledger seq up to which the query has run")
    created_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["stream", "channel"])]

    def __str__(self) -> str:
        return f"subscription {self.id}"


class EpcisDelivery(models.Model):
    """One EPCISQueryDocument sent to a webhook subscription, with its outcome and attempts."""

    class State(models.TextChoices):
        PENDING = "pending", "pending"
        DELIVERED = "delivered", "delivered"
        FAILED = "failed", "failed"

    subscription = models.ForeignKey(EpcisSubscription, on_delete=models.CASCADE, related_name="deliveries")
    created_at = models.DateTimeField()
    # The ledger range the document covers and the events it holds (0 for an empty report).
    first_seq = models.BigIntegerField(null=True, blank=True)
    last_seq = models.BigIntegerField(null=True, blank=True)
    event_count = models.PositiveIntegerField(default=0)
    # The exact bytes signed and sent, so every attempt sends the same document.
    body = models.TextField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # When the next attempt is due while pending: beat sends overdue ones again (a lost task).
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.state})"
