"""An attacker with database access (triggers switched off) rewrites history; verify names it.

Each test tampers with the rows directly, then checks that ``verify_ledger`` reports
the exact ``seq`` and reason, and that an untouched ledger verifies clean.
"""

import base64
import json

import pytest
from django.core.management import call_command

from tests.factories import object_event, signed
from traceability import events, services
from traceability.ledger.canonical import canonical_json, sha256
from traceability.ledger.chain import EntryHeader
from traceability.ledger.signing import b64encode, generate_private_key, public_key_raw, sign_bytes
from traceability.models import Checkpoint, LedgerEntry
from traceability.verification import verify_ledger

# Committed data: verification reads it from worker processes with their own connections.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ledger(partner):
    """Twenty partner events (half client-signed, half custodial) and two checkpoints."""
    for number in range(20):
        if number % 2:
            item = signed(partner, object_event(number))
            events.ledger_append(
                organisation=partner.organisation, document=item.document, signature=item.signature, key_id=item.key_id
            )
        else:
            events.ledger_append(organisation=partner.organisation, document=object_event(number))
        if number == 9:
            services.ledger_checkpoint_create()
    services.ledger_checkpoint_create()
    return partner


def failures(report) -> set[tuple[int, str]]:
    return {(f.seq, f.code) for f in report.failures}


def seq_of_event(number: int) -> int:
    return LedgerEntry.objects.filter(document__contains=f"TESTVIN{number:010d}").values_list("seq", flat=True).get()


def test_an_untouched_ledger_verifies_on_one_and_on_several_processes(ledger):
    single = verify_ledger(processes=1)
    several = verify_ledger(processes=2)

    assert single.ok and several.ok
    assert single.entries == several.entries == LedgerEntry.objects.count()
    assert single.root_hash == several.root_hash == Checkpoint.objects.latest().root_hash


def test_a_changed_document_is_named(ledger, tamper):
    seq = seq_of_event(4)
    tamper(
        "UPDATE traceability_ledgerentry SET document = replace(document, 'OBSERVE', 'DELETE') WHERE seq = %s", [seq]
    )

    report = verify_ledger(processes=2)

    assert failures(report) == {(seq, "digest_mismatch")}


def test_a_changed_document_with_a_recomputed_digest_fails_its_signature_and_chain(ledger, tamper):
    seq = seq_of_event(5)
    entry = LedgerEntry.objects.get(seq=seq)
    forged = entry.document.replace("OBSERVE", "DELETE")
    tamper(
        "UPDATE traceability_ledgerentry SET document = %s, digest = %s WHERE seq = %s",
        [forged, sha256(forged.encode()).hex(), seq],
    )

    report = verify_ledger(processes=2)

    assert (seq, "signature_invalid") in failures(report)
    assert (seq, "entry_hash_mismatch") in failures(report)


def test_a_changed_signature_is_named(ledger, tamper):
    seq = seq_of_event(6)
    other = LedgerEntry.objects.get(seq=seq_of_event(8))
    tamper("UPDATE traceability_ledgerentry SET signature = %s WHERE seq = %s", [other.signature, seq])

    report = verify_ledger(processes=2)

    assert (seq, "signature_invalid") in failures(report)
    assert (seq, "entry_hash_mismatch") in failures(report)


def test_a_deleted_entry_is_named(ledger, tamper):
    seq = seq_of_event(7)
    tamper("DELETE FROM traceability_ledgerentry WHERE seq = %s", [seq])

    report = verify_ledger(processes=2)

    assert (seq + 1, "entries_missing") in failures(report)
    assert (seq + 1, "chain_broken") in failures(report)
    assert any(code == "checkpoint_root_mismatch" for _, code in failures(report))


def test_two_swapped_entries_are_named(ledger, tamper):
    first = seq_of_event(2)
    second = first + 1
    tamper("UPDATE traceability_ledgerentry SET seq = -1 WHERE seq = %s", [first])
    tamper("UPDATE traceability_ledgerentry SET seq = %s WHERE seq = %s", [first, second])
    tamper("UPDATE traceability_ledgerentry SET seq = %s WHERE seq = -1", [second])

    report = verify_ledger(processes=2)

    found = failures(report)
    assert (first, "entry_hash_mismatch") in found
    assert (first, "chain_broken") in found
    assert (second, "entry_hash_mismatch") in found
    assert (second, "chain_broken") in found


def test_a_forged_entry_appended_with_a_correct_chain_is_named(ledger, tamper):
    # given: an attacker appends an entry that links correctly, signed by a key of their own
    head = LedgerEntry.objects.order_by("-seq").first()
    document = canonical_json(object_event(99))
    attacker = generate_private_key()
    header = EntryHeader(
        seq=head.seq + 1,
        kind="event",
        organisation="nordic-remelt",
        digest=sha256(document),
        key_id=ledger.client_key.key_id,
        signature=sign_bytes(attacker, document),
        prev_hash=bytes.fromhex(head.entry_hash),
        recorded_at=head.recorded_at,
    )
    tamper(
        "INSERT INTO traceability_ledgerentry (seq, kind, organisation_id, document, digest, key_id, signature, "
        "prev_hash, entry_hash, recorded_at) VALUES (%s, 'event', %s, %s, %s, %s, %s, %s, %s, %s)",
        [
            header.seq,
            ledger.organisation.pk,
            document.decode(),
            header.digest.hex(),
            header.key_id,
            b64encode(header.signature),
            head.entry_hash,
            header.entry_hash().hex(),
            head.recorded_at,
        ],
    )

    # when
    report = verify_ledger(processes=2)

    # then
    assert failures(report) >= {(header.seq, "signature_invalid")}


