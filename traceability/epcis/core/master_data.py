"""The location hierarchy an EPCIS document's master data declares (``epcisHeader.epcisMasterData``)."""

from __future__ import annotations

from collections.abc import Mapping

# Vocabularies whose elements' ``children`` are locations below them (EPCIS 2.0 section 6.5).
LOCATION_VOCABULARIES = frozenset(
    {
        "urn:epcglobal:epcis:vtype:ReadPoint",
        "urn:epcglobal:epcis:vtype:BusinessLocation",
        "ReadPoint",
        "BusinessLocation",
    }
)
MAX_LOCATION = 500
# Parent-child pairs one document may declare (more are ignored; a document holds 10,000 events).
MAX_CHILDREN = 10_000


def location_children(document: Mapping[str, object]) -> list[tuple[str, str]]:
    """``(parent, child)`` for every child a ReadPoint or BusinessLocation element names."""
    header = document.get("epcisHeader")
    master = header.get("epcisMasterData") if isinstance(header, Mapping) else None
    vocabularies = master.get("vocabularyList") if isinstance(master, Mapping) else None
    pairs: dict[tuple[str, str], None] = {}
    for vocabulary in vocabularies if isinstance(vocabularies, list) else []:
        if not isinstance(vocabulary, Mapping) or vocabulary.get("type") not in LOCATION_VOCABULARIES:
            continue
        elements = vocabulary.get("vocabularyElementList")
        for element in elements if isinstance(elements, list) else []:
            parent = element.get("id") if isinstance(element, Mapping) else None
            children = element.get("children") if isinstance(element, Mapping) else None
            if not isinstance(parent, str) or not isinstance(children, list) or len(parent) > MAX_LOCATION:
                continue
            for child in children:
                if isinstance(child, str) and child != parent and len(child) <= MAX_LOCATION:
                    pairs[(parent, child)] = None
                if len(pairs) >= MAX_CHILDREN:
                    return list(pairs)
    return list(pairs)
