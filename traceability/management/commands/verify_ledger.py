import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from traceability.ledger.errors import LedgerError
from traceability.models import LedgerEntry
from traceability.verification import verify_ledger


class Command(BaseCommand):
    help = (
        "Re-verify every ledger entry (signature with the key valid when it was recorded, chain link, "
        "Merkle roots against every stored checkpoint; with --trusted-checkpoint, a consistency proof from a "
        "checkpoint kept earlier to the current tree, naming a fork). Exit 0 when all holds, 1 otherwise."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--trusted-checkpoint", type=Path, help="a signed checkpoint note kept from earlier")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument("--processes", type=int, default=None, help="worker processes (default: all cores)")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        trusted = None
        if options["trusted_checkpoint"]:
            try:
                trusted = options["trusted_checkpoint"].read_text(encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"cannot read the trusted checkpoint: {exc}") from exc
        total = LedgerEntry.objects.count()
        with tqdm(total=total, unit="entry", desc="verifying", file=sys.stderr, disable=None) as bar:
            try:
                report = verify_ledger(trusted_checkpoint=trusted, processes=options["processes"], progress=bar.update)
            except LedgerError as exc:
                raise CommandError(f"the trusted checkpoint is unusable: {exc}") from exc
        if options["json"]:
            self.stdout.write(json.dumps(report.as_json(), indent=2))
        else:
            for failure in report.failures:
                self.stdout.write(f"seq {failure.seq}: {failure.code}: {failure.message}")
            verdict = "OK" if report.ok else f"FAILED ({len(report.failures)} problems)"
            self.stdout.write(
                f"{verdict}: {report.entries} entries, {report.checkpoints} checkpoints, "
                f"root {report.root_hash}, {report.seconds:.2f}s on {report.processes} processes"
            )
            if report.trusted is not None:
                t = report.trusted
                self.stdout.write(
                    f"trusted checkpoint: size {t['treeSize']} root {t['rootHash']} is consistent with size "
                    f"{t['currentTreeSize']} root {t['currentRootHash']} "
                    f"(consistency proof of {t['consistencyProofHashes']} hashes)"
                )
        if not report.ok:
            sys.exit(1)
