from django.db import models

from traceability.models.organisations import Organisation

__all__ = ["IdempotencyRecord"]


class IdempotencyRecord(models.Model):
    """The response to a POST made with an ``Idempotency-Key``, replayed when the same request is retried."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    request_digest = models.CharField(max_length=64, help_text="SHA-256 of method, path and body")
    status = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "key"], name="idempotency_key_unique")]

    def __str__(self) -> str:
        return f"{self.organisation_id}:{self.key}"
