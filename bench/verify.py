"""``verify_ledger``: entries/s of the full re-verification against one core's raw checks.

Both sides are read-only, so each runs ``ROUNDS`` times and the fastest round
counts: a burst of other load on the machine then skews neither. The tables are
vacuumed and analysed first (untimed), so no round pays for setting hint bits
on freshly inserted rows.
"""

from __future__ import annotations

import hashlib
from time import perf_counter

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import connection
from tqdm import tqdm

from bench.report import BenchError, Result
from bench.workload import Workload
from traceability.ledger.signing import b64decode
from traceability.models import LedgerEntry, SigningKey
from traceability.verification import verify_ledger

TARGET = ">=1.5"
PROGRESS_EVERY = 2000
ROUNDS = 3
TABLES = ("traceability_ledgerentry", "traceability_merklenode", "traceability_signingkey", "traceability_checkpoint")


def run(workload: Workload) -> Result:
    if not workload.appended:
        workload.append_all(desc="verify_ledger: populate (untimed)")
    total = LedgerEntry.objects.count()
    _settle()

    subject_seconds = min(_verify_once(total, round_number) for round_number in range(1, ROUNDS + 1))
    entries = _load_entries()
    baseline_seconds = min(_hash_and_verify(entries, round_number) for round_number in range(1, ROUNDS + 1))
    return Result.of(
        value=total / subject_seconds, baseline=len(entries) / baseline_seconds, unit="entries/s", target=TARGET
    )


def _settle() -> None:
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(table)}")


def _verify_once(total: int, round_number: int) -> float:
    """Seconds of one ``verify_ledger(processes=None)``; any failure it reports is an error."""
    desc = f"verify_ledger: subject {round_number}/{ROUNDS}"
    with tqdm(total=total, desc=desc, unit="entry", leave=False) as bar:
        started = perf_counter()
        report = verify_ledger(processes=None, progress=bar.update)
        seconds = perf_counter() - started
    if not report.ok:
        shown = "; ".join(f"#{f.seq} {f.code}: {f.message}" for f in report.failures[:5])
        raise BenchError(f"verify_ledger found {len(report.failures)} failure(s): {shown}")
    if report.entries != total:
        raise BenchError(f"verify_ledger checked {report.entries} entries, the ledger has {total}")
    return seconds


def _load_entries() -> list[tuple[bytes, bytes, bytes, Ed25519PublicKey]]:
    """Every entry's document bytes, digest, signature and signer's key, read and decoded untimed."""
    keys = {
        key_id: Ed25519PublicKey.from_public_bytes(bytes(public))
        for key_id, public in SigningKey.objects.values_list("key_id", "public_key")
    }
    rows = LedgerEntry.objects.order_by("seq").values_list("seq", "document", "digest", "signature", "key_id")
    entries = []
    for seq, document, digest, signature, key_id in rows.iterator(chunk_size=PROGRESS_EVERY):
        if key_id not in keys:
            raise BenchError(f"entry {seq} is signed by key {key_id[:16]}…, which is not in the key table")
        entries.append(
            (document.encode("utf-8"), bytes.fromhex(digest), b64decode(signature, what="signature"), keys[key_id])
        )
    return entries


def _hash_and_verify(entries: list[tuple[bytes, bytes, bytes, Ed25519PublicKey]], round_number: int) -> float:
    """Seconds for one process to SHA-256 every document and check every Ed25519 signature."""
    sha256 = hashlib.sha256
    desc = f"verify_ledger: baseline {round_number}/{ROUNDS}"
    with tqdm(total=len(entries), desc=desc, unit="entry", leave=False) as bar:
        started = perf_counter()
        for start in range(0, len(entries), PROGRESS_EVERY):
            for data, digest, signature, public_key in entries[start : start + PROGRESS_EVERY]:
                if sha256(data).digest() != digest:
                    raise BenchError("baseline: a document does not match its digest")
                try:
                    public_key.verify(signature, data)
                except InvalidSignature as exc:
                    raise BenchError("baseline: a signature does not verify") from exc
            bar.update(min(PROGRESS_EVERY, len(entries) - start))
        return perf_counter() - started
