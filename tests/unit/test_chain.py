import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from traceability.ledger.canonical import canonical_json, sha256
from traceability.ledger.chain import (
    GENESIS_PREV,
    ChainWalker,
    EntryHeader,
    KeyRing,
    format_time,
    key_registration_document,
    key_revocation_document,
    parse_time,
    verify_entry,
)
from traceability.ledger.errors import LedgerError
from traceability.ledger.signing import generate_private_key, key_id, public_key_raw, sign_bytes

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


class Ledger:
    """A tiny in-memory ledger built with the core alone."""

    def __init__(self):
        self.platform = generate_private_key()
        self.keyring = KeyRing()
        self.entries: list[tuple[EntryHeader, bytes]] = []
        self.append(
            "looptrace",
            "key.registered",
            key_registration_document(
                organisation="looptrace", public_key=public_key_raw(self.platform), valid_from=T0, custody="platform"
            ),
            self.platform,
        )

    def append(self, organisation, kind, document, private_key, at=None):
        data = canonical_json(document)
        header = EntryHeader(
            seq=len(self.entries) + 1,
            kind=kind,
            organisation=organisation,
            digest=sha256(data),
            key_id=key_id(public_key_raw(private_key)),
            signature=sign_bytes(private_key, data),
            prev_hash=self.entries[-1][0].entry_hash() if self.entries else GENESIS_PREV,
            recorded_at=at or T0 + timedelta(seconds=len(self.entries)),
        )
        self.keyring.apply(header.seq, kind, organisation, document)
        self.entries.append((header, data))
        return header, data

    def register(self, organisation, private_key, valid_from=T0):
        return self.append(
            "looptrace",
            "key.registered",
            key_registration_document(
                organisation=organisation,
                public_key=public_key_raw(private_key),
                valid_from=valid_from,
                custody="client",
            ),
            self.platform,
        )


def test_time_format_round_trips_and_rejects_naive_times():
    moment = datetime(2026, 11, 23, 19, 43, 8, 123456, tzinfo=UTC)
    assert format_time(moment) == "2026-11-23T19:43:08.123456Z"
    assert parse_time(format_time(moment)) == moment
    with pytest.raises(LedgerError):
        format_time(datetime(2026, 1, 1))
    with pytest.raises(LedgerError):
        parse_time("2026-11-23")


def test_genesis_is_self_signed_and_partner_entries_verify():
    ledger = Ledger()
    partner = generate_private_key()
    ledger.register("remelter", partner)
    ledger.append("remelter", "event", {"type": "ObjectEvent"}, partner)

    for entry_header, entry_data in ledger.entries:
        verify_entry(entry_header, entry_data, ledger.keyring)
    assert ledger.keyring.platform == "looptrace"


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("unregistered", "key_unknown"),
        ("other-organisation", "key_wrong_organisation"),
        ("before-valid-from", "key_not_yet_valid"),
        ("after-revocation", "key_revoked"),
        ("partner-registers-a-key", "key_registrar_invalid"),
    ],
)
def test_key_rules(case, code):
    ledger = Ledger()
    partner = generate_private_key()
    with pytest.raises(LedgerError) as error:
        if case == "unregistered":
            verify_entry(*ledger.append("remelter", "event", {"type": "ObjectEvent"}, partner), ledger.keyring)
        elif case == "other-organisation":
            ledger.register("remelter", partner)
            verify_entry(*ledger.append("castline", "event", {"type": "ObjectEvent"}, partner), ledger.keyring)
        elif case == "before-valid-from":
            ledger.register("remelter", partner, valid_from=T0 + timedelta(days=1))
            verify_entry(*ledger.append("remelter", "event", {"type": "ObjectEvent"}, partner), ledger.keyring)
        elif case == "after-revocation":
            ledger.register("remelter", partner)
            ledger.append(
                "looptrace",
                "key.revoked",
                key_revocation_document(
                    organisation="remelter",
                    revoked_key_id=key_id(public_key_raw(partner)),
                    revoked_at=T0,
                    reason="lost",
                ),
                ledger.platform,
            )
            verify_entry(*ledger.append("remelter", "event", {"type": "ObjectEvent"}, partner), ledger.keyring)
        elif case == "partner-registers-a-key":
            ledger.register("remelter", partner)
            ledger.append(
                "remelter",
                "key.registered",
                key_registration_document(
                    organisation="remelter",
                    public_key=public_key_raw(generate_private_key()),
                    valid_from=T0,
                    custody="client",
                ),
                partner,
            )
    assert error.value.code == code


def test_a_changed_document_or_signature_fails():
    ledger = Ledger()
    partner = generate_private_key()
    ledger.register("remelter", partner)
    header, data = ledger.append("remelter", "event", {"type": "ObjectEvent", "n": 1}, partner)

    with pytest.raises(LedgerError, match="digest_mismatch"):
        verify_entry(header, data.replace(b"1", b"2"), ledger.keyring)
    forged = dataclasses.replace(header, signature=bytes(64))
    with pytest.raises(LedgerError, match="signature_invalid"):
        verify_entry(forged, data, ledger.keyring)


def test_chain_walker_names_gaps_reorders_and_broken_links():
    walker = ChainWalker()
    h1, h2, h3 = sha256(b"1"), sha256(b"2"), sha256(b"3")
    assert walker.feed(1, GENESIS_PREV, h1, h1) == []
    gap = walker.feed(3, h2, h3, h3)
    assert {f.code for f in gap} == {"entries_missing", "chain_broken"}
    assert {f.code for f in walker.feed(2, h3, h2, h1)} == {"seq_out_of_order", "entry_hash_mismatch"}


@given(
    organisation=st.text(min_size=1, max_size=20),
    kind=st.text(max_size=20),
    seq=st.integers(min_value=1, max_value=2**53 - 1),  # the largest integer JSON keeps exact
    key=st.text(max_size=70),
)
def test_the_header_fast_path_is_rfc8785(organisation, kind, seq, key):
    header = EntryHeader(
        seq=seq,
        kind=kind,
        organisation=organisation,
        digest=bytes(32),
        key_id=key,
        signature=bytes(64),
        prev_hash=GENESIS_PREV,
        recorded_at=T0,
    )
    assert header.leaf_data() == rfc8785.dumps(header.as_json())
