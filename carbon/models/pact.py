"""PACT (WBCSD Pathfinder) data exchange: access tokens, issued product footprints, partners, events."""

from django.db import models

from traceability.models import ApiCredential, Organisation, TraceableObject

__all__ = [
    "PactAccessToken",
    "PactCheck",
    "PactEvent",
    "PactPartner",
    "PactPublication",
    "PactSubscription",
    "ProductFootprint",
]


class PactAccessToken(models.Model):
    """A bearer token issued by ``/auth/token`` (OAuth 2 client credentials); only its hash is kept."""

    credential = models.ForeignKey(ApiCredential, on_delete=models.CASCADE, related_name="pact_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"token of {self.credential} until {self.expires_at:%Y-%m-%d %H:%M}"


class ProductFootprint(models.Model):
    """One issued PACT ProductFootprint: never changed once written (the database refuses it).

    A changed carbon result issues a new row with a new id, ``version`` + 1, the earlier ids
    as ``preceding_ids`` and ``supersedes`` pointing at the one it replaces; a row that has
    been superseded is Deprecated, the newest of its object is Active. ``node`` joins on the
    object's identifier (not its row id, and without a database constraint), so issued
    footprints outlive a rebuild of the traceability projections.
    """

    id = models.UUIDField(primary_key=True)
    node = models.ForeignKey(
        TraceableObject,
        to_field="identifier",
        db_column="object_identifier",
        db_constraint=False,
        on_delete=models.DO_NOTHING,
        related_name="pact_footprints",
    )
    version = models.PositiveIntegerField()
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    preceding_ids = models.JSONField(default=list)
    content = models.JSONField(help_text="what the footprint states, independent of the PACT version")
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the canonical content")
    created = models.DateTimeField()
    result_computed_at = models.DateTimeField(help_text="when the carbon result it was issued from was computed")
    # Newline-delimited lower-case values: case-insensitive list filters that work on any database.
    product_keys = models.TextField()
    company_keys = models.TextField()
    classification_keys = models.TextField()
    geography_keys = models.TextField(blank=True)
    validity_start = models.DateTimeField()
    validity_end = models.DateTimeField()

    class Meta:
        ordering = ["created", "id"]
        constraints = [models.UniqueConstraint(fields=["node", "version"], name="pact_footprint_version_unique")]
        indexes = [models.Index(fields=["created", "id"])]

    def __str__(self) -> str:
        return f"PACT footprint {self.id} v{self.version} of {self.node_id}"


class PactCheck(models.Model):
    """The newest carbon result of an object already compared with its issued footprint.

    Results are recomputed without changing (a full recomputation rewrites them all): this
    mark lets issuing skip what it has seen, since issued rows themselves never change.
    """

    identifier = models.CharField(max_length=200, unique=True)
    result_computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.identifier} checked at {self.result_computed_at:%Y-%m-%d %H:%M:%S}"


class PactPartner(models.Model):
    """How the platform reaches an organisation's own PACT host (to send it events).

    The secret is needed in clear to authenticate, so it is stored encrypted (AES-GCM,
    key derived from ``KEY_ENCRYPTION_KEY``), never hashed.
    """

    organisation = models.OneToOneField(Organisation, on_delete=models.CASCADE, related_name="pact_partner")
    base_url = models.URLField(help_text="the partner's PACT host, e.g. https://pact.example.com")
    client_id = models.CharField(max_length=200)
    secret_sealed = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.organisation.slug} at {self.base_url}"


class PactEvent(models.Model):
    """A CloudEvent received on ``/2/events`` or ``/3/events``, and the answer sent for a request."""

    class Answer(models.TextChoices):
        NONE = "none", "Needs no answer"
        PENDING = "pending", "Answer pending"
        FULFILLED = "fulfilled", "Fulfilled event delivered"
        REJECTED = "rejected", "Rejected event delivered"
        UNDELIVERED = "undelivered", "Answer could not be delivered (yet)"

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="pact_events")
    spec = models.CharField(max_length=1, help_text="PACT major version: 2 or 3")
    event_id = models.CharField(max_length=200)
    source = models.CharField(max_length=500)
    type = models.CharField(max_length=200)
    body = models.JSONField()
    reply_source = models.CharField(max_length=500, help_text="our events endpoint, as the answer's source")
    received_at = models.DateTimeField(auto_now_add=True)
    answer = models.CharField(max_length=12, choices=Answer.choices, default=Answer.NONE)
    answer_body = models.JSONField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    delivery_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "source", "event_id"], name="pact_event_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id} from {self.organisation.slug}"


class PactSubscription(models.Model):
    """An organisation that has been sent an object's PACT footprint: in a ListFootprints or
    GetFootprint answer, or in a delivered RequestFulfilledEvent. Each later version of that
    object's footprint is announced to its PACT host (``PactPartner``) in a PublishedEvent.

    ``pf_id``/``version``: the newest version it has been sent or told of; ``spec`` and ``source``:
    the PACT version it spoke and our events endpoint as it reached us (the events' ``source``).
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="pact_subscriptions")
    node_identifier = models.CharField(max_length=200)
    spec = models.CharField(max_length=1, help_text="PACT major version: 2 or 3")
    source = models.CharField(max_length=500)
    pf_id = models.UUIDField()
    version = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "node_identifier"], name="pact_subscription_unique"),
        ]
        indexes = [models.Index(fields=["node_identifier"])]

    def __str__(self) -> str:
        return f"{self.organisation_id} follows {self.node_identifier} (v{self.version})"


class PactPublication(models.Model):
    """A PublishedEvent for one organisation's PACT host: queued when footprints it follows are
    reissued, delivered by a worker after commit, retried with backoff; failures are kept."""

    class State(models.TextChoices):
        PENDING = "pending", "Not sent yet"
        DELIVERED = "delivered", "Delivered"
        UNDELIVERED = "undelivered", "Could not be delivered (yet)"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="pact_publications")
    spec = models.CharField(max_length=1, help_text="PACT major version: 2 or 3")
    body = models.JSONField(help_text="the CloudEvent, as sent")
    created_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True, blank=True)
    delivery_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"PublishedEvent {self.body.get('id')} to {self.organisation_id}: {self.state}"
