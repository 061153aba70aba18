"""Endpoints for external schedulers (crontab, systemd timers, GitHub Actions, Kubernetes CronJobs).

They take the cron secret (`X-Cron-Secret` or `Authorization: Bearer`). `init`/`startup` are idempotent;
`sync-integration` starts one run (202) or, with `?wait=true`, answers the finished run.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request

from erp_sync.domain.run import Trigger
from erp_sync.errors import ValidationError
from erp_sync.web import runs_answer, serialize
from erp_sync.web.auth import cron_required
from erp_sync.web.envelope import bool_arg, json_body, ok
from erp_sync.web.ids import parse_id

bp = Blueprint("cron", __name__)


def _app() -> Any:
    return current_app.extensions["erp_sync"]


def _jobs(app: Any) -> list[dict[str, Any]]:
    if app.scheduler is None:
        return []
    return [{"integrationId": job.integration_id, "jobId": f"integration:{job.integration_id}",
             "cronExpression": job.cron, "timezone": job.timezone, "nextRunAt": serialize.iso(job.next_run_time)}
            for job in app.scheduler.jobs()]


@bp.get("/api/cron/init")
@bp.get("/api/cron/startup")
@cron_required
def init() -> Response:
    app = _app()
    report = app.startup.init()
    return ok({"scheduler": "running" if app.scheduler and app.scheduler.running else "off",
               "jobs": _jobs(app), "abandonedRuns": report.abandoned_runs, "caughtUp": report.catch_up,
               "missed": report.missed})


def _integration_id() -> int:
    raw: Any = request.args.get("integrationId")
    if raw is None and request.method == "POST":
        body = json_body()
        raw = body.get("integrationId") if isinstance(body, dict) else None
    if raw is None or raw == "":
        raise ValidationError("integrationId is required (JSON body, or ?integrationId= for GET)",
                              field="integrationId")
    return parse_id(raw, "integrationId")


@bp.route("/api/cron/sync-integration", methods=["GET", "POST"])
@cron_required
def sync_integration() -> Response:
    integration_id = _integration_id()
    wait = bool_arg(request.args.get("wait"), "wait")
    full = bool_arg(request.args.get("full"), "full")
    return runs_answer.answer(_app(), integration_id, trigger=Trigger.CRON, full=full, dry_run=False, wait=wait,
                              require_active=True)


@bp.post("/api/sync")
@cron_required
def sync_all() -> Response:
    started, skipped = _app().dispatch.start_all(Trigger.CRON)
    return ok({"jobs": [runs_answer.started(job) for job in started], "skipped": skipped}, 202)


@bp.get("/api/sync")
@cron_required
def latest() -> Response:
    return ok(serialize.run(_app().monitoring.latest()))
