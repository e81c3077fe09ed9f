"""Verify an audit export offline.

    python -m passport.verify EXPORT [--trusted-key FILE] [--trusted-checkpoint FILE] [--json]

Exit status: 0 when every check holds, 1 when any fails (each failure is printed with
where it is and why), 2 when the export or a trusted input cannot be read at all.
"""

import argparse
import json
import sys
from pathlib import Path

from passport.verify.errors import VerificationError
from passport.verify.trust import load_trusted_key
from passport.verify.verifier import verify_export

EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m passport.verify", description="Verify a Looptrace audit export.")
    parser.add_argument("export", type=Path, help="the audit export (JSON Lines)")
    parser.add_argument(
        "--trusted-key",
        type=Path,
        help="the platform's public key, obtained out of band (PEM, verifier key, or base64/hex raw key)",
    )
    parser.add_argument("--trusted-checkpoint", type=Path, help="a signed checkpoint note kept from earlier")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        trusted_key = load_trusted_key(args.trusted_key.read_bytes()) if args.trusted_key else None
        trusted_checkpoint = args.trusted_checkpoint.read_bytes() if args.trusted_checkpoint else None
        with args.export.open("rb") as stream:
            report = verify_export(stream, trusted_key=trusted_key, trusted_checkpoint=trusted_checkpoint)
    except OSError as exc:
        print(f"error: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return EXIT_UNUSABLE
    except VerificationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        for failure in report.failures:
            print(failure)
        print(report.summary())
    return EXIT_OK if report.ok else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
