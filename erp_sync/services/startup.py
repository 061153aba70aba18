"""Start-up and `/api/cron/init`: sweep stale leases and runs (and the scratch files of killed runs), reconcile
the schedules, catch up a missed slot.

Idempotent: calling it twice changes nothing the second time. A slot missed while no scheduler ran is run once
if it is within the integration's catch-up grace period (and `catchUp` is on), never as a burst; older missed
slots are recorded as skipped runs so the history shows the gap. A slot before the integration last became active
(`activated_at`: created active, or switched on) was never missed: it is neither run nor recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from erp_sync.clock import Clock
from erp_sync.db import runs
from erp_sync.domain import schedule
from erp_sync.services import seen_keys
from erp_sync.services.integrations import IntegrationService

log = logging.getLogger(__name__)


@dataclass
class StartupReport:
    abandoned_runs: list[int] = field(default_factory=list)
    catch_up: list[dict[str, Any]] = field(default_factory=list)
    missed: list[dict[str, Any]] = field(default_factory=list)


class StartupService:
    def __init__(self, engine: Engine, integrations: IntegrationService, clock: Clock,
                 reconcile: Callable[[], None], run_slot: Callable[[int, datetime], Any]) -> None:
        self._engine = engine
        self._integrations = integrations
        self._clock = clock
        self._reconcile = reconcile
        self._run_slot = run_slot

    def init(self, *, catch_up: bool = True) -> StartupReport:
        now = self._clock.now()
        report = StartupReport(abandoned_runs=runs.sweep_stale(self._engine, now))
        for folder in seen_keys.sweep_orphans():
            log.info("removed the scratch folder of a run that was killed", extra={"folder": str(folder)})
        self._reconcile()
        if catch_up:
            for record in self._integrations.list(active_only=True):
                self._catch_up(record, now, report)
        return report

    def _catch_up(self, record: Any, now: datetime, report: StartupReport) -> None:
        spec = record.spec
        slot = schedule.last_slot_before(spec.schedule.cron_expression, spec.schedule.timezone, now)
        if slot is None or (record.last_sync_at is not None and record.last_sync_at >= slot):
            return
        if slot < (record.activated_at or record.created_at):
            return  # the integration was not active at that slot, so nothing missed it
        if runs.slot_taken(self._engine, record.id, slot):
            return
        grace = timedelta(minutes=spec.options.catch_up_grace_minutes)
        entry = {"integrationId": record.id, "slot": slot.isoformat().replace("+00:00", "Z")}
        if spec.options.catch_up and now - slot <= grace:
            log.info("catching up missed slot", extra={"integration_id": record.id, "slot": slot.isoformat()})
            self._run_slot(record.id, slot)
            report.catch_up.append(entry)
        else:
            runs.record_missed(self._engine, record.id, slot, now)
            report.missed.append(entry)
