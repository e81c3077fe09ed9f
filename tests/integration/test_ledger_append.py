import itertools
import json

import pytest
from django.db import connection
from django.test import override_settings

from tests.factories import make_partner, object_event, signed
from traceability import events, services, writer
from traceability.epcis.core.hashing import event_hash
from traceability.errors import ApplicationError
from traceability.keyvault import decrypt_private_key
from traceability.ledger.canonical import canonical_json, sha256
from traceability.ledger.chain import GENESIS_PREV, EntryHeader
from traceability.ledger.signing import b64decode, b64encode, private_key_raw, sign_document
from traceability.models import EpcisEvent, LedgerEntry, SigningKey
from traceability.verification import verify_ledger

pytestmark = pytest.mark.django_db


def _fields(item: writer.SubmittedDocument) -> dict[str, object]:
    return {"document": item.document, "signature": item.signature, "key_id": item.key_id}


def test_first_write_creates_a_self_signed_genesis_and_key_facts(partner):
    # given: a partner was created (organisation, client key, custodial key)
    # then: the ledger holds the platform's key, then the partner's facts, in order
    kinds = list(LedgerEntry.objects.order_by("seq").values_list("seq", "kind"))
    assert kinds == [
        (1, "key.registered"),
        (2, "organisation.registered"),
        (3, "key.registered"),
        (4, "key.registered"),
    ]
    genesis = LedgerEntry.objects.get(seq=1)
    assert genesis.prev_hash == GENESIS_PREV.hex()
    registered = json.loads(LedgerEntry.objects.get(seq=3).document)
    assert registered["keyId"] == partner.client_key.key_id
    assert registered["organisation"] == "nordic-remelt"
    assert partner.client_key.registered_seq == 3


def test_custodial_append_signs_with_the_organisations_key_and_chains(partner):
    # given
    head = LedgerEntry.objects.order_by("-seq").first()
    document = object_event(1)

    # when
    entry = events.ledger_append(organisation=partner.organisation, document=document)

    # then
    assert entry.seq == head.seq + 1
    assert entry.prev_hash == head.entry_hash
    assert entry.key_id == partner.custodial_key.key_id
    assert entry.document == canonical_json(document).decode()
    assert entry.digest == sha256(canonical_json(document)).hex()
    header = EntryHeader(
        seq=entry.seq,
        kind="event",
        organisation="nordic-remelt",
        digest=bytes.fromhex(entry.digest),
        key_id=entry.key_id,
        signature=b64decode(entry.signature, what="signature"),
        prev_hash=bytes.fromhex(entry.prev_hash),
        recorded_at=entry.recorded_at,
    )
    assert header.entry_hash().hex() == entry.entry_hash
    assert verify_ledger(processes=1).ok


def test_client_signed_append_is_stored_with_the_clients_signature(partner):
    item = signed(partner, object_event(2))

    entry = events.ledger_append(
        organisation=partner.organisation, document=item.document, signature=item.signature, key_id=item.key_id
    )

    assert entry.signature == item.signature
    assert entry.key_id == partner.client_key.key_id


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda item, p: {**_fields(item), "signature": b64encode(bytes(64))}, "signature_invalid"),
        (lambda item, p: {**_fields(item), "signature": "not base64!"}, "signature_malformed"),
        (lambda item, p: {**_fields(item), "key_id": "ab" * 32}, "key_unknown"),
        (lambda item, p: {**_fields(item), "key_id": None}, "key_id_missing"),
        (lambda item, p: {**_fields(item), "document": {**item.document, "action": "DELETE"}}, "signature_invalid"),
        (lambda item, p: {**_fields(item), "document": ["not", "an", "object"]}, "document_type_invalid"),
        (lambda item, p: {**_fields(item), "document": {"type": "Invoice"}}, "document_type_invalid"),
        (lambda item, p: {**_fields(item), "document": {**item.document, "x": float("nan")}}, "document_malformed"),
    ],
    ids=[
        "bad-signature",
        "signature-not-base64",
        "unknown-key",
        "no-key-id",
        "document-changed-after-signing",
        "not-an-object",
        "not-an-event",
        "nan",
    ],
)
def test_bad_submissions_are_rejected_and_nothing_is_stored(partner, mutate, code):
    # given
    before = LedgerEntry.objects.count()
    item = signed(partner, object_event(3))
    bad = writer.SubmittedDocument(**mutate(item, partner))

    # when
    with pytest.raises(ApplicationError) as error:
        events.ledger_append_batch(organisation=partner.organisation, items=[bad])

    # then
    assert error.value.code == code
    assert LedgerEntry.objects.count() == before


