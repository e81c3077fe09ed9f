"""GS1 identifiers in their constrained canonical GS1 Digital Link form (CBV 2.0 event hash, rules 17-18).

EPC URIs (``urn:epc:id:``), EPC class URIs (``urn:epc:class:``) and EPC pattern URIs
(``urn:epc:idpat:``) become ``https://id.gs1.org/...`` URIs following the EPC Tag Data
Standard's mapping of each scheme to its GS1 element string; a GS1 Digital Link URI on
any domain is re-rooted at ``https://id.gs1.org``, loses its query string and keeps only
the finest level of identification. Anything else is no GS1 identifier: ``None``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

CANONICAL_ROOT = "https://id.gs1.org"

# Characters GS1 Digital Link percent-encodes in a path segment that EPC URIs leave as they are.
_PERCENT_ENCODED = {"!": "%21", "(": "%28", ")": "%29", "*": "%2A", "+": "%2B", ",": "%2C", ":": "%3A"}

# Primary-key AIs and their short names in uncompressed Digital Link paths.
_KEY_ALIASES = {
    "gtin": "01",
    "itip": "8006",
    "cpid": "8010",
    "gln": "414",
    "party": "417",
    "gsrnp": "8017",
    "gsrn": "8018",
    "gcn": "255",
    "sscc": "00",
    "gdti": "253",
    "ginc": "401",
    "gsin": "402",
    "grai": "8003",
    "giai": "8004",
}
_QUALIFIER_ALIASES = {"cpv": "22", "lot": "10", "ser": "21"}
_PRIMARY_KEYS = frozenset(_KEY_ALIASES.values()) | {"253"}
# Key qualifiers a constrained canonical URI may keep after its primary key.
_KEPT_QUALIFIERS = {"01": ("21", "10", "235"), "8006": ("21", "10"), "414": ("254",), "8010": ("8011",)}


def check_digit(digits: str) -> str:
    """The GS1 mod-10 check digit: weights 3 and 1 alternating from the rightmost digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def _encode(text: str) -> str:
    return "".join(_PERCENT_ENCODED.get(ch, ch) for ch in text)


def _split_company(body: str, parts: int) -> list[str] | None:
    pieces = body.split(".", parts - 1)
    if len(pieces) != parts or not pieces[0].isdigit() or not 6 <= len(pieces[0]) <= 12:
        return None
    return pieces


def _gtin(company: str, item: str) -> str | None:
    if not item.isdigit() or len(company) + len(item) != 13:
        return None
    digits = item[0] + company + item[1:]
    return digits + check_digit(digits)


def _numbered(company: str, reference: str, length: int) -> str | None:
    """Company prefix and reference with their check digit, when they add up to ``length`` digits."""
    if not reference.isdigit() or len(company) + len(reference) != length:
        return None
    digits = company + reference
    return digits + check_digit(digits)


def _sgtin(body: str) -> str | None:
    pieces = _split_company(body, 3)
    gtin = pieces and _gtin(pieces[0], pieces[1])
    return f"/01/{gtin}/21/{_encode(pieces[2])}" if pieces and gtin and pieces[2] else None


def _sscc(body: str) -> str | None:
    pieces = _split_company(body, 2)
    if not pieces or not pieces[1].isdigit() or len(pieces[0]) + len(pieces[1]) != 17:
        return None
    digits = pieces[1][0] + pieces[0] + pieces[1][1:]
    return f"/00/{digits}{check_digit(digits)}"


def _sgln(body: str) -> str | None:
    pieces = _split_company(body, 3)
    gln = pieces and _numbered(pieces[0], pieces[1], 12)
    if not pieces or not gln:
        return None
    return f"/414/{gln}" if pieces[2] == "0" else f"/414/{gln}/254/{_encode(pieces[2])}"


def _pgln(body: str) -> str | None:
    pieces = _split_company(body, 2)
    gln = pieces and _numbered(pieces[0], pieces[1], 12)
    return f"/417/{gln}" if gln else None


def _grai(body: str) -> str | None:
    pieces = _split_company(body, 3)
    grai = pieces and _numbered("0" + pieces[0], pieces[1], 13)
    return f"/8003/{grai}{_encode(pieces[2])}" if pieces and grai else None


def _giai(body: str) -> str | None:
    pieces = _split_company(body, 2)
    return f"/8004/{pieces[0]}{_encode(pieces[1])}" if pieces and pieces[1] else None


def _gsrn(ai: str, body: str) -> str | None:
    pieces = _split_company(body, 2)
    gsrn = pieces and _numbered(pieces[0], pieces[1], 17)
    return f"/{ai}/{gsrn}" if gsrn else None


def _gdti(body: str) -> str | None:
    pieces = _split_company(body, 3)
    gdti = pieces and _numbered(pieces[0], pieces[1], 12)
    return f"/253/{gdti}{_encode(pieces[2])}" if pieces and gdti else None


def _sgcn(body: str) -> str | None:
    pieces = _split_company(body, 3)
    sgcn = pieces and _numbered(pieces[0], pieces[1], 12)
    return f"/255/{sgcn}{pieces[2]}" if pieces and sgcn and pieces[2].isdigit() else None


def _cpi(body: str) -> str | None:
    pieces = _split_company(body, 3)
    return f"/8010/{_encode(pieces[0] + pieces[1])}/8011/{pieces[2]}" if pieces and pieces[2].isdigit() else None


