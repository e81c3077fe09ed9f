"""The PEF Circular Footprint Formula's parameters by material (region = aluminium, cobalt,
nickel, lithium): the shipped ``cff_*`` rows of ``carbon/data/factors.json`` for a material
that a database seeded earlier lacks. The older single-scope rows (``cff_a`` for "metals",
``cff_qs_qp``, ``cff_r2`` without a region) stay (rows are append-only); nothing reads them."""

import json
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "factors.json"
MATERIALS = {"aluminium", "cobalt", "nickel", "lithium"}


def load(apps, schema_editor):
    factor = apps.get_model("carbon", "EmissionFactor")
    for row in json.loads(DATA.read_text()):
        if not row["code"].startswith("cff_") or row["region"] not in MATERIALS:
            continue
        if factor.objects.filter(code=row["code"], region=row["region"], lot=None).exists():
            continue
        factor.objects.create(
            code=row["code"], region=row["region"], lot=None, version=1,
            value=row["value"], unit=row["unit"], source=row["source"],
        )


class Migration(migrations.Migration):
    dependencies = [("carbon", "0006_dirty_nodes")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
