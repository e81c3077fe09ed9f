"""The ledger writer: prepare, sign or verify, chain, Merkle, insert.

Every ledger write goes through ``append_prepared``, which holds one lock for the
whole ledger (a PostgreSQL advisory lock; SQLite's IMMEDIATE transactions give the
same), so sequence numbers stay gapless and the chain never forks however many
processes append at once. Signatures are checked and made before the lock is taken:
they do not depend on the position, and the lock is held only for the hashing and
the inserts.

The writer knows nothing of what is built on the ledger. Its callers hand it an
ordered tuple of ``Projector``s (the operations' rules and projection, the EPCIS query
index...), which run inside the append transaction: a projector that raises rolls the
whole batch back. Followers that act after the commit (footprints, passports) are
nudged through ``traceability.hooks``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.db import connection, transaction
from django.utils import timezone

from traceability import hooks
from traceability.choices import KeyCustody
from traceability.errors import ApplicationError
from traceability.keyvault import decrypt_private_key
from traceability.ledger import merkle
from traceability.ledger.canonical import canonical_json, sha256
from traceability.ledger.chain import GENESIS_PREV, EntryHeader
from traceability.ledger.errors import LedgerError
from traceability.ledger.signing import (
    b64decode,
    b64encode,
    public_key_from_raw,
    public_key_raw,
    sign_bytes,
    verify_bytes,
)
from traceability.ledger.signing import key_id as compute_key_id
from traceability.models import LedgerEntry, MerkleNode, Organisation, SigningKey, ledger_entry_columns
from traceability.selectors import merkle_nodes_get

# An arbitrary, fixed id for pg_advisory_xact_lock: the one lock every append takes.
LEDGER_APPEND_LOCK_ID = 0x4C54_4C47
# Upper bound of one document's canonical size; EPCIS events are a few kB.
MAX_DOCUMENT_BYTES = 256 * 1024
# Upper bound of documents in one batch: keeps one transaction's memory and lock time bounded.
MAX_BATCH_DOCUMENTS = 1000
# Below this many client signatures a batch is checked in the calling thread.
PARALLEL_VERIFY_THRESHOLD = 16
# Signatures one verifier thread checks per task: large enough to amortise the hand-over.
VERIFY_CHUNK = 64

_COPY_COLUMNS = ledger_entry_columns()


@dataclass(frozen=True, slots=True)
class SubmittedDocument:
    """A document as a partner submits it: signed client-side, or to be signed custodially.

    ``annotations`` carry what the caller already knows of the document (the EPCIS
    capture service has computed each event's canonical hash) to the projectors.
    """

    document: object
    signature: str | None = None
    key_id: str | None = None
    annotations: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A canonical, signed document ready to be chained."""

    organisation: Organisation
    kind: str
    document: bytes
    digest: bytes
    key_id: str
    signature: bytes
    annotations: Mapping[str, object] = field(default_factory=dict)
    # The canonical document parsed back, once, for the projectors.
    parsed: dict[str, object] | None = None

    def annotated(self, **values: object) -> Prepared:
        return dataclasses.replace(self, annotations={**self.annotations, **values})


@dataclass(frozen=True, slots=True)
class Appended:
    """A stored entry as projectors see it: the row, its parsed document, its annotations."""

    entry: LedgerEntry
    document: dict[str, object]
    annotations: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class Projector:
    """What a caller runs with its appends.

    ``prepare`` runs on each document before the lock is taken, while other cores check
    the batch's signatures; ``project`` runs on the stored entries inside the append
    transaction, and an ``ApplicationError`` it raises (with ``extra["index"]`` naming
    the document) rolls the whole batch back. ``survey`` (optional) does what ``project``
    does but leaves out each document that breaks a rule, which must refuse it before
    writing anything for it, and returns their positions with their errors: a proceeding
    append uses it to find a batch's refusals in one pass (see ``_survey``).
    """

    name: str
    project: Callable[[Sequence[Appended]], None]
    prepare: Callable[[Prepared], Prepared] | None = field(default=None)
    survey: Callable[[Sequence[Appended]], list[tuple[int, ApplicationError]]] | None = field(default=None)


# --- preparing documents ---------------------------------------------------------------


def canonical_document(document: object) -> bytes:
    if not isinstance(document, dict):
        raise ApplicationError("document_malformed", "a ledger document must be a JSON object")
    try:
        data = canonical_json(document)
    except LedgerError as exc:
        raise ApplicationError("document_malformed", exc.message) from exc
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ApplicationError(
            "document_too_large", f"the canonical document exceeds {MAX_DOCUMENT_BYTES} bytes", status=413
        )
    return data


def prepare_signed(organisation: Organisation, kind: str, document: object, private_key: Ed25519PrivateKey) -> Prepared:
    data = canonical_document(document)
    return Prepared(
        organisation=organisation,
        kind=kind,
        document=data,
        digest=sha256(data),
        key_id=compute_key_id(public_key_raw(private_key)),
        signature=sign_bytes(private_key, data),
    )


def _custodial_key(organisation: Organisation) -> SigningKey:
    key = (
        SigningKey.objects.filter(organisation=organisation, custody=KeyCustody.PLATFORM, revoked_at__isnull=True)
        .order_by("-registered_seq")
        .first()
    )
    if key is None or key.encrypted_private_key is None:
        raise ApplicationError(
            "custodial_key_missing", f"{organisation.slug} has no key the platform holds; sign client-side"
        )
    return key


def _check_key_usable(key: SigningKey, organisation: Organisation, now: datetime) -> None:
    if key.organisation_id != organisation.pk:
        raise ApplicationError("key_wrong_organisation", "the key belongs to another organisation", status=403)
    if key.revoked_at is not None:
        raise ApplicationError("key_revoked", f"key {key.key_id[:16]}… was revoked", status=403)
    if key.valid_from > now:
        raise ApplicationError("key_not_yet_valid", f"key {key.key_id[:16]}… is not valid yet", status=403)


def prepare_submissions(
    organisation: Organisation,
    items: Sequence[SubmittedDocument],
    *,
    kind_of: Callable[[object], str],
    projectors: Sequence[Projector],
) -> list[Prepared]:
    """Canonicalise, then verify each client signature or sign custodially. Nothing is written.

    ``kind_of`` names the ledger kind of a submitted document, or refuses it. The first
    document refused (by position) raises its error.
    """
    results = prepare_each(organisation, items, kind_of=kind_of, projectors=projectors)
    prepared = []
    for position, result in enumerate(results):
        if isinstance(result, ApplicationError):
            raise result.at_position(position, len(items))
        prepared.append(result)
    return prepared


def prepare_each(
    organisation: Organisation,
    items: Sequence[SubmittedDocument],
    *,
    kind_of: Callable[[object], str],
    projectors: Sequence[Projector],
) -> list[Prepared | ApplicationError]:
    """Each document prepared (canonical, signed or its signature checked, parsed and passed
    through the projectors' ``prepare``), or the error that refuses it. Nothing is written, and
    each document is prepared once whatever the others do."""
    now = timezone.now()
    wanted_ids = {item.key_id for item in items if item.signature is not None}
    keys = {key.key_id: key for key in SigningKey.objects.filter(key_id__in=wanted_ids)}
    custodial: tuple[SigningKey, Ed25519PrivateKey] | ApplicationError | None = None
    results: list[Prepared | ApplicationError] = []
    to_verify: list[tuple[int, Ed25519PublicKey, bytes, bytes]] = []
    for position, item in enumerate(items):
        try:
            kind = kind_of(item.document)
            data = canonical_document(item.document)
            if item.signature is None:
                if item.key_id:
                    # Signing with another key than the one named would hide that the named key signed nothing.
                    raise ApplicationError(
                        "signature_missing", "a keyId names the key that signed the document: send its signature too"
                    )
                if custodial is None:
                    custodial = _custodial_signer(organisation, now)
                if isinstance(custodial, ApplicationError):
                    raise custodial
                key, private_key = custodial
                signature = sign_bytes(private_key, data)
            else:
                if not item.key_id:
                    raise ApplicationError("key_id_missing", "a signed document needs the keyId that signed it")
                key = keys.get(item.key_id)
                if key is None:
                    raise ApplicationError("key_unknown", f"no registered key {item.key_id[:16]}…", status=403)
                _check_key_usable(key, organisation, now)
                signature = b64decode(item.signature, what="signature")
                to_verify.append((position, public_key_from_raw(bytes(key.public_key)), data, signature))
        except LedgerError as exc:
            results.append(ApplicationError.from_ledger(exc))
            continue
        except ApplicationError as exc:
            results.append(exc)
            continue
        results.append(
            Prepared(
                organisation=organisation,
                kind=kind,
                document=data,
                digest=sha256(data),
                key_id=key.key_id,
                signature=signature,
                annotations=item.annotations,
            )
        )
    finish = _start_verifying(to_verify)
    # While other cores check the signatures, this one parses the documents for the projectors.
    if projectors:
        results = [
            _for_projectors(result, projectors) if isinstance(result, Prepared) else result for result in results
        ]
    for position, error in finish():
        results[position] = ApplicationError.from_ledger(error)
    return results


def _custodial_signer(
    organisation: Organisation, now: datetime
) -> tuple[SigningKey, Ed25519PrivateKey] | ApplicationError:
    try:
        key = _custodial_key(organisation)
        _check_key_usable(key, organisation, now)
    except ApplicationError as exc:
        return exc
    return key, decrypt_private_key(key.encrypted_private_key, key_id=key.key_id)


def custodial_signer(organisation: Organisation) -> tuple[SigningKey, Ed25519PrivateKey]:
    """The organisation's current custodial key and its private key, to sign as the organisation."""
    signer = _custodial_signer(organisation, timezone.now())
    if isinstance(signer, ApplicationError):
        raise signer
    return signer


def _for_projectors(item: Prepared, projectors: Sequence[Projector]) -> Prepared | ApplicationError:
    item = dataclasses.replace(item, parsed=json.loads(item.document))
    try:
        for projector in projectors:
            if projector.prepare is not None:
                item = projector.prepare(item)
    except ApplicationError as exc:
        return exc
    return item


def _signature_error(job: tuple[int, Ed25519PublicKey, bytes, bytes]) -> tuple[int, LedgerError] | None:
    position, public_key, data, signature = job
    try:
        verify_bytes(public_key, data, signature)
    except LedgerError as exc:
        return position, exc
    return None


def _start_verifying(
    jobs: list[tuple[int, Ed25519PublicKey, bytes, bytes]],
) -> Callable[[], list[tuple[int, LedgerError]]]:
    """Start checking a batch's signatures; the returned function waits and names the failures.

    Ed25519 verification releases the GIL, so a large batch is checked on every core while
    the caller goes on; a small one is checked when the caller waits.
    """
    pending: Iterable[tuple[int, LedgerError] | None]
    if len(jobs) < PARALLEL_VERIFY_THRESHOLD:
        pending = map(_signature_error, jobs)
    else:
        pool = _verifier_pool()
        chunks = [jobs[start : start + VERIFY_CHUNK] for start in range(0, len(jobs), VERIFY_CHUNK)]
        futures = [pool.submit(lambda chunk=chunk: [_signature_error(job) for job in chunk]) for chunk in chunks]
        pending = (result for future in futures for result in future.result())

    def finish() -> list[tuple[int, LedgerError]]:
        return [result for result in pending if result is not None]

    return finish


@lru_cache(maxsize=1)
def _verifier_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="signature-check")


