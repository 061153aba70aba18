"""/readyz: ready when the schema is at head and the scheduler runs where it should; /healthz stays as it is."""

from __future__ import annotations

from pathlib import Path

from app_fixtures import make_settings
from flask.testing import FlaskClient

from erp_sync.bootstrap import build
from erp_sync.db.migrate import head, upgrade
from erp_sync.web.app import create_app


def test_a_web_only_process_at_the_head_schema_is_ready(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["data"] == {"status": "ready", "schema": head(), "schemaNeeded": head(),
                                           "scheduler": "off"}


def test_a_process_whose_scheduler_should_run_but_does_not_is_not_ready_until_it_starts(
        database_url: str, tmp_path: Path) -> None:
    upgrade(database_url)
    erp = build(make_settings(database_url, tmp_path / "instance"), with_scheduler=True)
    try:
        client = create_app(erp).test_client()
        response = client.get("/readyz")
        error = response.get_json()["error"]
        assert response.status_code == 503 and error["code"] == "NOT_READY"
        assert error["details"]["scheduler"] == "stopped"
        assert "should run the scheduler" in error["details"]["reasons"][0]
        assert client.get("/healthz").status_code == 200
        assert erp.scheduler is not None
        erp.scheduler.start()
        assert client.get("/readyz").get_json()["data"]["scheduler"] == "running"
    finally:
        erp.close()


def test_a_database_behind_the_schema_is_not_ready_and_says_to_upgrade(database_url: str, tmp_path: Path) -> None:
    upgrade(database_url, "0004")
    erp = build(make_settings(database_url, tmp_path / "instance"), with_scheduler=False)
    try:
        client = create_app(erp).test_client()
        response = client.get("/readyz")
        error = response.get_json()["error"]
        assert response.status_code == 503 and error["code"] == "NOT_READY"
        assert error["details"]["schema"] == "0004" and error["details"]["schemaNeeded"] == head()
        assert error["message"] == (f"the database's schema is at revision 0004, this erp-sync needs {head()}: run "
                                    "`erp-sync db upgrade`")
        assert client.get("/healthz").status_code == 200
        upgrade(database_url)
        assert client.get("/readyz").status_code == 200
    finally:
        erp.close()


def test_a_database_that_cannot_be_reached_answers_503_database_error(tmp_path: Path) -> None:
    nobody_listens = "postgresql+psycopg://erp@127.0.0.1:9/erp"
    erp = build(make_settings(nobody_listens, tmp_path / "instance"), with_scheduler=False)
    try:
        response = create_app(erp).test_client().get("/readyz")
        assert response.status_code == 503
        assert response.get_json()["error"]["code"] == "DATABASE_ERROR"
    finally:
        erp.close()
