"""``credentials_issue``: credentials issued per second against plain Ed25519 signing of the same bytes.

The workload is ``CREDENTIALS`` UNTP Digital Product Passport credentials of one organisation
(about 700 canonical bytes each, a custodial key), built untimed.

Subject: ``credentials_issue`` in batches of ``BATCH`` (one transaction each): id, issuer DID,
``validFrom``, a random free bit of the issuer's status list, one ``credential.issued`` ledger
fact per batch listing each credential's RFC 8785 digest, signed by the issuer, the ``vc+jwt``
and the ``eddsa-jcs-2022`` forms signed, the rows written. Baseline: one Ed25519 signature over
each credential's RFC 8785 bytes (canonicalising included), the least any signed credential
costs. The two alternate batch by batch. Each issued credential carries two Ed25519 signatures
of its own (its two forms) and a share of the batch fact's, so about 0.6 (one canonicalisation
and two signatures against one of each) is the ceiling of a pipeline that did nothing else on
one core; the subject signs a batch on every core (Ed25519 releases the GIL, as the ledger
writer's signature checks use), the baseline on one. Issuing is measured, not the ledger
followers each commit nudges (carbon, passports, tiles: with a broker they run on a worker;
without one they would run inline), as in ``operations_record``.
"""

from __future__ import annotations

from time import perf_counter

from tqdm import tqdm

from bench.report import BenchError, Result
from traceability import hooks, services
from traceability.credentials.core.securing import credential_bytes
from traceability.credentials.services import CredentialRequest, credentials_issue
from traceability.keyvault import decrypt_private_key
from traceability.models import Credential

TARGET = ">=0.3"
CREDENTIALS = 4_000
BATCH = 200
ISSUER_SLUG = "bench-credential-issuer"


def passport(number: int) -> dict[str, object]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://vocabulary.uncefact.org/untp/0.7.0/context/"],
        "type": ["VerifiableCredential", "DigitalProductPassport"],
        "name": f"Battery pack PACK-{number:06d}",
        "credentialSubject": {
            "type": ["Product"],
            "id": f"https://id.looptrace.example/01/09506000134352/21/PACK-{number:06d}",
            "name": "Traction battery pack",
            "productCategory": [{"code": "850760", "name": "Lithium-ion accumulators"}],
            "materialsProvenance": [
                {"name": "Aluminium", "massFraction": 0.18, "recycledMassFraction": 0.61},
                {"name": "Nickel", "massFraction": 0.21, "recycledMassFraction": 0.16},
            ],
            "emissionsScorecard": {"carbonFootprint": 61.5 + number % 7, "declaredUnit": "kgCO2e/kWh"},
        },
    }


def run() -> Result:
    organisation = services.organisation_create(slug=ISSUER_SLUG, name="Bench credential issuer", role="remelter")
    key = services.signing_key_create_custodial(organisation=organisation)
    private_key = decrypt_private_key(key.encrypted_private_key, key_id=key.key_id)
    batches = [
        [
            CredentialRequest(kind="DigitalProductPassport", subject=f"passport:{n}", credential=passport(n))
            for n in range(start, start + BATCH)
        ]
        for start in range(0, CREDENTIALS, BATCH)
    ]
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
