"""Load the sourced default factors shipped in ``carbon/data/factors.json`` as version 1."""

import json
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "factors.json"


def load(apps, schema_editor):
    factor = apps.get_model("carbon", "EmissionFactor")
    for row in json.loads(DATA.read_text()):
        factor.objects.get_or_create(
            code=row["code"], region=row["region"], lot=None, version=1,
            defaults={"value": row["value"], "unit": row["unit"], "source": row["source"]},
        )


class Migration(migrations.Migration):
    dependencies = [("carbon", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
