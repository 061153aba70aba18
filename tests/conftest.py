"""Shared fixtures: the databases every database-touching test runs on.

`database_url` is parametrized over SQLite (a file in the test's temp folder) and PostgreSQL (a fresh database in
a cluster this test run starts itself). Set ERP_SYNC_TEST_DATABASES=sqlite to run SQLite only while iterating;
CI runs both, and a missing PostgreSQL installation fails the run there rather than skipping silently.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_fixtures import build_app
from postgres_cluster import PostgresCluster, find_bin_dir

from erp_sync.bootstrap import ErpSync


def _wanted_databases() -> list[str]:
    raw = os.environ.get("ERP_SYNC_TEST_DATABASES", "sqlite,postgresql")
    return [name.strip() for name in raw.split(",") if name.strip()]


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL binaries are missing; .ci/run installs Debian's postgresql package")
        pytest.skip("PostgreSQL is not installed here")
    cluster = PostgresCluster(bin_dir).start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=_wanted_databases())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'app.sqlite3'}"
    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database()


@pytest.fixture
def erp(database_url: str, tmp_path: Path) -> Iterator[ErpSync]:
    """A migrated erp-sync (no scheduler, no sandbox) with the test `customers` table, on each database."""
    app = build_app(database_url, tmp_path / "instance")
    yield app
    app.close()
