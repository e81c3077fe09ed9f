"""What the demo holds: a few lines about the objects, operations, trays, melts and batteries in the
database. The recycled content of the melts and parts is the carbon engine's, which this app does not
read: ``carbon.demo`` prints it after these lines."""

from __future__ import annotations

import json
from decimal import Decimal

from django.db.models import Count, Sum

from traceability.choices import ObjectKind, ObjectStatus, Operation, OrganisationRole
from traceability.models import EventRecord, TraceableObject
from traceability.operations.rules import CLAIMED_ATTRIBUTE

from .facts import SECOND_LIFE_APPLICATION, TARGET_ALLOY


def summary() -> list[str]:
    """Lines describing what is in the database: objects, operations, trays, melts, batteries."""
    kinds = dict(TraceableObject.objects.values_list("kind").annotate(n=Count("id")).order_by("kind"))
    operations = dict(EventRecord.objects.values_list("operation").annotate(n=Count("entry")).order_by("operation"))
    trays = TraceableObject.objects.filter(kind=ObjectKind.PART, attributes__partType="battery_tray")
    tray_kg = trays.aggregate(kg=Sum("initial_kg"))["kg"] or Decimal(0)
    removed = TraceableObject.objects.filter(kind=ObjectKind.BATTERY_PACK).exclude(
        attributes__has_key="previousIdentity"
    )
    lines = [
        "objects:    " + ", ".join(f"{kind} {n}" for kind, n in kinds.items()),
        "operations: " + ", ".join(f"{operation} {n}" for operation, n in operations.items()),
        f"trays:      {trays.count()} battery trays, {tray_kg:,.1f} kg",
        f"packs:      {removed.count()} removed from vehicles: "
        f"{removed.filter(status=ObjectStatus.REPURPOSED).count()} repurposed for {SECOND_LIFE_APPLICATION}, "
        f"{removed.filter(status=ObjectStatus.RECYCLED).count()} recycled",
    ]
    black_mass = TraceableObject.objects.filter(kind=ObjectKind.BLACK_MASS).aggregate(kg=Sum("initial_kg"))["kg"]
    salts = (
        TraceableObject.objects.filter(kind=ObjectKind.SALT)
        .values_list("attributes__compound")
        .annotate(kg=Sum("initial_kg"))
        .order_by("attributes__compound")
    )
    if black_mass:
        lines.append(
            f"recycling:  black mass {black_mass:,.1f} kg; salts "
            + ", ".join(f"{compound} {kg:,.1f} kg" for compound, kg in salts)
        )
    melts = EventRecord.objects.filter(operation=Operation.REMELTING, organisation__role=OrganisationRole.REMELTER)
    charge: dict[str, Decimal] = {}
    met = 0
    for record in melts.select_related("entry"):
        met += not record.warnings
        quantities = json.loads(record.entry.document).get("inputQuantityList", [])
        found = TraceableObject.objects.in_bulk([q["epcClass"] for q in quantities], field_name="identifier")
        for q in quantities:
            obj = found[q["epcClass"]]
            source = str(obj.attributes.get("scrapCategory") or obj.kind)
            charge[source] = charge.get(source, Decimal(0)) + Decimal(str(q["quantity"]))
    total = sum(charge.values(), Decimal(0))
    if total:
        shares = ", ".join(f"{name} {kg / total:.1%}" for name, kg in sorted(charge.items(), key=lambda i: -i[1]))
        lines.append(
            f"melts:      {melts.count()} at the remelter, {met} meet {TARGET_ALLOY}; "
            f"charge {total:,.0f} kg by source: {shares}"
        )
    claimed = TraceableObject.objects.filter(attributes__has_key=CLAIMED_ATTRIBUTE)
    if claimed.exists():
        claims = EventRecord.objects.filter(operation=Operation.RECYCLED_CONTENT_CLAIM).count()
        kg = sum((Decimal(lot.attributes[CLAIMED_ATTRIBUTE]) for lot in claimed), Decimal(0))
        lines.append(
            f"claims:     {claims} recycled-content claims (mass balance) on {claimed.count()} premium lots, "
            f"{kg:,.1f} kg; every other melt carries none under mass balance"
        )
    return lines
