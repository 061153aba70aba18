"""GET /api/cron/monitoring and /api/monitoring: statistics and alerts from a seeded run history, and from real
failing runs against the sandbox."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from app_fixtures import CRON_SECRET, admin, customer_integration
from flask.testing import FlaskClient
from operations_support import NOW, History

from erp_sync.bootstrap import ErpSync
from erp_sync.sandbox import RunningSandbox

CRON = {"X-Cron-Secret": CRON_SECRET}
MIN = timedelta(minutes=1)


def overview(client: FlaskClient, query: str = "") -> dict[str, Any]:
    response = client.get(f"/api/cron/monitoring{query}", headers=CRON)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def stats_of(data: dict[str, Any], integration_id: int) -> dict[str, Any]:
    return next(item for item in data["stats"] if item["integrationId"] == integration_id)


def alerts_of(data: dict[str, Any], integration_id: int) -> dict[str, dict[str, Any]]:
    return {alert["code"]: alert for alert in data["alerts"] if alert["integrationId"] == integration_id}


def test_stats_count_successes_and_failures_in_the_range_and_leave_skipped_runs_out(
        client: FlaskClient, history: History) -> None:
    mixed = history.integration("mixed")
    history.run(mixed, "succeeded", ago=30 * 60 * MIN, duration_ms=9_000)  # outside 24 h
    for minutes, status, duration in [(300, "succeeded", 1_000), (250, "succeeded_with_errors", 2_000),
                                      (200, "failed", 3_000), (150, "succeeded", 4_000), (100, "skipped", 0),
                                      (50, "failed", 5_000), (20, "abandoned", 6_000)]:
        history.run(mixed, status, ago=minutes * MIN, duration_ms=duration,
                    error_code="ERP_UNAVAILABLE" if status == "failed" else None)
    data = overview(client)
    stats = stats_of(data, mixed)
    assert stats == {**stats, "name": "mixed", "isActive": True, "totalExecutions": 6, "successCount": 3,
                     "failureCount": 3, "successRate": 0.5, "averageDuration": 3500, "p95DurationMs": 6000,
                     "lastStatus": "abandoned", "recentFailures": 2}
    assert stats["lastExecution"] == (NOW - 20 * MIN).isoformat().replace("+00:00", "Z")
    assert stats["lastSuccessAt"] == (NOW - 150 * MIN + timedelta(seconds=4)).isoformat().replace("+00:00", "Z")
    assert stats["nextRunAt"] == "2026-12-07T12:05:00Z"
    assert data["timeRange"] == {"hours": 24, "since": "2026-12-06T12:00:30Z"}
    recent = next(item for item in data["recentExecutions"] if item["integrationId"] == mixed)["runs"]
    assert [run["status"] for run in recent] == ["abandoned", "failed", "succeeded", "failed",
                                                 "succeeded_with_errors", "succeeded", "succeeded"]
    wider = stats_of(overview(client, "?timeRange=168"), mixed)
    assert (wider["totalExecutions"], wider["successCount"]) == (7, 4)


def test_an_integration_without_runs_has_no_rate_and_recent_executions_are_the_last_ten(
        client: FlaskClient, history: History) -> None:
    idle = history.integration("idle", created_ago=MIN)
    busy = history.integration("busy")
    ids = [history.run(busy, "succeeded", ago=(12 - i) * MIN) for i in range(12)]
    data = overview(client)
    assert stats_of(data, idle) == {**stats_of(data, idle), "totalExecutions": 0, "successRate": None,
                                    "averageDuration": None, "p95DurationMs": None, "lastExecution": None,
                                    "lastStatus": None, "recentFailures": 0, "lastSuccessAt": None}
    recent = next(item for item in data["recentExecutions"] if item["integrationId"] == busy)["runs"]
    assert [run["id"] for run in recent] == list(reversed(ids))[:10]
    assert alerts_of(data, idle) == {} and alerts_of(data, busy) == {}


def test_alerts_name_the_integration_and_when_the_condition_began(client: FlaskClient, history: History) -> None:
    failing = history.integration("failing")
    history.run(failing, "succeeded", ago=200 * MIN)
    first_failure = 100 * MIN
    for minutes in (100, 80, 60, 40, 20):
        history.run(failing, "failed", ago=minutes * MIN, error_code="ERP_BAD_CREDENTIALS")
    slow = history.integration("slow")
    for minutes in (19, 14):
        history.run(slow, "succeeded", ago=minutes * MIN, duration_ms=400_000)
    crashed = history.integration("crashed")
    history.run(crashed, "abandoned", ago=30 * MIN, error_code="RUN_ABANDONED")
    history.run(crashed, "succeeded", ago=3 * MIN)
    data = overview(client)
    alerts = alerts_of(data, failing)
    assert set(alerts) == {"HIGH_FAILURE_RATE", "CONSECUTIVE_FAILURES", "OVERDUE"}
    assert alerts["HIGH_FAILURE_RATE"]["since"] == (NOW - first_failure).isoformat().replace("+00:00", "Z")
    assert alerts["HIGH_FAILURE_RATE"]["severity"] == "critical"
    assert "5 of 6 runs" in alerts["HIGH_FAILURE_RATE"]["message"]
    assert "the last 5 runs failed in a row (the latest with ERP_BAD_CREDENTIALS)" in \
        alerts["CONSECUTIVE_FAILURES"]["message"]
    assert f"integration {failing} (failing)" in alerts["OVERDUE"]["message"]
    assert set(alerts_of(data, slow)) == {"LONG_DURATION"}
    assert alerts_of(data, slow)["LONG_DURATION"]["severity"] == "warning"
    assert set(alerts_of(data, crashed)) == {"ABANDONED_RUN"}


def test_thresholds_decide_where_an_alert_starts(client: FlaskClient, history: History) -> None:
    two = history.integration("two-failures")
    for minutes in (9, 8, 7, 6, 5):
        history.run(two, "failed" if minutes < 7 else "succeeded", ago=minutes * MIN)
    few = history.integration("few-runs")
    for minutes in (4, 3, 2, 1):
        history.run(few, "failed", ago=minutes * MIN)
    history.run(few, "skipped", ago=MIN / 2)
    data = overview(client)
    assert alerts_of(data, two) == {}  # 2 of 5 failed, 2 in a row: under both thresholds
    assert set(alerts_of(data, few)) == {"CONSECUTIVE_FAILURES", "OVERDUE"}  # 4 runs: too few for a rate
    for minutes in (4, 3):
        history.run(two, "failed", ago=minutes * MIN)
    assert set(alerts_of(overview(client), two)) == {"HIGH_FAILURE_RATE", "CONSECUTIVE_FAILURES"}


def test_overdue_counts_two_schedule_periods_from_the_last_success(client: FlaskClient, history: History) -> None:
    # */5 in Europe/Athens: the last two fire times before 12:00:30 are 11:55 and 12:00, a period of 5 minutes.
    on_time = history.integration("on-time")
    history.run(on_time, "succeeded", ago=10 * MIN)  # finished 10 min - 1 s ago: within two periods
    late = history.integration("late")
    history.run(late, "succeeded", ago=11 * MIN)
    history.run(late, "failed", ago=MIN)
    paused = history.integration("paused", isActive=False)
    history.run(paused, "succeeded", ago=600 * MIN)
    data = overview(client)
    assert alerts_of(data, on_time) == {}
    assert alerts_of(data, late)["OVERDUE"]["since"] == "2026-12-07T11:59:31Z"
    assert "scheduled every 5 min" in alerts_of(data, late)["OVERDUE"]["message"]
    assert alerts_of(data, paused) == {} and stats_of(data, paused)["nextRunAt"] is None


def test_a_new_integration_is_overdue_only_two_periods_after_it_was_activated(
        client: FlaskClient, history: History) -> None:
    young = history.integration("young", created_ago=9 * MIN)
    old = history.integration("old", created_ago=11 * MIN)
    data = overview(client)
    assert alerts_of(data, young) == {}
    assert "no successful run since it was activated" in alerts_of(data, old)["OVERDUE"]["message"]


@pytest.mark.parametrize("value", ["0", "169", "abc", "1.5", "-3"])
def test_a_time_range_outside_1_to_168_hours_is_refused(client: FlaskClient, value: str) -> None:
    for path, headers in (("/api/cron/monitoring", CRON), ("/api/monitoring", admin())):
        response = client.get(f"{path}?timeRange={value}", headers=headers)
        body = response.get_json()
        assert response.status_code == 400
        assert body["error"]["code"] == "VALIDATION_ERROR" and body["error"]["field"] == "timeRange"
        assert "between 1 and 168" in body["error"]["message"] or "whole number" in body["error"]["message"]


def test_the_cron_route_takes_the_cron_secret_and_the_admin_route_the_admin_token(
        client: FlaskClient, history: History) -> None:
    history.integration("any")
    assert client.get("/api/cron/monitoring", headers=admin()).status_code == 401
    assert client.get("/api/monitoring", headers=CRON).get_json()["error"]["code"] == "FORBIDDEN"
    assert client.get("/api/monitoring").status_code == 401
    assert client.get("/api/monitoring", headers=admin()).get_json()["data"] == overview(client)


def test_real_failing_runs_against_the_sandbox_raise_consecutive_failures(
        client: FlaskClient, ops: ErpSync, sandbox: RunningSandbox, clock: Any) -> None:
    body = customer_integration(sandbox.url, name="wrong-password")
    body["connection"]["password"] = "not-the-password"
    integration_id = ops.integrations.create(body).id
    for _ in range(3):
        clock.advance(MIN)
        outcome = ops.runner.run(integration_id, "api")
        assert outcome.error_code == "ERP_BAD_CREDENTIALS"
    data = overview(client)
    stats = stats_of(data, integration_id)
    assert (stats["totalExecutions"], stats["failureCount"], stats["recentFailures"]) == (3, 3, 3)
    consecutive = alerts_of(data, integration_id)["CONSECUTIVE_FAILURES"]
    assert "the latest with ERP_BAD_CREDENTIALS" in consecutive["message"]
    assert consecutive["since"] == (NOW + MIN).isoformat().replace("+00:00", "Z")
