"""The ledger as C2SP tlog-tiles: the follower writes them as the log grows, /tlog/ serves the files."""

import base64
from pathlib import Path

import pytest
from django.test import Client

from tests.factories import object_event
from traceability import events, services
from traceability.errors import ApplicationError
from traceability.ledger import merkle
from traceability.ledger.tiles import TILE_WIDTH, decode_bundle
from traceability.models import LedgerEntry, MerkleNode
from traceability.tlog.publish import STATE_FILE, tiles_publish
from traceability.writer import SubmittedDocument

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def append_events(partner, count: int, first: int = 1) -> None:  # type: ignore[no-untyped-def]
    for start in range(first, first + count, 500):
        numbers = range(start, min(start + 500, first + count))
        items = [SubmittedDocument(document=object_event(number)) for number in numbers]
        events.ledger_append_batch(organisation=partner.organisation, items=items)


def stored_hashes(tree_level: int, first: int, count: int) -> bytes:
    rows = MerkleNode.objects.filter(level=tree_level, index__gte=first, index__lt=first + count).order_by("index")
    return b"".join(bytes(digest) for digest in rows.values_list("hash", flat=True))


def files(directory: Path) -> set[str]:
    return {str(path.relative_to(directory)) for path in directory.rglob("*") if path.is_file()}


def test_the_follower_writes_full_tiles_as_the_log_grows_and_partial_ones_for_each_checkpoint(
    partner, settings, django_capture_on_commit_callbacks
):
    # given a ledger of a little more than two tiles, appended with the followers running
    with django_capture_on_commit_callbacks(execute=True):
        append_events(partner, 2 * TILE_WIDTH)
    size = LedgerEntry.objects.count()
    directory = Path(settings.TLOG_TILES_DIR)

    # then its full tiles are there already, but nothing partial and no checkpoint: none is signed
    assert size > 2 * TILE_WIDTH
    assert {"tile/0/000", "tile/0/001", "tile/entries/000", "tile/entries/001"} <= files(directory)
    assert not (directory / "checkpoint").exists()
    assert not [name for name in files(directory) if ".p/" in name]

    # when a checkpoint is signed
    with django_capture_on_commit_callbacks(execute=True):
        checkpoint = services.ledger_checkpoint_create()

    # then it is published with exactly the partial tiles of its size, and every tile holds the stored hashes
    width = size % TILE_WIDTH
    assert (directory / "checkpoint").read_text() == checkpoint.note
    assert {name for name in files(directory) if ".p/" in name} == {
        f"tile/0/002.p/{width}",
        f"tile/entries/002.p/{width}",
        "tile/1/000.p/2",
    }
    assert (directory / "tile/0/001").read_bytes() == stored_hashes(0, TILE_WIDTH, TILE_WIDTH)
    assert (directory / f"tile/0/002.p/{width}").read_bytes() == stored_hashes(0, 2 * TILE_WIDTH, width)
    assert (directory / "tile/1/000.p/2").read_bytes() == stored_hashes(8, 0, 2)
    # and each bundle entry is the leaf data its level-0 hash covers
    bundle = decode_bundle((directory / f"tile/entries/002.p/{width}").read_bytes())
    leaves = (directory / f"tile/0/002.p/{width}").read_bytes()
    assert [merkle.leaf_hash(entry) for entry in bundle] == [leaves[i : i + 32] for i in range(0, len(leaves), 32)]
    last = LedgerEntry.objects.get(seq=size)
    assert merkle.leaf_hash(bundle[-1]).hex() == last.entry_hash


def test_publishing_is_idempotent_and_catches_up_from_where_it_stopped(partner, settings):
    # given tiles published for a first checkpoint
    append_events(partner, TILE_WIDTH)
    first = services.ledger_checkpoint_create()
    directory = Path(settings.TLOG_TILES_DIR)
    tiles_publish()
    before = {name: (directory / name).read_bytes() for name in files(directory)}

    # when nothing changed, then nothing is written
    assert tiles_publish().written == 0

    # when the log grows by a tile and a new checkpoint is signed
    append_events(partner, TILE_WIDTH, first=1000)
    second = services.ledger_checkpoint_create()
    published = tiles_publish()

    # then the earlier files are untouched, the new full tiles and partial ones are added, and the checkpoint moved on
    assert published.checkpoint_size == second.tree_size > first.tree_size
    after = {name: (directory / name).read_bytes() for name in files(directory)}
    assert {name: after[name] for name in before if name not in {"checkpoint", STATE_FILE}} == {
        name: data for name, data in before.items() if name not in {"checkpoint", STATE_FILE}
    }
    assert after["checkpoint"] == second.note.encode()
    assert "tile/0/001" in after and "tile/entries/001" in after


