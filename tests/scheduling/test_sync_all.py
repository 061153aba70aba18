"""`POST /api/sync` for external schedulers: 202 when it started something (or there was nothing to start), 409
SYNC_IN_PROGRESS when every active integration was already running, so a crontab line can treat both as fine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from app_fixtures import CRON_SECRET, customer_integration
from flask.testing import FlaskClient

from erp_sync.bootstrap import ErpSync
from erp_sync.sandbox import RunningSandbox
from erp_sync.services.sync import PreparedRun

CRON = {"X-Cron-Secret": CRON_SECRET}


@pytest.fixture
def running(erp: ErpSync) -> Iterator[list[PreparedRun]]:
    """Runs that hold their integration's lease until the test ends, as a run in another process would."""
    held: list[PreparedRun] = []
    yield held
    for prepared in held:
        erp.runner.execute(prepared)


def make(erp: ErpSync, sandbox: RunningSandbox, name: str) -> int:
    target = {"table": f"t_{name}", "createIfMissing": True}
    return erp.integrations.create(customer_integration(sandbox.url, name=name, target=target)).id


def hold(erp: ErpSync, running: list[PreparedRun], integration_id: int) -> int:
    prepared = erp.runner.prepare(integration_id, "cli")
    assert prepared is not None
    running.append(prepared)
    return prepared.run_id


def test_sync_all_while_every_active_integration_runs_is_409_sync_in_progress_naming_the_live_runs(
        client: FlaskClient, erp: ErpSync, sandbox: RunningSandbox, running: list[PreparedRun]) -> None:
    first, second = make(erp, sandbox, "first"), make(erp, sandbox, "second")
    live = {first: hold(erp, running, first), second: hold(erp, running, second)}
    response = client.post("/api/sync", headers=CRON)
    assert response.status_code == 409, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "SYNC_IN_PROGRESS"
    assert {s["integrationId"]: s["runId"] for s in error["details"]["skipped"]} == live
    assert f"run {live[first]}" in error["message"] and f"run {live[second]}" in error["message"]


def test_sync_all_with_one_integration_free_starts_it_and_lists_the_busy_one_as_skipped(
        client: FlaskClient, erp: ErpSync, sandbox: RunningSandbox, running: list[PreparedRun]) -> None:
    busy, free = make(erp, sandbox, "busy"), make(erp, sandbox, "free")
    live = hold(erp, running, busy)
    response = client.post("/api/sync", headers=CRON)
    assert response.status_code == 202, response.get_json()
    data = response.get_json()["data"]
    assert [job["integrationId"] for job in data["jobs"]] == [free]
    assert [(s["integrationId"], s["code"], s["runId"]) for s in data["skipped"]] == [
        (busy, "SYNC_IN_PROGRESS", live)]


def test_sync_all_with_no_active_integration_is_202_with_nothing_started(client: FlaskClient) -> None:
    response = client.post("/api/sync", headers=CRON)
    assert response.status_code == 202
    assert response.get_json()["data"] == {"jobs": [], "skipped": []}
