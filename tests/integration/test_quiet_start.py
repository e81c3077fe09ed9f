"""``make run`` starts quietly: the demo load, run as the Makefile runs it (a fresh SQLite database,
migrations, then ``seed_demo --serving``, each a process of its own, eager tasks), prints the address,
every demo login with the password and what to try first, and nothing else; the task log and what
the demo holds go to the run log. Mirrors the ``run`` target's commands (the server itself is not
started)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from passport.management.commands.seed_demo import DEMO_LOGINS

PROJECT_ROOT = Path(__file__).resolve().parents[2]
URL = "http://127.0.0.1:8000"

pytestmark = pytest.mark.slow


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600
    )


def test_the_demo_start_prints_where_who_and_what_to_try_and_logs_the_rest(tmp_path):
    # given: the embedded platform of make run, in a directory of its own
    run_log = tmp_path / "run.log"
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"CELERY_BROKER_URL", "SECRET_KEY", "KEY_ENCRYPTION_KEY"}},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "LOOPTRACE_VAR_DIR": str(tmp_path),
        "RUN_LOG": str(run_log),
    }
    migrated = manage("migrate", "--noinput", env=env)
    assert migrated.returncode == 0, migrated.stderr

    # when
    seeded = manage("seed_demo", "--vehicles", "4", "--serving", URL, env=env)

    # then: stdout is the banner alone, stderr is empty (the progress bar shows on a terminal only)
    assert seeded.returncode == 0, seeded.stderr
    assert seeded.stderr == ""
    lines = seeded.stdout.splitlines()
    password = (tmp_path / "demo-password").read_text().strip()
    assert lines[0] == f"Looptrace: {URL}/"
    assert f"Demo logins, all with the password {password}" in lines
    listed = [line.split()[0] for line in lines if line.startswith("  ") and not line.startswith("   ")]
    for username, _ in DEMO_LOGINS:
        assert username in listed, username
    first = lines[lines.index("What to try first") + 1 : lines.index("", lines.index("What to try first"))]
    assert 3 <= len(first) <= 5
    assert any(f"{URL}/app/" in line for line in first)
    passport_page = next(line for line in first if "/passport/" in line)
    assert re.search(r"/passport/[0-9a-f-]{36}$", passport_page)
    assert any(line.split(":", 1)[1].strip().startswith(f"curl -s {URL}/api/v1/") for line in first)
    assert lines[-1] == f"Task log and what the demo holds: {run_log}"
    assert len(lines) == 1 + 1 + 1 + len(DEMO_LOGINS) + 1 + 1 + len(first) + 1 + 1
    assert "succeeded in" not in seeded.stdout + seeded.stderr
    # and: the log holds the tasks' lines and the demo's summary
    log = run_log.read_text()
    assert re.search(r"Task carbon\.tasks\.footprints_catch_up_task\[[0-9a-f-]+\] succeeded", log)
    assert "demo loop: 4 vehicles loaded" in log and "ledger: " in log


def test_the_run_target_sends_migrations_to_the_run_log_and_serves_after_the_banner():
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    run = makefile[makefile.index("\nrun:") : makefile.index("\n\n", makefile.index("\nrun:"))]

    assert "manage.py migrate --noinput >>$(RUN_LOG) 2>&1" in run
    assert "manage.py seed_demo --serving http://127.0.0.1:8000" in run
    assert run.rstrip().endswith("manage.py runserver 127.0.0.1:8000")
