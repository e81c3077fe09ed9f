from django.db import models


class PassportStatus(models.TextChoices):
    """Battery status of the Battery Pass data model 1.2.0 (GeneralProductInformation/batteryStatus)."""

    ORIGINAL = "Original", "Original"
    REPURPOSED = "Repurposed", "Repurposed"
    REUSED = "Reused", "Reused"
    REMANUFACTURED = "Remanufactured", "Remanufactured"
    WASTE = "Waste", "Waste"


# A new battery identity issued by these statuses gets a new passport linked to the old (Art. 77(7)).
SECOND_LIFE_STATUSES = frozenset({PassportStatus.REPURPOSED, PassportStatus.REUSED, PassportStatus.REMANUFACTURED})


class AccessTier(models.TextChoices):
    """Who may read which attribute (Regulation (EU) 2023/1542, Art. 77(2) and Annex XIII), least first."""

    PUBLIC = "public", "Public"
    LEGITIMATE_INTEREST = "legitimate_interest", "Persons with a legitimate interest"
    AUTHORITIES = "authorities", "Notified bodies, market surveillance authorities and the Commission"


TIER_ORDER = (AccessTier.PUBLIC, AccessTier.LEGITIMATE_INTEREST, AccessTier.AUTHORITIES)


# The metals Art. 8 of Regulation (EU) 2023/1542 sets recycled-content minimums for, by symbol,
# with their Battery Pass names (Circularity/recycledContent/recycledMaterial).
ARTICLE_8_METALS = {"Co": "Cobalt", "Pb": "Lead", "Li": "Lithium", "Ni": "Nickel"}
