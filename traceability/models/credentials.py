from django.db import models

from traceability.choices import CredentialKind, CredentialState, StatusPurpose
from traceability.models.organisations import Organisation

__all__ = ["Credential", "StatusList"]


class StatusList(models.Model):
    """One W3C Bitstring Status List of an issuer, and its signed credential as last served.

    ``bits`` is the list itself; every flip is also a ``credential.status`` ledger fact, so the
    list can be rebuilt from the ledger. The signed forms are re-made at each flip, so serving
    them costs one row read and is byte-identical between flips.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="status_lists")
    number = models.PositiveIntegerField(help_text="the list's number within its organisation, in its URL")
    purpose = models.CharField(max_length=16, choices=StatusPurpose.choices)
    bits = models.BinaryField()
    allocated = models.PositiveIntegerField(default=0, help_text="indices handed out to credentials")
    jwt = models.TextField(blank=True)
    secured_json = models.TextField(blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organisation_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "number"], name="status_list_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation.slug} status list {self.number} ({self.purpose})"


class Credential(models.Model):
    """A verifiable credential an organisation issued, stored in the exact forms it was signed in.

    ``jwt`` (application/vc+jwt) and ``secured_json`` (the Data Integrity form, as text) are served
    byte for byte; ``digest`` is the hex SHA-256 of the unsecured credential's RFC 8785 form, the
    digest the ``credential.issued`` ledger entry ``anchor_seq`` records.
    """

    public_id = models.UUIDField(unique=True, help_text="the credential's handle in /credentials/<uuid>")
    credential_id = models.CharField(max_length=500, unique=True, help_text="the credential's own id")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="credentials")
    kind = models.CharField(max_length=40, choices=CredentialKind.choices)
    subject = models.CharField(max_length=500, help_text="what the credential is about (a passport, an event...)")
    public = models.BooleanField(default=False)
    status_list = models.ForeignKey(StatusList, on_delete=models.PROTECT, related_name="credentials")
    status_index = models.PositiveIntegerField()
    key_id = models.CharField(max_length=64, help_text="the signing key (ledger key id)")
    jwt = models.TextField()
    secured_json = models.TextField()
    digest = models.CharField(max_length=64)
    anchor_seq = models.BigIntegerField(help_text="the credential.issued ledger entry")
    state = models.CharField(max_length=16, choices=CredentialState.choices, default=CredentialState.CURRENT)
    state_seq = models.BigIntegerField(null=True, blank=True, help_text="the credential.status entry of the change")
    superseded_by = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["status_list", "status_index"], name="credential_unique_status_bit"),
        ]
        indexes = [
            models.Index(fields=["organisation", "-created_at"]),
            models.Index(fields=["subject"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.credential_id}"
