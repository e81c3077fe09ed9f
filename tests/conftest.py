"""Test set-up: real PostgreSQL and Redis, and shared fixtures.

With ``REQUIRE_SERVICES=1`` (CI) a test that needs PostgreSQL or Redis fails when
the service is missing; without it, such a test is skipped with the reason.
"""

import os
import uuid
from pathlib import Path

import pytest
import redis
from django.core.cache import cache
from django.db import connection

from tests.factories import make_partner
from tests.verifiers import installed_js_verifier

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
# A test using one of these starts a server (and a browser): marked slow wherever it lives.
SLOW_FIXTURES = frozenset({"live_server", "chromium"})


def _missing(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    for item in items:
        if item.get_closest_marker("postgres") or item.get_closest_marker("redis"):
            item.fixturenames.append("_required_services")
        if SLOW_FIXTURES.intersection(item.fixturenames):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def _required_services(request):  # type: ignore[no-untyped-def]
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _missing(f"this test needs PostgreSQL and DATABASE_URL points at {connection.vendor}")
    if request.node.get_closest_marker("redis"):
        try:
            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        except redis.RedisError as exc:
            _missing(f"this test needs Redis at {REDIS_URL}: {exc}")


@pytest.fixture(scope="session", autouse=True)
def _database_reachable(django_db_blocker):  # type: ignore[no-untyped-def]
    """Fail fast, with one clear message, when DATABASE_URL names a server that is down."""
    if connection.vendor == "postgresql":
        with django_db_blocker.unblock():
            try:
                with connection._nodb_cursor() as cursor:
                    cursor.execute("SELECT 1")
            except Exception as exc:
                pytest.exit(f"PostgreSQL is not reachable at DATABASE_URL: {exc}", returncode=1)
    elif REQUIRE_SERVICES:
        pytest.exit(f"REQUIRE_SERVICES=1 but DATABASE_URL points at {connection.vendor}", returncode=1)


@pytest.fixture(scope="session", autouse=True)
def _flush_past_append_only_triggers():  # type: ignore[no-untyped-def]
    """Let the test runner empty ledger tables between transactional tests.

    The triggers refuse TRUNCATE and DELETE by design; the test runner's flush
    runs with them switched off (PostgreSQL's replica role, or SQLite triggers
    dropped and re-created), exactly as a database owner could.
    """
    from django.db.backends.base.operations import BaseDatabaseOperations

    original = BaseDatabaseOperations.execute_sql_flush

    def flush(self, sql_list):  # type: ignore[no-untyped-def]
        with suspended_ledger_triggers(self.connection):
            original(self, sql_list)

    BaseDatabaseOperations.execute_sql_flush = flush
    yield
    BaseDatabaseOperations.execute_sql_flush = original


class suspended_ledger_triggers:
    """Switch the append-only triggers off on one connection, as an attacker with owner rights could."""

    def __init__(self, conn):  # type: ignore[no-untyped-def]
        self.conn = conn

    def __enter__(self):  # type: ignore[no-untyped-def]
        if self.conn.vendor == "postgresql":
            with self.conn.cursor() as cursor:
                cursor.execute("SET session_replication_role = replica")
        elif self.conn.vendor == "sqlite":
            self._sqlite_triggers(drop=True)
        return self

    def __exit__(self, *exc):  # type: ignore[no-untyped-def]
        if self.conn.vendor == "postgresql":
            with self.conn.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")
        elif self.conn.vendor == "sqlite":
            self._sqlite_triggers(drop=False)

    def _sqlite_triggers(self, *, drop: bool) -> None:
        from importlib import import_module

        migration = import_module("traceability.migrations.0002_append_only_triggers")

        class Editor:
            connection = self.conn

            @staticmethod
            def execute(sql):  # type: ignore[no-untyped-def]
                with self.conn.cursor() as cursor:
                    cursor.execute(sql)

        (migration.uninstall if drop else migration.install)(None, Editor)


@pytest.fixture
def tamper(db):  # type: ignore[no-untyped-def]
    """Run raw SQL with the triggers switched off: the attacker's tool."""

    def run(sql: str, params=None):  # type: ignore[no-untyped-def]
        with suspended_ledger_triggers(connection), connection.cursor() as cursor:
            cursor.execute(sql, params or [])

    return run


@pytest.fixture
def partner(db):  # type: ignore[no-untyped-def]
    """A remelter with a client-side key (private key included), a custodial key and an API key."""
    return make_partner("nordic-remelt", role="remelter")


@pytest.fixture(autouse=True)
def _fresh_failure_counts():  # type: ignore[no-untyped-def]
    """Every test starts with no failed sign-ins on record (the counts live in the cache)."""
    cache.clear()


@pytest.fixture(autouse=True)
def _own_tiles_directory(settings, tmp_path_factory):  # type: ignore[no-untyped-def]
    """Each test's ledger publishes its tiles into a directory of its own, never the checkout's var/."""
    settings.TLOG_TILES_DIR = tmp_path_factory.getbasetemp() / f"tlog-{uuid.uuid4().hex}"  # made when written


@pytest.fixture(autouse=True)
def _shipped_data_rows(request):  # type: ignore[no-untyped-def]
    """Transactional tests flush the tables after themselves, data migrations' rows included:
    put the shipped rows (alloy specifications, emission factors) back before each one."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        return
    request.getfixturevalue("transactional_db")
    from importlib import import_module

    from django.apps import apps

    import_module("traceability.migrations.0004_alloy_specifications").load(apps, None)
    import_module("carbon.migrations.0002_seed_factors").load(apps, None)


@pytest.fixture(scope="session")
def js_verifier() -> Path:
    """The independent Data Integrity verifier's script, its pinned npm packages installed."""
    return installed_js_verifier()
