"""Strict JSON for request bodies: refused with a code before it can hurt what reads it later.

Python's ``json`` accepts ``NaN`` and ``Infinity``, turns ``1e309`` into ``inf``, recurses once per
nesting level (a body 5,000 deep exhausts the interpreter's stack) and keeps ``\\u0000`` and lone
surrogates, which PostgreSQL cannot store and UTF-8 cannot encode. ``loads`` refuses all of them.
No Django here: the DRF parser and any other reader of a body call it.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate

# Deepest nesting of arrays and objects a body may have. EPCIS 2.0 events nest about eight levels
# (event, sensorElementList, sensorReport, ...), PACT footprints about six; 64 leaves room for
# extensions and stays far below the interpreter's recursion limit (1,000 frames), which the
# parser, the JSON schema validator and RFC 8785 canonicalisation all spend once per level.
MAX_JSON_DEPTH = 64

# A JSON string token (escapes included), so brackets inside strings are not counted as nesting.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")
_DEPTH_CHANGE = {"[": 1, "{": 1, "]": -1, "}": -1}
# ``\u0000`` preceded by an even number of backslashes: an escaped NUL, not the text "\u0000".
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
# The escape of a UTF-16 surrogate (D800 to DFFF): only then can a string hold an unpaired one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class JsonBodyError(ValueError):
    """A body that is no acceptable JSON; ``code`` is stable and machine-readable."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def nesting_depth(text: str) -> int:
    """How deep arrays and objects nest in ``text``, counted without parsing it."""
    brackets = _BRACKETS.findall(_STRING.sub('""', text))
    return max(accumulate(_DEPTH_CHANGE[b] for b in brackets), default=0)


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise JsonBodyError("number_out_of_range", f"{text[:40]} is beyond the range of a 64-bit float")
    return number


def _no_constant(name: str) -> float:
    raise JsonBodyError("number_not_finite", f"{name} is not a JSON number")


def loads(raw: bytes | str) -> object:
    """The JSON value of ``raw`` (UTF-8 when bytes), or ``JsonBodyError``."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise JsonBodyError("parse_error", f"the body is not UTF-8: {exc.reason}") from exc
    depth = nesting_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise JsonBodyError("json_too_deep", f"JSON nests {depth} levels deep; at most {MAX_JSON_DEPTH} are accepted")
    if "\\u0000" in text and _NUL_ESCAPE.search(text):
        raise JsonBodyError("nul_character", "JSON strings may not contain the NUL character (\\u0000)")
    try:
        value = json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except JsonBodyError:
        raise
    except (ValueError, RecursionError) as exc:
        # ValueError: malformed JSON, or an integer beyond Python's digit limit for conversion.
        raise JsonBodyError("parse_error", f"JSON parse error - {exc}") from exc
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise JsonBodyError("surrogate_character", "JSON strings may not contain unpaired surrogates") from exc
    return value
