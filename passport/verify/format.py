"""The audit export's file format, shared by the exporter and the offline verifier.

An export is one UTF-8 file of JSON Lines, each line the RFC 8785 canonical form of
an object with a ``type``. Lines come in sections, in this order:

========== ============================ ==============================================
section    line types                   what
========== ============================ ==============================================
header     ``header``                   format, selection, the export's signed
                                        checkpoint, the platform's public key
keys       ``key``                      every public key registered up to the
                                        checkpoint, with its validity and revocation
entries    ``entry``                    ledger entries in ``seq`` order: the selected
                                        ones and every key entry, each with its
                                        document, signature and inclusion proof
consistency ``consistency``             proofs that the export's tree extends earlier
                                        signed checkpoints
carbon     ``carbon``, ``source``,      the footprint engine's inputs: parameters,
           ``activity``                 factor versions, roots and activities
results    ``result``                   stored footprint and recycled-content results
                                        of the objects the selected entries touch
========== ============================ ==============================================

The last line is the ``manifest``: the SHA-256 and line count of each section's bytes,
signed (Ed25519 over its canonical form without ``signature``) by the platform key it
names. Writing and checking both stream: nothing needs the whole file in memory.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import rfc8785

FORMAT = "looptrace-audit-export"
VERSION = 1
MEDIA_TYPE = "application/x-ndjson"

SECTIONS = ("header", "keys", "entries", "consistency", "carbon", "results")
SECTION_OF_TYPE = {
    "header": "header",
    "key": "keys",
    "entry": "entries",
    "consistency": "consistency",
    "carbon": "carbon",
    "source": "carbon",
    "activity": "carbon",
    "result": "results",
}
MANIFEST = "manifest"


def encode_line(value: dict[str, Any]) -> bytes:
    """One line of the export: canonical JSON and a newline."""
    return rfc8785.dumps(value) + b"\n"


def encode_line_without_floats(value: dict[str, Any]) -> bytes:
    """``encode_line`` for values of strings, integers, booleans, null, lists and ASCII-keyed objects.

    For those, RFC 8785 is what the standard library writes with sorted keys, no spaces and
    no ASCII escaping (the same short escapes, the same lowercase ``\\u00xx`` for other
    control characters), at a fraction of the cost: entries are most of an export. Floats
    are where the two differ, so they must not occur.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"


def manifest_signed_bytes(manifest: dict[str, Any]) -> bytes:
    """What the platform signs: the manifest's canonical form without its signature."""
    return rfc8785.dumps({name: value for name, value in manifest.items() if name != "signature"})


class SectionDigests:
    """SHA-256 and line count of each section, fed line by line as the file goes past."""

    def __init__(self) -> None:
        self._hashes = {name: hashlib.sha256() for name in SECTIONS}
        self._lines = dict.fromkeys(SECTIONS, 0)

    def add(self, section: str, line: bytes) -> None:
        self._hashes[section].update(line)
        self._lines[section] += 1

    def as_json(self) -> dict[str, dict[str, Any]]:
        return {name: {"sha256": self._hashes[name].hexdigest(), "lines": self._lines[name]} for name in SECTIONS}
