"""``passport_load``: passport reads per second through gunicorn under load, against a static JSON view.

The stack is the production one: gunicorn (``WORKERS`` processes, ``DEBUG=0``, a shared
Redis cache) on the benchmark's PostgreSQL database, loaded with the demo (``DEMO_VEHICLES`` vehicles, one
passport per pack, repurposed packs get a second). Locust (``bench/locustfile.py``)
runs headless with ``USERS`` users and no think time, for ``SECONDS`` seconds per run.

Subject: ``GET /api/v1/passports/{id}`` at the public tier for random passports (the
passport, its newest version, the tier filter; the public view is cached until the
passport changes, so most reads are a cache hit). Baseline: ``GET /api/v1/health``, a
constant JSON answer through the same routing, middleware and DRF. Each is run twice,
alternating, and the better run of each counts (noise on a shared machine only slows
things down). The ratio is passport requests/s over health requests/s (target >= 0.5);
the p50 and p99 latencies of both go to standard error. Then, for reference (no
target), EPCIS capture under the same load: documents of ``CAPTURE_EVENTS`` new events
from ``USERS`` partners' clients, with their events/s and p99.
"""

from __future__ import annotations

import csv
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import redis
from django.core.management import call_command

from bench.database import BenchDatabase
from bench.report import BenchError, Result

TARGET = ">=0.5"
WORKERS = 2
USERS = 16
SECONDS = 15
ROUNDS = 2
DEMO_VEHICLES = 24
CAPTURE_EVENTS = 50
# A Redis database of the benchmark's own (emptied before the run) for the servers' shared cache.
CACHE_URL = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/13")
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    failures: int
    # Each request name's (requests/s, p50 ms, p99 ms).
    by_name: dict[str, tuple[float, float, float]] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(database: BenchDatabase) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database.url,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "DB_CONN_MAX_AGE": "60",
        # The processes share one cache, as a deployment's do (README: CACHE_URL).
        "CACHE_URL": CACHE_URL,
        "LOG_LEVEL": "WARNING",
    }


def serve(database: BenchDatabase, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--workers", str(WORKERS)]
    command += ["--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=ROOT, env=_environment(database))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise BenchError("gunicorn did not answer within a minute")


def locust(user: str, port: int, extra_env: dict[str, str]) -> Load:
    with tempfile.TemporaryDirectory() as directory:
        prefix = str(Path(directory) / "run")
        command = [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless"]
        command += ["--users", str(USERS), "--spawn-rate", str(USERS), "--run-time", f"{SECONDS}s"]
        command += ["--host", f"http://127.0.0.1:{port}", "--csv", prefix, "--only-summary", "--loglevel", "WARNING"]
        result = subprocess.run(
            [*command, user],
            cwd=ROOT,
            env={**os.environ, **extra_env},
            capture_output=True,
            text=True,
            timeout=SECONDS + 120,
            check=False,
        )
        stats = Path(f"{prefix}_stats.csv")
        if not stats.exists():
            raise BenchError(f"locust wrote no statistics: {result.stderr[-2000:]}")
        with stats.open(newline="") as handle:
            rows = {row["Name"]: row for row in csv.DictReader(handle)}
    total = rows["Aggregated"]
    load = Load(
        requests_per_second=float(total["Requests/s"]),
        p50_ms=float(total["50%"]),
        p99_ms=float(total["99%"]),
        requests=int(total["Request Count"]),
        failures=int(total["Failure Count"]),
        by_name={
            name: (float(row["Requests/s"]), float(row["50%"]), float(row["99%"]))
            for name, row in rows.items()
            if name != "Aggregated"
        },
    )
    if load.failures:
        raise BenchError(f"{user}: {load.failures} of {load.requests} requests failed")
    return load


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr)


def run(database: BenchDatabase) -> Result:
    from passport.models import Passport
    from traceability import services

    call_command("seed_demo", "--vehicles", str(DEMO_VEHICLES), stdout=io.StringIO())
    passports = [
        str(pk) for pk in Passport.objects.filter(versions__isnull=False).distinct().values_list("pk", flat=True)
    ]
    if not passports:
        raise BenchError("the demo issued no passport")
    partner = services.organisation_create(slug="bench-load-partner", name="Bench load partner", role="remelter")
    services.signing_key_create_custodial(organisation=partner)
    _, api_key = services.api_credential_create(organisation=partner)
    env = {"LOAD_PASSPORTS": ",".join(passports), "LOAD_API_KEY": api_key, "LOAD_CAPTURE_EVENTS": str(CAPTURE_EVENTS)}

    redis.Redis.from_url(CACHE_URL).flushdb()
    port = free_port()
    server = serve(database, port)
    try:
        reads: list[Load] = []
        baselines: list[Load] = []
        for number in range(1, ROUNDS + 1):
            reads.append(locust("PassportReader", port, env))
            baselines.append(locust("HealthReader", port, env))
            log(
                f"passport_load: round {number}: passports {reads[-1].requests_per_second:,.0f} req/s "
                f"(p50 {reads[-1].p50_ms:.0f} ms, p99 {reads[-1].p99_ms:.0f} ms), health "
                f"{baselines[-1].requests_per_second:,.0f} req/s (p99 {baselines[-1].p99_ms:.0f} ms)"
            )
        capture = locust("EpcisCapturer", port, env)
        log(
            f"passport_load: EPCIS capture under load: {capture.requests_per_second * CAPTURE_EVENTS:,.0f} events/s "
            f"in documents of {CAPTURE_EVENTS} (p50 {capture.p50_ms:.0f} ms, p99 {capture.p99_ms:.0f} ms per document)"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    read = max(reads, key=lambda load: load.requests_per_second)
    baseline = max(baselines, key=lambda load: load.requests_per_second)
    log(
        f"passport_load: best passports {read.requests_per_second:,.0f} req/s, p99 {read.p99_ms:.0f} ms; "
        f"best health {baseline.requests_per_second:,.0f} req/s, p99 {baseline.p99_ms:.0f} ms "
        f"({len(passports)} passports, {WORKERS} gunicorn workers, {USERS} users)"
    )
    return Result.of(value=read.requests_per_second, baseline=baseline.requests_per_second, unit="req/s", target=TARGET)
