"""Database triggers that make a table append-only, for migrations of any app.

PostgreSQL rows call ``looptrace_refuse_change()`` (created with the ledger's triggers,
traceability migration 0002, which a migration using this must depend on); SQLite rows
abort with ``reason``.
"""

from __future__ import annotations

from typing import Any


def refuse_changes(schema_editor: Any, table: str, reason: str) -> None:
    """Refuse UPDATE and DELETE on every row of ``table``."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION looptrace_refuse_change()"
        )
    elif vendor == "sqlite":
        for operation in ("UPDATE", "DELETE"):
            schema_editor.execute(
                f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{reason}: {operation} refused'); END"
            )


def allow_changes(schema_editor: Any, table: str) -> None:
    """Drop what ``refuse_changes`` installed."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
    elif vendor == "sqlite":
        for operation in ("update", "delete"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{operation}")
