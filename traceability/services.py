"""Writes of the traceability app: organisations, keys, credentials and ledger appends.

Every ledger write goes through ``_append_prepared``, which holds one lock for the
whole ledger (a PostgreSQL advisory lock; SQLite's IMMEDIATE transactions give the
same), so sequence numbers stay gapless and the chain never forks however many
processes append at once. Signatures are checked and made before the lock is taken:
they do not depend on the position, and the lock is held only for the hashing and
the inserts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from traceability import hooks
from traceability.choices import KeyCustody, OrganisationRole
from traceability.epcis.core.hashing import EventHashError, event_hash
from traceability.epcis.index import index_ledger_events
from traceability.errors import ApplicationError
from traceability.keyvault import decrypt_private_key, encrypt_private_key
from traceability.ledger import checkpoint as notes
from traceability.ledger import merkle
from traceability.ledger.canonical import canonical_json, sha256
from traceability.ledger.chain import (
    GENESIS_PREV,
    KIND_EVENT,
    KIND_KEY_REGISTERED,
    KIND_KEY_REVOKED,
    KIND_ORGANISATION_REGISTERED,
    KIND_PASSPORT_VERSION,
    EntryHeader,
    key_registration_document,
    key_revocation_document,
)
from traceability.ledger.errors import LedgerError
from traceability.ledger.signing import (
    b64decode,
    b64encode,
    generate_private_key,
    private_key_from_raw,
    public_key_from_raw,
    public_key_raw,
    sign_bytes,
    verify_bytes,
)
from traceability.ledger.signing import (
    key_id as compute_key_id,
)
from traceability.models import (
    ApiCredential,
    Checkpoint,
    LedgerEntry,
    MerkleNode,
    Organisation,
    SigningKey,
)
from traceability.operations.engine import project
from traceability.selectors import ledger_size, merkle_nodes_get

# An arbitrary, fixed id for pg_advisory_xact_lock: the one lock every append takes.
LEDGER_APPEND_LOCK_ID = 0x4C54_4C47
# Upper bound of one document's canonical size; EPCIS events are a few kB.
MAX_DOCUMENT_BYTES = 256 * 1024
# Upper bound of documents in one batch: keeps one transaction's memory and lock time bounded.
MAX_BATCH_DOCUMENTS = 1000
# Below this many client signatures a batch is checked in the calling thread.
PARALLEL_VERIFY_THRESHOLD = 16
EPCIS_EVENT_TYPES = frozenset(
    {"ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent"}
)


@dataclass(frozen=True, slots=True)
class SubmittedDocument:
    """A document as a partner submits it: signed client-side, or to be signed custodially."""

    document: object
    signature: str | None = None
    key_id: str | None = None
    # Set by the EPCIS capture service, which has computed them already.
    event_hash: str | None = None
    context_inherited: bool = False


@dataclass(frozen=True, slots=True)
class _Prepared:
    organisation: Organisation
    kind: str
    document: bytes
    digest: bytes
    key_id: str
    signature: bytes
    event_hash: str | None = None
    context_inherited: bool = False
    # The canonical document parsed back (events): what the projection and the index read.
    parsed: dict[str, object] | None = None


# --- the platform --------------------------------------------------------------------


def _platform_slug() -> str:
    return str(getattr(settings, "PLATFORM_ORGANISATION_SLUG", "looptrace"))


def _platform_private_key(key: SigningKey) -> Ed25519PrivateKey:
    if key.encrypted_private_key is not None:
        return decrypt_private_key(key.encrypted_private_key, key_id=key.key_id)
    configured = getattr(settings, "PLATFORM_SIGNING_KEY", "")
    if not configured:
        raise ApplicationError("platform_key_missing", "PLATFORM_SIGNING_KEY is not configured", status=500)
    private_key = private_key_from_raw(b64decode(configured, what="platform_signing_key"))
    if compute_key_id(public_key_raw(private_key)) != key.key_id:
        raise ApplicationError(
            "platform_key_mismatch", "PLATFORM_SIGNING_KEY is not the platform's registered key", status=500
        )
    return private_key


def _new_platform_private_key() -> tuple[Ed25519PrivateKey, bool]:
    """The configured platform key, or a fresh one the platform will hold encrypted."""
    configured = getattr(settings, "PLATFORM_SIGNING_KEY", "")
    if configured:
        return private_key_from_raw(b64decode(configured, what="platform_signing_key")), False
    return generate_private_key(), True


def platform_organisation() -> Organisation:
    organisation, _ = Organisation.objects.get_or_create(
        slug=_platform_slug(),
        defaults={"name": "Looptrace platform", "role": OrganisationRole.OPERATOR},
    )
    return organisation


def platform_signing_key() -> tuple[SigningKey, Ed25519PrivateKey]:
    """The platform's current key (it signs key facts and checkpoints), bootstrapping the ledger if empty."""
    key = (
        SigningKey.objects.filter(organisation__slug=_platform_slug(), revoked_at__isnull=True)
        .order_by("-registered_seq")
        .first()
    )
    if key is None:
        _ledger_bootstrap()
        return platform_signing_key()
    return key, _platform_private_key(key)


