import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from traceability.errors import ApplicationError
from traceability.tlog.publish import tiles_publish


class Command(BaseCommand):
    help = (
        "Write the ledger as C2SP tlog-tiles (checkpoint, hash tiles, entry bundles) into a directory, "
        "byte for byte what the tiles follower serves under /tlog/; an earlier export is caught up."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--out", required=True, type=Path, help="the directory to write (created if missing)")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        out: Path = options["out"]
        with tqdm(unit="tile", desc="level-0 tiles", file=sys.stderr, disable=None) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            try:
                published = tiles_publish(directory=out, progress=progress)
            except ApplicationError as exc:
                raise CommandError(f"{exc.code}: {exc.message}") from exc
        if published.checkpoint_size is None:
            self.stderr.write("no checkpoint is signed yet: run `manage.py ledger_checkpoint` first to publish one")
        self.stdout.write(
            f"tiles of {published.tree_size} entries written to {out} "
            f"({published.written} files new), checkpoint at size {published.checkpoint_size}"
        )
