"""Factor versions are never changed in place: the database refuses UPDATE and DELETE."""

from django.db import migrations

from traceability.append_only import allow_changes, refuse_changes

TABLE = "carbon_emissionfactor"


def install(apps, schema_editor):
    refuse_changes(schema_editor, TABLE, "emission factor versions are append-only")


def uninstall(apps, schema_editor):
    allow_changes(schema_editor, TABLE)


class Migration(migrations.Migration):
    dependencies = [("carbon", "0002_seed_factors"), ("traceability", "0002_append_only_triggers")]

    operations = [migrations.RunPython(install, uninstall)]
