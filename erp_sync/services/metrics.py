"""What the metrics say, read from the database so that every replica, scraped at the same moment, says the same.

Counters (runs, rows, the duration histogram) come from the run totals, which only grow: runs that ended are
folded in first (`erp_sync.db.totals`), and retention never deletes totals. Gauges say the present: each
integration's last success and next fire time, whether a run holds its lease, whether this process schedules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from erp_sync.clock import Clock
from erp_sync.db import totals
from erp_sync.db.reading import reader
from erp_sync.db.runs import schedules
from erp_sync.db.stats import EXECUTIONS, SUCCESSES
from erp_sync.domain import schedule
from erp_sync.services.readiness import Scheduler

ROW_KINDS = totals.ROW_KINDS
__all__ = ["EXECUTIONS", "ROW_KINDS", "IntegrationGauges", "MetricsService", "MetricsSnapshot"]


@dataclass(frozen=True)
class IntegrationGauges:
    integration_id: int
    name: str
    is_active: bool
    lease_held: bool
    last_success_at: datetime | None
    next_run_at: datetime | None


@dataclass(frozen=True)
class MetricsSnapshot:
    integrations: list[IntegrationGauges]
    totals: list[totals.TotalRow]
    durations: dict[int, dict[str, int]]  # integration -> bucket label -> executions (not cumulative)
    scheduler_running: bool


class MetricsService:
    def __init__(self, engine: Engine, clock: Clock, scheduler: Scheduler | None) -> None:
        self._engine = engine
        self._clock = clock
        self._scheduler = scheduler

    def fold(self) -> int:
        """Add the runs that ended since the last fold to the totals."""
        return totals.fold(self._engine)

    def snapshot(self) -> MetricsSnapshot:
        self.fold()
        now = self._clock.now()
        rows = totals.totals(self._engine)
        last_success: dict[int, datetime] = {}
        for row in rows:
            if row.status in SUCCESSES and row.last_finished_at is not None:
                last_success[row.integration_id] = max(row.last_finished_at,
                                                       last_success.get(row.integration_id, row.last_finished_at))
        listed = schedules(reader(self._engine))
        next_fires: dict[tuple[str, str], datetime] = {}  # integrations often share a schedule
        for r in listed:
            if r.is_active and (r.cron_expression, r.timezone) not in next_fires:
                next_fires[(r.cron_expression, r.timezone)] = schedule.next_fire(r.cron_expression, r.timezone, now)
        gauges = [IntegrationGauges(
            r.id, r.name, bool(r.is_active), r.lease_expires_at is not None and r.lease_expires_at >= now,
            last_success.get(r.id), next_fires.get((r.cron_expression, r.timezone)) if r.is_active else None)
            for r in listed]
        running = self._scheduler is not None and self._scheduler.running
        return MetricsSnapshot(gauges, rows, totals.durations(self._engine), running)
