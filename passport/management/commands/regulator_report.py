import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from passport.reports import MEDIA_TYPES, REPORTS, report_build, report_bytes
from traceability.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Write a regulator report as CSV or XLSX: recycled content per battery model, plant and year against the "
        "Art. 8 minimums (recycled-content), or recycling efficiency and material recovery per recycler and year "
        "against the Annex XII targets (recycling) of Regulation (EU) 2023/1542."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("report", choices=list(REPORTS), help="which report")
        parser.add_argument("--format", dest="file_format", required=True, choices=list(MEDIA_TYPES))
        parser.add_argument("--out", required=True, type=Path, help="the file to write")
        parser.add_argument("--year", type=int, help="only this year (of manufacture, or of recycling)")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        out: Path = options["out"]
        if not out.parent.is_dir():
            raise CommandError(f"cannot write {out}: {out.parent} is not a directory")
        if out.is_dir():
            raise CommandError(f"cannot write {out}: it is a directory")
        try:
            report = report_build(name=options["report"], year=options["year"])
            content = report_bytes(report, file_format=options["file_format"])
        except ApplicationError as exc:
            raise CommandError(str(exc)) from exc
        # Written beside the target and renamed: a failure leaves no partial file.
        handle, partial = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(content)
            os.replace(partial, out)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        rows = len(report.rows)
        self.stdout.write(f"wrote {out}: {rows} row{'' if rows == 1 else 's'} of {report.title}")