# --- appending -------------------------------------------------------------------------


def take_append_lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LEDGER_APPEND_LOCK_ID])


def append_prepared(
    prepared: Sequence[Prepared],
    *,
    projectors: Sequence[Projector] = (),
    now: datetime | None = None,
    locked: bool = False,
) -> list[LedgerEntry]:
    """Chain and store prepared documents at the ledger's head, in one transaction, then project them."""
    with transaction.atomic():
        if not locked:
            take_append_lock()
        entries = _store(prepared, now or timezone.now())
        if projectors:
            appended = _appended(entries, prepared)
            for projector in projectors:
                projector.project(appended)
        hooks.after_commit(entries[-1].seq)
    return entries


def _store(prepared: Sequence[Prepared], now: datetime) -> list[LedgerEntry]:
    """Chain ``prepared`` at the ledger's head and insert the entries and Merkle nodes (under the lock)."""
    head = LedgerEntry.objects.order_by("-seq").values_list("seq", "entry_hash").first()
    size_before, prev_hex = head if head else (0, GENESIS_PREV.hex())
    revoked = set(
        SigningKey.objects.filter(key_id__in={p.key_id for p in prepared}, revoked_at__isnull=False).values_list(
            "key_id", flat=True
        )
    )
    if revoked:
        # A revocation committed after the signature was checked: the ledger's order decides.
        raise ApplicationError("key_revoked", "the signing key was revoked", status=403)
    entries = []
    leaf_hashes = []
    prev = bytes.fromhex(prev_hex)
    for offset, item in enumerate(prepared, start=1):
        header = EntryHeader(
            seq=size_before + offset,
            kind=item.kind,
            organisation=item.organisation.slug,
            digest=item.digest,
            key_id=item.key_id,
            signature=item.signature,
            prev_hash=prev,
            recorded_at=now,
        )
        entry_hash = header.entry_hash()
        entries.append(
            LedgerEntry(
                seq=header.seq,
                kind=item.kind,
                organisation=item.organisation,
                document=item.document.decode("utf-8"),
                digest=item.digest.hex(),
                key_id=item.key_id,
                signature=b64encode(item.signature),
                prev_hash=prev.hex(),
                entry_hash=entry_hash.hex(),
                recorded_at=now,
            )
        )
        leaf_hashes.append(entry_hash)
        prev = entry_hash
    known = merkle_nodes_get(set(merkle.frontier_keys(size_before)))
    nodes = merkle.nodes_for_appends(size_before, leaf_hashes, known)
    _insert_ledger_rows(entries, nodes)
    return entries


