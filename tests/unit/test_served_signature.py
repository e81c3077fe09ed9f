"""The platform's signature over a document as served: any changed value or name fails it, reformatting does not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from traceability.ledger.canonical import canonical_json
from traceability.ledger.errors import LedgerError
from traceability.ledger.served import FIELD, sign_served, verify_served
from traceability.ledger.signing import b64encode, generate_private_key, public_key_raw

KEY = generate_private_key()
PUBLIC = public_key_raw(KEY)
OTHER = public_key_raw(generate_private_key())
DOCUMENT = {
    "passportId": "urn:looptrace:passport:7",
    "successors": ["urn:looptrace:passport:9"],
    "ledgerProof": {"witnessed": True, "cosignatures": 2, "checkpointSize": 57},
    "passport": {"mass": 301.5, "chemistry": "NMC811", "shares": [0.12, 0.04], "ceased": None},
}


def signed() -> dict[str, Any]:
    return sign_served(DOCUMENT, public_key=PUBLIC, private_key=KEY, signed_at=datetime(2026, 12, 3, tzinfo=UTC))


def paths(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for name, item in value.items():
            yield from paths(item, (*at, name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*at, index))
    else:
        yield at


def changed(document: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    copy = json.loads(json.dumps(document))
    *parents, last = path
    holder = copy
    for step in parents:
        holder = holder[step]
    value = holder[last]
    holder[last] = (
        not value
        if isinstance(value, bool)
        else value + 1
        if isinstance(value, int | float)
        else "x"
        if value is None
        else value[:-1] + ("A" if value[-1:] != "A" else "B")
    )
    return copy


def test_the_signature_verifies_and_survives_reformatting() -> None:
    document = signed()
    assert verify_served(document, [OTHER, PUBLIC])
    pretty = json.loads(json.dumps(dict(reversed(document.items())), indent=4))
    assert verify_served(pretty, [PUBLIC])


@pytest.mark.parametrize("path", list(paths(signed())), ids=lambda path: "/".join(map(str, path)))
def test_every_changed_value_fails_it(path: tuple[Any, ...]) -> None:
    with pytest.raises(LedgerError):
        verify_served(changed(signed(), path), [PUBLIC])


def test_a_renamed_added_or_dropped_name_fails_it() -> None:
    renamed = signed()
    renamed["successor"] = renamed.pop("successors")
    added = {**signed(), "note": "checked"}
    dropped = signed()
    del dropped["ledgerProof"]["witnessed"]
    for document in (renamed, added, dropped):
        with pytest.raises(LedgerError):
            verify_served(document, [PUBLIC])


def test_only_the_given_keys_count_and_the_signature_must_be_there() -> None:
    with pytest.raises(LedgerError, match="not one of the log's keys"):
        verify_served(signed(), [OTHER])
    with pytest.raises(LedgerError, match="no servedSignature"):
        verify_served(DOCUMENT, [PUBLIC])


def test_a_signature_over_the_bare_document_is_not_a_served_signature() -> None:
    # the context line separates it from a ledger fact's signature, which covers the bare JCS bytes
    document = signed()
    unsigned = {**document, FIELD: {k: v for k, v in document[FIELD].items() if k != "signature"}}
    bare = b64encode(KEY.sign(canonical_json(unsigned)))
    with pytest.raises(LedgerError, match="does not verify"):
        verify_served({**document, FIELD: {**document[FIELD], "signature": bare}}, [PUBLIC])


def test_a_signature_changed_only_in_base64s_spare_bits_fails_it() -> None:
    # 64 bytes end in one byte of a 3-byte group: the last character before "==" holds 4 spare bits
    document = signed()
    text = document[FIELD]["signature"]
    assert text.endswith("==")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    spare = alphabet[alphabet.index(text[-3]) ^ 1]
    document[FIELD]["signature"] = text[:-3] + spare + "=="
    with pytest.raises(LedgerError, match="not canonical base64"):
        verify_served(document, [PUBLIC])
