"""A database that goes away under a running API: 503 DATABASE_ERROR with the details in the log only, and the API
answers again once the database is back."""

from __future__ import annotations

import logging
from pathlib import Path

import psycopg
import pytest
from app_fixtures import admin, build_app
from postgres_cluster import PostgresCluster

from erp_sync.web.app import create_app


def _allow_connections(cluster: PostgresCluster, database: str, allowed: bool) -> None:
    with psycopg.connect(f"host=127.0.0.1 port={cluster.port} user=postgres dbname=postgres",
                         autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {"true" if allowed else "false"}')
        if not allowed:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [database])


def test_a_database_that_stops_answering_gives_503_database_error_and_the_api_recovers(
        pg_cluster: PostgresCluster, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = pg_cluster.create_database()
    database = url.rsplit("/", 1)[1]
    erp = build_app(url.replace("postgres@", "postgres:db-s3cret@"), tmp_path / "instance")
    client = create_app(erp).test_client()
    try:
        assert client.get("/healthz").status_code == 200
        assert client.get("/api/integrations", headers=admin()).status_code == 200
        _allow_connections(pg_cluster, database, False)
        caplog.set_level(logging.WARNING, logger="erp_sync.web.errors")
        answers = [client.get("/healthz"), client.get("/api/integrations", headers=admin())]
        for response in answers:
            assert response.status_code == 503, response.get_data(as_text=True)
            error = response.get_json()["error"]
            assert error["code"] == "DATABASE_ERROR"
            assert "ERP_SYNC_DATABASE_URL" in error["message"]
            assert database not in response.get_data(as_text=True)  # where the database lives stays in the log
        logged = [r for r in caplog.records if "DATABASE_ERROR" in r.getMessage()]
        assert [r.request_id for r in logged] == [r.headers["X-Request-ID"] for r in answers]  # type: ignore[attr-defined]
        assert database in logged[0].getMessage() and "not currently accepting connections" in logged[0].getMessage()
        assert "db-s3cret" not in caplog.text
        _allow_connections(pg_cluster, database, True)
        assert client.get("/healthz").status_code == 200
    finally:
        erp.close()
