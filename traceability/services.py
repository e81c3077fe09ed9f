"""Writes of the traceability app: the platform's key, organisations, keys, credentials,
platform facts and checkpoints. Every ledger write goes through ``traceability.writer``;
events through ``traceability.events``, which runs their projectors.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from traceability import hooks
from traceability.choices import MATERIAL_HOLDING_ROLES, KeyCustody, OrganisationRole
from traceability.countries import ISO_3166_ALPHA_2
from traceability.errors import ApplicationError
from traceability.keyvault import decrypt_private_key, encrypt_private_key
from traceability.ledger import checkpoint as notes
from traceability.ledger import merkle
from traceability.ledger.chain import (
    KIND_KEY_REGISTERED,
    KIND_KEY_REVOKED,
    KIND_ORGANISATION_REGISTERED,
    KIND_PASSPORT_VERSION,
    REASON_ROTATED,
    key_registration_document,
    key_revocation_document,
)
from traceability.ledger.signing import (
    b64decode,
    generate_private_key,
    private_key_from_raw,
    public_key_from_raw,
    public_key_raw,
)
from traceability.ledger.signing import key_id as compute_key_id
from traceability.models import ApiCredential, Checkpoint, LedgerEntry, Organisation, SigningKey, Site
from traceability.selectors import grid_regions, ledger_size, merkle_nodes_get
from traceability.writer import append_prepared, prepare_signed, take_append_lock

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
    """The platform's current key (it signs key facts and checkpoints), bootstrapping the ledger if empty.

    Chosen by custody first, recency second: a client key registered for the operator's
    organisation is that organisation's own, and never signs for the platform."""
    key = (
        SigningKey.objects.filter(
            organisation__slug=_platform_slug(), custody=KeyCustody.PLATFORM, revoked_at__isnull=True
        )
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
    take_append_lock()
    if LedgerEntry.objects.exists():
        return
    organisation = platform_organisation()
    private_key, hold_encrypted = _new_platform_private_key()
    public = public_key_raw(private_key)
    now = timezone.now()
    document = key_registration_document(
        organisation=organisation.slug, public_key=public, valid_from=now, custody=KeyCustody.PLATFORM
    )
    prepared = prepare_signed(organisation, KIND_KEY_REGISTERED, document, private_key)
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
    append_prepared([prepared], now=now, locked=True)


def _ensure_bootstrapped() -> None:
    if not LedgerEntry.objects.exists():
        _ledger_bootstrap()


def _append_platform_fact(kind: str, document: dict[str, object]) -> LedgerEntry:
    key, private_key = platform_signing_key()
    prepared = prepare_signed(key.organisation, kind, document, private_key)
    (entry,) = append_prepared([prepared])
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


def _site_grid_region(*, country: str, grid_region: str | None) -> str:
    """A named grid region must be one the factor registry prices; none named: the country's own
    region when the registry has one, else blank (the registry's default electricity factor)."""
    regions = grid_regions()
    if grid_region is None or not grid_region.strip():
        return country if country in regions else ""
    grid_region = grid_region.strip().upper()
    if grid_region not in regions:
        raise ApplicationError(
            "grid_region_unknown",
            f"no electricity factor for grid region {grid_region!r}; the registry has {sorted(regions)} "
            "(omit it to use the country's, else the registry's default)",
        )
    return grid_region


@transaction.atomic
def site_create(
    *, organisation: Organisation, name: str, country: str, grid_region: str | None = None, address: str = ""
) -> Site:
    """A site of ``organisation``, where it records operations.

    Only organisations that hold material (``MATERIAL_HOLDING_ROLES``) have sites: regulators and
    the operator record no operation, so a site of theirs would locate nothing. The country is an
    ISO 3166-1 alpha-2 code; the grid region selects the site's electricity emission factor.
    """
    if organisation.role not in MATERIAL_HOLDING_ROLES:
        raise ApplicationError(
            "site_not_allowed", f"a {organisation.get_role_display()} holds no material and has no sites", status=403
        )
    name, country, address = name.strip(), country.strip().upper(), address.strip()
    if not name:
        raise ApplicationError("site_name_missing", "a site needs a name")
    if country not in ISO_3166_ALPHA_2:
        raise ApplicationError("country_unknown", f"{country!r} is not an ISO 3166-1 alpha-2 country code")
    region = _site_grid_region(country=country, grid_region=grid_region)
    if Site.objects.filter(organisation=organisation, name=name).exists():
        raise ApplicationError("site_exists", f"you already have a site named {name!r}", status=409)
    try:
        with transaction.atomic():
            return Site.objects.create(
                organisation=organisation, name=name, country=country, grid_region=region, address=address
            )
    except IntegrityError:  # the same name, created meanwhile
        raise ApplicationError("site_exists", f"you already have a site named {name!r}", status=409) from None


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
    signing_key_revoke(key=key, reason=REASON_ROTATED)
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
            checkpoint = Checkpoint.objects.create(
                tree_size=size, root_hash=root.hex(), note=note, created_at=timezone.now()
            )
    except IntegrityError:
        return Checkpoint.objects.get(tree_size=size)
    # Its followers (tiles, witnesses) hear of it once it is committed; a broker that is down never
    # fails the signing.
    for follower in hooks.checkpoint_followers():
        transaction.on_commit(lambda follower=follower: follower(checkpoint.pk), robust=True)
    return checkpoint
