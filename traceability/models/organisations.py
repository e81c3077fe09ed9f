from django.conf import settings
from django.db import models

from traceability.choices import CompositionPolicy, MemberRole, OrganisationRole

__all__ = ["Membership", "Organisation", "Site"]


class Organisation(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    role = models.CharField(max_length=32, choices=OrganisationRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"


class Site(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="sites")
    name = models.CharField(max_length=200)
    # GS1 Global Location Number, used as the EPCIS readPoint / bizLocation.
    gln = models.CharField(max_length=13, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    address = models.CharField(max_length=300, blank=True)
    # The electricity grid whose emission factor prices the site's electricity: a region of the
    # factor registry's ``electricity_grid`` rows. Blank: the country's factor, else the registry's
    # default (``electricity_region``).
    grid_region = models.CharField(max_length=32, blank=True, default="")
    composition_policy = models.CharField(
        max_length=8,
        choices=CompositionPolicy.choices,
        default=CompositionPolicy.WARN,
        help_text="what happens when a melt here misses its target alloy's specification",
    )

    class Meta:
        ordering = ["organisation_id", "name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="site_unique_name_per_org")]

    def __str__(self) -> str:
        return f"{self.name} ({self.organisation.slug})"

    @property
    def electricity_region(self) -> str:
        """The region the electricity factor is looked up for: the grid region, else the country."""
        return self.grid_region or self.country


class Membership(models.Model):
    """A web user acting for one organisation."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="members")
    role = models.CharField(
        max_length=16,
        choices=MemberRole.choices,
        default=MemberRole.MEMBER,
        help_text="administrators manage the organisation's API keys, signing keys and members",
    )

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation.slug}"

    @property
    def is_administrator(self) -> bool:
        return self.role == MemberRole.ADMINISTRATOR
