"""JSON shapes of the things the API answers with (camelCase, ISO-8601 UTC times)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def integration(record: Any, next_run: datetime | None = None) -> dict[str, Any]:
    body = {"id": record.id, **record.spec.public_dict()}
    body.update({
        "lastSyncAt": iso(record.last_sync_at), "lastStatus": record.last_status, "lastRunId": record.last_run_id,
        "watermark": record.watermark, "createdAt": iso(record.created_at), "updatedAt": iso(record.updated_at),
        "runningRunId": record.lease_run_id, "nextRunAt": iso(next_run), "activatedAt": iso(record.activated_at),
        "pausedReason": record.paused_reason, "lastNotification": _notification(record.last_notification),
    })
    return body


def _notification(delivery: dict[str, Any] | None) -> dict[str, Any] | None:
    return {**delivery, "at": iso(delivery["at"])} if delivery else None


def schedule_preview(preview: Any) -> dict[str, Any]:
    """A schedule's description and next fire times, each in UTC and in the schedule's own zone."""
    zone = ZoneInfo(preview.timezone)
    return {
        "cronExpression": preview.cron_expression, "timezone": preview.timezone,
        "description": preview.description,
        "nextRuns": [{"utc": iso(t), "local": t.astimezone(zone).isoformat()} for t in preview.next_runs],
    }


_RUN_FIELDS = ("pages", "fetched", "inserted", "updated", "unchanged", "deleted", "pushed", "conflicts", "errors")


def run(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"], "integrationId": row["integration_id"], "trigger": row["trigger"],
        "status": row["status"], "scheduledFor": iso(row["scheduled_for"]), "full": row["full"],
        "dryRun": row["dry_run"], "startedAt": iso(row["started_at"]), "finishedAt": iso(row["finished_at"]),
        "heartbeatAt": iso(row["heartbeat_at"]), "durationMs": row["duration_ms"],
        "counts": {name: row[name] for name in _RUN_FIELDS},
        "error": ({"code": row["error_code"], "message": row["error_message"]} if row["error_code"] else None),
        "watermarkBefore": row["watermark_before"], "watermarkAfter": row["watermark_after"],
        "details": row["details"], "retryOf": row.get("retry_of"),
    }