def _appended(entries: Sequence[LedgerEntry], prepared: Sequence[Prepared]) -> list[Appended]:
    return [
        Appended(
            entry=entry,
            document=item.parsed if item.parsed is not None else json.loads(item.document),
            annotations=item.annotations,
        )
        for entry, item in zip(entries, prepared, strict=True)
    ]


def _insert_ledger_rows(entries: list[LedgerEntry], nodes: list[tuple[int, int, bytes]]) -> None:
    """Insert entries and Merkle nodes; on PostgreSQL with COPY, which costs a third of an INSERT.

    The ORM's bulk INSERT spends most of its time quoting array parameters in Python;
    COPY streams the rows as they are. Both run inside the caller's transaction.
    """
    if connection.vendor != "postgresql":
        LedgerEntry.objects.bulk_create(entries)
        MerkleNode.objects.bulk_create(MerkleNode(level=lvl, index=idx, hash=h) for lvl, idx, h in nodes)
        return
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY traceability_ledgerentry ({', '.join(_COPY_COLUMNS)}) FROM STDIN") as copy:
            for entry in entries:
                copy.write_row(tuple(getattr(entry, column) for column in _COPY_COLUMNS))
        with raw.copy("COPY traceability_merklenode (level, index, hash) FROM STDIN") as copy:
            for node in nodes:
                copy.write_row(node)


