"""Run history for the API and the CLI."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from erp_sync.db import runs
from erp_sync.errors import ErpSyncError, NotFoundError


class MonitoringService:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def run(self, run_id: int) -> dict[str, Any]:
        row = runs.get_run(self._engine, run_id)
        if row is None:
            raise NotFoundError(f"run {run_id} does not exist", field="id")
        return row

    def runs(self, integration_id: int | None, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        return runs.list_runs(self._engine, integration_id, limit, offset)

    def latest(self) -> dict[str, Any]:
        row = runs.latest_run(self._engine)
        if row is None:
            raise ErpSyncError("no sync has run yet; start one with POST /api/sync", code="NO_SYNC_JOB")
        return row