def test_a_tiles_directory_of_another_ledger_is_refused(partner, settings):
    # given a tiles directory whose state names an entry hash this ledger does not have
    append_events(partner, 10)
    services.ledger_checkpoint_create()
    tiles_publish()
    state = Path(settings.TLOG_TILES_DIR) / STATE_FILE
    state.write_text(state.read_text().replace('"head": "', '"head": "00'))

    # when the follower runs, then it refuses rather than mixing two ledgers
    with pytest.raises(ApplicationError) as refused:
        tiles_publish()
    assert refused.value.code == "tiles_directory_foreign"


def test_an_entry_changed_behind_the_ledger_is_never_published(partner, tamper):
    # given an entry whose header was rewritten in the database after its leaf was stored
    append_events(partner, 5)
    services.ledger_checkpoint_create()
    tamper("UPDATE traceability_ledgerentry SET kind = 'key.revoked' WHERE seq = 3")

    # when the follower publishes, then it refuses: a bundle entry must hash to its stored leaf
    with pytest.raises(ApplicationError) as refused:
        tiles_publish()
    assert refused.value.code == "tiles_leaf_mismatch"


def test_tlog_serves_the_files_with_the_cache_rules_of_the_spec(partner):
    # given a published log of one full tile and a partial one
    append_events(partner, TILE_WIDTH)
    checkpoint = services.ledger_checkpoint_create()
    tiles_publish()
    width = checkpoint.tree_size % TILE_WIDTH
    client = Client()

    # when a client reads the checkpoint, a full tile, a partial tile and an entry bundle
    note = client.get("/tlog/checkpoint")
    full = client.get("/tlog/tile/0/000")
    partial = client.get(f"/tlog/tile/0/001.p/{width}")
    bundle = client.get("/tlog/tile/entries/000")

    # then each comes with its content type and cache lifetime
    assert note.status_code == 200 and note.content == checkpoint.note.encode()
    assert note["Content-Type"] == "text/plain; charset=utf-8" and note["Cache-Control"] == "public, max-age=5"
    assert full.status_code == 200 and full.content == stored_hashes(0, 0, TILE_WIDTH)
    assert full["Content-Type"] == "application/octet-stream"
    assert full["Cache-Control"] == "public, max-age=31536000, immutable"
    assert partial.status_code == 200 and partial["Cache-Control"] == "public, max-age=5"
    assert bundle.status_code == 200 and len(decode_bundle(bundle.content)) == TILE_WIDTH
    assert bundle["Cache-Control"] == "public, max-age=31536000, immutable"
    assert full["Content-Length"] == "8192" and full["Access-Control-Allow-Origin"] == "*"
    assert base64.b64decode(note.content.decode().split("\n")[2]) == bytes.fromhex(checkpoint.root_hash)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("tile/0/001", 404),  # beyond the tree: only a partial tile 001 exists
        ("tile/1/000", 404),
        ("tile/0/001.p/3", 404),  # a width no checkpoint had
        ("tile/0/x000/000", 400),  # a leading zero group
        ("tile/00/000", 400),
        ("tile/0/0", 400),
        ("tile/0/000.p/256", 400),
        ("tile/0/000.p/0", 400),
        ("tile/64/000", 400),
        ("tile/0/../../checkpoint", 400),
        ("tile/0/%2e%2e/000", 400),
        ("tile/0/x999/x999/x999/x999/x999/x999/999", 400),  # no tree is that large
        ("tile/entries/" + "x001/" * 12 + "000", 400),
        ("tile/0/000/", 400),
    ],
)
def test_tile_paths_are_parsed_strictly(partner, path, status):
    append_events(partner, 10)
    services.ledger_checkpoint_create()
    tiles_publish()

    response = Client().get(f"/tlog/{path}")

    assert response.status_code == status
    assert response["Content-Type"] == "text/plain; charset=utf-8"


def test_tlog_only_reads(partner):
    append_events(partner, 10)
    services.ledger_checkpoint_create()
    tiles_publish()

    assert Client().post("/tlog/checkpoint").status_code == 405
    assert Client().put("/tlog/tile/0/000.p/1").status_code == 405


def test_nothing_published_yet_is_a_404(db):
    assert Client().get("/tlog/checkpoint").status_code == 404
    assert Client().get("/tlog/tile/0/000").status_code == 404
