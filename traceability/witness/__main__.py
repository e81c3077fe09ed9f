"""Run a Looptrace witness, or make its key.

    python -m traceability.witness keygen --name witness.example/w1 --out witness.key
    python -m traceability.witness serve --state DIR --key witness.key \\
        --log looptrace.example/ledger=<log vkey> [--log ...] [--host 127.0.0.1] --port 8787

``keygen`` writes the private key (one line, keep it secret) and prints the public
vkey to give to the log's operator for its policy. ``serve`` follows the listed logs
(each ``ORIGIN=VKEY``, the vkey printed by the log's ``manage.py ledger_vkey``) and
cosigns their checkpoints per C2SP tlog-witness. Needs only ``cryptography``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from traceability.ledger import checkpoint as notes
from traceability.ledger import witness as core
from traceability.ledger.errors import LedgerError
from traceability.witness.server import Witness, make_server
from traceability.witness.state import StateDirBusy, StateUnreadable, WitnessState


def _keygen(args: argparse.Namespace) -> int:
    private_key = Ed25519PrivateKey.generate()
    text = core.signer_key_text(args.name, private_key) + "\n"
    try:
        descriptor = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        print(f"error: {args.out} exists; not overwriting a key", file=sys.stderr)
        return 2
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(text)
    print(core.cosigner_vkey(args.name, private_key.public_key().public_bytes_raw()))
    return 0


def _log_keys(values: list[str]) -> dict[str, list[tuple[str, bytes]]]:
    keys: dict[str, list[tuple[str, bytes]]] = {}
    for value in values:
        origin, separator, vkey = value.partition("=")
        if not separator or not origin:
            raise LedgerError(core.KEY_INVALID, f"--log takes ORIGIN=VKEY, not {value!r}")
        keys.setdefault(origin, []).append(notes.parse_verifier_key(vkey))
    return keys


def _serve(args: argparse.Namespace) -> int:
    try:
        name, private_key = core.parse_signer_key(args.key.read_text(encoding="ascii"))
        log_keys = _log_keys(args.log)
        state = WitnessState(args.state)
    except (OSError, UnicodeDecodeError, LedgerError, StateDirBusy, StateUnreadable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with state.closing():
        witness = Witness(name=name, private_key=private_key, log_keys=log_keys, state=state)
        server = make_server(witness, args.host, args.port)
        host, port = args.host, server.server_port
        print(f"witness {name} listening on http://{host}:{port}/ for {', '.join(log_keys)}", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m traceability.witness", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    keygen = commands.add_parser("keygen", help="make a witness key and print its vkey")
    keygen.add_argument("--name", required=True, help="the witness's key name, a schema-less URL")
    keygen.add_argument("--out", required=True, type=Path, help="where to write the private key")
    serve = commands.add_parser("serve", help="run the witness")
    serve.add_argument("--state", required=True, type=Path, help="the directory the witness keeps its state in")
    serve.add_argument("--key", required=True, type=Path, help="the private key file keygen wrote")
    serve.add_argument("--log", required=True, action="append", help="ORIGIN=VKEY of a log to follow (repeatable)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", required=True, type=int, help="0 picks a free port (printed)")
    args = parser.parse_args(argv)
    return _keygen(args) if args.command == "keygen" else _serve(args)


if __name__ == "__main__":
    sys.exit(main())
