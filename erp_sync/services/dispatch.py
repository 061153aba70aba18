"""Starting runs on behalf of callers that must answer quickly (HTTP) or wait (CLI, `?wait=true`).

`start` prepares the run in the caller's thread, so a second trigger gets SYNC_IN_PROGRESS with the live run's
id at once, then executes it on a small worker pool. The service never calls its own HTTP API.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from erp_sync.domain.run import Trigger
from erp_sync.errors import ErpSyncError
from erp_sync.services.integrations import IntegrationService
from erp_sync.services.sync import PreparedRun, RunOutcome, SyncRunner

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StartedRun:
    run_id: int
    integration_id: int
    started_at: datetime
    future: Future[RunOutcome]


class SyncDispatcher:
    def __init__(self, runner: SyncRunner, integrations: IntegrationService, workers: int = 4) -> None:
        self._runner = runner
        self._integrations = integrations
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="erp-sync-run")

    def start(self, integration_id: int, trigger: Trigger, *, full: bool = False, dry_run: bool = False,
              require_active: bool = True) -> StartedRun:
        record = self._integrations.get(integration_id)
        if require_active and not record.spec.is_active:
            raise ErpSyncError(f"integration {integration_id} ({record.spec.name}) is inactive; activate it with "
                               f"PATCH /api/integrations/{integration_id} {{\"isActive\": true}}",
                               code="INTEGRATION_INACTIVE")
        prepared = self._runner.prepare(integration_id, trigger, full=full, dry_run=dry_run)
        assert prepared is not None  # unscheduled runs never lose a slot race
        return StartedRun(prepared.run_id, integration_id, prepared.started_at, self._submit(prepared))

    def _submit(self, prepared: PreparedRun) -> Future[RunOutcome]:
        return self._pool.submit(self._runner.execute, prepared)

    def start_all(self, trigger: Trigger) -> tuple[list[StartedRun], list[dict[str, object]]]:
        """Start every active integration; returns the started runs and, per integration skipped, why.

        Raises SYNC_IN_PROGRESS when nothing started because every active integration was already running: an
        external scheduler then sees the same answer as for one busy integration."""
        started: list[StartedRun] = []
        skipped: list[dict[str, object]] = []
        for record in self._integrations.list(active_only=True):
            try:
                started.append(self.start(record.id, trigger))
            except ErpSyncError as exc:
                skipped.append({"integrationId": record.id, "code": exc.code, "message": exc.message,
                                "runId": exc.details.get("runId")})
        if not started and skipped and all(s["code"] == "SYNC_IN_PROGRESS" for s in skipped):
            raise _all_running(skipped)
        return started, skipped

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=False)


def _all_running(skipped: list[dict[str, object]]) -> ErpSyncError:
    live = ", ".join(f"integration {s['integrationId']} (run {s['runId']})" for s in skipped)
    return ErpSyncError(f"every active integration is already syncing: {live}; nothing was started. Wait for those "
                        "runs to finish (GET /api/runs/{runId}); the next call starts whatever is free then",
                        code="SYNC_IN_PROGRESS", details={"skipped": skipped})