def append_submissions(
    *,
    organisation: Organisation,
    items: Sequence[SubmittedDocument],
    kind_of: Callable[[object], str],
    projectors: Sequence[Projector],
) -> list[LedgerEntry]:
    """Append many submitted documents atomically: all are stored, in order, or none is."""
    if not items:
        raise ApplicationError("batch_empty", "a batch needs at least one document")
    if len(items) > MAX_BATCH_DOCUMENTS:
        raise ApplicationError("batch_too_large", f"a batch holds at most {MAX_BATCH_DOCUMENTS} documents", status=413)
    prepared = prepare_submissions(organisation, items, kind_of=kind_of, projectors=projectors)
    return append_prepared(prepared, projectors=projectors)


@dataclass(frozen=True, slots=True)
class Proceeded:
    """What ``append_submissions_proceeding`` did: the entries stored, and each refused
    document's position with its error (``None`` when the error named no document, and the
    documents still pending were left out)."""

    entries: list[LedgerEntry]
    failures: list[tuple[int | None, ApplicationError]]


def append_submissions_proceeding(
    *,
    organisation: Organisation,
    items: Sequence[SubmittedDocument],
    kind_of: Callable[[object], str],
    projectors: Sequence[Projector],
) -> Proceeded:
    """Append, in order and in one transaction, every document that keeps the rules; report the others.

    Each document is prepared once (``prepare_each``: what needs only the document, the
    projectors' ``prepare`` included, refuses it there, before the lock). The rest are
    appended in attempts, each in a savepoint; the first is the whole batch, and a batch
    that keeps the rules needs no other. Projectors that can survey (``Projector.survey``:
    the operations' rules) leave each document they refuse out and go on with the next, so
    one attempt finds all their refusals; it is rolled back, they are reported, and the same
    attempt without them follows. A projector without a survey stops the attempt at the
    document it refuses: it is rolled back, that document reported, and the documents
    before it (which passed) go in as the next attempt; attempts shrink to what passed
    after such a refusal and double after a success, so rows written and rolled back stay
    within a constant factor of the rows kept. Either way each document's rules run about
    twice at most, never once per earlier failure (which made a document with many bad
    events quadratic), and refusals by the operations' rules cost two attempts per batch
    however many there are and wherever they lie.
    """
    if not items:
        raise ApplicationError("batch_empty", "a batch needs at least one document")
    if len(items) > MAX_BATCH_DOCUMENTS:
        raise ApplicationError("batch_too_large", f"a batch holds at most {MAX_BATCH_DOCUMENTS} documents", status=413)
    failures: list[tuple[int | None, ApplicationError]] = []
    pending: list[tuple[int, Prepared]] = []
    for position, result in enumerate(prepare_each(organisation, items, kind_of=kind_of, projectors=projectors)):
        if isinstance(result, ApplicationError):
            failures.append((position, result))
        else:
            pending.append((position, result))
    entries: list[LedgerEntry] = []
    if pending:
        # Followers hear of the stored entries once, after the commit, not once per attempt.
        with transaction.atomic():
            take_append_lock()
            with hooks.paused():
                entries = _append_in_attempts(pending, projectors, failures)
            if entries:
                hooks.after_commit(entries[-1].seq)
    failures.sort(key=lambda failure: -1 if failure[0] is None else failure[0])
    return Proceeded(entries, failures)


