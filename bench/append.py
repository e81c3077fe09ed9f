"""``ledger_append``: events/s through ``ledger_append_batch`` against COPY plus signature checks."""

from __future__ import annotations

from time import perf_counter

from psycopg import sql
from tqdm import tqdm

from bench.database import BenchDatabase
from bench.report import BenchError, Result
from bench.workload import BATCH_SIZE, Workload, batches
from traceability.models import LedgerEntry, ledger_entry_columns

TARGET = ">=0.5"
BASELINE_TABLE = "bench_baseline_entry"
COLUMNS = ledger_entry_columns()


def run(workload: Workload, database: BenchDatabase) -> Result:
    events = len(workload.submissions)

    started = perf_counter()
    workload.append_all(desc="ledger_append: subject")
    subject_seconds = perf_counter() - started

    stored = workload.event_count_in_ledger()
    if stored != events:
        raise BenchError(f"ledger_append_batch stored {stored} events, expected {events}")

    # The baseline writes exactly the rows the subject wrote (same values, same sizes).
    rows = list(LedgerEntry.objects.filter(organisation=workload.organisation).order_by("seq").values_list(*COLUMNS))
    baseline_seconds = _copy_and_verify(rows, workload, database)
    return Result.of(value=events / subject_seconds, baseline=events / baseline_seconds, unit="events/s", target=TARGET)


def _copy_and_verify(rows: list[tuple[object, ...]], workload: Workload, database: BenchDatabase) -> float:
    """Seconds to verify every signature and COPY the rows in, one transaction per batch.

    The table copies the ledger table's column types, defaults, constraints and
    indexes (LIKE never copies foreign keys or triggers), so each COPY maintains
    the same primary key and indexes the subject's INSERTs do.
    """
    public_key = workload.private_key.public_key()
    table = sql.Identifier(BASELINE_TABLE)
    copy_statement = sql.SQL("COPY {} ({}) FROM STDIN").format(table, sql.SQL(", ").join(map(sql.Identifier, COLUMNS)))
    with database.connect() as conn:
        conn.execute(sql.SQL("CREATE TABLE {} (LIKE traceability_ledgerentry INCLUDING ALL)").format(table))
        conn.commit()
        signed = workload.signed_bytes
        with tqdm(total=len(rows), desc="ledger_append: baseline", unit="event", leave=False) as bar:
            started = perf_counter()
            for offset, batch in zip(range(0, len(rows), BATCH_SIZE), batches(rows), strict=True):
                for data, signature in signed[offset : offset + len(batch)]:
                    public_key.verify(signature, data)
                with conn.cursor() as cursor, cursor.copy(copy_statement) as copy:
                    for row in batch:
                        copy.write_row(row)
                conn.commit()
                bar.update(len(batch))
            seconds = perf_counter() - started
        copied = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(table)).fetchone()
        conn.execute(sql.SQL("DROP TABLE {}").format(table))
        conn.commit()
    if copied is None or copied[0] != len(rows):
        raise BenchError(f"the baseline copied {copied} rows, expected {len(rows)}")
    return seconds
