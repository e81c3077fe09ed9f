"""Reads of the passport app: passports, their versions, and who reads them at which tier."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet

from passport.choices import AccessTier
from passport.models import Passport, PassportVersion
from passport.tiers import filter_for_tier, tier_rank
from traceability.choices import OrganisationRole
from traceability.errors import ApplicationError
from traceability.models import Credential, Organisation
from traceability.visibility import objects_visible_to, reads_all

URN_PREFIX = "urn:looptrace:"
# Version numbers are PostgreSQL integers.
MAX_VERSION_NUMBER = 2**31 - 1


# The public view of a passport, as the API serves it, is cached: a QR scan reads it again and
# again, and it only changes when the passport does (``passport_cache_forget``). Seconds an
# entry may live (bounds staleness where each process has its own cache; see ``CACHE_URL``).
PUBLIC_VIEW_SECONDS = 300


def public_view_key(passport_id: uuid.UUID) -> str:
    return f"passport:public:{passport_id}"


def passport_id_of(reference: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(reference.removeprefix(URN_PREFIX))
    except ValueError:
        return None


def passport_get(*, reference: str) -> Passport:
    """A passport by its id (UUID) or its Battery Pass identifier (``urn:looptrace:<hex>``)."""
    text = reference.removeprefix(URN_PREFIX)
    try:
        passport_id = uuid.UUID(text)
    except ValueError:
        passport_id = None
    passport = (
        Passport.objects.select_related("battery", "previous").filter(pk=passport_id).first() if passport_id else None
    )
    if passport is None:
        raise ApplicationError("passport_not_found", f"no passport {reference}", status=404)
    return passport


def passport_by_digital_link(*, gtin: str, serial: str) -> Passport:
    """The newest passport of the battery with this GTIN (as 14 digits) and serial number."""
    passport = (
        Passport.objects.select_related("battery", "previous")
        .filter(battery__attributes__gtin=gtin, battery__attributes__serialNumber=serial)
        .order_by("-created_at")
        .first()
    )
    if passport is None:
        raise ApplicationError("passport_not_found", f"no passport for GTIN {gtin}, serial {serial}", status=404)
    return passport


def reader_tier(*, organisation: Organisation | None, passport: Passport) -> AccessTier:
    """Regulators read as authorities; an organisation linked to the battery with a legitimate
    interest (it made, holds or handled it); everyone else, signed in or not, the public tier."""
    if organisation is None:
        return AccessTier.PUBLIC
    if organisation.role == OrganisationRole.REGULATOR:
        return AccessTier.AUTHORITIES
    if objects_visible_to(organisation=organisation).filter(pk=passport.battery_id).exists():
        return AccessTier.LEGITIMATE_INTEREST
    return AccessTier.PUBLIC


def read_tier(*, allowed: AccessTier, requested: str | None) -> AccessTier:
    """The tier a reader asked for, which may be lower than the one they hold but never higher."""
    if not requested:
        return allowed
    try:
        tier = AccessTier(requested)
    except ValueError as exc:
        raise ApplicationError("tier_invalid", f"tier must be one of {AccessTier.values}") from exc
    if tier_rank(tier) > tier_rank(allowed):
        raise ApplicationError("tier_not_allowed", f"you may read this passport up to the {allowed} tier", status=403)
    return tier


def passport_version_get(*, passport: Passport, number: int | None = None) -> PassportVersion:
    versions = passport.versions.order_by("-number")
    if number is not None and number > MAX_VERSION_NUMBER:
        version = None  # beyond the column's range: no such version (and never a query error)
    else:
        version = versions.filter(number=number).first() if number is not None else versions.first()
    if version is not None:
        return version
    if number is None and passport.problems:
        problem = passport.problems[0]
        raise ApplicationError(
            problem.get("code", "passport_invalid"),
            problem.get("detail", "the passport's data does not validate"),
            status=422,
            extra={"fields": problem.get("fields", [])},
        )
    raise ApplicationError("passport_version_not_found", f"{passport.urn} has no version {number or ''}", status=404)


def passport_versions(*, passport: Passport) -> list[PassportVersion]:
    return list(passport.versions.order_by("number"))


def passport_view(*, version: PassportVersion, tier: AccessTier) -> dict[str, object]:
    """What a reader of ``tier`` sees of one version; its digest is in the version's ledger fact."""
    return filter_for_tier(version.document, tier)


# The claims a battery passport version is issued as (``passport.credentials``), in listing order.
PRODUCT_PASSPORT_CLAIM = "dpp"
FOOTPRINT_CLAIM = "art-7"
RECYCLED_CONTENT_CLAIM = "art-8"
CREDENTIAL_CLAIMS = (PRODUCT_PASSPORT_CLAIM, FOOTPRINT_CLAIM, RECYCLED_CONTENT_CLAIM)
CLAIM_TITLES = {
    PRODUCT_PASSPORT_CLAIM: "Digital product passport",
    FOOTPRINT_CLAIM: "Carbon footprint declaration (Art. 7)",
    RECYCLED_CONTENT_CLAIM: "Recycled-content check (Art. 8)",
}


def version_credential_subject(version: PassportVersion, claim: str) -> str:
    """What a version's credential of ``claim`` is about, as its ``Credential.subject`` records it."""
    return f"{version.passport.urn}/versions/{version.number}#{claim}"


def credential_claim(credential: Credential) -> str:
    return credential.subject.rpartition("#")[2]


def version_credentials(*, version: PassportVersion) -> list[Credential]:
    """The credentials ``version`` was issued as (all public), in claim order; a ceased passport's last
    version issues none, so for it those of the version before, which the ceasing revoked."""
    if version.ceased and version.number > 1:
        version = PassportVersion(passport=version.passport, number=version.number - 1)
    subjects = [version_credential_subject(version, claim) for claim in CREDENTIAL_CLAIMS]
    found = Credential.objects.filter(subject__in=subjects, public=True).select_related("organisation")
    return sorted(found, key=lambda credential: CREDENTIAL_CLAIMS.index(credential_claim(credential)))


def version_credential(*, version: PassportVersion, claim: str = PRODUCT_PASSPORT_CLAIM) -> Credential:
    """The credential of ``claim`` (by default the product passport) ``version`` was issued as."""
    for credential in version_credentials(version=version):
        if credential_claim(credential) == claim:
            return credential
    raise ApplicationError(
        "credential_not_found",
        f"version {version.number} of {version.passport.urn} was not issued as a {claim} credential "
        "(its issuer signs only client-side, or the version lacks what the credential needs)",
        status=404,
    )


def passports_search(*, organisation: Organisation, query: str = "") -> QuerySet[Passport]:
    """The passports of batteries the organisation can see, newest first, by identifier, label or serial."""
    passports = Passport.objects.select_related("battery").order_by("-created_at")
    if not reads_all(organisation):
        passports = passports.filter(battery__in=objects_visible_to(organisation=organisation).values("pk"))
    if query:
        passports = passports.filter(
            Q(battery__identifier__icontains=query)
            | Q(battery__label__icontains=query)
            | Q(battery__attributes__serialNumber=query)
        )
    return passports
