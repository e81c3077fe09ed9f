from django.db import models

from traceability.models.organisations import Organisation

__all__ = ["EpcisLocationChild"]


class EpcisLocationChild(models.Model):
    """A location another one holds, as an organisation's EPCIS master data declares it (a
    ReadPoint or BusinessLocation vocabulary element's ``children``): what ``WD_readPoint`` and
    ``WD_bizLocation`` call a descendant."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    parent = models.CharField(max_length=500)
    child = models.CharField(max_length=500)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "parent", "child"], name="epcis_location_child_once")
        ]
        indexes = [models.Index(fields=["parent"])]

    def __str__(self) -> str:
        return f"{self.parent} > {self.child}"
