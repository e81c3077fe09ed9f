"""``python -m traceability.credentials.core CREDENTIAL DID_JSON [STATUS_LIST_JSON]``: exit 0 when it verifies."""

import argparse
import json
import sys
from pathlib import Path

from traceability.credentials.core.verify import verify_credential


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a Looptrace credential against its issuer's DID document.")
    parser.add_argument("credential", type=Path, help="the credential: JSON with its proof, or the vc+jwt text")
    parser.add_argument("did_document", type=Path, help="the issuer's did.json")
    parser.add_argument("status_list", type=Path, nargs="?", help="the status list credential it names (JSON)")
    args = parser.parse_args(argv)
    try:
        text = args.credential.read_text(encoding="utf-8")
        document = json.loads(args.did_document.read_text(encoding="utf-8"))
        listed = args.status_list.read_text(encoding="utf-8") if args.status_list else None
    except (OSError, ValueError) as error:
        print(f"cannot read the inputs: {error}", file=sys.stderr)
        return 2
    verdict = verify_credential(text, did_document=document, status_list=listed)
    print(json.dumps(verdict.as_json()))
    return 0 if verdict.verified and not verdict.status_set else 1


if __name__ == "__main__":
    sys.exit(main())