def _ginc(body: str) -> str | None:
    pieces = _split_company(body, 2)
    return f"/401/{pieces[0]}{_encode(pieces[1])}" if pieces and pieces[1] else None


def _gsin(body: str) -> str | None:
    pieces = _split_company(body, 2)
    gsin = pieces and _numbered(pieces[0], pieces[1], 16)
    return f"/402/{gsin}" if gsin else None


def _itip(body: str) -> str | None:
    pieces = _split_company(body, 5)
    if not pieces or not (pieces[2].isdigit() and pieces[3].isdigit() and len(pieces[2]) == len(pieces[3]) == 2):
        return None
    gtin = _gtin(pieces[0], pieces[1])
    return f"/8006/{gtin}{pieces[2]}{pieces[3]}/21/{_encode(pieces[4])}" if gtin else None


def _upui(body: str) -> str | None:
    pieces = _split_company(body, 3)
    gtin = pieces and _gtin(pieces[0], pieces[1])
    return f"/01/{gtin}/235/{_encode(pieces[2])}" if pieces and gtin else None


def _lgtin(body: str) -> str | None:
    pieces = _split_company(body, 3)
    gtin = pieces and _gtin(pieces[0], pieces[1])
    return f"/01/{gtin}/10/{_encode(pieces[2])}" if pieces and gtin and pieces[2] else None


_ID_SCHEMES = {
    "sgtin": _sgtin,
    "sscc": _sscc,
    "sgln": _sgln,
    "pgln": _pgln,
    "grai": _grai,
    "giai": _giai,
    "gsrn": lambda body: _gsrn("8018", body),
    "gsrnp": lambda body: _gsrn("8017", body),
    "gdti": _gdti,
    "sgcn": _sgcn,
    "cpi": _cpi,
    "ginc": _ginc,
    "gsin": _gsin,
    "itip": _itip,
    "upui": _upui,
}


def _pattern(scheme: str, body: str) -> str | None:
    """EPC pattern URIs whose serial part is ``*``: the class-level key."""
    if not body.endswith(".*"):
        return None
    head = body[:-2]
    if scheme in ("sgtin", "upui"):
        pieces = _split_company(head, 2)
        gtin = pieces and _gtin(pieces[0], pieces[1])
        return f"/01/{gtin}" if gtin else None
    if scheme == "itip":
        pieces = _split_company(head, 4)
        gtin = pieces and _gtin(pieces[0], pieces[1])
        return f"/8006/{gtin}{pieces[2]}{pieces[3]}" if pieces and gtin else None
    if scheme in ("grai", "gdti", "sgcn"):
        pieces = _split_company(head, 2)
        company = "0" + pieces[0] if pieces and scheme == "grai" else pieces[0] if pieces else ""
        key = pieces and _numbered(company, pieces[1], 13 if scheme == "grai" else 12)
        ai = {"grai": "8003", "gdti": "253", "sgcn": "255"}[scheme]
        return f"/{ai}/{key}" if key else None
    if scheme == "cpi":
        pieces = _split_company(head, 2)
        return f"/8010/{_encode(pieces[0] + pieces[1])}" if pieces else None
    return None


def _from_epc_uri(uri: str) -> str | None:
    parts = uri.split(":", 4)
    if len(parts) != 5:
        return None
    _, _, kind, scheme, body = parts
    if kind == "id" and scheme in _ID_SCHEMES:
        path = _ID_SCHEMES[scheme](body)
    elif kind == "class" and scheme == "lgtin":
        path = _lgtin(body)
    elif kind == "idpat":
        path = _pattern(scheme, body)
    else:
        path = None
    return CANONICAL_ROOT + path if path else None


_DIGITS = re.compile(r"\d+")


def _from_digital_link(uri: str) -> str | None:
    parts = urlsplit(uri)
    segments = [s for s in parts.path.split("/") if s]
    start = next(
        (
            i
            for i, s in enumerate(segments)
            if _KEY_ALIASES.get(s, s) in _PRIMARY_KEYS and i + 1 < len(segments) and segments[i + 1][:4].isdigit()
        ),
        None,
    )
    if start is None:
        return None
    key = _KEY_ALIASES.get(segments[start], segments[start])
    value = segments[start + 1]
    if key == "01":
        if not _DIGITS.fullmatch(value) or len(value) not in (8, 12, 13, 14):
            return None
        value = value.zfill(14)
    qualifiers = {}
    rest = segments[start + 2 :]
    for i in range(0, len(rest) - 1, 2):
        qualifiers[_QUALIFIER_ALIASES.get(rest[i], rest[i])] = rest[i + 1]
    kept = [(ai, qualifiers[ai]) for ai in _KEPT_QUALIFIERS.get(key, ()) if ai in qualifiers]
    if key in ("01", "8006") and any(ai == "21" for ai, _ in kept):
        kept = [(ai, v) for ai, v in kept if ai != "10"]
    path = f"/{key}/{value}" + "".join(f"/{ai}/{v}" for ai, v in kept)
    return CANONICAL_ROOT + path


@lru_cache(maxsize=1 << 16)
def canonical_digital_link(uri: str) -> str | None:
    """The constrained canonical GS1 Digital Link URI of a GS1 identifier, or ``None`` for anything else.

    Cached: the event hash and the query index both ask, and locations repeat across events."""
    if uri.startswith("urn:epc:"):
        return _from_epc_uri(uri)
    if uri.startswith(("https://", "http://")):
        return _from_digital_link(uri)
    return None
