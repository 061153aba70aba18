"""Answering a sync request: 202 with the started job, or with `wait` the finished run (200, or 502
SYNC_FAILED carrying the run) so that a CI step fails when the sync fails."""

from __future__ import annotations

from typing import Any

from flask import Response

from erp_sync.domain.run import Trigger
from erp_sync.web import serialize
from erp_sync.web.envelope import failure, ok


def started(job: Any) -> dict[str, Any]:
    return {"jobId": job.run_id, "runId": job.run_id, "integrationId": job.integration_id, "status": "running",
            "startTime": serialize.iso(job.started_at)}


def answer(app: Any, integration_id: int, *, trigger: Trigger, full: bool, dry_run: bool, wait: bool,
           require_active: bool) -> Response:
    job = app.dispatch.start(integration_id, trigger, full=full, dry_run=dry_run, require_active=require_active)
    if not wait:
        return ok(started(job), 202)
    outcome = job.future.result()
    run = serialize.run(app.monitoring.run(job.run_id))
    if outcome.ok:
        return ok(run)
    return failure("SYNC_FAILED", outcome.error_message or f"run {job.run_id} ended {outcome.status}", 502,
                   details={"run": run})
