"""``make faults``: PostgreSQL restarted while partners are recording events.

It restarts the PostgreSQL server it runs against, so it is a script, not a test: run it
on a machine of your own (``pg_ctlcluster`` must be able to restart the cluster). In a
throwaway database (``looptrace_bench_faults``), ``CLIENTS`` partner clients record
``RECEIPTS`` material receipts each through gunicorn, each request with its own
``Idempotency-Key``; midway the cluster is restarted. A client retries a request that got no
answer or a 503 with the same key, and never retries anything else. Then it checks:
during the restart the answers were clear (503 ``database_unavailable`` with Retry-After,
or no connection at all, never a 500), every receipt is stored exactly once, the ledger is
gapless and verifies. Exit status 0 when all holds.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 4
RECEIPTS = 40
DATABASE_NAME = "looptrace_bench_faults"


def _restart_postgresql() -> None:
    versions = sorted(os.listdir("/etc/postgresql"))
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "restart", "--mode", "fast"]
    subprocess.run(command, check=True, timeout=120)


class Client(threading.Thread):
    def __init__(self, number: int, port: int, api_key: str, site: int) -> None:
        super().__init__(daemon=True)
        self.number, self.port, self.api_key, self.site = number, port, api_key, site
        self.statuses: Counter[str] = Counter()
        self.bad: list[str] = []

    def run(self) -> None:
        for receipt in range(RECEIPTS):
            code = f"F{self.number}-{receipt}"
            lot = {"kind": "primary_ingot", "code": code, "mass": "1 t", "supplier": "Fault Smelter"}
            body = json.dumps({"site": self.site, "lots": [lot]})
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                status, answer = self._post(body.encode(), key=f"receipt-{code}")
                self.statuses[str(status)] += 1
                if status == 201:
                    break
                if status == 503 and answer.get("code") != "database_unavailable":
                    self.bad.append(f"{code}: 503 without its reason: {answer}")
                if status not in (503, None):
                    self.bad.append(f"{code}: {status} {answer}")
                    break
                time.sleep(0.5)
            time.sleep(0.05)

    def _post(self, body: bytes, *, key: str) -> tuple[int | None, dict[str, object]]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/v1/operations/material-receipt",
            data=body,
            headers={
                "Authorization": f"Api-Key {self.api_key}",
                "Content-Type": "application/json",
                "Idempotency-Key": key,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as error:
            try:
                return error.code, json.loads(error.read() or b"{}")
            except ValueError:
                return error.code, {}
        except OSError:
            return None, {}


def main() -> int:
    from bench.database import BenchDatabase

    os.environ["BENCH_DATABASE_NAME"] = DATABASE_NAME
    database = BenchDatabase.from_environment()
    database.recreate()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database.url,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        "KEY_ENCRYPTION_KEY": os.environ.get("KEY_ENCRYPTION_KEY") or secrets.token_urlsafe(50),
        "DB_CONN_MAX_AGE": "60",
        "LOG_LEVEL": "ERROR",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from tests.factories import make_partner, make_site
    from traceability.models import LedgerEntry, TraceableObject
    from traceability.verification import verify_ledger

    call_command("migrate", interactive=False, verbosity=0)
    partner = make_partner("fault-remelter", role="remelter")
    site = make_site(partner, "Remelt shop")
    connections.close_all()

    port = 8931
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--workers", "2", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
    )
    try:
        time.sleep(3)
        clients = [Client(n, port, partner.api_key, site.pk) for n in range(CLIENTS)]
        for client in clients:
            client.start()
        time.sleep(4)
        print("faults: restarting PostgreSQL", file=sys.stderr)
        _restart_postgresql()
        for client in clients:
            client.join(timeout=600)
    finally:
        server.terminate()
        server.wait(timeout=30)

    connections.close_all()
    statuses = sum((client.statuses for client in clients), Counter())
    bad = [line for client in clients for line in client.bad]
    stored = Counter(TraceableObject.objects.filter(label__startswith="F").values_list("label", flat=True))
    expected = {f"F{n}-{r}" for n in range(CLIENTS) for r in range(RECEIPTS)}
    seqs = list(LedgerEntry.objects.order_by("seq").values_list("seq", flat=True))
    report = verify_ledger(processes=2)
    print(f"faults: answers {dict(statuses)}", file=sys.stderr)
    checks = {
        "no unclear answer (500 or 503 without reason)": not bad and "500" not in statuses,
        "the restart was felt (503 or refused connections)": statuses["503"] + statuses["None"] > 0,
        "every receipt stored exactly once": set(stored) == expected and max(stored.values()) == 1,
        "the ledger is gapless": seqs == list(range(1, len(seqs) + 1)),
        "the ledger verifies": report.ok,
    }
    for name, held in checks.items():
        print(f"faults: {'ok  ' if held else 'FAIL'} {name}", file=sys.stderr)
    for line in bad[:10]:
        print(f"faults: {line}", file=sys.stderr)
    database.drop()
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
