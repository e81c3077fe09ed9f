"""PACT 3 footprints and part passports carry the C2SP tlog-proof of the entry they derive from."""

import copy
import json

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from carbon.pact.documents import LEDGER_PROOF_SCHEMA
from carbon.services import footprints_catch_up
from passport.models import Passport
from passport.services import passports_catch_up
from passport.verify.passport import verify_passport
from tests.api.test_pact import listed, loop, pact  # noqa: F401  (the loop fixture)
from tests.factories import object_event
from traceability import events, services
from traceability.ledger import proof as tlog_proof
from traceability.models import TraceableObject

pytestmark = pytest.mark.django_db


def log_key() -> tuple[str, bytes]:
    _, private_key = services.platform_signing_key()
    return settings.LEDGER_ORIGIN, private_key.public_key().public_bytes_raw()


def proof_extension(document: dict) -> dict:
    (extension,) = [e for e in document["extensions"] if e["dataSchema"] == LEDGER_PROOF_SCHEMA]
    return extension["data"]


def header_of(proof: dict) -> dict:
    extra = tlog_proof.parse_proof(proof["proof"]).extra
    assert extra is not None
    return json.loads(extra)


def test_footprints_prove_their_products_creating_entry_once_a_checkpoint_covers_it(loop):  # noqa: F811
    client = pact(loop.die_caster)
    pending = {d["productIds"][0]: proof_extension(d) for d in listed(client)}
    tray = pending[loop.trays[0]]
    assert tray["ledgerProof"] is None and "no signed checkpoint" in tray["ledgerProofReason"]

    checkpoint = services.ledger_checkpoint_create()
    for document in listed(client):  # still valid PACT 3 documents (listed() checks the schema)
        data = proof_extension(document)
        proof = data["ledgerProof"]
        product = TraceableObject.objects.get(identifier=document["productIds"][0])
        assert data["ledgerSeq"] == product.created_seq
        assert proof["checkpointSize"] == checkpoint.tree_size and proof["witnessed"] is False
        result = tlog_proof.verify_proof(proof["proof"], log_key=log_key())
        assert result.ok, result.failures()
        assert header_of(proof)["seq"] == product.created_seq


def test_a_part_passport_proves_its_casting_event(loop):  # noqa: F811
    part = TraceableObject.objects.get(identifier=loop.trays[0])
    services.ledger_checkpoint_create()

    document = Client().get(f"/part/{part.pk}", HTTP_ACCEPT="application/json").json()

    proof = document["ledgerProof"]
    assert tlog_proof.verify_proof(proof["proof"], log_key=log_key()).ok
    assert header_of(proof)["seq"] == document["ledgerSeq"] == part.created_seq
    assert verify_passport(document, log_keys=[log_key()]).ok
    changed = copy.deepcopy(document)
    changed["ledgerSeq"] += 1
    assert not verify_passport(changed, log_keys=[log_key()]).ok
    # the figures are computed on read, not logged: the platform's signature over the JSON covers them
    changed = copy.deepcopy(document)
    method = next(iter(changed["footprint"]))
    changed["footprint"][method]["totalPerKg"] = float(changed["footprint"][method]["totalPerKg"]) + 0.5
    report = verify_passport(changed, log_keys=[log_key()])
    assert [name for name, ok, _ in report.checks if not ok] == ["served signature"], report.lines()


def test_a_passports_proof_costs_the_same_queries_whatever_the_ledgers_size(loop):  # noqa: F811
    footprints_catch_up()
    passports_catch_up()
    passport = Passport.objects.get(battery__identifier=loop.packs[0])

    def queries() -> tuple[int, int]:
        services.ledger_checkpoint_create()
        with CaptureQueriesContext(connection) as captured:
            answer = Client().get(f"/api/v1/passports/{passport.pk}", {"version": "1"})
        proof = answer.json()["ledgerProof"]
        return len(captured), len(tlog_proof.parse_proof(proof["proof"]).proof)

    small, small_path = queries()
    for number in range(300):  # the tree grows past the next powers of two: a longer proof
        events.ledger_append(organisation=loop.dismantler.organisation, document=object_event(50_000 + number))
    large, large_path = queries()

    assert large_path > small_path
    assert large == small
