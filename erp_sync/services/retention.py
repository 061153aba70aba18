"""Retention: deleting old runs, on request or once a day in exactly one replica.

What is never deleted: a run that has not ended, each integration's latest run and latest successful run, a slot
claim (a scheduled run) younger than the longest catch-up grace (7 days: deleting it would let catch-up run that
slot again), and the run totals, so metrics counters never go down. Runs are added to the totals before they can
go. Deletion runs in short batches, so runs keep writing while a million old rows go.

The daily cleanup (`ERP_SYNC_RETENTION_DAYS`, 0 keeps everything) claims its UTC day in the database like a
scheduled run claims its slot: every replica tries, one insert wins. `run_daily` is one step that a background
loop (`DailyCleanup`) calls now and then; a test calls it directly.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from erp_sync.clock import Clock
from erp_sync.db import maintenance, totals
from erp_sync.errors import ValidationError

log = logging.getLogger(__name__)

TASK = "retention"
LONGEST_CATCH_UP_GRACE = timedelta(days=7)  # OptionsSpec.catch_up_grace_minutes allows at most 7 days
MAX_RETENTION_DAYS = 3650
CHECK_INTERVAL = timedelta(minutes=15)  # how often a serving process tries to claim the day's cleanup
STALE_CLAIM = timedelta(hours=1)  # a day's cleanup claimed this long ago and not finished is taken over


@dataclass(frozen=True)
class CleanupReport:
    retention_days: int
    cutoff: datetime
    runs: int
    row_errors: int
    conflicts: int
    maintenance_claims: int
    kept_latest: int

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["cutoff"] = self.cutoff.isoformat()
        return data


class RetentionService:
    def __init__(self, engine: Engine, clock: Clock, retention_days: int, owner: str) -> None:
        self._engine = engine
        self._clock = clock
        self.retention_days = retention_days
        self._owner = owner

    def cleanup(self, retention_days: int) -> CleanupReport:
        """Delete runs (with their row errors and conflicts) that started more than `retention_days` days ago."""
        if isinstance(retention_days, bool) or not isinstance(retention_days, int) or \
                not 1 <= retention_days <= MAX_RETENTION_DAYS:
            raise ValidationError(f"retentionDays must be a whole number of days from 1 to {MAX_RETENTION_DAYS} "
                                  "(runs that started before then are deleted)", field="retentionDays")
        now = self._clock.now()
        cutoff = now - timedelta(days=retention_days)
        totals.fold(self._engine)
        keep = maintenance.kept_runs(self._engine)
        deleted = maintenance.Deleted()
        maintenance.delete_runs_before(self._engine, cutoff, now - LONGEST_CATCH_UP_GRACE, keep, deleted)
        deleted.claims = maintenance.delete_claims_before(self._engine, min(cutoff, now - LONGEST_CATCH_UP_GRACE))
        report = CleanupReport(retention_days, cutoff, deleted.runs, deleted.row_errors, deleted.conflicts,
                               deleted.claims, len(keep))
        log.info("retention: deleted %s runs, %s row errors and %s conflicts that started before %s", report.runs,
                 report.row_errors, report.conflicts, cutoff.isoformat(), extra={"event": "retention.cleanup"})
        return report

    def run_daily(self) -> CleanupReport | None:
        """Claim today's (UTC) cleanup and run it; None when retention is off or another process has the day."""
        if self.retention_days <= 0:
            return None
        now = self._clock.now()
        day = now.date().isoformat()
        if not maintenance.claim(self._engine, TASK, day, self._owner, now, STALE_CLAIM):
            return None
        report = self.cleanup(self.retention_days)
        maintenance.finish_claim(self._engine, TASK, day, self._clock.now(), report.as_dict())
        return report


class DailyCleanup:
    """A background thread that calls `run_daily` at start and then every `interval`, until stopped."""

    def __init__(self, retention: RetentionService, stop: threading.Event, interval: timedelta) -> None:
        self._retention = retention
        self._stop = stop
        self._interval = interval
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None and self._retention.retention_days > 0:
            self._thread = threading.Thread(target=self._loop, name="erp-sync-retention", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._retention.run_daily()
            except Exception:  # a database that is down must not end the loop; the next pass tries again
                log.exception("the daily retention cleanup failed; it is tried again in %s", self._interval)
            self._stop.wait(self._interval.total_seconds())

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
