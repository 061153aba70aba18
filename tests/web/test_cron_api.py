"""Cron endpoints and the running scheduler following the database, against the sandbox over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from app_fixtures import CRON_SECRET, admin, build_app, customer_integration
from flask.testing import FlaskClient

from erp_sync.bootstrap import ErpSync
from erp_sync.domain import schedule
from erp_sync.sandbox import RunningSandbox, SandboxConfig, start_in_thread
from erp_sync.web.app import create_app

CRON = {"X-Cron-Secret": CRON_SECRET}


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    running = start_in_thread(SandboxConfig(customers=120, seed=3))
    yield running
    running.stop()


@pytest.fixture
def erp(database_url: str, tmp_path: Path) -> Iterator[ErpSync]:
    app = build_app(database_url, tmp_path / "instance", with_scheduler=True)
    app.scheduler.start()  # type: ignore[union-attr]
    yield app
    app.close()


@pytest.fixture
def client(erp: ErpSync) -> FlaskClient:
    return create_app(erp).test_client()


def create(client: FlaskClient, sandbox: RunningSandbox, **changes: Any) -> int:
    response = client.post("/api/integrations", json=customer_integration(sandbox.url, **changes), headers=admin())
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["data"]["id"])


def test_changing_a_schedule_over_http_moves_the_running_schedulers_next_run(
        client: FlaskClient, erp: ErpSync, sandbox: RunningSandbox) -> None:
    integration = create(client, sandbox, schedule={"cronExpression": "0 3 * * *", "timezone": "Europe/Athens"})
    assert erp.scheduler is not None
    first = erp.scheduler.next_run_time(integration)
    assert first == schedule.next_fire("0 3 * * *", "Europe/Athens", erp.clock.now())
    response = client.patch(f"/api/integrations/{integration}",
                            json={"schedule": {"cronExpression": "30 4 * * 1", "timezone": "America/New_York"}},
                            headers=admin())
    assert response.status_code == 200
    moved = erp.scheduler.next_run_time(integration)
    preview = client.get(f"/api/integrations/{integration}/schedule?count=1", headers=admin()).get_json()["data"]
    assert moved is not None and moved != first
    assert preview["nextRuns"][0]["utc"] == moved.isoformat().replace("+00:00", "Z")
    assert response.get_json()["data"]["nextRunAt"] == preview["nextRuns"][0]["utc"]
    client.patch(f"/api/integrations/{integration}", json={"isActive": False}, headers=admin())
    assert erp.scheduler.next_run_time(integration) is None
    client.patch(f"/api/integrations/{integration}", json={"isActive": True}, headers=admin())
    assert erp.scheduler.next_run_time(integration) == moved
    client.delete(f"/api/integrations/{integration}", headers=admin())
    assert [job.integration_id for job in erp.scheduler.jobs()] == []


def test_init_is_idempotent_and_lists_the_jobs(client: FlaskClient, sandbox: RunningSandbox) -> None:
    integration = create(client, sandbox)
    for path in ("/api/cron/init", "/api/cron/startup", "/api/cron/init"):
        response = client.get(path, headers=CRON)
        data = response.get_json()["data"]
        assert response.status_code == 200
        assert [job["jobId"] for job in data["jobs"]] == [f"integration:{integration}"]
        assert data["jobs"][0]["nextRunAt"].endswith("Z")


def test_cron_endpoints_need_the_cron_secret(client: FlaskClient) -> None:
    for headers in ({}, {"X-Cron-Secret": "wrong"}, admin()):
        response = client.get("/api/cron/init", headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "UNAUTHORIZED"
    assert client.get("/api/cron/init", headers={"Authorization": f"Bearer {CRON_SECRET}"}).status_code == 200


def test_sync_integration_starts_a_job_and_with_wait_answers_the_finished_run(
        client: FlaskClient, erp: ErpSync, sandbox: RunningSandbox) -> None:
    integration = create(client, sandbox)
    waited = client.post("/api/cron/sync-integration?wait=true", json={"integrationId": integration}, headers=CRON)
    run = waited.get_json()["data"]
    assert waited.status_code == 200
    assert run["status"] == "succeeded" and run["counts"]["inserted"] == 120 and run["trigger"] == "cron"
    started = client.get(f"/api/cron/sync-integration?integrationId={integration}", headers=CRON)
    job = started.get_json()["data"]
    assert started.status_code == 202
    assert job["status"] == "running" and job["startTime"].endswith("Z")
    erp.dispatch.shutdown(wait=True)
    finished = client.get(f"/api/runs/{job['jobId']}", headers=admin()).get_json()["data"]
    assert finished["status"] == "succeeded"
    latest = client.get("/api/sync", headers=CRON).get_json()["data"]
    assert latest["id"] == job["jobId"]


def test_sync_integration_answers_404_409_and_502_with_codes(client: FlaskClient, erp: ErpSync,
                                                            sandbox: RunningSandbox) -> None:
    assert client.get("/api/sync", headers=CRON).get_json()["error"]["code"] == "NO_SYNC_JOB"
    missing = client.post("/api/cron/sync-integration", json={"integrationId": 999}, headers=CRON)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "NOT_FOUND"
    no_id = client.post("/api/cron/sync-integration", json={}, headers=CRON)
    assert no_id.status_code == 400 and no_id.get_json()["error"]["field"] == "integrationId"
    paused = create(client, sandbox, name="paused", isActive=False)
    inactive = client.post("/api/cron/sync-integration", json={"integrationId": paused}, headers=CRON)
    assert inactive.status_code == 409 and inactive.get_json()["error"]["code"] == "INTEGRATION_INACTIVE"

    integration = create(client, sandbox)
    holder = erp.runner.prepare(integration, "api")
    assert holder is not None
    busy = client.post("/api/cron/sync-integration", json={"integrationId": integration}, headers=CRON)
    assert busy.status_code == 409
    assert busy.get_json()["error"]["code"] == "SYNC_IN_PROGRESS"
    assert busy.get_json()["error"]["details"]["runId"] == holder.run_id
    erp.runner.execute(holder)

    wrong = client.patch(f"/api/integrations/{integration}", json={"connection": {"password": "wrong"}},
                         headers=admin())
    assert wrong.status_code == 200
    failed = client.post("/api/cron/sync-integration?wait=true", json={"integrationId": integration}, headers=CRON)
    error = failed.get_json()["error"]
    assert failed.status_code == 502
    assert error["code"] == "SYNC_FAILED"
    assert error["details"]["run"]["error"]["code"] == "ERP_BAD_CREDENTIALS"
    assert "wrong" not in failed.get_data(as_text=True)


def test_post_sync_starts_every_active_integration(client: FlaskClient, erp: ErpSync,
                                                   sandbox: RunningSandbox) -> None:
    first = create(client, sandbox, name="one")
    second = create(client, sandbox, name="two", target={"table": "customers_two", "createIfMissing": True})
    create(client, sandbox, name="off", isActive=False, target={"table": "customers_off", "createIfMissing": True})
    response = client.post("/api/sync", headers=CRON)
    jobs = response.get_json()["data"]["jobs"]
    assert response.status_code == 202
    assert sorted(job["integrationId"] for job in jobs) == [first, second]
    erp.dispatch.shutdown(wait=True)
    for job in jobs:
        assert erp.monitoring.run(job["jobId"])["status"] == "succeeded"


def test_admin_sync_supports_dry_run_and_full(client: FlaskClient, sandbox: RunningSandbox) -> None:
    integration = create(client, sandbox)
    dry = client.post(f"/api/integrations/{integration}/sync?wait=true", json={"dryRun": True}, headers=admin())
    data = dry.get_json()["data"]
    assert dry.status_code == 200 and data["dryRun"] is True
    assert data["details"]["dryRun"]["wouldInsert"] == 120
    runs = client.get(f"/api/integrations/{integration}/runs?limit=5", headers=admin()).get_json()["data"]
    assert runs["total"] == 1 and runs["items"][0]["id"] == data["id"]
