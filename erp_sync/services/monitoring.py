"""Run history and the monitoring overview: per-integration statistics, alerts and recent runs.

The statistics come from grouped SQL (`erp_sync.db.stats`), one row per integration whatever the number of runs;
Python only joins those rows, asks the schedule for next and last fire times, and applies the alert rules
(`erp_sync.services.alerts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from erp_sync.clock import Clock, SystemClock
from erp_sync.db import runs, stats
from erp_sync.domain import schedule
from erp_sync.errors import ErpSyncError, NotFoundError
from erp_sync.services.alerts import Alert, AlertInput, evaluate, schedule_period
from erp_sync.settings import AlertThresholds

RECENT_RUNS = 10


@dataclass(frozen=True)
class IntegrationStats:
    integration_id: int
    name: str
    is_active: bool
    total: int
    successes: int
    failures: int
    success_rate: float | None
    average_ms: float | None
    p95_ms: int | None
    last_execution_at: datetime | None
    last_status: str | None
    recent_failures: int
    last_success_at: datetime | None
    next_run_at: datetime | None


@dataclass(frozen=True)
class MonitoringReport:
    hours: int
    since: datetime
    stats: list[IntegrationStats]
    alerts: list[Alert]
    recent: dict[int, list[dict[str, Any]]]


class MonitoringService:
    def __init__(self, engine: Engine, clock: Clock | None = None, thresholds: AlertThresholds | None = None) -> None:
        self._engine = engine
        self._clock = clock or SystemClock()
        self._thresholds = thresholds or AlertThresholds()

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

    def failure_streak(self, integration_id: int) -> int:
        """Failed or abandoned runs in a row since the integration's last success."""
        streak = stats.failure_streaks(self._engine, integration_id).get(integration_id)
        return streak.failures if streak else 0

    def alerts_for(self, integration_id: int, hours: int = 24) -> list[Alert]:
        """The alerts that hold now for one integration."""
        now = self._clock.now()
        found = stats.integration_facts(self._engine, integration_id)
        if not found:
            return []
        facts = found[0]
        window = stats.range_stats(self._engine, now - timedelta(hours=hours), self._thresholds.long_ms,
                                   integration_id).get(integration_id, stats.NO_RUNS)
        streak = stats.failure_streaks(self._engine, integration_id).get(integration_id, stats.Streak(0, None))
        latest = stats.recent_runs(self._engine, RECENT_RUNS, integration_id).get(integration_id, [])
        _, period = _ScheduleTiming(now).of(facts) if facts.is_active else (None, None)
        return evaluate(_alert_input(facts, window, streak, latest, hours, period), self._thresholds, now)

    def overview(self, hours: int) -> MonitoringReport:
        """Statistics, alerts and the last runs of every integration over the last `hours` hours."""
        now = self._clock.now()
        since = now - timedelta(hours=hours)
        ranged = stats.range_stats(self._engine, since, self._thresholds.long_ms)
        p95 = stats.p95_durations(self._engine, since)
        streaks = stats.failure_streaks(self._engine)
        recent = stats.recent_runs(self._engine, RECENT_RUNS)
        report = MonitoringReport(hours, since, [], [], recent)
        timing = _ScheduleTiming(now)
        for facts in stats.integration_facts(self._engine):
            window = ranged.get(facts.id, stats.NO_RUNS)
            streak = streaks.get(facts.id, stats.Streak(0, None))
            latest = recent.get(facts.id, [])
            next_run, period = timing.of(facts) if facts.is_active else (None, None)
            report.stats.append(_integration_stats(facts, window, p95.get(facts.id), streak, latest, next_run))
            report.alerts.extend(evaluate(_alert_input(facts, window, streak, latest, hours, period),
                                          self._thresholds, now))
        return report


class _ScheduleTiming:
    """Next fire time and period per schedule, computed once for the integrations that share a schedule."""

    def __init__(self, now: datetime) -> None:
        self._now = now
        self._known: dict[tuple[str, str], tuple[datetime, timedelta | None]] = {}

    def of(self, facts: stats.IntegrationFacts) -> tuple[datetime, timedelta | None]:
        key = (facts.cron_expression, facts.timezone)
        if key not in self._known:
            self._known[key] = (schedule.next_fire(*key, self._now), schedule_period(*key, self._now))
        return self._known[key]


def _integration_stats(facts: stats.IntegrationFacts, window: stats.RangeStats, p95: int | None,
                       streak: stats.Streak, latest: list[dict[str, Any]],
                       next_run: datetime | None) -> IntegrationStats:
    total, successes = window.total, window.successes
    return IntegrationStats(
        integration_id=facts.id, name=facts.name, is_active=facts.is_active, total=total, successes=successes,
        failures=window.failures, success_rate=successes / total if total else None,
        average_ms=window.average_ms, p95_ms=p95,
        last_execution_at=latest[0]["started_at"] if latest else None,
        last_status=latest[0]["status"] if latest else None, recent_failures=streak.failures,
        last_success_at=facts.last_success_at, next_run_at=next_run)


def _alert_input(facts: stats.IntegrationFacts, window: stats.RangeStats, streak: stats.Streak,
                 latest: list[dict[str, Any]], hours: int, period: timedelta | None) -> AlertInput:
    failed = next((run for run in latest if run["status"] in stats.FAILURES), None)
    return AlertInput(
        integration_id=facts.id, name=facts.name, is_active=facts.is_active, period=period,
        active_since=facts.activated_at or facts.created_at, hours=hours,
        window=window, streak=streak, last_error_code=failed["error_code"] if failed else None,
        last_success_at=facts.last_success_at)
