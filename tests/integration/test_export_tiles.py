"""``manage.py export_tiles``: the same tree, byte for byte, as the tiles follower writes."""

import filecmp
import io
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.integration.test_tlog_tiles import append_events, files
from traceability import services
from traceability.ledger.tiles import TILE_WIDTH
from traceability.models import Checkpoint

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_export_tiles_writes_the_same_bytes_as_the_follower(
    partner, settings, tmp_path, django_capture_on_commit_callbacks
):
    # given a log followed as it grew and checkpointed
    with django_capture_on_commit_callbacks(execute=True):
        append_events(partner, TILE_WIDTH + 20)
    with django_capture_on_commit_callbacks(execute=True):
        services.ledger_checkpoint_create()
    assert Checkpoint.objects.count() == 1

    # when the tree is exported to a fresh directory
    out = tmp_path / "export"
    call_command("export_tiles", "--out", str(out), stdout=io.StringIO(), stderr=io.StringIO())

    # then it holds the same files with the same bytes
    followed = Path(settings.TLOG_TILES_DIR)
    assert files(out) == files(followed)
    _, mismatch, errors = filecmp.cmpfiles(followed, out, sorted(files(out)), shallow=False)
    assert mismatch == [] and errors == []
