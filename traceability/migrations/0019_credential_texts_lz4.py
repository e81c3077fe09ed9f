"""Credentials' signed texts compressed with LZ4 instead of PostgreSQL's default pglz.

A battery passport's credential is 6 to 10 KB in each of its two forms, above the size at which
PostgreSQL compresses a value on insert; LZ4 (PostgreSQL 14 onwards, when the server is built
with it) compresses them several times faster than pglz for about the same size, which is most of
what storing a batch of credentials costs the server. A server without LZ4 keeps pglz: the
columns work the same either way, and only values written afterwards are affected.
"""

from django.db import DatabaseError, migrations, transaction

COLUMNS = {
    "traceability_credential": ("jwt", "secured_json"),
    "traceability_statuslist": ("jwt", "secured_json"),
}


def _compress_with(method: str):  # type: ignore[no-untyped-def]
    def apply(apps, schema_editor):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor != "postgresql":
            return
        for table, columns in COLUMNS.items():
            changes = ", ".join(f"ALTER COLUMN {column} SET COMPRESSION {method}" for column in columns)
            try:
                with transaction.atomic(using=schema_editor.connection.alias):
                    schema_editor.execute(f"ALTER TABLE {table} {changes}")
            except DatabaseError:
                return  # the server has no LZ4 (or predates column compression): pglz stays

    return apply


class Migration(migrations.Migration):
    dependencies = [("traceability", "0018_credentials")]

    operations = [migrations.RunPython(_compress_with("lz4"), _compress_with("pglz"))]
