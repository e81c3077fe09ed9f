import json
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "alloy_specifications.json"


def load(apps, schema_editor):
    specification = apps.get_model("traceability", "AlloySpecification")
    for row in json.loads(DATA.read_text()):
        specification.objects.update_or_create(name=row["name"], defaults=row)


class Migration(migrations.Migration):
    dependencies = [("traceability", "0003_objects")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
