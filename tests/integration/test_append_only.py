import pytest
from django.db import DatabaseError, connection, transaction

from tests.factories import object_event
from traceability import events, services

pytestmark = pytest.mark.django_db

TABLES = ["traceability_ledgerentry", "traceability_checkpoint", "traceability_merklenode"]


@pytest.fixture
def filled(partner):
    events.ledger_append(organisation=partner.organisation, document=object_event(1))
    services.ledger_checkpoint_create()


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {table} SET {column} = {column}",
        "DELETE FROM {table}",
    ],
    ids=["update", "delete"],
)
def test_the_database_refuses_changes_to_ledger_tables(filled, table, statement):
    column = {
        "traceability_ledgerentry": "kind",
        "traceability_checkpoint": "note",
        "traceability_merklenode": "level",
    }[table]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement.format(table=table, column=column))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("table", TABLES)
def test_postgres_refuses_truncate(filled, table):
    # committed rows: a TRUNCATE inside the inserting transaction fails for another reason
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table} CASCADE")
