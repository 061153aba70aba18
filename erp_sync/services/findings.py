"""Reading what a run recorded besides its counts: the rows it could not map or push, and its conflicts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from erp_sync.db import findings, runs
from erp_sync.errors import NotFoundError


class RunFindingsService:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def row_errors(self, run_id: int, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """A page of the run's row errors and their total; NOT_FOUND for a run that does not exist."""
        self._require(run_id)
        return findings.row_errors(self._engine, run_id, limit, offset)

    def conflicts(self, run_id: int, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """A page of the run's conflicts and their total; NOT_FOUND for a run that does not exist."""
        self._require(run_id)
        return findings.conflicts(self._engine, run_id, limit, offset)

    def _require(self, run_id: int) -> None:
        if runs.get_run(self._engine, run_id) is None:
            raise NotFoundError(f"run {run_id} does not exist; list an integration's runs with "
                                "GET /api/integrations/{id}/runs", field="id")
