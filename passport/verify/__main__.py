"""Verify an audit export, or one downloaded passport, offline.

    python -m passport.verify EXPORT [--trusted-key FILE] [--trusted-checkpoint FILE] [--json]
    python -m passport.verify PASSPORT.json --log-key VKEY [--log-key VKEY ...] [--witness-key VKEY ...]
                              [--quorum N] [--json]
    python -m passport.verify PASSPORT.json --policy FILE [--log-key VKEY ...] [--json]

The second form is chosen by ``--log-key``. Keys are given as text or as a file holding it:
the log's signed-note verifier keys (``origin+id+key``, as ``manage.py ledger_vkey --all``
prints: one per platform key the log has used) and each witness's cosigner vkey; ``--quorum``
is how many of those witnesses must have cosigned. The passport JSON is read strictly: a
name given twice, or a value JSON does not allow (NaN), makes it unreadable. ``--policy`` reads a
C2SP tlog-policy file instead: its ``log`` lines are log keys, its witnesses are trusted, and
its quorum (groups, thresholds) decides.

Exit status: 0 when every check holds, 1 when any fails (each failure is printed with
where it is and why), 2 when the export or a trusted input cannot be read at all.
"""

import argparse
import json
import sys
from pathlib import Path

from passport.verify.errors import VerificationError
from passport.verify.passport import policy_trust, verify_passport
from passport.verify.trust import load_trusted_key
from passport.verify.verifier import verify_export
from traceability.ledger import checkpoint as notes
from traceability.ledger import witness as core
from traceability.ledger.errors import LedgerError

EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if any(arg.split("=", 1)[0] in ("--log-key", "--policy") for arg in arguments):
        return passport_main(arguments)
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


def _key_text(value: str) -> str:
    """A key given inline, or the content of the file it names."""
    path = Path(value)
    if "+" not in value and path.is_file():
        return path.read_text(encoding="utf-8").strip()
    return value.strip()


def _unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise ValueError(f"a name appears twice in one object: {', '.join(repeated)}")
    return dict(pairs)


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON value")


def passport_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m passport.verify", description="Verify one Looptrace passport JSON and its ledger proof."
    )
    parser.add_argument("passport", type=Path, help="the passport JSON, as GET /api/v1/passports/<id> serves it")
    parser.add_argument(
        "--log-key", action="append", default=[], help="a verifier key of the log (or a file holding it); repeatable"
    )
    parser.add_argument("--policy", type=Path, help="a C2SP tlog-policy file: log keys, witnesses and quorum")
    parser.add_argument("--witness-key", action="append", default=[], help="a trusted witness's vkey (repeatable)")
    parser.add_argument("--quorum", type=int, default=None, help="witnesses required (default: all given)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        log_keys = [notes.parse_verifier_key(_key_text(text)) for text in args.log_key]
        witness_keys = [core.parse_cosigner_vkey(_key_text(text)) for text in args.witness_key]
        policy = core.parse_policy(args.policy.read_text(encoding="utf-8")) if args.policy else None
        document = json.loads(args.passport.read_bytes(), object_pairs_hook=_unique, parse_constant=_no_constant)
    except OSError as exc:
        print(f"error: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return EXIT_UNUSABLE
    except LedgerError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return EXIT_UNUSABLE
    except ValueError as exc:
        print(f"error: the passport is not JSON: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    if policy is not None:
        if witness_keys or args.quorum is not None:
            print(
                "error: --policy names the witnesses and the quorum; give no --witness-key or --quorum", file=sys.stderr
            )
            return EXIT_UNUSABLE
        trust = policy_trust(policy)
        log_keys += [key for key in policy.logs if key not in log_keys]
    else:
        quorum = len(witness_keys) if args.quorum is None else args.quorum
        if not 0 <= quorum <= len(witness_keys):
            print(f"error: --quorum must be 0..{len(witness_keys)} (the witness keys given)", file=sys.stderr)
            return EXIT_UNUSABLE
        trust = {"witness_keys": witness_keys, "quorum": quorum}
    if not log_keys:
        print("error: no log key: give --log-key, or a --policy with a log line", file=sys.stderr)
        return EXIT_UNUSABLE
    report = verify_passport(document, log_keys=log_keys, **trust)
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        print("\n".join(report.lines()))
        print("passport verified" if report.ok else "passport NOT verified")
    return EXIT_OK if report.ok else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
