"""Which reader sees which attribute of a battery passport (Art. 77(2) and Annex XIII).

The rules are the Battery Pass attribute longlist's access column, mapped onto the
1.2.0 schemas' paths (``data/access_tiers.json``). Each tier sees its own attributes
and those of every tier below it: public within legitimate interest within
authorities. A path no rule names is shown to authorities only, so an attribute the
mapping forgot is withheld, never leaked.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from passport.choices import TIER_ORDER, AccessTier

TIERS_FILE = Path(__file__).resolve().parent / "data" / "access_tiers.json"
_DROP = object()


@lru_cache(maxsize=1)
def tier_rules() -> dict[str, str]:
    """``{"Aspect/property/*/sub": tier}`` from the mapping file."""
    rules: dict[str, str] = {}
    for row in json.loads(TIERS_FILE.read_text(encoding="utf-8"))["attributes"]:
        for path in row["paths"]:
            if rules.setdefault(path, row["tier"]) != row["tier"]:
                raise ValueError(f"{path} is mapped to two tiers")
    return rules


def tier_rank(tier: str) -> int:
    try:
        return TIER_ORDER.index(AccessTier(tier))
    except ValueError as exc:
        raise ValueError(f"unknown access tier {tier!r}") from exc


def filter_for_tier(document: dict[str, object], tier: str, rules: dict[str, str] | None = None) -> dict[str, object]:
    """The part of a passport (``{aspect: data}``) a reader of ``tier`` may see."""
    rules = tier_rules() if rules is None else rules
    rank = tier_rank(tier)
    prefixes = {"/".join(path.split("/")[:n]) for path in rules for n in range(1, path.count("/") + 1)}
    visible = {}
    for aspect, data in document.items():
        kept = _visible(data, aspect, None, rank, rules, prefixes)
        if kept is not _DROP:
            visible[aspect] = kept
    return visible


def _visible(
    node: object, path: str, inherited: str | None, rank: int, rules: dict[str, str], prefixes: set[str]
) -> object:
    tier = rules.get(path, inherited)
    if tier is not None and tier_rank(tier) > rank:
        return _DROP
    if path not in prefixes:
        # No rule below this point: the node is shown whole, or withheld when nothing names it.
        effective = tier if tier is not None else AccessTier.AUTHORITIES
        return node if tier_rank(effective) <= rank else _DROP
    if isinstance(node, dict):
        kept = {}
        for key, value in node.items():
            child = _visible(value, f"{path}/{key}", tier, rank, rules, prefixes)
            if child is not _DROP:
                kept[key] = child
        return kept if kept or tier is not None else _DROP
    if isinstance(node, list):
        items = [_visible(item, f"{path}/*", tier, rank, rules, prefixes) for item in node]
        kept_items = [item for item in items if item is not _DROP]
        return kept_items if kept_items or tier is not None or not node else _DROP
    return node if tier is not None else _DROP
