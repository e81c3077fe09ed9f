"""Multibase (base58btc ``z``, base64url ``u``) and the Ed25519 Multikey and JWK encodings.

Sources: the Multibase draft (draft-multiformats-multibase) for the ``z`` and ``u`` prefixes;
the multicodec table for ``ed25519-pub`` = 0xed, written as the unsigned varint ``0xed 0x01``;
W3C Controlled Identifiers 1.0 §2.2.2 (Multikey) and RFC 8037 §2 (OKP JWK, ``crv`` Ed25519).
"""

import base64
import binascii

from traceability.credentials.core.errors import CredentialError

BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_INDEX = {character: value for value, character in enumerate(BASE58_ALPHABET)}
# Encoding works on 10 digits at a time (58**10 < 2**59), two by two from a table: a 64-byte
# signature costs 9 big-number divisions instead of 88.
_BASE58_PAIRS = [high + low for high in BASE58_ALPHABET for low in BASE58_ALPHABET]
_BASE58_CHUNK = 58**10
ED25519_PUB_PREFIX = b"\xed\x01"
ED25519_PUBLIC_KEY_LENGTH = 32


def base58btc_encode(data: bytes) -> str:
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    pairs = []
    while number:
        number, chunk = divmod(number, _BASE58_CHUNK)
        for _ in range(5):
            chunk, pair = divmod(chunk, 58 * 58)
            pairs.append(_BASE58_PAIRS[pair])
    # The last chunk is padded with zero digits ("1"), which are not part of the number.
    return "1" * zeros + "".join(reversed(pairs)).lstrip("1")


def base58btc_decode(text: str) -> bytes:
    number = 0
    for character in text:
        value = _BASE58_INDEX.get(character)
        if value is None:
            raise CredentialError("multibase_malformed", "not base58btc text")
        number = number * 58 + value
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def base64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 4648 §5, as JOSE and Multibase ``u`` use it)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def base64url_decode(text: str) -> bytes:
    """The bytes of unpadded base64url text, which must be the one text that encodes them.

    The last character of a text whose length is not a multiple of 4 has unused low bits
    (RFC 4648 §3.5); a decoder that ignores them gives the same bytes for up to 16 texts, so a
    signature (or any signed part) with changed unused bits would pass as the one signed.
    """
    if not isinstance(text, str) or "=" in text:
        raise CredentialError("base64url_malformed", "not unpadded base64url text")
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CredentialError("base64url_malformed", "not unpadded base64url text") from exc
    if base64url_encode(data) != text:
        raise CredentialError("base64url_malformed", "not canonical base64url: its unused trailing bits are set")
    return data


def multibase_base58btc(data: bytes) -> str:
    return "z" + base58btc_encode(data)


def multibase_base58btc_decode(text: str) -> bytes:
    if not isinstance(text, str) or not text.startswith("z"):
        raise CredentialError("multibase_malformed", "expected a base58btc multibase value ('z')")
    return base58btc_decode(text[1:])


def multibase_base64url(data: bytes) -> str:
    return "u" + base64url_encode(data)


def multibase_base64url_decode(text: str) -> bytes:
    if not isinstance(text, str) or not text.startswith("u"):
        raise CredentialError("multibase_malformed", "expected a base64url multibase value ('u')")
    return base64url_decode(text[1:])


def ed25519_multikey(public_key: bytes) -> str:
    """``publicKeyMultibase`` of a raw Ed25519 public key: ``z6Mk...``."""
    if len(public_key) != ED25519_PUBLIC_KEY_LENGTH:
        raise CredentialError("public_key_invalid", "an Ed25519 public key has 32 bytes")
    return multibase_base58btc(ED25519_PUB_PREFIX + public_key)


def ed25519_from_multikey(text: str) -> bytes:
    data = multibase_base58btc_decode(text)
    if not data.startswith(ED25519_PUB_PREFIX) or len(data) != len(ED25519_PUB_PREFIX) + ED25519_PUBLIC_KEY_LENGTH:
        raise CredentialError("public_key_invalid", "not an ed25519-pub Multikey")
    return data[len(ED25519_PUB_PREFIX) :]


def ed25519_jwk(public_key: bytes) -> dict[str, str]:
    if len(public_key) != ED25519_PUBLIC_KEY_LENGTH:
        raise CredentialError("public_key_invalid", "an Ed25519 public key has 32 bytes")
    return {"kty": "OKP", "crv": "Ed25519", "x": base64url_encode(public_key)}


def ed25519_from_jwk(jwk: object) -> bytes:
    if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "d" in jwk:
        raise CredentialError("public_key_invalid", "not a public OKP Ed25519 JWK")
    raw = base64url_decode(str(jwk.get("x", "")))
    if len(raw) != ED25519_PUBLIC_KEY_LENGTH:
        raise CredentialError("public_key_invalid", "an Ed25519 public key has 32 bytes")
    return raw
