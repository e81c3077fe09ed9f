"""Access tiers, table-driven over the shipped mapping of the Battery Pass attribute longlist."""

import json

import pytest

from passport.choices import TIER_ORDER, AccessTier
from passport.schemas import ASPECTS, SCHEMA_DIR
from passport.tiers import TIERS_FILE, filter_for_tier, tier_rank

ROWS = json.loads(TIERS_FILE.read_text(encoding="utf-8"))["attributes"]
MAPPED = [(row["number"], row["attribute"], row["tier"], path) for row in ROWS for path in row["paths"]]


def full_passport() -> dict[str, object]:
    """The consortium's sample payloads: every aspect with every attribute filled (random values)."""
    return {aspect: json.loads((SCHEMA_DIR / f"{aspect}-payload.json").read_text()) for aspect in ASPECTS}


def found(document: object, path: str) -> list[object]:
    """Every value at ``path`` (``*`` stands for each item of a list)."""
    nodes = [document]
    for part in path.split("/"):
        step = []
        for node in nodes:
            if part == "*" and isinstance(node, list):
                step.extend(node)
            elif isinstance(node, dict) and part in node:
                step.append(node[part])
        nodes = step
    return nodes


def test_the_mapping_covers_all_93_attributes_with_their_access_column():
    assert [row["number"] for row in ROWS] == list(range(1, 94))
    assert {row["tier"] for row in ROWS} == set(AccessTier.values)
    assert {r["tier"] for r in ROWS if r["access"] == "Public"} == {"public"}
    assert all(row["paths"] or row.get("note") for row in ROWS)


@pytest.mark.parametrize(("number", "attribute", "tier", "path"), MAPPED, ids=[f"{m[0]}:{m[3]}" for m in MAPPED])
def test_each_attribute_is_shown_to_its_tier_and_above_and_to_no_one_below(number, attribute, tier, path):
    document = full_passport()
    assert found(document, path), f"the sample payload has no {path}"
    for reader in TIER_ORDER:
        visible = found(filter_for_tier(document, reader), path)
        if tier_rank(reader) >= tier_rank(tier):
            assert visible == found(document, path), f"{attribute} hidden from {reader}"
        else:
            assert visible == [], f"{attribute} ({tier}) leaked to {reader}"


def test_tiers_nest_and_authorities_see_the_whole_passport():
    document = full_passport()
    public, interest, authorities = (filter_for_tier(document, tier) for tier in TIER_ORDER)
    assert authorities == document
    assert json.dumps(public) != json.dumps(interest) != json.dumps(authorities)
    assert filter_for_tier(interest, AccessTier.PUBLIC) == public
    assert "resultOfTestReport" not in interest["Labeling"]
    assert "batteryStatus" not in public["GeneralProductInformation"]
    assert set(public["MaterialComposition"]["batteryMaterials"][0]) == {"batteryMaterialName", "isCriticalRawMaterial"}


def test_a_path_no_rule_names_is_for_authorities_only():
    document = {"GeneralProductInformation": {"productIdentifier": "X", "unheardOf": 1}}
    rules = {"GeneralProductInformation/productIdentifier": "public"}
    assert filter_for_tier(document, "legitimate_interest", rules) == {
        "GeneralProductInformation": {"productIdentifier": "X"}
    }
    assert filter_for_tier(document, "authorities", rules) == document


def test_an_unknown_tier_is_refused():
    with pytest.raises(ValueError, match="unknown access tier"):
        filter_for_tier(full_passport(), "everyone")