def _append_in_attempts(
    pending: list[tuple[int, Prepared]],
    projectors: Sequence[Projector],
    failures: list[tuple[int | None, ApplicationError]],
) -> list[LedgerEntry]:
    """Append ``pending`` in order, leaving out each document a projector refuses (see above).

    An error that names no document stops here: the documents still pending are left out.
    """
    entries: list[LedgerEntry] = []
    size = len(pending)
    while pending:
        attempt = pending[:size]
        try:
            entries += _append_attempt([item for _, item in attempt], projectors)
        except _LeftOut as left_out:
            for index, error in reversed(left_out.refused):
                failures.append((attempt[index][0], error))
                del pending[index]
            # The same attempt again, without them: it meets the state they were refused on.
            size = max(len(attempt) - len(left_out.refused), 1)
            continue
        except ApplicationError as exc:
            index = exc.extra.get("index", 0 if len(attempt) == 1 else None)
            if not isinstance(index, int) or not 0 <= index < len(attempt):
                failures.append((None, exc))
                break
            # The caller names documents by their own positions, not by the attempt's.
            exc.message = exc.message.removeprefix(f"document {index}: ")
            failures.append((attempt[index][0], exc))
            del pending[index]
            size = max(index, 1)
            continue
        del pending[:size]
        size *= 2
    return entries


class _LeftOut(Exception):
    """The documents (by position in the attempt) that surveying projectors refused; the attempt is rolled back."""

    def __init__(self, refused: list[tuple[int, ApplicationError]]) -> None:
        super().__init__(f"{len(refused)} documents refused")
        self.refused = refused


def _append_attempt(prepared: Sequence[Prepared], projectors: Sequence[Projector]) -> list[LedgerEntry]:
    """``append_prepared`` in a savepoint, under the lock already taken, with the projectors that
    can survey (``Projector.survey``) leaving a refused document out instead of stopping at it.

    The later projectors with a survey run on what the earlier ones kept. If any document was
    left out, the first projector without one does not run: everything is rolled back and
    ``_LeftOut`` names them all.
    """
    with transaction.atomic():
        entries = _store(prepared, timezone.now())
        appended = _appended(entries, prepared)
        kept = list(range(len(appended)))
        refused: list[tuple[int, ApplicationError]] = []
        for projector in projectors:
            if projector.survey is not None:
                left_out = dict(projector.survey([appended[k] for k in kept]))
                refused += [(kept[at], error) for at, error in left_out.items()]
                kept = [k for at, k in enumerate(kept) if at not in left_out]
            elif refused:
                break
            else:
                projector.project(appended)
        if refused:
            raise _LeftOut(sorted(refused, key=lambda refusal: refusal[0]))
        hooks.after_commit(entries[-1].seq)
    return entries
