from django.db import models


class MemberRole(models.TextChoices):
    """What a web user may do for its organisation: administrators manage its keys and members."""

    MEMBER = "member", "Member"
    ADMINISTRATOR = "administrator", "Administrator"


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


# The organisations that can hold material: each partner works on what it holds, while a
# regulator reads and the platform operator keeps the ledger, and neither takes material in.
# Who may ship, and who may receive custody, are both this set.
MATERIAL_HOLDING_ROLES = frozenset(
    {
        OrganisationRole.OEM,
        OrganisationRole.DISMANTLER,
        OrganisationRole.BATTERY_RECYCLER,
        OrganisationRole.REMELTER,
        OrganisationRole.DIE_CASTER,
        OrganisationRole.BATTERY_MAKER,
    }
)


class Operation(models.TextChoices):
    """A lifecycle operation of the car-to-car loop, as named in an event's ``lt:operation``."""

    VEHICLE_INTAKE = "vehicle_intake", "Vehicle intake"
    MATERIAL_RECEIPT = "material_receipt", "Material receipt"
    DISMANTLING = "dismantling", "Dismantling"
    BATTERY_GRADING = "battery_grading", "Battery grading"
    REPURPOSING = "repurposing", "Repurposing"
    BATTERY_RECYCLING = "battery_recycling", "Battery recycling"
    BLACK_MASS_REFINING = "black_mass_refining", "Black mass refining"
    SCRAP_SORTING = "scrap_sorting", "Scrap sorting"
    REMELTING = "remelting", "Remelting"
    MOLTEN_TRANSFER = "molten_transfer", "Molten transfer"
    DIE_CASTING = "die_casting", "Die-casting"
    CUSTODY_TRANSFER = "custody_transfer", "Custody transfer"
    RECYCLED_CONTENT_CLAIM = "recycled_content_claim", "Recycled-content claim"


# The operations that blend their inputs into new material (a melt, a refining): the carbon
# engine substitutes recycled inputs there (CFF), credits them to the site's mass-balance
# account, and their outputs are what a recycled-content claim may name.
BLENDING_OPERATIONS = frozenset({Operation.REMELTING, Operation.BLACK_MASS_REFINING})


# The Looptrace EPCIS extension field naming the operation an event records (here, below the
# operations, because the visibility policy keeps it in what other organisations see of an event).
OPERATION_FIELD = "lt:operation"


class KeyCustody(models.TextChoices):
    CLIENT = "client", "Held by the organisation (client-side signing)"
    PLATFORM = "platform", "Held by the platform, encrypted (custodial signing)"


class ObjectKind(models.TextChoices):
    # serialised items
    VEHICLE = "vehicle", "Vehicle"
    BATTERY_PACK = "battery_pack", "Battery pack"
    BATTERY_MODULE = "battery_module", "Battery module"
    BATTERY_CELL = "battery_cell", "Battery cell"
    PART = "part", "Part"
    # mass lots
    SCRAP_LOT = "scrap_lot", "Scrap lot"
    BLACK_MASS = "black_mass", "Black mass"
    BATTERY_FRACTION = "battery_fraction", "Battery fraction (Cu, Al, steel, plastics)"
    SALT = "salt", "Battery-grade salt"
    PRIMARY_INGOT = "primary_ingot", "Primary aluminium ingot"
    ALLOYING = "alloying", "Alloying addition"
    MELT_BATCH = "melt_batch", "Melt batch"
    INGOT_LOT = "ingot_lot", "Ingot lot"
    MOLTEN_LADLE = "molten_ladle", "Molten ladle"
    CASTING_BATCH = "casting_batch", "Casting batch"


SERIALISED_KINDS = frozenset(
    {ObjectKind.VEHICLE, ObjectKind.BATTERY_PACK, ObjectKind.BATTERY_MODULE, ObjectKind.BATTERY_CELL, ObjectKind.PART}
)
BATTERY_KINDS = frozenset({ObjectKind.BATTERY_PACK, ObjectKind.BATTERY_MODULE, ObjectKind.BATTERY_CELL})


class ObjectStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    CONSUMED = "consumed", "Consumed"
    RECYCLED = "recycled", "Recycled"
    REPURPOSED = "repurposed", "Repurposed (continues under a new identity)"
    DESTROYED = "destroyed", "Destroyed"


ENDED_STATUSES = frozenset(
    {ObjectStatus.CONSUMED, ObjectStatus.RECYCLED, ObjectStatus.REPURPOSED, ObjectStatus.DESTROYED}
)


# What a recycled-content claim names (ISO 14021: run-around scrap is not recycled content).
CLAIM_CATEGORIES = ("pre_consumer", "post_consumer")


class ScrapCategory(models.TextChoices):
    POST_CONSUMER = "post_consumer", "Post-consumer"
    PRE_CONSUMER = "pre_consumer", "Pre-consumer (new scrap)"
    INTERNAL = "internal", "Internal / run-around (not recycled content, ISO 14021)"


class Chemistry(models.TextChoices):
    LFP = "LFP", "LFP"
    NMC = "NMC", "NMC"
    OTHER = "other", "Other"


class CompositionPolicy(models.TextChoices):
    WARN = "warn", "Warn when a melt misses its alloy specification"
    REFUSE = "refuse", "Refuse a melt that misses its alloy specification"


class CredentialKind(models.TextChoices):
    """What a credential claims: the UNTP 0.7.0 credential types Looptrace issues."""

    PRODUCT_PASSPORT = "DigitalProductPassport", "UNTP Digital Product Passport"
    TRACEABILITY_EVENT = "DigitalTraceabilityEvent", "UNTP Digital Traceability Event"
    CONFORMITY_CREDENTIAL = "DigitalConformityCredential", "UNTP Digital Conformity Credential"
    FACILITY_RECORD = "DigitalFacilityRecord", "UNTP Digital Facility Record"


class CredentialState(models.TextChoices):
    CURRENT = "current", "Current"
    SUPERSEDED = "superseded", "Superseded by a newer credential"
    REVOKED = "revoked", "Revoked"


class StatusPurpose(models.TextChoices):
    """A Bitstring Status List's purpose (W3C Bitstring Status List v1.0 §2.1)."""

    REVOCATION = "revocation", "Revocation (permanent)"
    SUSPENSION = "suspension", "Suspension (reversible)"
