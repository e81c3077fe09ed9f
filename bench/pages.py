"""``pages_load``: the five heaviest console and passport pages through gunicorn under load, at demo size.

The stack and the demo are ``passport_load``'s (``bench/load.py``): gunicorn with ``WORKERS``
processes, ``DEBUG=0`` and a shared Redis cache, the demo seeded with ``DEMO_VEHICLES`` vehicles
(when the database has none yet). A remelter's member signs in once per simulated user.

Subject: the pages people wait for, one request name each, drawn evenly: the remelter's
dashboard (plots of its weekly footprints), the lot page of its melt with the most inputs
(genealogy, mass balance, footprint, verification against the checkpoint), the events list, its
site's mass-balance account for the demo's year, and a public battery passport page. Baseline:
``GET /api/v1/health`` through the same stack. The ratio is pages/s over health requests/s; each
page's p50 and p99 go to standard error, the figures people feel.
"""

from __future__ import annotations

import io
import secrets

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count

from bench.database import BenchDatabase
from bench.load import CACHE_URL, DEMO_VEHICLES, ROUNDS, USERS, WORKERS, free_port, locust, log, serve
from bench.report import BenchError, Result

TARGET = ">=0.05"
REMELTER = "nordic-remelt"


def _pages() -> list[tuple[str, str]]:
    from passport.models import Passport
    from traceability.models import Organisation, Site, TraceableObject

    if not Organisation.objects.filter(slug=REMELTER).exists():
        call_command("seed_demo", "--vehicles", str(DEMO_VEHICLES), stdout=io.StringIO())
    remelter = Organisation.objects.get(slug=REMELTER)
    melt = (
        TraceableObject.objects.filter(created_by=remelter, kind="melt_batch")
        .annotate(inputs=Count("flows_in"))
        .order_by("-inputs")
        .first()
    )
    site = Site.objects.filter(organisation=remelter).first()
    passport = Passport.objects.filter(versions__isnull=False).first()
    if melt is None or site is None or passport is None:
        raise BenchError("the demo holds no melt, remelting site or passport")
    year = melt.created_at.year
    return [
        ("dashboard", "/app/"),
        ("melt lot page", f"/app/lots/{melt.pk}/"),
        ("events list", "/app/events/"),
        ("site account", f"/app/sites/{site.pk}/account/{year}/"),
        ("passport page", f"/passport/{passport.pk}"),
    ]


def _member() -> tuple[str, str]:
    from traceability.models import Membership, Organisation

    username, password = "bench-pages-reader", secrets.token_urlsafe(16)
    user, _ = get_user_model().objects.get_or_create(username=username)
    user.set_password(password)
    user.save()
    Membership.objects.get_or_create(user=user, organisation=Organisation.objects.get(slug=REMELTER))
    return username, password


def run(database: BenchDatabase) -> Result:
    import redis

    pages = _pages()
    username, password = _member()
    env = {
        "LOAD_PAGES": ",".join(f"{name}={path}" for name, path in pages),
        "LOAD_USERNAME": username,
        "LOAD_PASSWORD": password,
    }
    redis.Redis.from_url(CACHE_URL).flushdb()
    port = free_port()
    server = serve(database, port)
    try:
        reads, baselines = [], []
        for number in range(1, ROUNDS + 1):
            reads.append(locust("PageReader", port, env))
            baselines.append(locust("HealthReader", port, env))
            log(
                f"pages_load: round {number}: pages {reads[-1].requests_per_second:,.1f} req/s "
                f"(p99 {reads[-1].p99_ms:.0f} ms), health {baselines[-1].requests_per_second:,.0f} req/s"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    read = max(reads, key=lambda load: load.requests_per_second)
    baseline = max(baselines, key=lambda load: load.requests_per_second)
    for name, (per_second, p50, p99) in sorted(read.by_name.items()):
        if name != "sign-in":
            log(f"pages_load: {name}: {per_second:,.1f} req/s, p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    log(f"pages_load: {WORKERS} gunicorn workers, {USERS} users, best round of {ROUNDS}")
    return Result.of(value=read.requests_per_second, baseline=baseline.requests_per_second, unit="req/s", target=TARGET)