def test_a_forged_entry_inserted_in_the_middle_is_named(ledger, tamper):
    seq = seq_of_event(3)
    last = LedgerEntry.objects.order_by("-seq").values_list("seq", flat=True).first()
    for moving in range(last, seq - 1, -1):
        tamper("UPDATE traceability_ledgerentry SET seq = seq + 1 WHERE seq = %s", [moving])
    original = LedgerEntry.objects.get(seq=seq + 1)
    tamper(
        "INSERT INTO traceability_ledgerentry (seq, kind, organisation_id, document, digest, key_id, signature, "
        "prev_hash, entry_hash, recorded_at) SELECT %s, kind, organisation_id, document, digest, key_id, signature, "
        "prev_hash, %s, recorded_at FROM traceability_ledgerentry WHERE seq = %s",
        [seq, "00" * 32, seq + 1],
    )

    report = verify_ledger(processes=2)

    found = failures(report)
    assert (seq, "entry_hash_mismatch") in found
    assert (seq + 1, "chain_broken") in found
    assert original.seq == seq + 1


def test_a_removed_tail_is_caught_by_a_trusted_checkpoint(ledger, tamper, tmp_path):
    # given: a reader kept the latest checkpoint
    trusted = Checkpoint.objects.latest()
    kept = tmp_path / "checkpoint.txt"
    kept.write_text(trusted.note)
    cut = trusted.tree_size - 5
    # when: the attacker deletes the last five entries, their Merkle nodes and the checkpoint
    tamper("DELETE FROM traceability_ledgerentry WHERE seq > %s", [cut])
    tamper("DELETE FROM traceability_checkpoint WHERE tree_size > %s", [cut])

    # then: alone, the shortened ledger is self-consistent; the trusted checkpoint exposes it
    assert verify_ledger(processes=2).ok
    report = verify_ledger(processes=2, trusted_checkpoint=kept.read_text())
    assert failures(report) == {(cut + 1, "tail_removed")}


def test_a_replaced_public_key_is_named(ledger, tamper):
    attacker = public_key_raw(generate_private_key())
    tamper("UPDATE traceability_signingkey SET public_key = %s WHERE key_id = %s", [attacker, ledger.client_key.key_id])

    report = verify_ledger(processes=2)

    assert failures(report) == {(ledger.client_key.registered_seq, "key_table_mismatch")}


def test_a_public_key_replaced_inside_its_registration_entry_is_named(ledger, tamper):
    seq = ledger.client_key.registered_seq
    registration = json.loads(LedgerEntry.objects.get(seq=seq).document)
    registration["publicKey"] = base64.b64encode(public_key_raw(generate_private_key())).decode()
    tamper(
        "UPDATE traceability_ledgerentry SET document = %s WHERE seq = %s", [canonical_json(registration).decode(), seq]
    )

    report = verify_ledger(processes=2)

    assert (seq, "digest_mismatch") in failures(report)


def test_a_changed_checkpoint_and_merkle_node_are_named(ledger, tamper):
    checkpoint = Checkpoint.objects.order_by("tree_size").first()
    tamper("UPDATE traceability_checkpoint SET root_hash = %s WHERE tree_size = %s", ["ab" * 32, checkpoint.tree_size])
    # the largest perfect subtree: part of every later root (a node off that border only
    # spoils proofs, which a client checks against a signed checkpoint anyway)
    top_level = LedgerEntry.objects.count().bit_length() - 1
    tamper("UPDATE traceability_merklenode SET hash = %s WHERE level = %s AND index = 0", [bytes(32), top_level])

    report = verify_ledger(processes=2)

    found = failures(report)
    assert (checkpoint.tree_size, "checkpoint_root_mismatch") in found
    assert (checkpoint.tree_size, "checkpoint_note_mismatch") in found
    assert any(code == "merkle_cache_mismatch" for _, code in found)


def test_the_command_exits_non_zero_and_lists_each_seq(ledger, tamper, capsys):
    seq = seq_of_event(4)
    tamper(
        "UPDATE traceability_ledgerentry SET document = replace(document, 'OBSERVE', 'DELETE') WHERE seq = %s", [seq]
    )

    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_ledger", "--json")

    assert exit_info.value.code == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert {"seq": seq, "code": "digest_mismatch"}.items() <= report["failures"][0].items()


def test_the_command_exits_zero_with_a_summary(ledger, capsys, tmp_path):
    kept = tmp_path / "checkpoint.txt"
    kept.write_text(Checkpoint.objects.latest().note)

    call_command("verify_ledger", "--trusted-checkpoint", str(kept))

    out = capsys.readouterr().out
    assert out.startswith("OK: ")
    assert f"{LedgerEntry.objects.count()} entries" in out
