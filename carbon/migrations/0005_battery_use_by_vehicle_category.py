"""Years of service per vehicle category, beside the cycles per year (and the categories the
draft method names that had no row): the shipped rows of ``carbon/data/factors.json`` for those
two codes that a database seeded earlier lacks. The single global service-years row is no longer
shipped; where it exists it stays (rows are append-only) and nothing reads it."""

import json
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "factors.json"
CODES = {"battery_cycles_per_year", "battery_service_years"}


def load(apps, schema_editor):
    factor = apps.get_model("carbon", "EmissionFactor")
    for row in json.loads(DATA.read_text()):
        if row["code"] not in CODES:
            continue
        if factor.objects.filter(code=row["code"], region=row["region"], lot=None).exists():
            continue
        factor.objects.create(
            code=row["code"], region=row["region"], lot=None, version=1,
            value=row["value"], unit=row["unit"], source=row["source"],
        )


class Migration(migrations.Migration):
    dependencies = [("carbon", "0004_pact")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
