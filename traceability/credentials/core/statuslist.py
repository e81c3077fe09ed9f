"""W3C Bitstring Status List v1.0: the bits, their encoding and the entries that point at them.

§2.1 defines the ``BitstringStatusListEntry`` a credential carries, §2.2 the list credential:
its bitstring is at least 131,072 bits (16 KiB), so that one credential hides among many (herd
privacy), and its ``encodedList`` is the GZIP of the bitstring in multibase base64url (``u``,
no padding). §3 (algorithms): bit 0 is the left-most (most significant) bit of the first byte. The
GZIP header's time is fixed at zero so one bitstring always encodes to the same text.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Mapping
from typing import Any

from traceability.credentials.core.errors import CredentialError
from traceability.credentials.core.multibase import multibase_base64url, multibase_base64url_decode

MINIMUM_BITS = 131_072
PURPOSE_REVOCATION = "revocation"
PURPOSE_SUSPENSION = "suspension"
PURPOSES = (PURPOSE_REVOCATION, PURPOSE_SUSPENSION)
ENTRY_TYPE = "BitstringStatusListEntry"
LIST_TYPE = "BitstringStatusList"
LIST_CREDENTIAL_TYPE = "BitstringStatusListCredential"
# A list larger than this is refused when decoded: bounds the memory one GZIP may expand to.
MAXIMUM_BITS = 16 * MINIMUM_BITS


def empty_bitstring(bits: int = MINIMUM_BITS) -> bytearray:
    if bits < MINIMUM_BITS or bits % 8:
        raise CredentialError("status_list_size", f"a status list has at least {MINIMUM_BITS} bits, in whole bytes")
    return bytearray(bits // 8)


def bit_get(bitstring: bytes | bytearray, index: int) -> bool:
    if not 0 <= index < len(bitstring) * 8:
        raise CredentialError("status_index_out_of_range", f"status index {index} is outside the list")
    return bool(bitstring[index // 8] & (0x80 >> (index % 8)))


def bit_set(bitstring: bytearray, index: int, value: bool) -> None:
    if not 0 <= index < len(bitstring) * 8:
        raise CredentialError("status_index_out_of_range", f"status index {index} is outside the list")
    mask = 0x80 >> (index % 8)
    if value:
        bitstring[index // 8] |= mask
    else:
        bitstring[index // 8] &= ~mask & 0xFF


def encode_list(bitstring: bytes | bytearray) -> str:
    return multibase_base64url(gzip.compress(bytes(bitstring), mtime=0))


def decode_list(encoded: str) -> bytes:
    compressed = multibase_base64url_decode(encoded)
    try:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        bitstring = inflater.decompress(compressed, MAXIMUM_BITS // 8 + 1)
    except zlib.error as exc:
        raise CredentialError("status_list_malformed", "the encodedList is not GZIP data") from exc
    if len(bitstring) > MAXIMUM_BITS // 8:
        raise CredentialError("status_list_too_large", f"the status list exceeds {MAXIMUM_BITS} bits")
    if len(bitstring) * 8 < MINIMUM_BITS:
        raise CredentialError("status_list_size", f"a status list has at least {MINIMUM_BITS} bits")
    return bitstring


def status_entry(*, list_url: str, index: int, purpose: str) -> dict[str, str]:
    """A ``credentialStatus`` entry (§2.1): the index is a string of a base-10 integer."""
    return {
        "id": f"{list_url}#{index}",
        "type": ENTRY_TYPE,
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def status_list_credential(
    *, list_url: str, issuer: str, purpose: str, bitstring: bytes | bytearray, valid_from: str
) -> dict[str, Any]:
    """The unsecured ``BitstringStatusListCredential`` (§2.2) of one list."""
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": list_url,
        "type": ["VerifiableCredential", LIST_CREDENTIAL_TYPE],
        "issuer": issuer,
        "validFrom": valid_from,
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": LIST_TYPE,
            "statusPurpose": purpose,
            "encodedList": encode_list(bitstring),
        },
    }


def status_of(entry: Mapping[str, Any], list_credential: Mapping[str, Any]) -> bool:
    """Whether the bit ``entry`` points at is set in ``list_credential`` (already verified by the caller)."""
    if entry.get("type") != ENTRY_TYPE:
        raise CredentialError("status_entry_invalid", f"the status entry is not a {ENTRY_TYPE}")
    if list_credential.get("id") != entry.get("statusListCredential"):
        raise CredentialError("status_list_mismatch", "the status list is not the one the entry names")
    subject = list_credential.get("credentialSubject")
    if not isinstance(subject, dict) or subject.get("statusPurpose") != entry.get("statusPurpose"):
        raise CredentialError("status_purpose_mismatch", "the status list serves another purpose")
    index_text = entry.get("statusListIndex")
    if not isinstance(index_text, str) or not (index_text.isascii() and index_text.isdigit()):
        raise CredentialError("status_entry_invalid", "statusListIndex must be a base-10 integer string")
    return bit_get(decode_list(str(subject.get("encodedList", ""))), int(index_text))
