"""What an organisation can act on next: what it holds, counted by what the next step for it is.

Each kind of object held (a pack also by its grading route) has candidate operations in the order
of the loop; the first one the organisation's role records and the console has a form for is its
next step, and anything the role cannot work on is to be transferred to whoever takes it next.
One grouped query, whatever the holdings.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q
from django.db.models.fields.json import KT

from traceability.choices import BATTERY_KINDS, ObjectKind, ObjectStatus, Operation
from traceability.models import Organisation, TraceableObject
from traceability.operations.registry import BY_NAME

from .forms import FORMS

# (kinds, grading route or None for any, noun, candidate steps as (operation, phrase))
STEPS: tuple[tuple[frozenset[str], str | None, str, tuple[tuple[Operation, str], ...]], ...] = (
    (frozenset({ObjectKind.VEHICLE}), None, "vehicle", ((Operation.DISMANTLING, "to dismantle"),)),
    (BATTERY_KINDS, "", "pack", ((Operation.BATTERY_GRADING, "to grade"),)),
    (BATTERY_KINDS, "recycling", "pack", ((Operation.BATTERY_RECYCLING, "to recycle"),)),
    (BATTERY_KINDS, "second_life", "pack", ((Operation.REPURPOSING, "to repurpose"),)),
    (frozenset({ObjectKind.PART}), None, "part", ((Operation.SCRAP_SORTING, "to sort"),)),
    (
        frozenset({ObjectKind.SCRAP_LOT, ObjectKind.PRIMARY_INGOT, ObjectKind.ALLOYING}),
        None,
        "lot",
        ((Operation.REMELTING, "to melt"),),
    ),
    (
        frozenset({ObjectKind.MELT_BATCH, ObjectKind.MOLTEN_LADLE}),
        None,
        "melt",
        ((Operation.DIE_CASTING, "to cast"), (Operation.MOLTEN_TRANSFER, "to deliver hot")),
    ),
    (frozenset({ObjectKind.INGOT_LOT}), None, "ingot lot", ((Operation.DIE_CASTING, "to cast"),)),
    (frozenset({ObjectKind.BLACK_MASS}), None, "lot", ((Operation.BLACK_MASS_REFINING, "to refine"),)),
)
TRANSFER = "to transfer"
# A dismantled vehicle stays active as its hulk (the mass left): nothing more comes out of it here.
HULK = Q(kind=ObjectKind.VEHICLE, remaining_kg__lt=F("initial_kg"))


@dataclass(frozen=True)
class NextAction:
    count: int
    noun: str
    phrase: str
    slug: str  # the form's URL segment

    @property
    def text(self) -> str:
        return f"{self.count} {self.noun}{'' if self.count == 1 else 's'} {self.phrase}"


def _step(organisation: Organisation, kind: str, route: str) -> tuple[str, str, Operation | None]:
    for kinds, wanted, noun, candidates in STEPS:
        if kind in kinds and (wanted is None or wanted == route):
            for operation, phrase in candidates:
                if organisation.role in BY_NAME[operation].roles:
                    return noun, phrase, operation
            return noun, TRANSFER, None
    return "lot" if kind not in (ObjectKind.PART,) else "part", TRANSFER, None


def next_actions(*, organisation: Organisation) -> list[NextAction]:
    """The organisation's next steps, each with how many objects held await it, in the loop's order."""
    may_transfer = organisation.role in BY_NAME[Operation.CUSTODY_TRANSFER].roles
    held = (
        TraceableObject.objects.filter(custodian=organisation, status=ObjectStatus.ACTIVE)
        .annotate(route=KT("attributes__route"), hulk=ExpressionWrapper(HULK, output_field=BooleanField()))
        .values_list("kind", "route", "hulk")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts: dict[tuple[str, str, str], int] = {}
    for kind, route, hulk, n in held:
        if hulk:
            continue
        noun, phrase, operation = _step(organisation, kind, route or "")
        if operation is None:
            if not may_transfer:
                continue
            operation = Operation.CUSTODY_TRANSFER
        slug = operation.replace("_", "-")
        if slug in FORMS:
            counts[(noun, phrase, slug)] = counts.get((noun, phrase, slug), 0) + n
    order = [slug for slug in FORMS]
    return sorted(
        (NextAction(n, noun, phrase, slug) for (noun, phrase, slug), n in counts.items()),
        key=lambda action: (order.index(action.slug), action.noun),
    )