@transaction.atomic
def _ledger_bootstrap() -> None:
    """Write the genesis entry: the platform's key registration, signed by that key."""
    _take_append_lock()
    if LedgerEntry.objects.exists():
        return
    organisation = platform_organisation()
    private_key, hold_encrypted = _new_platform_private_key()
    public = public_key_raw(private_key)
    now = timezone.now()
    document = key_registration_document(
        organisation=organisation.slug, public_key=public, valid_from=now, custody=KeyCustody.PLATFORM
    )
    prepared = _prepare_signed(organisation, KIND_KEY_REGISTERED, document, private_key)
    key_id = compute_key_id(public)
    SigningKey.objects.create(
        organisation=organisation,
        key_id=key_id,
        public_key=public,
        custody=KeyCustody.PLATFORM,
        encrypted_private_key=encrypt_private_key(private_key, key_id=key_id) if hold_encrypted else None,
        valid_from=now,
        registered_seq=1,
    )
    _append_prepared([prepared], now=now, locked=True)


# --- preparing documents ---------------------------------------------------------------


def _canonical(document: object) -> bytes:
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


def _prepare_signed(
    organisation: Organisation, kind: str, document: object, private_key: Ed25519PrivateKey
) -> _Prepared:
    data = _canonical(document)
    return _Prepared(
        organisation=organisation,
        kind=kind,
        document=data,
        digest=sha256(data),
        key_id=compute_key_id(public_key_raw(private_key)),
        signature=sign_bytes(private_key, data),
    )


def _event_kind(document: object) -> str:
    if not isinstance(document, dict) or document.get("type") not in EPCIS_EVENT_TYPES:
        raise ApplicationError(
            "document_type_invalid",
            f"a partner document must be an EPCIS event with type one of {sorted(EPCIS_EVENT_TYPES)}",
        )
    return KIND_EVENT


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


def _prepare_submissions(organisation: Organisation, items: Sequence[SubmittedDocument]) -> list[_Prepared]:
    """Canonicalise, then verify each client signature or sign custodially. Nothing is written."""
    now = timezone.now()
    wanted_ids = {item.key_id for item in items if item.signature is not None}
    keys = {key.key_id: key for key in SigningKey.objects.filter(key_id__in=wanted_ids)}
    custodial: tuple[SigningKey, Ed25519PrivateKey] | None = None
    prepared = []
    to_verify: list[tuple[int, Ed25519PublicKey, bytes, bytes]] = []
    for position, item in enumerate(items):
        try:
            kind = _event_kind(item.document)
            data = _canonical(item.document)
            if item.signature is None:
                if custodial is None:
                    key = _custodial_key(organisation)
                    _check_key_usable(key, organisation, now)
                    custodial = (key, decrypt_private_key(key.encrypted_private_key, key_id=key.key_id))
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
            raise _at_position(ApplicationError.from_ledger(exc), position, len(items)) from exc
        except ApplicationError as exc:
            raise _at_position(exc, position, len(items)) from exc
        prepared.append(
            _Prepared(
                organisation=organisation,
                kind=kind,
                document=data,
                digest=sha256(data),
                key_id=key.key_id,
                signature=signature,
                event_hash=item.event_hash,
                context_inherited=item.context_inherited,
            )
        )
    finish = _start_verifying(to_verify, len(items))
    # While other cores check the signatures, this one hashes the events for the query index.
    prepared = [_with_event_hash(item) for item in prepared]
    finish()
    return prepared


def _with_event_hash(item: _Prepared) -> _Prepared:
    """An event with its document parsed and its canonical EPCIS event hash (an event that
    cannot be hashed is named later, in order, by the index)."""
    if item.kind != KIND_EVENT:
        return item
    parsed = json.loads(item.document)
    digest = item.event_hash
    if digest is None:
        try:
            digest = event_hash(parsed)
        except EventHashError:
            pass
    return dataclasses.replace(item, event_hash=digest, parsed=parsed)


def _signature_error(job: tuple[int, Ed25519PublicKey, bytes, bytes]) -> tuple[int, LedgerError] | None:
    position, public_key, data, signature = job
    try:
        verify_bytes(public_key, data, signature)
    except LedgerError as exc:
        return position, exc
    return None


