"""CBV and GS1 vocabulary terms, read from the GS1 JSON-LD contexts Looptrace carries.

In EPCIS JSON-LD a standard value is written as a bare word (``shipping``); the
contexts map each word to its CBV or GS1 Web Vocabulary URI. The event hash and the
query parameters both compare the full URIs.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

CONTEXT_DIR = Path(__file__).resolve().parents[2] / "data" / "epcis2" / "contexts"
CBV_ROOT = "https://ref.gs1.org/cbv/"
# The CBV 2.0 hash reference implementation expands bare measurement and alert types
# under the GS1 reference root (``https://ref.gs1.org/voc/Temperature``), not under the
# ``gs1:`` prefix of the JSON-LD context; the hash follows the reference so that the
# identifiers it produces match the ones partners compute.
GS1_VOC_HASH_ROOT = "https://ref.gs1.org/voc/"

# Which context file holds the vocabulary of which kind of value.
VOCABULARY_FILES = {
    "bizStep": "cbv-context-bizstep.jsonld",
    "disposition": "cbv-context-disposition.jsonld",
    "bizTransactionType": "cbv-context-biztransaction-type.jsonld",
    "sourceDestType": "cbv-context-sourcedest-type.jsonld",
    "errorReason": "cbv-context-error-reason.jsonld",
    "component": "cbv-context-component.jsonld",
    "measurementType": "gs1-context-measurement-type.jsonld",
    "sensorAlertType": "gs1-context-sensor-alert-type.jsonld",
}
HASH_ROOT_OVERRIDES = {"measurementType": GS1_VOC_HASH_ROOT, "sensorAlertType": GS1_VOC_HASH_ROOT}


def _expand(value: str, prefixes: dict[str, str]) -> str:
    prefix, sep, local = value.partition(":")
    if sep and prefix in prefixes:
        return prefixes[prefix] + local
    return value


@cache
def terms(kind: str) -> dict[str, str]:
    """Bare word -> full URI for one vocabulary (``bizStep``, ``disposition``...)."""
    context = json.loads((CONTEXT_DIR / VOCABULARY_FILES[kind]).read_text(encoding="utf-8"))["@context"]
    prefixes = {k: v for k, v in context.items() if isinstance(v, str) and v.endswith(("/", ":"))}
    return {
        word: _expand(target, prefixes)
        for word, target in context.items()
        if isinstance(target, str) and not word.startswith("@") and word not in prefixes
    }


@cache
def hash_terms(kind: str) -> dict[str, str]:
    """Bare word -> URI as the event hash writes it."""
    root = HASH_ROOT_OVERRIDES.get(kind)
    if root is None:
        return terms(kind)
    return {word: root + word for word in terms(kind)}


@cache
def standard_prefixes() -> dict[str, str]:
    """Prefixes the EPCIS 2.0 context defines (``cbv``, ``gs1``, ``cbvmda``...)."""
    context = json.loads((CONTEXT_DIR / "epcis-context-root.jsonld").read_text(encoding="utf-8"))["@context"]
    return {k: v for k, v in context.items() if isinstance(v, str) and v.endswith(("/", ":", "#"))}


def full_uri(kind: str, value: str) -> str:
    """A bare word of vocabulary ``kind`` as its URI; a ``urn:epcglobal:cbv:`` URN as its Web URI; else as given."""
    if value in terms(kind):
        return terms(kind)[value]
    return cbv_web_uri(value)


_CBV_URN_PREFIXES = (
    ("urn:epcglobal:cbv:bizstep:", CBV_ROOT + "BizStep-"),
    ("urn:epcglobal:cbv:disp:", CBV_ROOT + "Disp-"),
    ("urn:epcglobal:cbv:btt:", CBV_ROOT + "BTT-"),
    ("urn:epcglobal:cbv:sdt:", CBV_ROOT + "SDT-"),
    ("urn:epcglobal:cbv:er:", CBV_ROOT + "ER-"),
)


def cbv_web_uri(value: str) -> str:
    """A CBV 1.x URN (``urn:epcglobal:cbv:bizstep:receiving``) as its CBV 2.0 Web URI."""
    for urn, web in _CBV_URN_PREFIXES:
        if value.startswith(urn):
            return web + value[len(urn) :]
    return value
