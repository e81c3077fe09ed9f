"""Writes an organisation makes on itself: its API keys, its signing keys and its members.

Every service is scoped to one organisation: an id of another organisation's key or member is
answered as if it did not exist (``not_found``, 404), so a caller learns nothing of others. Who
may call them (an organisation's administrators in the console, the machine's operator by
command) is decided by the caller; these services decide only what is allowed to happen.
"""

from __future__ import annotations

import base64
import binascii
import re

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from traceability.choices import KeyCustody, MemberRole
from traceability.errors import ApplicationError
from traceability.ledger.errors import LedgerError
from traceability.ledger.signing import PUBLIC_KEY_LENGTH, public_key_from_raw
from traceability.models import ApiCredential, Membership, Organisation, SigningKey
from traceability.services import (
    platform_organisation,
    signing_key_register,
    signing_key_revoke,
    signing_key_rotate,
)

REASON_REVOKED_BY_ORGANISATION = "revoked by its organisation"
# Enough for a 32-byte key in any of the accepted spellings, with some whitespace.
PUBLIC_KEY_TEXT_MAX = 200
_HEX = re.compile(r"[0-9a-fA-F]{64}")


def _not_found(what: str) -> ApplicationError:
    return ApplicationError("not_found", f"your organisation has no such {what}", status=404)


# --- API keys ------------------------------------------------------------------------------------


@transaction.atomic
def api_credential_revoke(*, organisation: Organisation, credential_id: int) -> ApiCredential:
    """Revoke one of the organisation's API keys: from now on it authenticates nothing."""
    credential = ApiCredential.objects.select_for_update().filter(organisation=organisation, pk=credential_id).first()
    if credential is None:
        raise _not_found("API key")
    if credential.revoked_at is not None:
        raise ApplicationError("api_key_revoked", "this API key is already revoked", status=409)
    credential.revoked_at = timezone.now()
    credential.save(update_fields=["revoked_at"])
    return credential


# --- signing keys --------------------------------------------------------------------------------


def public_key_parse(text: str) -> bytes:
    """A raw Ed25519 public key from its hex (64 digits) or base64 (standard or URL-safe) text."""
    text = "".join(text.split())
    if not text or len(text) > PUBLIC_KEY_TEXT_MAX:
        raise ApplicationError("public_key_malformed", "give the public key as 64 hex digits or as base64")
    if _HEX.fullmatch(text):
        raw = bytes.fromhex(text)
    else:
        try:
            raw = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            raise ApplicationError(
                "public_key_malformed", "the public key is neither 64 hex digits nor base64"
            ) from None
    if len(raw) != PUBLIC_KEY_LENGTH:
        raise ApplicationError(
            "public_key_invalid", f"an Ed25519 public key has {PUBLIC_KEY_LENGTH} bytes, this one {len(raw)}"
        )
    try:
        public_key_from_raw(raw)
    except (LedgerError, ValueError):
        raise ApplicationError("public_key_invalid", "these bytes are not an Ed25519 public key") from None
    return raw


def client_key_register(*, organisation: Organisation, public_key_text: str) -> SigningKey:
    """Register a key the organisation holds itself: it signs the events its systems send."""
    return signing_key_register(organisation=organisation, public_key=public_key_parse(public_key_text))


def _own_key(organisation: Organisation, key_id: int) -> SigningKey:
    key = SigningKey.objects.filter(organisation=organisation, pk=key_id).first()
    if key is None:
        raise _not_found("signing key")
    if key.revoked_at is not None:
        raise ApplicationError("key_revoked", "the key is already revoked", status=409)
    return key


def _not_the_platform(organisation: Organisation) -> None:
    if organisation.pk == platform_organisation().pk:
        raise ApplicationError(
            "platform_key", "the platform's own keys sign the ledger: they are rotated by the operator", status=403
        )


@transaction.atomic
def client_key_revoke(*, organisation: Organisation, key_id: int) -> SigningKey:
    """Revoke one of the organisation's client keys (a custodial key is rotated, not revoked:
    its web users sign with it)."""
    key = _own_key(organisation, key_id)
    if key.custody != KeyCustody.CLIENT:
        raise ApplicationError(
            "key_custodial", "the platform holds this key for your web users: rotate it instead", status=409
        )
    return signing_key_revoke(key=key, reason=REASON_REVOKED_BY_ORGANISATION)


@transaction.atomic
def custodial_key_rotate(*, organisation: Organisation, key_id: int) -> SigningKey:
    """Replace the custodial key the platform holds for the organisation's web users."""
    _not_the_platform(organisation)
    key = _own_key(organisation, key_id)
    if key.custody != KeyCustody.PLATFORM:
        raise ApplicationError(
            "key_not_custodial", "you hold this key yourself: register a new one and revoke this", status=409
        )
    return signing_key_rotate(key=key)


# --- members -------------------------------------------------------------------------------------


def _user_named(identifier: str) -> AbstractBaseUser:
    identifier = identifier.strip()
    # A superuser acts for the platform: no organisation's administrator can enlist one.
    users = get_user_model().objects.filter(is_active=True, is_superuser=False)
    matches = list(users.filter(Q(username=identifier) | Q(email__iexact=identifier))[:2]) if identifier else []
    if len(matches) != 1:
        raise ApplicationError(
            "user_unknown", "no single active user has that username or e-mail: ask the operator for an account"
        )
    return matches[0]


@transaction.atomic
def member_add(*, organisation: Organisation, identifier: str, role: str = MemberRole.MEMBER) -> Membership:
    """Let an existing user (by username or e-mail) act for the organisation."""
    if role not in MemberRole.values:
        raise ApplicationError("member_role_invalid", f"role must be one of {MemberRole.values}")
    user = _user_named(identifier)
    if Membership.objects.filter(user=user).exists():
        raise ApplicationError(
            "user_has_organisation", "this user already acts for an organisation (one at a time)", status=409
        )
    return Membership.objects.create(user=user, organisation=organisation, role=role)


@transaction.atomic
def member_remove(*, organisation: Organisation, membership_id: int) -> Membership:
    """Remove a member (its user account stays, without an organisation). The last
    administrator stays: someone must be able to manage the organisation."""
    members = Membership.objects.select_for_update().filter(organisation=organisation)
    membership = members.select_related("user").filter(pk=membership_id).first()
    if membership is None:
        raise _not_found("member")
    if membership.is_administrator and members.filter(role=MemberRole.ADMINISTRATOR).count() == 1:
        raise ApplicationError(
            "last_administrator", "this is your organisation's last administrator: make another first", status=409
        )
    membership.delete()
    return membership
