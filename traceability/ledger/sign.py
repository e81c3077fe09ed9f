"""Sign a document the way the Looptrace API expects, on the partner's own machine.

    python -m traceability.ledger.sign --key partner.pem document.json
    python -m traceability.ledger.sign --key partner.pem --request document.json

The first prints the base64 Ed25519 signature over the document's RFC 8785
canonical form; ``--request`` prints the whole JSON body for
``POST /api/v1/ledger/entries``. Needs only ``cryptography`` and ``rfc8785``.
"""

import argparse
import json
import sys
from pathlib import Path

from traceability.ledger.errors import LedgerError
from traceability.ledger.signing import (
    b64encode,
    key_id,
    load_private_key_pem,
    public_key_raw,
    sign_document,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m traceability.ledger.sign", description=__doc__.splitlines()[0])
    parser.add_argument("--key", required=True, type=Path, help="Ed25519 private key, PKCS#8 PEM")
    parser.add_argument("--request", action="store_true", help="print the API request body, not just the signature")
    parser.add_argument("document", type=Path, help="the JSON document to sign ('-' for standard input)")
    args = parser.parse_args(argv)
    try:
        text = sys.stdin.read() if str(args.document) == "-" else args.document.read_text(encoding="utf-8")
        document = json.loads(text)
        private_key = load_private_key_pem(args.key.read_bytes())
        signature = b64encode(sign_document(private_key, document))
    except (OSError, json.JSONDecodeError, LedgerError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.request:
        body = {"document": document, "keyId": key_id(public_key_raw(private_key)), "signature": signature}
        print(json.dumps(body, indent=2, ensure_ascii=False))
    else:
        print(signature)
    return 0


if __name__ == "__main__":
    sys.exit(main())
