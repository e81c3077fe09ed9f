from django.db import models


class OrganisationRole(models.TextChoices):
    OEM = "oem", "Vehicle maker (OEM)"
    DISMANTLER = "dismantler", "Dismantler"
    BATTERY_RECYCLER = "battery_recycler", "Battery recycler"
    REMELTER = "remelter", "Remelter"
    DIE_CASTER = "die_caster", "Die-caster"
    BATTERY_MAKER = "battery_maker", "Battery maker"
    REGULATOR = "regulator", "Regulator"
    # The platform itself: it registers keys and signs checkpoints.
    OPERATOR = "operator", "Platform operator"


class KeyCustody(models.TextChoices):
    CLIENT = "client", "Held by the organisation (client-side signing)"
    PLATFORM = "platform", "Held by the platform, encrypted (custodial signing)"
