from django.db import models

from traceability.choices import KeyCustody
from traceability.models.organisations import Organisation

__all__ = ["ApiCredential", "SigningKey"]


class SigningKey(models.Model):
    """An organisation's Ed25519 key: a projection of its ``key.*`` ledger entries.

    The ledger entries are the truth; ``verify_ledger`` checks this table against them.
    ``encrypted_private_key`` is set only for keys the platform holds (custodial) and
    is AES-GCM encrypted with the key-encryption key from settings.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="signing_keys")
    key_id = models.CharField(max_length=64, unique=True, help_text="hex SHA-256 of the raw public key")
    public_key = models.BinaryField(max_length=32)
    custody = models.CharField(max_length=16, choices=KeyCustody.choices)
    encrypted_private_key = models.BinaryField(null=True, blank=True, editable=False)
    valid_from = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    registered_seq = models.BigIntegerField(help_text="ledger entry that registered the key")
    revoked_seq = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["registered_seq"]

    def __str__(self) -> str:
        return f"{self.organisation.slug}:{self.key_id[:16]}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ApiCredential(models.Model):
    """A client id and a hashed secret that authenticate an organisation's API calls."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="api_credentials")
    client_id = models.CharField(max_length=32, unique=True)
    # SHA-256 of a 256-bit random secret: a slow password hash adds nothing for
    # secrets with that much entropy, and would cost every request dearly.
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.organisation.slug}:{self.client_id}"
