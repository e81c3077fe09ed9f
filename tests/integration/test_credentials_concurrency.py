"""Several processes issue credentials of one organisation at once, its first list not yet open:
one list is opened, every credential gets its own bit, and the ledger stays one valid chain."""

import json
import multiprocessing

import pytest
from django.db import connections

from traceability.credentials.services import CredentialRequest, credentials_issue
from traceability.models import Credential, LedgerEntry, Organisation, StatusList
from traceability.verification import verify_ledger

pytestmark = pytest.mark.slow
ISSUERS = 4
ROUNDS = 5
BATCH = 3


def _issuer(number: int, failures) -> None:  # type: ignore[no-untyped-def]
    try:
        organisation = Organisation.objects.get(slug="nordic-remelt")
        for round_ in range(ROUNDS):
            credentials_issue(
                organisation=organisation,
                requests=[
                    CredentialRequest(
                        kind="DigitalTraceabilityEvent",
                        subject=f"event:{number}:{round_}:{n}",
                        credential={
                            "@context": ["https://www.w3.org/ns/credentials/v2"],
                            "type": ["VerifiableCredential", "DigitalTraceabilityEvent"],
                            "credentialSubject": {"id": f"urn:example:{number}:{round_}:{n}"},
                        },
                    )
                    for n in range(BATCH)
                ],
            )
    except Exception as exc:
        failures.put(f"issuer {number}: {exc!r}")
    finally:
        connections.close_all()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_issuers_share_one_list_and_never_one_bit(partner):
    # given
    context = multiprocessing.get_context("fork")
    failures = context.Queue()
    connections.close_all()
    # when
    issuers = [context.Process(target=_issuer, args=(n, failures)) for n in range(ISSUERS)]
    for issuer in issuers:
        issuer.start()
    for issuer in issuers:
        issuer.join(timeout=120)
    # then
    assert all(issuer.exitcode == 0 for issuer in issuers)
    assert failures.empty(), failures.get()
    total = ISSUERS * ROUNDS * BATCH
    (status_list,) = StatusList.objects.filter(organisation=Organisation.objects.get(slug="nordic-remelt"))
    assert status_list.allocated == total
    bits = list(Credential.objects.values_list("status_list_id", "status_index"))
    assert len(bits) == len(set(bits)) == total
    # one anchoring fact per batch, listing each of its credentials once
    facts = [
        json.loads(document)
        for document in LedgerEntry.objects.filter(kind="credential.issued").values_list("document", flat=True)
    ]
    assert len(facts) == ISSUERS * ROUNDS
    listed = [member["credentialId"] for fact in facts for member in fact["credentials"]]
    assert sorted(listed) == sorted(Credential.objects.values_list("credential_id", flat=True))
    assert verify_ledger().ok
