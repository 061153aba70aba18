"""Retention: POST /api/cron/monitoring/cleanup and the daily cleanup claimed by one process."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from app_fixtures import CRON_SECRET, admin
from flask.testing import FlaskClient
from operations_support import History, build_frozen
from sqlalchemy import func, insert, select

from erp_sync.bootstrap import ErpSync
from erp_sync.clock import FrozenClock
from erp_sync.db import totals
from erp_sync.db.models import CONFLICTS, MAINTENANCE_CLAIMS, ROW_ERRORS, RUNS

CRON = {"X-Cron-Secret": CRON_SECRET}
DAY = timedelta(days=1)


def run_ids(erp: ErpSync) -> set[int]:
    with erp.engine.connect() as conn:
        return set(conn.execute(select(RUNS.c.id)).scalars())


def count(erp: ErpSync, table: Any) -> int:
    with erp.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def add_findings(erp: ErpSync, integration_id: int, run_id: int, errors: int = 2) -> None:
    now = erp.clock.now()
    with erp.engine.begin() as conn:
        conn.execute(insert(ROW_ERRORS), [{"integration_id": integration_id, "run_id": run_id, "code": "X",
                                           "reason": "bad row", "erp_key": str(i), "created_at": now}
                                          for i in range(errors)])
        conn.execute(insert(CONFLICTS).values(integration_id=integration_id, run_id=run_id, erp_key="1",
                                              local_key="1", policy="erp_wins", resolution="erp", created_at=now))


def cleanup(client: FlaskClient, body: Any, path: str = "/api/cron/monitoring/cleanup",
            headers: dict[str, str] = CRON) -> Any:
    return client.post(path, json=body, headers=headers)


def test_cleanup_deletes_old_runs_with_their_row_errors_and_conflicts_and_keeps_every_latest_run(
        client: FlaskClient, ops: ErpSync, history: History) -> None:
    busy, quiet, broken = (history.integration(name) for name in ("busy", "quiet", "broken"))
    old_busy = [history.run(busy, "succeeded", ago=(42 - i) * DAY, trigger="api") for i in range(3)]
    recent_busy = history.run(busy, "failed", ago=2 * DAY, trigger="api")
    quiet_latest = history.run(quiet, "succeeded", ago=50 * DAY, trigger="api")  # its only run: kept
    broken_success = history.run(broken, "succeeded", ago=60 * DAY, trigger="api")  # its last success: kept
    broken_old_failure = history.run(broken, "failed", ago=55 * DAY, trigger="api")
    broken_latest = history.run(broken, "failed", ago=45 * DAY, trigger="api")
    stuck = history.run(busy, "running", ago=90 * DAY, trigger="api")  # never deleted while not ended
    for run_id in (old_busy[0], recent_busy, broken_old_failure):
        add_findings(ops, busy if run_id != broken_old_failure else broken, run_id)

    response = cleanup(client, {"retentionDays": 30})
    data = response.get_json()["data"]
    assert response.status_code == 200, data
    assert data["deleted"] == {"runs": 3, "rowErrors": 4, "conflicts": 2, "maintenanceClaims": 0}
    assert data["retentionDays"] == 30 and data["cutoff"] == "2026-11-07T12:00:30Z"
    # old_busy[2] is busy's latest success: kept, like each integration's latest run
    assert run_ids(ops) == {old_busy[2], recent_busy, quiet_latest, broken_success, broken_latest, stuck}
    assert (count(ops, ROW_ERRORS), count(ops, CONFLICTS)) == (2, 1)  # those of the recent run


def test_slot_claims_younger_than_seven_days_stay_whatever_the_retention(
        client: FlaskClient, ops: ErpSync, history: History) -> None:
    integration = history.integration("scheduled")
    now = ops.clock.now()
    young_slot = history.run(integration, "skipped", ago=3 * DAY, scheduled_for=now - 3 * DAY)
    old_slot = history.run(integration, "succeeded", ago=8 * DAY, scheduled_for=now - 8 * DAY)
    manual = history.run(integration, "failed", ago=3 * DAY, trigger="api")
    latest = history.run(integration, "succeeded", ago=DAY / 2, trigger="api")
    data = cleanup(client, {"retentionDays": 1}).get_json()["data"]
    assert data["deleted"]["runs"] == 2
    assert run_ids(ops) == {young_slot, latest}
    assert old_slot not in run_ids(ops) and manual not in run_ids(ops)


def test_cleanup_never_lowers_the_totals_and_goes_in_batches(ops: ErpSync, history: History) -> None:
    integration = history.integration("many")
    now = ops.clock.now()
    rows = [{"integration_id": integration, "trigger": "api", "status": "succeeded", "started_at": now - 40 * DAY,
             "finished_at": now - 40 * DAY, "duration_ms": 2000, "full": False, "dry_run": False, "pages": 1,
             "fetched": 10, "inserted": 1, "updated": 2, "unchanged": 7, "deleted": 0, "pushed": 0, "conflicts": 0,
             "errors": 0} for _ in range(2500)]
    with ops.engine.begin() as conn:
        conn.execute(insert(RUNS), rows)
    latest = history.run(integration, "succeeded", ago=DAY, trigger="api", inserted=5)
    report = ops.retention.cleanup(30)
    assert report.runs == 2500
    assert run_ids(ops) == {latest}
    [row] = totals.totals(ops.engine)
    assert (row.runs, row.rows["inserted"], row.rows["updated"]) == (2501, 2505, 5000)
    ops.retention.cleanup(1)
    assert totals.totals(ops.engine)[0].runs == 2501


@pytest.mark.parametrize("body", [{"retentionDays": 0}, {"retentionDays": -1}, {"retentionDays": "7"},
                                  {"retentionDays": 3651}, {"retentionDays": True}, {"retentionDays": 1.5}, {},
                                  {"retentionDays": 7, "dryRun": True}, [7]])
def test_a_retention_that_is_not_1_to_3650_days_is_refused(client: FlaskClient, body: Any) -> None:
    for path, headers in (("/api/cron/monitoring/cleanup", CRON), ("/api/monitoring/cleanup", admin())):
        response = cleanup(client, body, path, headers)
        error = response.get_json()["error"]
        assert response.status_code == 400, error
        assert error["code"] == "VALIDATION_ERROR" and error["field"] in {"retentionDays", "dryRun"}


def test_the_cleanup_routes_take_their_own_credentials(client: FlaskClient) -> None:
    assert cleanup(client, {"retentionDays": 7}, headers=admin()).status_code == 401
    assert cleanup(client, {"retentionDays": 7}, "/api/monitoring/cleanup", CRON).status_code == 403
    assert cleanup(client, {"retentionDays": 7}, "/api/monitoring/cleanup", admin()).status_code == 200


def test_two_processes_on_one_database_run_one_daily_cleanup(
        database_url: str, tmp_path: Path, clock: FrozenClock) -> None:
    first = build_frozen(database_url, tmp_path / "a", clock, ERP_SYNC_RETENTION_DAYS="30")
    second = build_frozen_again(database_url, tmp_path / "b", clock)
    try:
        history = History(first)
        integration = history.integration("daily")
        for days in (40, 41, 1):
            history.run(integration, "succeeded", ago=days * DAY, trigger="api")
        reports = [app.retention.run_daily() for app in (first, second, first)]
        assert [report is not None for report in reports] == [True, False, False]
        assert reports[0] is not None and reports[0].runs == 2
        with first.engine.connect() as conn:
            [claim] = conn.execute(select(MAINTENANCE_CLAIMS)).mappings().all()
        assert (claim["task"], claim["slot"], claim["owner"]) == ("retention", "2026-12-07", first.runner.owner)
        assert claim["result"]["runs"] == 2 and claim["finished_at"] is not None
        clock.advance(DAY)
        assert second.retention.run_daily() is not None  # the next day is a new slot
    finally:
        first.close()
        second.close()


def build_frozen_again(database_url: str, instance_dir: Path, clock: FrozenClock) -> ErpSync:
    """A second process on the same, already migrated, database."""
    from app_fixtures import make_settings

    from erp_sync.bootstrap import build

    return build(make_settings(database_url, instance_dir, ERP_SYNC_RETENTION_DAYS="30"), clock=clock,
                 with_scheduler=False, owner="second:1")


def test_retention_days_zero_keeps_everything(ops: ErpSync, history: History) -> None:
    assert ops.retention.retention_days == 30
    integration = history.integration("kept")
    history.run(integration, "succeeded", ago=400 * DAY, trigger="api")
    history.run(integration, "succeeded", ago=300 * DAY, trigger="api")
    ops.retention.retention_days = 0
    assert ops.retention.run_daily() is None
    assert len(run_ids(ops)) == 2


def test_a_daily_cleanup_that_never_finished_is_taken_over_after_an_hour(
        ops: ErpSync, history: History, clock: FrozenClock) -> None:
    from erp_sync.db import maintenance

    integration = history.integration("interrupted")
    for days in (40, 1):
        history.run(integration, "succeeded", ago=days * DAY, trigger="api")
    assert maintenance.claim(ops.engine, "retention", "2026-12-07", "died:1", clock.now(), timedelta(hours=1))
    assert ops.retention.run_daily() is None  # claimed by a process that is still within its hour
    clock.advance(timedelta(minutes=61))
    report = ops.retention.run_daily()
    assert report is not None and report.runs == 1
    assert ops.retention.run_daily() is None  # finished now: nobody takes it over
