"""Integration checks that must not wait for a run: where a target may write, its schema, repeated keys, and the
day-field rule of cron; refused at create and update with nothing saved, on both databases."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest
from app_fixtures import admin, customer_integration
from flask.testing import FlaskClient
from sqlalchemy import text

from erp_sync.bootstrap import ErpSync
from erp_sync.domain.integration import parse_spec
from erp_sync.web.app import create_app

RUN_ID_MAPPINGS = [{"source": "CUSTOMER.TRDR", "target": "id", "type": "integer"}]
VERSION_MAPPINGS = [{"source": "CUSTOMER.CODE", "target": "version_num"}]


@pytest.fixture
def client(erp: ErpSync) -> FlaskClient:
    return create_app(erp).test_client()


def error_of(response: Any, status: int) -> dict[str, Any]:
    body = response.get_json()
    assert response.status_code == status, body
    assert body["success"] is False
    return dict(body["error"])


def run_rows(erp: ErpSync) -> list[tuple[Any, ...]]:
    with erp.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text("SELECT id, status, error_code FROM erp_sync_runs"))]


FORBIDDEN = [
    ({"table": "erp_sync_runs"}, RUN_ID_MAPPINGS, ["id"], "target.table"),
    ({"table": "ERP_SYNC_RUNS"}, RUN_ID_MAPPINGS, ["id"], "target.table"),
    ({"table": '"erp_sync_runs"'}, RUN_ID_MAPPINGS, ["id"], "target.table"),
    ({"table": "erp_sync_integrations"}, RUN_ID_MAPPINGS, ["id"], "target.table"),
    ({"table": "erp_sync_bindings"}, RUN_ID_MAPPINGS, ["id"], "target.table"),
    ({"table": "erp_sync_brand_new", "createIfMissing": True}, RUN_ID_MAPPINGS, ["id"], "target.table"),
    ({"table": "alembic_version"}, VERSION_MAPPINGS, ["version_num"], "target.table"),
    ({"table": "Alembic_Version"}, VERSION_MAPPINGS, ["version_num"], "target.table"),
    ({"table": "sqlite_sequence", "createIfMissing": True}, RUN_ID_MAPPINGS, ["id"], "target.table"),
    ({"table": "sqlite_master"}, RUN_ID_MAPPINGS, ["id"], "target.table"),
    ({"table": "pg_class", "createIfMissing": True}, RUN_ID_MAPPINGS, ["id"], "target.table"),
    ({"table": "pg_class", "schema": "pg_catalog"}, RUN_ID_MAPPINGS, ["id"], "target.schema"),
    ({"table": "tables", "schema": "INFORMATION_SCHEMA"}, RUN_ID_MAPPINGS, ["id"], "target.schema"),
    ({"table": "customers", "schema": "pg_toast"}, RUN_ID_MAPPINGS, ["id"], "target.schema"),
    ({"table": "customers", "schema": "temp", "createIfMissing": True}, RUN_ID_MAPPINGS, ["id"], "target.schema"),
]


@pytest.mark.parametrize(("target", "mappings", "keys", "field"), FORBIDDEN)
def test_creating_an_integration_that_writes_into_erp_sync_or_a_catalog_is_forbidden_target(
        client: FlaskClient, erp: ErpSync, target: dict[str, Any], mappings: list[dict[str, str]], keys: list[str],
        field: str) -> None:
    body = customer_integration(target=target, mappings=mappings, keys=keys)
    error = error_of(client.post("/api/integrations", json=body, headers=admin()), 400)
    assert (error["code"], error["field"]) == ("FORBIDDEN_TARGET", field)
    assert target[field.removeprefix("target.")] in error["message"]
    assert erp.integrations.list() == []


@pytest.mark.parametrize(("target", "mappings", "keys", "field"), FORBIDDEN[:8])
def test_changing_an_integration_to_write_into_erp_sync_is_forbidden_target_and_keeps_it(
        client: FlaskClient, erp: ErpSync, target: dict[str, Any], mappings: list[dict[str, str]], keys: list[str],
        field: str) -> None:
    created = client.post("/api/integrations", json=customer_integration(), headers=admin()).get_json()["data"]
    patch = {"target": target, "mappings": mappings, "keys": keys}
    error = error_of(client.patch(f"/api/integrations/{created['id']}", json=patch, headers=admin()), 400)
    assert (error["code"], error["field"]) == ("FORBIDDEN_TARGET", field)
    stored = erp.integrations.get(created["id"]).spec
    assert (stored.target.table, list(stored.keys)) == ("customers", ["erp_id"])


def test_a_stored_integration_that_targets_the_runs_table_fails_its_run_and_leaves_the_runs_alone(
        client: FlaskClient, erp: ErpSync) -> None:
    # Saved before the check existed: it still lists, so it can be fixed or deleted, but it never writes.
    spec = parse_spec(customer_integration(target={"table": "erp_sync_runs"}, mappings=RUN_ID_MAPPINGS, keys=["id"]))
    integration = erp.repository.create(spec).id
    assert [i.id for i in erp.integrations.list()] == [integration]
    answer = client.post(f"/api/integrations/{integration}/sync?wait=true", json={}, headers=admin())
    error = error_of(answer, 502)
    assert error["details"]["run"]["error"]["code"] == "FORBIDDEN_TARGET"
    rows = run_rows(erp)
    assert [(status, code) for _, status, code in rows] == [("failed", "FORBIDDEN_TARGET")]


@pytest.mark.parametrize("create_if_missing", [False, True])
def test_a_schema_that_does_not_exist_is_unknown_schema_at_create_not_at_the_first_run(
        client: FlaskClient, erp: ErpSync, create_if_missing: bool) -> None:
    body = customer_integration(target={"table": "customers", "schema": "nope", "createIfMissing": create_if_missing})
    error = error_of(client.post("/api/integrations", json=body, headers=admin()), 400)
    assert (error["code"], error["field"]) == ("UNKNOWN_SCHEMA", "target.schema")
    assert "'nope'" in error["message"]
    assert erp.integrations.list() == []


def test_changing_to_a_schema_that_does_not_exist_is_unknown_schema_and_keeps_the_integration(
        client: FlaskClient, erp: ErpSync) -> None:
    created = client.post("/api/integrations", json=customer_integration(), headers=admin()).get_json()["data"]
    patch = {"target": {"schema": "nope", "createIfMissing": True}}
    error = error_of(client.patch(f"/api/integrations/{created['id']}", json=patch, headers=admin()), 400)
    assert (error["code"], error["field"]) == ("UNKNOWN_SCHEMA", "target.schema")
    assert erp.integrations.get(created["id"]).spec.target.schema_ is None


def test_the_default_schema_spelled_out_is_accepted(client: FlaskClient, erp: ErpSync) -> None:
    default = "main" if erp.engine.dialect.name == "sqlite" else "public"
    body = customer_integration(target={"table": "customers", "schema": default})
    response = client.post("/api/integrations", json=body, headers=admin())
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["data"]["target"]["schema"] == default


def test_a_key_listed_twice_is_invalid_mapping_at_create_and_update(client: FlaskClient, erp: ErpSync) -> None:
    body = customer_integration(keys=["erp_id", "erp_id"])
    error = error_of(client.post("/api/integrations", json=body, headers=admin()), 400)
    assert (error["code"], error["field"]) == ("INVALID_MAPPING", "keys[1]")
    assert "'erp_id'" in error["message"] and "twice" in error["message"]
    assert erp.integrations.list() == []
    created = client.post("/api/integrations", json=customer_integration(), headers=admin()).get_json()["data"]
    patched = client.patch(f"/api/integrations/{created['id']}", json={"keys": ["erp_id", "erp_id"]}, headers=admin())
    assert (error_of(patched, 400)["code"], error_of(patched, 400)["field"]) == ("INVALID_MAPPING", "keys[1]")
    assert list(erp.integrations.get(created["id"]).spec.keys) == ["erp_id"]


def preview_days(client: FlaskClient, cron: str, count: int) -> list[str]:
    body = customer_integration(schedule={"cronExpression": cron, "timezone": "Europe/Athens"})
    response = client.post("/api/integrations", json=body, headers=admin())
    assert response.status_code == 201, response.get_json()
    integration = response.get_json()["data"]["id"]
    preview = client.get(f"/api/integrations/{integration}/schedule?count={count}", headers=admin()).get_json()
    return [run["local"] for run in preview["data"]["nextRuns"]]


def test_the_15th_or_the_first_monday_is_accepted_and_previews_both_kinds_of_day(client: FlaskClient) -> None:
    runs = preview_days(client, "0 0 15 * 1#1", 6)
    days = [date.fromisoformat(run[:10]) for run in runs]
    assert all(run[11:19] == "00:00:00" for run in runs)
    assert all(d.day == 15 or (d.weekday() == 0 and d.day <= 7) for d in days), days
    assert any(d.day == 15 for d in days) and any(d.day != 15 for d in days), days


def test_february_29th_or_a_fifth_sunday_fires_every_leap_year_not_once_in_28_years(client: FlaskClient) -> None:
    days = [date.fromisoformat(run[:10]) for run in preview_days(client, "0 0 29 2 0#5", 3)]
    assert all((d.month, d.day) == (2, 29) for d in days), days
    assert [later.year - earlier.year for earlier, later in itertools.pairwise(days)] == [4, 4]