def _start_verifying(jobs: list[tuple[int, Ed25519PublicKey, bytes, bytes]], count: int) -> Callable[[], None]:
    """Start checking a batch's signatures; the returned function waits and raises the first failure.

    Ed25519 verification releases the GIL, so a large batch is checked on every core while
    the caller goes on; a small one is checked when the caller waits.
    """
    pending: Iterable[tuple[int, LedgerError] | None]
    if len(jobs) < PARALLEL_VERIFY_THRESHOLD:
        pending = map(_signature_error, jobs)
    else:
        pool = _verifier_pool()
        chunks = [jobs[start : start + 64] for start in range(0, len(jobs), 64)]
        futures = [pool.submit(lambda chunk=chunk: [_signature_error(job) for job in chunk]) for chunk in chunks]
        pending = (result for future in futures for result in future.result())

    def finish() -> None:
        failures = [result for result in pending if result is not None]
        if failures:
            position, error = min(failures, key=lambda failure: failure[0])
            raise _at_position(ApplicationError.from_ledger(error), position, count) from error

    return finish


@lru_cache(maxsize=1)
def _verifier_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="signature-check")


def _at_position(error: ApplicationError, position: int, count: int) -> ApplicationError:
    if count > 1:
        error.extra["index"] = position
        error.message = f"document {position}: {error.message}"
    return error


# --- appending -------------------------------------------------------------------------


def _take_append_lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LEDGER_APPEND_LOCK_ID])


def _append_prepared(
    prepared: Sequence[_Prepared], *, now: datetime | None = None, locked: bool = False
) -> list[LedgerEntry]:
    """Chain and store prepared documents at the ledger's head, in one transaction."""
    with transaction.atomic():
        if not locked:
            _take_append_lock()
        now = now or timezone.now()
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
        events = []
        for position, (entry, item) in enumerate(zip(entries, prepared, strict=True)):
            if item.kind == KIND_EVENT:
                document = item.parsed if item.parsed is not None else json.loads(item.document)
                try:
                    project(entry, document, check=True)
                except ApplicationError as exc:
                    raise _at_position(exc, position, len(prepared)) from exc
                events.append((entry, document, item.event_hash, item.context_inherited))
        if events:
            index_ledger_events(events)
        hooks.after_commit(entries[-1].seq)
    return entries


ENTRY_COLUMNS = (
    "seq",
    "kind",
    "organisation_id",
    "document",
    "digest",
    "key_id",
    "signature",
    "prev_hash",
    "entry_hash",
    "recorded_at",
)


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
        with raw.copy(f"COPY traceability_ledgerentry ({', '.join(ENTRY_COLUMNS)}) FROM STDIN") as copy:
            for entry in entries:
                copy.write_row(tuple(getattr(entry, column) for column in ENTRY_COLUMNS))
        with raw.copy("COPY traceability_merklenode (level, index, hash) FROM STDIN") as copy:
            for node in nodes:
                copy.write_row(node)


def _ensure_bootstrapped() -> None:
    if not LedgerEntry.objects.exists():
        _ledger_bootstrap()


def ledger_append_batch(*, organisation: Organisation, items: Sequence[SubmittedDocument]) -> list[LedgerEntry]:
    """Append many partner documents atomically: all are stored, in order, or none is."""
    if organisation.role == OrganisationRole.REGULATOR:
        raise ApplicationError("role_not_allowed", "regulators read the ledger; they do not write to it", status=403)
    if not items:
        raise ApplicationError("batch_empty", "a batch needs at least one document")
    if len(items) > MAX_BATCH_DOCUMENTS:
        raise ApplicationError("batch_too_large", f"a batch holds at most {MAX_BATCH_DOCUMENTS} documents", status=413)
    # No bootstrap here: a partner signs with a registered key, and registering one wrote the genesis.
    prepared = _prepare_submissions(organisation, items)
    return _append_prepared(prepared)


def ledger_append(
    *, organisation: Organisation, document: object, signature: str | None = None, key_id: str | None = None
) -> LedgerEntry:
    """Append one document signed client-side (``signature`` and ``key_id``) or custodially."""
    (entry,) = ledger_append_batch(
        organisation=organisation, items=[SubmittedDocument(document=document, signature=signature, key_id=key_id)]
    )
    return entry


def _append_platform_fact(kind: str, document: dict[str, object]) -> LedgerEntry:
    key, private_key = platform_signing_key()
    prepared = _prepare_signed(key.organisation, kind, document, private_key)
    (entry,) = _append_prepared([prepared])
    return entry


# Platform facts other apps write through ``platform_fact_append``; key and organisation
# facts have their own services, which keep their projections in step.
OPEN_PLATFORM_KINDS = frozenset({KIND_PASSPORT_VERSION})


