import re

from django.db import models

from traceability.models import TraceableObject

__all__ = ["LOT_IN_REFERENCE", "EmissionFactor"]

# The lot a factor reference (``EmissionFactor.reference``) is bound to: ``...@lot<id>:v<n>``.
LOT_IN_REFERENCE = re.compile(r"@lot(\d+)")


class EmissionFactor(models.Model):
    """One version of an emission factor. Rows are never changed: a new version supersedes.

    ``code`` names the factor (``electricity_grid``, ``primary_aluminium``...), ``region``
    narrows it (a country code, a power source, an element), ``lot`` binds a supplier's own
    footprint to one lot. The current version of a factor is the newest one that no other
    row supersedes.
    """

    code = models.CharField(max_length=64)
    region = models.CharField(max_length=32, blank=True, default="")
    lot = models.ForeignKey(
        TraceableObject, on_delete=models.PROTECT, null=True, blank=True, related_name="emission_factors"
    )
    version = models.PositiveIntegerField()
    value = models.DecimalField(max_digits=18, decimal_places=9)
    unit = models.CharField(max_length=64, help_text="pint unit, e.g. kg/kWh for kg CO2e per kWh")
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    source = models.TextField(help_text="citation: publication, table, year")
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code", "region", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "region", "lot", "version"], name="factor_version_unique"),
        ]

    def __str__(self) -> str:
        scope = f"{self.region}" if self.region else "any"
        return f"{self.code}[{scope}] v{self.version} = {self.value} {self.unit}"

    @property
    def reference(self) -> str:
        """How a result names the version it used."""
        lot = f"@lot{self.lot_id}" if self.lot_id else ""
        return f"{self.code}:{self.region or '*'}{lot}:v{self.version}"