def test_a_key_of_another_organisation_is_refused(partner):
    other = make_partner("castline", role="die_caster")
    item = signed(partner, object_event(4))

    with pytest.raises(ApplicationError) as error:
        events.ledger_append(
            organisation=other.organisation, document=item.document, signature=item.signature, key_id=item.key_id
        )

    assert error.value.code == "key_wrong_organisation"


def test_a_revoked_key_is_refused_and_its_revocation_is_a_ledger_fact(partner):
    # given
    services.signing_key_revoke(key=partner.client_key, reason="laptop lost")
    before = LedgerEntry.objects.count()
    item = signed(partner, object_event(5))

    # when
    with pytest.raises(ApplicationError) as error:
        events.ledger_append_batch(organisation=partner.organisation, items=[item])

    # then
    assert error.value.code == "key_revoked"
    assert LedgerEntry.objects.count() == before
    revocation = LedgerEntry.objects.order_by("-seq").first()
    assert revocation.kind == "key.revoked"
    assert json.loads(revocation.document)["keyId"] == partner.client_key.key_id
    assert SigningKey.objects.get(pk=partner.client_key.pk).revoked_seq == revocation.seq


def test_rotation_registers_a_new_custodial_key_then_revokes_the_old(partner):
    new_key = services.signing_key_rotate(key=partner.custodial_key)

    entry = events.ledger_append(organisation=partner.organisation, document=object_event(6))

    assert entry.key_id == new_key.key_id
    assert SigningKey.objects.get(pk=partner.custodial_key.pk).revoked_at is not None
    assert verify_ledger(processes=1).ok


def test_a_batch_with_one_bad_document_stores_none_and_names_it(partner):
    good = [signed(partner, object_event(n)) for n in range(10, 13)]
    bad = writer.SubmittedDocument(document=object_event(13), signature=good[0].signature, key_id=good[0].key_id)
    before = LedgerEntry.objects.count()

    with pytest.raises(ApplicationError) as error:
        events.ledger_append_batch(organisation=partner.organisation, items=[*good, bad])

    assert error.value.code == "signature_invalid"
    assert error.value.extra["index"] == 3
    assert LedgerEntry.objects.count() == before


def test_a_batch_is_appended_in_order_with_consecutive_seqs(partner):
    items = [signed(partner, object_event(n)) for n in range(20, 30)]

    entries = events.ledger_append_batch(organisation=partner.organisation, items=items)

    seqs = [e.seq for e in entries]
    assert seqs == list(range(seqs[0], seqs[0] + 10))
    for previous, entry in itertools.pairwise(entries):
        assert entry.prev_hash == previous.entry_hash
    assert verify_ledger(processes=1).ok


def test_custodial_private_keys_are_encrypted_at_rest(partner):
    key = SigningKey.objects.get(pk=partner.custodial_key.pk)
    blob = bytes(key.encrypted_private_key)
    private_key = decrypt_private_key(blob, key_id=key.key_id)

    assert private_key_raw(private_key) not in blob
    assert SigningKey.objects.get(pk=partner.client_key.pk).encrypted_private_key is None
    with override_settings(KEY_ENCRYPTION_KEY="another key"), pytest.raises(ApplicationError) as error:
        decrypt_private_key(blob, key_id=key.key_id)
    assert error.value.code == "custodial_key_unreadable"
    with pytest.raises(ApplicationError):
        decrypt_private_key(blob, key_id=partner.client_key.key_id)


def test_an_organisation_without_a_custodial_key_must_sign_itself(db):
    organisation = services.organisation_create(slug="oem-one", name="OEM One", role="oem")

    with pytest.raises(ApplicationError) as error:
        events.ledger_append(organisation=organisation, document=object_event(7))

    assert error.value.code == "custodial_key_missing"


