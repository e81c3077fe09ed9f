"""Looptrace benchmarks, each reported as a ratio to a baseline measured in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/looptrace_test python -m bench [--only NAME]

Only the server, user and password of ``DATABASE_URL`` are used: the run drops and
recreates a throwaway database ``looptrace_bench`` there (``BENCH_DATABASE_NAME``
chooses another name starting with ``looptrace_bench``, so parallel runs do not drop
each other's), migrates it, and drops it
at the end. Anything but PostgreSQL is refused. Django runs with ``DEBUG=0``, as
in production (no query log).

The first two benchmarks work on the same 20,000 EPCIS ObjectEvents of one partner,
signed client-side (Ed25519 over the RFC 8785 canonical JSON) before any timing;
the others build workloads of their own (see their modules).

ledger_append (events/s, target ratio >= 0.5)
    Subject: the 20,000 signed documents through ``ledger_append_batch`` in
    batches of 500 (canonicalise, verify the signature, chain, Merkle nodes,
    one transaction per batch). Baseline: for the same rows the subject stored,
    verify each signature with ``cryptography``'s Ed25519 and COPY the rows
    (psycopg 3 ``cursor.copy``) into a table with the ledger table's column
    types and indexes, one transaction per 500 rows: the least work any
    correct append must do. The ratio is the fraction of that floor the real
    append reaches; 0.5 means the ledger's own bookkeeping (canonical JSON,
    header hashes, Merkle nodes, ORM) at most doubles the unavoidable cost.

verify_ledger (entries/s, target ratio >= 1.5)
    Subject: ``verify_ledger(processes=None)`` (every core) over the whole
    ledger; a failed verification is an error, not a result. Baseline: ONE
    process doing only SHA-256 of each stored canonical document and the
    Ed25519 check of its signature, on entries read from the database beforehand
    (untimed). Both are read-only, so each runs three times on the vacuumed
    tables and the fastest round counts. The ratio is the speed-up of the full
    verification (reading rows, header hashes, chain links, Merkle roots,
    checkpoints) over that single-core floor; 1.5 on two cores means the
    parallel verifier keeps three quarters of the cores' capacity for the
    unavoidable hashing and signature checks despite doing more work than them.

operations_record (events/s, target ratio >= 0.6)
    Subject: 2,000 lifecycle operations through ``traceability.operations.services``
    with custodial signing, one event per call: vehicle intakes and dismantlings
    of 800 vehicles, 100 scrap sortings, custody transfers, material receipts and
    remeltings (arguments built untimed). Baseline: as many plain EPCIS
    ObjectEvents (no ``lt:operation``, so no projection), custodially signed and
    appended one per ``ledger_append`` call by the same organisations. The ratio
    is the fraction of the raw append rate the operation layer keeps; 0.6 means
    building the event, the rules and the projection add at most two thirds of
    an append's cost. The two alternate in blocks, so drift weighs on both.

genealogy_backward (s/query, target ratio <= 2)
    Subject: ``genealogy(root=casting, direction="backward")`` of a casting whose
    ancestry (written in bulk, kilograms and ``inflow_kg`` as the engine sets
    them) has 9,858 nodes: 1,600 vehicles, 8,000 parts, 160 scrap lots split
    between 32 remelts, primary and alloying lots, one melt. Baseline: one
    hand-written ``WITH RECURSIVE ... GROUP BY source_id`` query over the same
    tables giving each ancestor's contributed kg, run and fetched with a raw
    psycopg cursor; both must find the same ancestors with the same kg. Median
    of alternating repetitions. Lower is better: the ratio is subject time over
    baseline time, and 2 means the service (objects, depths, edges) at most
    doubles the cost of the bare query.

genealogy_adversarial (s/query, target ratio <= 1.5)
    The same ancestry under organisations of its own, with an 80 kg lot of the melt split
    in halves and remerged 30 times (2**30 paths) and cast into one more casting. Subject:
    ``genealogy`` of that casting (9,949 ancestors); baseline: ``genealogy`` of a plain
    casting of the same melt (9,858). Median of alternating repetitions; 1 means the loops
    cost only their 91 nodes, never their paths (``bench/genealogy_adversarial.py``).

carbon_full (s, target ratio <= 1)
    On a synthetic graph of 999,972 objects (40% roots: end-of-life vehicles,
    bought scrap, primary and alloying lots; shredded lots, ingot lots, castings)
    and 2,850,942 mass flows, written by COPY into ``TraceableObject`` and ``MassFlow``
    (``bench/carbon_graph.py``). Subject: the computing of a full
    ``cut_off``/``physical`` recomputation once objects and flows are streamed from
    the database (raw psycopg server-side cursors): building the engine's arrays
    (``carbon.engine.linear.Network``) and solving them (``solve``). Baseline: the
    same flow query through the same cursor and chunking, rows fetched and dropped.
    Medians of three rounds; the ratio is subject time over baseline time, so 1
    means computing costs no more than reading the flows. The end-to-end time,
    reading included, and the per-part times go to standard error.

carbon_incremental (s/event, target ratio <= 0.01)
    On the same graph, with the full recomputation's footprints stored in
    ``FootprintResult`` (untimed): fetch one new event's inputs' footprints
    (``carbon.selectors.footprints_known``) and ``compute([], [activity], known=...)``.
    Median of 31 events; the ratio is that time over the full recomputation's.

carbon_factor_change (s, target ratio <= 0.05)
    On a graph of the same generator with every event in the ledger (400 cells: 18,800
    objects, 10,400 ledger entries and event records, written by COPY), the die-castings of
    the last 9 cells run at a site whose grid region has a factor of its own: 196 objects
    (1.04%) depend on it. Subject: a new version of that factor through
    ``carbon.services.factor_add`` (marks exactly its dependents dirty) and
    ``footprints_refresh`` until nothing is dirty. Baseline: ``footprints_recompute``
    (``recompute_footprints``) of the same ledger. Medians of three alternating rounds; each
    round checks the dirty count and that every refreshed result equals the full
    recomputation's (``bench/factor_change.py``).

epcis_capture (events/s, target ratio >= 0.7)
    Subject: 20,000 EPCIS 2.0 ObjectEvents in 40 EPCISDocuments of 500 through
    ``traceability.epcis.services.epcis_capture`` (schema validation, CBV 2.0 event
    hash, eventID check, de-duplication, custodial signing, append, query index).
    Baseline: as many events of the same shape through ``ledger_append_batch`` in
    batches of 500, custodially signed; the two alternate batch by batch. The ratio is
    the fraction of the plain append rate capture keeps (``bench/epcis_capture.py``).

epcis_capture_bad (s, target ratio <= 2)
    Subject: one EPCISDocument of 10,000 events, every second one breaking a rule checked
    against the stored objects inside the append (alternately an ObjectEvent about a lot
    another organisation received, ``object_never_held``, and a receipt of such a lot,
    ``identifier_taken``), captured in ``proceed`` mode: the good half stored, the bad half
    reported by index and code. Baseline: a document of 10,000 good ObjectEvents of the
    same shape, captured in ``proceed`` mode too. Seconds per document; 2 means the bad
    events cost at most as much again as the clean capture (``bench/epcis_capture_bad.py``).

epcis_capture_xml (events/s, target ratio >= 0.8)
    Subject: 10,000 ObjectEvents of ``epcis_capture``'s shape in EPCIS 2.0 XML documents of
    500, read by the EPCIS XML parser (XSD validation, mapping to JSON-LD) and captured
    through ``epcis_capture``. Baseline: as many events of the same shape as JSON documents,
    read by the strict JSON parser and captured the same way; the two alternate document by
    document. The ratio is XML events/s over JSON events/s (``bench/epcis_capture_xml.py``).

passport_load (req/s, target ratio >= 0.5)
    gunicorn (2 workers, production settings) on the demo's passports; Locust, 16 users,
    no think time. Subject: public passport reads through the API; baseline: the constant
    JSON health view through the same stack. Better of two alternating runs each; p50 and
    p99 latencies, and EPCIS capture events/s and p99 under the same load, go to standard
    error (``bench/load.py``).

witness_cosign (checkpoints/s, target ratio >= 0.3)
    One witness process (``python -m traceability.witness serve``) cosigning 2,000 checkpoints of a
    1,000,000-leaf tree in memory (sizes 900,050 to 1,000,000, each with its consistency proof from
    the one before) over one keep-alive HTTP connection, state written durably before each answer.
    Baseline: per checkpoint, in-process, one Ed25519 verify, one sign and one fsynced write of the
    result: what any witness that persists before answering must do. The plain HTTP round trip to
    the same server goes to standard error
    (``bench/witness_cosign.py``).

tiles_serve (tiles/s, target ratio >= 0.5)
    A ledger of 16,384 entries with its C2SP tiles published by the tiles follower: 64 full
    hash tiles and 64 full entry bundles. Subject: gunicorn (2 workers, production settings)
    serving them under ``/tlog/`` through Django; baseline: serving
    the same directory as static files through a minimal WSGI file server under the same gunicorn
    (2 workers). The same client loop (2 processes, a new connection per request, each answer
    checked against the file), seven alternating rounds of 3 s each, median round of each. The ratio is
    stack tiles/s over static tiles/s; Python's ``http.server`` and nginx on the same loop go to
    standard error for reference (``bench/tiles_serve.py``).

credentials_issue (credentials/s, target ratio >= 0.3)
    4,000 UNTP Digital Product Passport credentials of one organisation, built by
    ``passport.untp`` from a small demo's passport versions, through ``credentials_issue`` in
    batches of 200: status bits, one ``credential.issued`` ledger fact per batch, ``vc+jwt``
    and ``eddsa-jcs-2022`` signatures, rows; the ledger followers paused, as in
    operations_record. Baseline: canonicalising each credential (RFC 8785) and one Ed25519
    signature over those bytes. Alternating batch by batch (``bench/credentials.py``).

pages_load (req/s, target ratio >= 0.05)
    The five heaviest console and passport pages at demo size through gunicorn, a signed-in
    member per simulated user, against /api/v1/health on the same stack; each page's p50 and
    p99 to standard error (``bench/pages.py``).

A ratio below its target is reported (``met: NO``) but does not fail the run; the
exit status is non-zero only when a benchmark could not run or a check failed.
Results go to ``bench/results.json`` (merged with the existing file under ``--only``).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable
from functools import cache

from bench.database import BenchDatabase, BenchSetupError
from bench.report import BenchError, Result, format_table, write_results

BENCHMARKS = (
    "ledger_append",
    "verify_ledger",
    "operations_record",
    "genealogy_backward",
    "genealogy_adversarial",
    "carbon_full",
    "carbon_incremental",
    "carbon_factor_change",
    "epcis_capture",
    "epcis_capture_bad",
    "epcis_capture_xml",
    "passport_load",
    "witness_cosign",
    "tiles_serve",
    "credentials_issue",
    "pages_load",
)


def _setup_django(database: BenchDatabase) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DATABASE_URL"] = database.url
    os.environ["DEBUG"] = "0"
    # A throwaway database needs no lasting secrets (and none get written under var/).
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("KEY_ENCRYPTION_KEY", secrets.token_urlsafe(50))
    # The tiles follower runs with every append: into a directory of this run, not the checkout's var/.
    os.environ["TLOG_TILES_DIR"] = tempfile.mkdtemp(prefix="looptrace-bench-tlog-")

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


def _run(names: tuple[str, ...], database: BenchDatabase) -> dict[str, Result]:
    # Imported once Django is set up: these modules import models.
    from bench import (
        append,
        credentials,
        epcis_capture,
        epcis_capture_bad,
        epcis_capture_xml,
        factor_change,
        footprints,
        genealogy,
        genealogy_adversarial,
        load,
        operations,
        pages,
        tiles_serve,
        verify,
        witness_cosign,
    )
    from bench.workload import Workload

    @cache
    def workload() -> Workload:
        # Signed once, and only for the benchmarks that use it.
        return Workload.create()

    runners: dict[str, Callable[[], Result]] = {
        "ledger_append": lambda: append.run(workload(), database),
        "verify_ledger": lambda: verify.run(workload()),
        "operations_record": operations.run,
        "genealogy_backward": genealogy.run,
        "genealogy_adversarial": genealogy_adversarial.run,
        "carbon_full": lambda: footprints.run_full(database),
        "carbon_incremental": lambda: footprints.run_incremental(database),
        "carbon_factor_change": lambda: factor_change.run(database),
        "epcis_capture": epcis_capture.run,
        "epcis_capture_bad": epcis_capture_bad.run,
        "epcis_capture_xml": epcis_capture_xml.run,
        "passport_load": lambda: load.run(database),
        "witness_cosign": witness_cosign.run,
        "tiles_serve": lambda: tiles_serve.run(database),
        "credentials_issue": credentials.run,
        "pages_load": lambda: pages.run(database),
    }
    results = {}
    for name in names:
        print(f"bench: running {name}", file=sys.stderr)
        results[name] = runners[name]()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=BENCHMARKS, help="run one benchmark and merge it into results.json")
    args = parser.parse_args(argv)
    names = (args.only,) if args.only else BENCHMARKS

    try:
        database = BenchDatabase.from_environment()
        database.recreate()
    except BenchSetupError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2

    status = 0
    results: dict[str, Result] = {}
    try:
        _setup_django(database)
        results = _run(names, database)
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        status = 130
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        status = 1
    except Exception:
        traceback.print_exc()
        print("bench: error: a benchmark raised (see above)", file=sys.stderr)
        status = 1
    finally:
        status = _teardown(database) or status

    if status:
        return status
    path = write_results(results, merge=args.only is not None)
    print(format_table(results))
    print(f"\nresults written to {path}", file=sys.stderr)
    return 0


def _teardown(database: BenchDatabase) -> int:
    from django.apps import apps

    if os.environ.get("TLOG_TILES_DIR", "").startswith(tempfile.gettempdir()):
        shutil.rmtree(os.environ["TLOG_TILES_DIR"], ignore_errors=True)

    if apps.ready:
        from django.db import connections

        connections.close_all()
    try:
        database.drop()
    except Exception as exc:
        print(f"bench: error: could not drop database {database.name}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
