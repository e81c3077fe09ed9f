import uuid

from django.db import models

from passport.choices import PassportStatus
from traceability.models import TraceableObject

__all__ = ["Passport", "PassportCursor", "PassportVersion"]


class Passport(models.Model):
    """The passport of one battery identity. A repurposed battery gets a new one linked to this.

    Its content lives in its versions: each is the Battery Pass document as issued, and each is
    a platform-signed ``passport.version`` ledger fact carrying the document's digests.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    battery = models.OneToOneField(TraceableObject, on_delete=models.PROTECT, related_name="passport")
    status = models.CharField(max_length=16, choices=PassportStatus.choices, default=PassportStatus.ORIGINAL)
    previous = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="successors",
        help_text="the passport of the battery this one was repurposed, reused or remanufactured from",
    )
    ceased_at = models.DateTimeField(null=True, blank=True, help_text="the battery was recycled (Art. 77(8))")
    ceased_seq = models.BigIntegerField(null=True, blank=True, help_text="ledger entry of the recycling event")
    problems = models.JSONField(
        default=list, blank=True, help_text="why the last assembly failed validation (empty when it passed)"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.urn

    @property
    def urn(self) -> str:
        """The Battery Pass passport identifier (its schema asks for ``urn:<letters/digits>:<letters/digits>``)."""
        return f"urn:looptrace:{self.id.hex}"

    @property
    def ceased(self) -> bool:
        return self.ceased_at is not None


class PassportVersion(models.Model):
    """One issued version of a passport: the document, its digests and the ledger fact that holds them."""

    passport = models.ForeignKey(Passport, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=PassportStatus.choices)
    reason = models.CharField(max_length=32, help_text="registered, updated, repurposed, ceased...")
    document = models.JSONField(help_text="the full Battery Pass document, every aspect (the authorities' view)")
    digest = models.CharField(max_length=64, help_text="hex SHA-256 of the document's RFC 8785 form")
    tier_digests = models.JSONField(help_text="hex SHA-256 of the RFC 8785 form of each tier's view")
    ledger_seq = models.BigIntegerField(unique=True, help_text="the passport.version fact")
    basis_seq = models.BigIntegerField(help_text="the ledger event this version reflects")
    ceased = models.BooleanField(default=False)
    issued_at = models.DateTimeField()

    class Meta:
        ordering = ["passport", "number"]
        constraints = [models.UniqueConstraint(fields=["passport", "number"], name="passport_version_unique")]

    def __str__(self) -> str:
        return f"{self.passport.urn} v{self.number}"


class PassportCursor(models.Model):
    """How far passports have followed the ledger: the last event whose effects they reflect."""

    name = models.CharField(max_length=32, unique=True)
    seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} at {self.seq}"
