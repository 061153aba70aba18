"""The alert rules of the monitoring API: pure functions of one integration's statistics, the thresholds and `now`.

- HIGH_FAILURE_RATE: more than `failure_rate` of at least `min_runs` executions in the range failed.
- CONSECUTIVE_FAILURES: the last `consecutive` or more executions failed.
- LONG_DURATION: executions in the range took longer than `long_ms` on average.
- OVERDUE: an active integration has had no successful run for `overdue_periods` of its schedule periods, a period
  being the gap between its last two fire times before now. It catches a dropped external cron tick or a dead
  scheduler, which no failed run would show.
- ABANDONED_RUN: a run in the range was abandoned (its process died or hung).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from erp_sync.db.stats import RangeStats, Streak
from erp_sync.domain import schedule
from erp_sync.settings import AlertThresholds

_JUST_BEFORE = timedelta(microseconds=1)


@dataclass(frozen=True)
class Alert:
    code: str
    severity: str  # "critical" or "warning"
    integration_id: int
    message: str
    since: datetime | None


@dataclass(frozen=True)
class AlertInput:
    """What the rules read about one integration."""

    integration_id: int
    name: str
    is_active: bool
    period: timedelta | None  # between the schedule's last two fire times before now
    active_since: datetime
    hours: int
    window: RangeStats
    streak: Streak
    last_error_code: str | None
    last_success_at: datetime | None


def evaluate(facts: AlertInput, thresholds: AlertThresholds, now: datetime) -> list[Alert]:
    """Every alert that holds for one integration, in a fixed order."""
    found = [_failure_rate(facts, thresholds), _consecutive(facts, thresholds), _long(facts, thresholds),
             _overdue(facts, thresholds, now), _abandoned(facts)]
    return [alert for alert in found if alert is not None]


def _who(facts: AlertInput) -> str:
    return f"integration {facts.integration_id} ({facts.name})"


def _failure_rate(facts: AlertInput, thresholds: AlertThresholds) -> Alert | None:
    window = facts.window
    if window.total < thresholds.min_runs or window.failures <= thresholds.failure_rate * window.total:
        return None
    return Alert("HIGH_FAILURE_RATE", "critical", facts.integration_id,
                 f"{_who(facts)}: {window.failures} of {window.total} runs in the last {facts.hours} h failed "
                 f"({window.failures / window.total:.0%}, more than {thresholds.failure_rate:.0%}); read their "
                 f"errors with GET /api/integrations/{facts.integration_id}/runs", window.first_failure_at)


def _consecutive(facts: AlertInput, thresholds: AlertThresholds) -> Alert | None:
    if facts.streak.failures < thresholds.consecutive:
        return None
    latest = f" (the latest with {facts.last_error_code})" if facts.last_error_code else ""
    return Alert("CONSECUTIVE_FAILURES", "critical", facts.integration_id,
                 f"{_who(facts)}: the last {facts.streak.failures} runs failed in a row{latest}; fix the "
                 "cause named in the run's error, then run it with POST "
                 f"/api/integrations/{facts.integration_id}/sync", facts.streak.since)


def _long(facts: AlertInput, thresholds: AlertThresholds) -> Alert | None:
    average = facts.window.average_ms
    if average is None or average <= thresholds.long_ms:
        return None
    return Alert("LONG_DURATION", "warning", facts.integration_id,
                 f"{_who(facts)}: runs in the last {facts.hours} h took {average / 1000:.0f} s on average "
                 f"(more than {thresholds.long_ms / 1000:.0f} s); check the ERP's speed, narrow source.filters or "
                 "lower source.pageSize", facts.window.first_long_at)


def schedule_period(cron: str, timezone: str, now: datetime) -> timedelta | None:
    """The gap between the schedule's last two fire times at or before `now` (None if it has not fired twice)."""
    last = schedule.last_slot_before(cron, timezone, now)
    if last is None:
        return None
    before = schedule.last_slot_before(cron, timezone, last - _JUST_BEFORE)
    return last - before if before is not None else None


def _overdue(facts: AlertInput, thresholds: AlertThresholds, now: datetime) -> Alert | None:
    period = facts.period
    if not facts.is_active or period is None:
        return None
    reference = max(facts.last_success_at or facts.active_since, facts.active_since)
    due = reference + thresholds.overdue_periods * period
    if now <= due:
        return None
    last = f"since {reference.isoformat()}" if facts.last_success_at else "since it was activated"
    return Alert("OVERDUE", "critical", facts.integration_id,
                 f"{_who(facts)}: no successful run {last}, although it is scheduled every {_span(period)}; check "
                 "that a scheduler runs (GET /readyz on the replica that should schedule) or that the external cron "
                 "still calls /api/cron/sync-integration", due)


def _abandoned(facts: AlertInput) -> Alert | None:
    window = facts.window
    if not window.abandoned:
        return None
    return Alert("ABANDONED_RUN", "warning", facts.integration_id,
                 f"{_who(facts)}: {window.abandoned} run(s) in the last {facts.hours} h were abandoned (the latest "
                 f"is run {window.last_abandoned_id}): the process running it died or hung; look in that host's log "
                 "around the run's heartbeatAt", window.first_abandoned_at)


def _span(period: timedelta) -> str:
    seconds = int(period.total_seconds())
    for unit, size in (("day", 86_400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if unit == 'day' and count > 1 else ''}"
    return f"{seconds} s"
