"""Independent verifiers of credentials, shared by the tests that run them: Digital Bazaar's
eddsa-jcs-2022 verifier (``tests/js/verify.mjs``, npm packages pinned in ``tests/js``)."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

JS_DIR = Path(__file__).resolve().parent / "js"
NPM_TIMEOUT = 300
NODE_TIMEOUT = 60


def installed_js_verifier() -> Path:
    """``tests/js`` with its pinned packages installed (``npm ci``, skipped when already in step)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("node and npm are needed for the independent Data Integrity verifier", pytrace=False)
    installed = JS_DIR / "node_modules" / ".package-lock.json"
    lock = json.loads((JS_DIR / "package-lock.json").read_text())["packages"]
    in_step = installed.exists() and json.loads(installed.read_text())["packages"] == {
        path: entry for path, entry in lock.items() if path
    }
    if not in_step:
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=JS_DIR,
            check=True,
            timeout=NPM_TIMEOUT,
            capture_output=True,
        )
    return JS_DIR / "verify.mjs"


def node_verify(script: Path, credential_file: Path, server: str) -> tuple[int, dict[str, object]]:
    done = subprocess.run(
        ["node", str(script), str(credential_file), server],
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
        check=False,
    )
    assert done.stdout.strip(), done.stderr
    return done.returncode, json.loads(done.stdout)
