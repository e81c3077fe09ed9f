"""The database itself refuses to change or remove ledger rows.

PostgreSQL: row triggers refuse UPDATE and DELETE, a statement trigger refuses
TRUNCATE. SQLite (the embedded default): row triggers refuse UPDATE and DELETE
(SQLite has no TRUNCATE). Someone with the database owner's rights can still
drop these triggers; ``verify_ledger`` is what catches that.
"""

from django.db import migrations

TABLES = ("traceability_ledgerentry", "traceability_checkpoint", "traceability_merklenode")

POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION looptrace_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'looptrace ledger table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_FUNCTION, params=None)
        for table in TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION looptrace_refuse_change()"
            )
            schema_editor.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION looptrace_refuse_change()"
            )
    elif vendor == "sqlite":
        for table in TABLES:
            for operation in ("UPDATE", "DELETE"):
                schema_editor.execute(
                    f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'looptrace ledger table {table} is append-only: "
                    f"{operation} refused'); END"
                )


def uninstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        elif vendor == "sqlite":
            for operation in ("update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{operation}")
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS looptrace_refuse_change()")


class Migration(migrations.Migration):
    dependencies = [("traceability", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall)]