def test_checkpoint_signs_the_current_head_once(partner):
    first = services.ledger_checkpoint_create()
    again = services.ledger_checkpoint_create()
    events.ledger_append(organisation=partner.organisation, document=object_event(8))
    later = services.ledger_checkpoint_create()

    assert again.pk == first.pk
    assert later.tree_size == first.tree_size + 1
    assert later.note.splitlines()[1] == str(later.tree_size)


def test_signature_over_canonical_form_ignores_key_order(partner):
    document = object_event(9)
    reordered = dict(reversed(list(document.items())))
    signature = b64encode(sign_document(partner.private_key, document))

    entry = events.ledger_append(
        organisation=partner.organisation, document=reordered, signature=signature, key_id=partner.client_key.key_id
    )

    assert entry.signature == signature
    assert connection.vendor in {"postgresql", "sqlite"}


def test_the_same_event_twice_is_refused_with_its_hash_and_nothing_is_stored(partner):
    # given: an event in the ledger, and the count of what is stored
    first = events.ledger_append(organisation=partner.organisation, document=object_event(7))
    before = (LedgerEntry.objects.count(), EpcisEvent.objects.count())
    again = object_event(7, eventID="urn:uuid:7d1f0c86-6a8e-4f0e-9d36-2f4b1f3a0c01")

    # when: the same event (another eventID: the canonical hash leaves it out) comes again, in a batch
    with pytest.raises(ApplicationError) as caught:
        events.ledger_append_batch(
            organisation=partner.organisation,
            items=[writer.SubmittedDocument(document=object_event(8)), writer.SubmittedDocument(document=again)],
        )

    # then: 409 naming the stored event and where it sits in the batch; nothing of the batch is stored
    error = caught.value
    assert (error.code, error.status, error.extra["index"]) == ("event_duplicate", 409, 1)
    assert error.extra["eventHash"] == EpcisEvent.objects.get(entry_id=first.seq).event_hash
    assert f"entry {first.seq}" in error.message
    assert (LedgerEntry.objects.count(), EpcisEvent.objects.count()) == before


def test_a_duplicate_within_one_batch_and_a_taken_event_id_are_named(partner):
    named = "urn:uuid:0b5e3a52-36c4-4a53-9a43-6c1f8e2d9b10"
    events.ledger_append(organisation=partner.organisation, document=object_event(1, eventID=named))
    before = LedgerEntry.objects.count()

    with pytest.raises(ApplicationError) as twice:
        events.ledger_append_batch(
            organisation=partner.organisation,
            items=[writer.SubmittedDocument(document=object_event(2)) for _ in range(2)],
        )
    other = object_event(3, eventID=named)
    with pytest.raises(ApplicationError) as taken:
        events.ledger_append(organisation=partner.organisation, document=other)

    assert (twice.value.code, twice.value.extra["index"]) == ("event_duplicate", 0)
    assert (taken.value.code, taken.value.status, taken.value.extra["eventID"]) == ("event_id_taken", 409, named)
    assert LedgerEntry.objects.count() == before


def test_a_large_batch_checked_on_every_core_names_its_first_bad_signature(partner):
    # given: 150 client-signed events (checked in chunks on the signature pool), two of them
    # in different chunks carrying another document's signature
    items = [signed(partner, object_event(n)) for n in range(100, 250)]
    assert len(items) > writer.PARALLEL_VERIFY_THRESHOLD
    for position in (130, 70):
        items[position] = writer.SubmittedDocument(
            document=items[position].document, signature=items[0].signature, key_id=items[0].key_id
        )
    before = LedgerEntry.objects.count()

    with pytest.raises(ApplicationError) as error:
        events.ledger_append_batch(organisation=partner.organisation, items=items)

    assert (error.value.code, error.value.extra["index"]) == ("signature_invalid", 70)
    assert LedgerEntry.objects.count() == before
    # and the same batch with good signatures is stored whole, every event indexed by its hash
    items[70], items[130] = signed(partner, object_event(170)), signed(partner, object_event(230))
    entries = events.ledger_append_batch(organisation=partner.organisation, items=items)
    assert EpcisEvent.objects.filter(entry_id__in=[e.seq for e in entries]).count() == 150
    first = entries[0]
    assert EpcisEvent.objects.get(entry_id=first.seq).event_hash == event_hash(json.loads(first.document))
