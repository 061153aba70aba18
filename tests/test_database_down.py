"""A PostgreSQL database that goes away under a running service: the API answers 503 DATABASE_ERROR with the details
in the log only, a scheduled slot and the schedule poll log one line each instead of a traceback, and everything
works again once the database is back."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from app_fixtures import admin, build_app, customer_integration
from postgres_cluster import PostgresCluster

from erp_sync.bootstrap import ErpSync
from erp_sync.errors import ErpSyncError
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


def test_a_database_error_raised_by_the_service_layer_is_answered_without_naming_the_database(
        pg_cluster: PostgresCluster, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """`desired_schedule` (start-up's reconcile) turns the driver's failure into a DATABASE_ERROR whose message names
    the database; an API answer must not carry it, whichever handler the error reaches."""
    url = pg_cluster.create_database()
    database = url.rsplit("/", 1)[1]
    erp = build_app(url, tmp_path / "instance")
    app = create_app(erp)
    app.add_url_rule("/test/schedule", "test_schedule", lambda: {"entries": len(erp.desired_schedule())})
    client = app.test_client()
    try:
        assert client.get("/test/schedule").get_json() == {"entries": 0}
        _allow_connections(pg_cluster, database, False)
        caplog.set_level(logging.WARNING, logger="erp_sync.web.errors")
        response = client.get("/test/schedule")
        assert response.status_code == 503
        assert response.get_json()["error"]["code"] == "DATABASE_ERROR"
        assert "ERP_SYNC_DATABASE_URL" in response.get_json()["error"]["message"]
        assert database not in response.get_data(as_text=True)
        logged = [r.getMessage() for r in caplog.records if "DATABASE_ERROR" in r.getMessage()]
        assert len(logged) == 1 and database in logged[0]
    finally:
        _allow_connections(pg_cluster, database, True)
        erp.close()


@pytest.fixture
def erp_on_postgres(pg_cluster: PostgresCluster, tmp_path: Path) -> Iterator[tuple[ErpSync, str]]:
    url = pg_cluster.create_database()
    erp = build_app(url, tmp_path / "instance")
    yield erp, url.rsplit("/", 1)[1]
    erp.close()


def test_a_slot_that_fires_while_the_database_is_down_logs_one_line_and_the_next_one_runs(
        erp_on_postgres: tuple[ErpSync, str], pg_cluster: PostgresCluster, caplog: pytest.LogCaptureFixture) -> None:
    erp, database = erp_on_postgres
    integration = erp.integrations.create(customer_integration()).id  # its SoftOne is a closed port: runs fail
    _allow_connections(pg_cluster, database, False)
    caplog.set_level(logging.WARNING)
    slot = datetime(2026, 11, 23, 10, 5, tzinfo=UTC)
    assert erp.run_slot(integration, slot) is None
    with pytest.raises(ErpSyncError) as raised:
        erp.desired_schedule()
    assert raised.value.code == "DATABASE_ERROR"
    lines = [r for r in caplog.records if "DATABASE_ERROR" in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None
    said = lines[0].getMessage()
    assert f"integration {integration}: the run of slot 2026-11-23T10:05:00+00:00 did not start" in said
    _allow_connections(pg_cluster, database, True)
    outcome = erp.run_slot(integration, slot)  # the slot was not claimed while the database was down
    assert outcome is not None and outcome.error_code == "ERP_UNAVAILABLE"
    assert [e.integration_id for e in erp.desired_schedule()] == [integration]