def platform_fact_append(*, kind: str, document: dict[str, object]) -> LedgerEntry:
    """Append a fact signed by the platform's key (for example a passport version's digests)."""
    if kind not in OPEN_PLATFORM_KINDS:
        raise ApplicationError("kind_not_allowed", f"platform facts of kind {kind!r} have their own service")
    return _append_platform_fact(kind, document)


# --- organisations, keys, credentials --------------------------------------------------


@transaction.atomic
def organisation_create(*, slug: str, name: str, role: str) -> Organisation:
    if role not in OrganisationRole.values or role == OrganisationRole.OPERATOR:
        raise ApplicationError(
            "role_invalid", f"role must be one of {sorted(set(OrganisationRole.values) - {'operator'})}"
        )
    if Organisation.objects.filter(slug=slug).exists():
        raise ApplicationError("organisation_exists", f"organisation {slug!r} already exists", status=409)
    organisation = Organisation.objects.create(slug=slug, name=name, role=role)
    _append_platform_fact(
        KIND_ORGANISATION_REGISTERED,
        {"type": "OrganisationRegistered", "organisation": slug, "name": name, "role": role},
    )
    return organisation


@transaction.atomic
def signing_key_register(
    *,
    organisation: Organisation,
    public_key: bytes,
    private_key: Ed25519PrivateKey | None = None,
    valid_from: datetime | None = None,
) -> SigningKey:
    """Register a public key as a ledger fact. With ``private_key`` the platform holds it, encrypted."""
    public_key_from_raw(public_key)
    key_id = compute_key_id(public_key)
    if SigningKey.objects.filter(key_id=key_id).exists():
        raise ApplicationError("key_duplicate", "this public key is already registered", status=409)
    custody = KeyCustody.PLATFORM if private_key is not None else KeyCustody.CLIENT
    valid_from = valid_from or timezone.now()
    entry = _append_platform_fact(
        KIND_KEY_REGISTERED,
        key_registration_document(
            organisation=organisation.slug, public_key=public_key, valid_from=valid_from, custody=custody
        ),
    )
    return SigningKey.objects.create(
        organisation=organisation,
        key_id=key_id,
        public_key=public_key,
        custody=custody,
        encrypted_private_key=encrypt_private_key(private_key, key_id=key_id) if private_key else None,
        valid_from=valid_from,
        registered_seq=entry.seq,
    )


def signing_key_create_custodial(*, organisation: Organisation) -> SigningKey:
    private_key = generate_private_key()
    return signing_key_register(
        organisation=organisation, public_key=public_key_raw(private_key), private_key=private_key
    )


@transaction.atomic
def signing_key_revoke(*, key: SigningKey, reason: str) -> SigningKey:
    key = SigningKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is not None:
        raise ApplicationError("key_revoked", "the key is already revoked", status=409)
    now = timezone.now()
    entry = _append_platform_fact(
        KIND_KEY_REVOKED,
        key_revocation_document(
            organisation=key.organisation.slug, revoked_key_id=key.key_id, revoked_at=now, reason=reason
        ),
    )
    key.revoked_at = now
    key.revoked_seq = entry.seq
    key.save(update_fields=["revoked_at", "revoked_seq"])
    return key


@transaction.atomic
def signing_key_rotate(*, key: SigningKey) -> SigningKey:
    """Replace a custodial key: the new key is registered before the old one is revoked."""
    new_key = signing_key_create_custodial(organisation=key.organisation)
    signing_key_revoke(key=key, reason="rotated")
    return new_key


def api_credential_create(*, organisation: Organisation) -> tuple[ApiCredential, str]:
    """A new client id and secret; the secret is returned once and stored only as a hash."""
    client_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    credential = ApiCredential.objects.create(
        organisation=organisation, client_id=client_id, secret_hash=hash_api_secret(secret)
    )
    return credential, f"{client_id}.{secret}"


def hash_api_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


# --- checkpoints -----------------------------------------------------------------------


def ledger_checkpoint_create() -> Checkpoint:
    """Sign the current tree head (or return the checkpoint of that size if one exists)."""
    _ensure_bootstrapped()
    size = ledger_size()
    existing = Checkpoint.objects.filter(tree_size=size).first()
    if existing is not None:
        return existing
    _, private_key = platform_signing_key()
    root = merkle.root_from_nodes(size, merkle_nodes_get(set(merkle.root_keys(size))))
    origin = settings.LEDGER_ORIGIN
    note = notes.sign_checkpoint(notes.Checkpoint(origin=origin, size=size, root_hash=root), origin, private_key)
    try:
        with transaction.atomic():
            return Checkpoint.objects.create(tree_size=size, root_hash=root.hex(), note=note, created_at=timezone.now())
    except IntegrityError:
        return Checkpoint.objects.get(tree_size=size)
