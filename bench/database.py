"""The throwaway PostgreSQL database the benchmarks run in.

Its name is ``looptrace_bench`` (or ``BENCH_DATABASE_NAME``, which must start with
it); server, user, password and options come from ``DATABASE_URL``. It is dropped
and recreated at the start of a run and dropped at the end, so nothing a benchmark writes outlives the run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
import psycopg
from psycopg import sql

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/looptrace_bench"
BENCH_DATABASE_NAME = "looptrace_bench"
POSTGRES_ENGINE = "django.db.backends.postgresql"
# Databases to connect to while creating or dropping the benchmark database.
MAINTENANCE_DATABASES = ("postgres", "template1")


class BenchSetupError(Exception):
    """The benchmarks cannot run here (not PostgreSQL, server unreachable...)."""


@dataclass(frozen=True)
class BenchDatabase:
    url: str
    settings: dict[str, Any]

    @classmethod
    def from_environment(cls) -> BenchDatabase:
        """The benchmark database on the server ``DATABASE_URL`` names; refuses anything but PostgreSQL."""
        source = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
        try:
            parsed = dj_database_url.parse(source)
        except (ValueError, KeyError) as exc:
            raise BenchSetupError(f"DATABASE_URL is not a database URL: {exc}") from exc
        if parsed["ENGINE"] != POSTGRES_ENGINE:
            raise BenchSetupError(
                f"the benchmarks need PostgreSQL, but DATABASE_URL points at {parsed['ENGINE']} "
                "(set DATABASE_URL=postgres://user@host:port/name)"
            )
        name = os.environ.get("BENCH_DATABASE_NAME") or BENCH_DATABASE_NAME
        if not name.startswith(BENCH_DATABASE_NAME) or not name.replace("_", "").isalnum():
            raise BenchSetupError(
                f"BENCH_DATABASE_NAME must start with {BENCH_DATABASE_NAME} and hold only letters, digits and _"
            )
        parts = urlsplit(source)
        url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))
        return cls(url=url, settings=dj_database_url.parse(url))

    @property
    def name(self) -> str:
        return str(self.settings["NAME"])

    def connect_kwargs(self, dbname: str | None = None) -> dict[str, Any]:
        """Keyword arguments of ``psycopg.connect`` for this server (and this database unless told)."""
        kwargs: dict[str, Any] = {
            "dbname": dbname or self.name,
            "host": self.settings.get("HOST") or None,
            "port": self.settings.get("PORT") or None,
            "user": self.settings.get("USER") or None,
            "password": self.settings.get("PASSWORD") or None,
            **self.settings.get("OPTIONS", {}),
        }
        return {key: value for key, value in kwargs.items() if value is not None}

    def connect(self, **extra: Any) -> psycopg.Connection[Any]:
        return psycopg.connect(**self.connect_kwargs(), **extra)

    def _maintenance(self) -> psycopg.Connection[Any]:
        errors = []
        for dbname in MAINTENANCE_DATABASES:
            try:
                return psycopg.connect(**self.connect_kwargs(dbname), autocommit=True, connect_timeout=5)
            except psycopg.OperationalError as exc:
                errors.append(f"{dbname}: {exc}".strip())
        raise BenchSetupError("cannot reach the PostgreSQL server of DATABASE_URL: " + "; ".join(errors))

    def recreate(self) -> None:
        with self._maintenance() as conn:
            self._drop(conn)
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))

    def drop(self) -> None:
        with self._maintenance() as conn:
            self._drop(conn)

    def _drop(self, conn: psycopg.Connection[Any]) -> None:
        # FORCE (PostgreSQL 13+) ends sessions a crashed run may have left behind.
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))
