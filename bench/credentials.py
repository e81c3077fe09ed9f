"""``credentials_issue``: credentials issued per second against plain Ed25519 signing of the same bytes.

The workload is ``CREDENTIALS`` UNTP Digital Product Passport credentials of one organisation
(a custodial key), built untimed with the platform's own builder (``passport.untp``) from the
battery passport versions of a small demo (seeded when the database has none): what issuing a
passport version signs, 6 to 10 KB of canonical JSON each.

Subject: ``credentials_issue`` in batches of ``BATCH`` (one transaction each): id, issuer DID,
``validFrom``, a random free bit of the issuer's status list, one ``credential.issued`` ledger
fact per batch listing each credential's RFC 8785 digest, signed by the issuer, the ``vc+jwt``
and the ``eddsa-jcs-2022`` forms signed, the rows written. Baseline: one Ed25519 signature over
each credential's RFC 8785 bytes (canonicalising included), the least any signed credential
costs. The two alternate batch by batch. Each issued credential carries two Ed25519 signatures
of its own (its two forms) and a share of the batch fact's, and is canonicalised once, as the
baseline's is; the subject signs a batch on every core (Ed25519 releases the GIL, as the ledger
writer's signature checks use), the baseline on one. Issuing is measured, not the ledger
followers each commit nudges (carbon, passports, tiles: with a broker they run on a worker;
without one they would run inline), as in ``operations_record``.
"""

from __future__ import annotations

import io
import uuid
from time import perf_counter

from django.core.management import call_command
from django.utils import timezone
from tqdm import tqdm

from bench.report import BenchError, Result
from passport.models import PassportVersion
from passport.untp import battery_passport_credential
from traceability import hooks, services
from traceability.credentials import selectors
from traceability.credentials.core.securing import credential_bytes
from traceability.credentials.services import CredentialRequest, credentials_issue
from traceability.keyvault import decrypt_private_key
from traceability.models import Credential, Organisation

TARGET = ">=0.3"
CREDENTIALS = 4_000
BATCH = 200
ISSUER_SLUG = "bench-credential-issuer"
# Vehicles of the demo seeded for its passports when the database has none, and versions used.
DEMO_VEHICLES = 6
VERSIONS = 40


def _versions() -> list[PassportVersion]:
    """Battery passport versions to issue as credentials: the demo's (seeded when there are none)."""
    if not PassportVersion.objects.filter(ceased=False).exists():
        call_command("seed_demo", "--vehicles", str(DEMO_VEHICLES), stdout=io.StringIO())
    versions = list(
        PassportVersion.objects.filter(ceased=False)
        .select_related("passport__battery", "passport__previous")
        .order_by("ledger_seq")[:VERSIONS]
    )
    if not versions:
        raise BenchError("the demo issued no passport version")
    return versions


def _passport_credentials(organisation: Organisation) -> list[CredentialRequest]:
    """``CREDENTIALS`` UNTP product passports of the demo's versions, as ``organisation`` issues them."""
    issuer = {"id": selectors.organisation_did(organisation), "name": organisation.name}
    versions, requests = _versions(), []
    now = timezone.now()
    for number in range(CREDENTIALS):
        version = versions[number % len(versions)]
        credential = battery_passport_credential(
            version=version,
            issuer=issuer,
            credential_id=f"urn:uuid:{uuid.uuid4()}",
            valid_from=now,
            root=selectors.base_url(),
        )
        requests.append(
            CredentialRequest(
                kind="DigitalProductPassport", subject=f"{version.passport.urn}#{number}", credential=credential
            )
        )
    return requests


def run() -> Result:
    organisation = services.organisation_create(slug=ISSUER_SLUG, name="Bench credential issuer", role="remelter")
    key = services.signing_key_create_custodial(organisation=organisation)
    private_key = decrypt_private_key(key.encrypted_private_key, key_id=key.key_id)
    requests = _passport_credentials(organisation)
    batches = [requests[start : start + BATCH] for start in range(0, CREDENTIALS, BATCH)]
    subject_seconds = baseline_seconds = 0.0
    with hooks.paused():
        for batch in tqdm(batches, desc="credentials_issue", unit="batch"):
            started = perf_counter()
            for request in batch:
                private_key.sign(credential_bytes(request.credential))
            baseline_seconds += perf_counter() - started
            started = perf_counter()
            credentials_issue(organisation=organisation, requests=batch)
            subject_seconds += perf_counter() - started
    issued = Credential.objects.filter(organisation=organisation).count()
    if issued != CREDENTIALS:
        raise BenchError(f"{issued} credentials stored, expected {CREDENTIALS}")
    return Result.of(
        value=CREDENTIALS / subject_seconds,
        baseline=CREDENTIALS / baseline_seconds,
        unit="credentials/s",
        target=TARGET,
    )
