"""The pure tile core: paths, which tiles a tree has, entry bundles (C2SP tlog-tiles)."""

import pytest

from traceability.ledger.errors import LedgerError
from traceability.ledger.tiles import (
    Tile,
    decode_bundle,
    encode_bundle,
    encode_index,
    full_tiles,
    parse_tile_path,
    partial_tiles,
)


@pytest.mark.parametrize(
    ("index", "encoded"),
    [(0, "000"), (5, "005"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")],
)
def test_indexes_are_written_in_three_digit_groups(index, encoded):
    assert encode_index(index) == encoded
    assert parse_tile_path(f"tile/0/{encoded}") == Tile(0, index)


def test_paths_round_trip():
    for tile in [Tile(0, 0), Tile(3, 1234067, 17), Tile(None, 42), Tile(None, 1000, 255), Tile(8, 0, 1)]:
        assert parse_tile_path(tile.path()) == tile


def test_the_spec_example_of_a_tree_of_70000():
    # 273 full level-0 tiles, a partial one of 112, one full level-1 tile, a partial one of 17, one of 1 at level 2
    full = full_tiles(0, 70_000)
    assert [tile for tile in full if tile.level == 0] == [Tile(0, n) for n in range(273)]
    assert [tile for tile in full if tile.level != 0] == [Tile(1, 0)]
    assert partial_tiles(70_000) == [Tile(0, 273, 112), Tile(1, 1, 17), Tile(2, 0, 1)]
    assert partial_tiles(256) == [Tile(1, 0, 1)] and full_tiles(0, 256) == [Tile(0, 0)]
    assert partial_tiles(0) == [] and full_tiles(0, 0) == []


def test_full_tiles_between_two_sizes_are_only_the_new_ones():
    assert full_tiles(255, 70_000)[0] == Tile(0, 0)
    assert full_tiles(256, 70_000)[0] == Tile(0, 1)
    assert full_tiles(65_536, 70_000) == [Tile(0, n) for n in range(256, 273)]
    with pytest.raises(LedgerError):
        full_tiles(10, 9)


@pytest.mark.parametrize(
    "path",
    [
        "tile/00/000",
        "tile/0/x000/001",
        "tile/0/1",
        "tile/0/0001",
        "tile/0/000.p/256",
        "tile/0/000.p/0",
        "tile/0/000.p/07",
        "tile/64/000",
        "tile/-1/000",
        "tile/0/../000",
        "tile/0/000/",
        "tile/0/x001/x002/x003/x004/x005/x006/000",  # past 2**64 leaves
        "tile/entries/x999/x999/x999/x999/x999/999",
        "tile/ENTRIES/000",
        "tile/0/000\n",
        "tile/0/" + "\u0660" * 3,  # Arabic-Indic digits match \d, not [0-9]
        "x" * 100,
    ],
)
def test_anything_but_the_canonical_spelling_is_refused(path):
    with pytest.raises(LedgerError) as refused:
        parse_tile_path(path)
    assert refused.value.code == "tile_path_invalid"


def test_a_tile_past_any_tree_of_2_64_leaves_is_refused():
    with pytest.raises(LedgerError):
        Tile(9, 0, 1)


def test_bundles_are_uint16_length_prefixed():
    entries = [b"", b"a", b"x" * 300]
    data = encode_bundle(entries)
    assert data == b"\x00\x00" + b"\x00\x01a" + b"\x01\x2c" + b"x" * 300
    assert decode_bundle(data) == entries


@pytest.mark.parametrize("data", [b"\x00", b"\x00\x05abc", b"\x00\x00" * 257])
def test_malformed_bundles_are_refused(data):
    with pytest.raises(LedgerError):
        decode_bundle(data)


def test_an_entry_too_long_for_a_bundle_is_refused():
    with pytest.raises(LedgerError):
        encode_bundle([b"x" * 65_536])
