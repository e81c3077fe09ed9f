import os
import sys
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from passport.export import audit_export_lines, audit_export_plan, audit_selection
from traceability.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Write a regulator's audit export: the selected ledger entries with their signatures, the key history, "
        "a signed checkpoint with inclusion and consistency proofs, footprint inputs and results, and a signed "
        "manifest. Check it offline with: python -m passport.verify FILE"
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--out", required=True, type=Path, help="the file to write (JSON Lines)")
        parser.add_argument("--org", help="only entries this organisation (slug) recorded")
        parser.add_argument("--since", help="only entries recorded from this date (YYYY-MM-DD) or ISO 8601 time")
        parser.add_argument("--until", help="only entries recorded up to this date (included) or before this time")
        parser.add_argument(
            "--consistency-from",
            type=int,
            action="append",
            default=[],
            metavar="SIZE",
            help="also prove consistency from the signed checkpoint of this tree size (repeatable)",
        )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        out: Path = options["out"]
        if not out.parent.is_dir():
            raise CommandError(f"cannot write {out}: {out.parent} is not a directory")
        try:
            selection = audit_selection(organisation=options["org"], since=options["since"], until=options["until"])
            plan = audit_export_plan(selection=selection, consistency_from=options["consistency_from"])
        except ApplicationError as exc:
            raise CommandError(str(exc)) from exc
        # Written beside the target and renamed at the end: a failed export leaves no partial file.
        handle, partial = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial")
        try:
            with (
                os.fdopen(handle, "wb") as stream,
                tqdm(total=plan.entries, unit="entry", desc="exporting", file=sys.stderr, disable=None) as bar,
            ):
                for line in audit_export_lines(plan, progress=bar.update):
                    stream.write(line)
            os.replace(partial, out)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        self.stdout.write(
            f"wrote {out}: {plan.entries} entries at checkpoint {plan.checkpoint.tree_size} "
            f"(root {plan.checkpoint.root_hash}); verify with: python -m passport.verify {out}"
        )
