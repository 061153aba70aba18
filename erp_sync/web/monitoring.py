"""Monitoring endpoints: statistics, alerts and recent runs of every integration, and the retention cleanup.

Each answer is served twice: under `/api/cron/...` with the cron secret (for schedulers and uptime checks) and
under `/api/...` with the admin token (for the console). Handlers parse, call one service and answer.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app

from erp_sync.errors import ValidationError
from erp_sync.web import serialize
from erp_sync.web.auth import admin_required, cron_required
from erp_sync.web.envelope import int_arg, json_body, ok

bp = Blueprint("monitoring", __name__)

_MAX_HOURS = 7 * 24


def _app() -> Any:
    return current_app.extensions["erp_sync"]


def _stats(item: Any) -> dict[str, Any]:
    return {
        "integrationId": item.integration_id, "name": item.name, "isActive": item.is_active,
        "totalExecutions": item.total, "successCount": item.successes, "failureCount": item.failures,
        "successRate": item.success_rate,
        "averageDuration": round(item.average_ms) if item.average_ms is not None else None,
        "lastExecution": serialize.iso(item.last_execution_at), "lastStatus": item.last_status,
        "recentFailures": item.recent_failures, "p95DurationMs": item.p95_ms,
        "lastSuccessAt": serialize.iso(item.last_success_at), "nextRunAt": serialize.iso(item.next_run_at),
    }


def _alert(alert: Any) -> dict[str, Any]:
    return {"code": alert.code, "severity": alert.severity, "integrationId": alert.integration_id,
            "message": alert.message, "since": serialize.iso(alert.since)}


def _overview() -> Response:
    report = _app().monitoring.overview(int_arg("timeRange", 24, 1, _MAX_HOURS))
    return ok({
        "stats": [_stats(item) for item in report.stats],
        "alerts": [_alert(alert) for alert in report.alerts],
        "recentExecutions": [{"integrationId": item.integration_id,
                              "runs": [serialize.run(run) for run in report.recent.get(item.integration_id, [])]}
                             for item in report.stats],
        "timeRange": {"hours": report.hours, "since": serialize.iso(report.since)},
    })


@bp.get("/api/cron/monitoring")
@cron_required
def cron_overview() -> Response:
    return _overview()


@bp.get("/api/monitoring")
@admin_required
def admin_overview() -> Response:
    return _overview()


def _cleanup() -> Response:
    body = json_body()
    if not isinstance(body, dict) or "retentionDays" not in body:
        raise ValidationError('send {"retentionDays": N}: runs that started more than N days ago are deleted',
                              field="retentionDays")
    unknown = sorted(set(body) - {"retentionDays"})
    if unknown:
        raise ValidationError(f"{unknown[0]}: is not a known field; only retentionDays is", field=unknown[0])
    report = _app().retention.cleanup(body["retentionDays"])
    return ok({"retentionDays": report.retention_days, "cutoff": serialize.iso(report.cutoff),
               "deleted": {"runs": report.runs, "rowErrors": report.row_errors, "conflicts": report.conflicts,
                           "maintenanceClaims": report.maintenance_claims},
               "keptLatestRuns": report.kept_latest})


@bp.post("/api/cron/monitoring/cleanup")
@cron_required
def cron_cleanup() -> Response:
    return _cleanup()


@bp.post("/api/monitoring/cleanup")
@admin_required
def admin_cleanup() -> Response:
    return _cleanup()
