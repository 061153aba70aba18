"""What follows a run's end, outside the run: totals, auto-pause, notifications and retries.

`SyncRunner` calls `AfterRun.__call__` once a run has finished and been recorded; the follow-ups run on a worker
thread of their own, so nothing here can fail or delay the run: every step is guarded and logged, deliveries and
retries happen in the background.

- Totals: the run is folded into the run totals at once (the metrics would fold it at the next scrape anyway).
- Auto-pause (`options.pauseAfterFailures`, off by default): after that many failures in a row the integration
  becomes inactive with a recorded `pausedReason`, the scheduler drops its job, and a `paused` event goes out.
- Notifications: `failed`, `recovered`, new `alert`s, `paused` (erp_sync.services.notifications).
- Retries (`options.retry`): a failed scheduled run is run again after `backoffSeconds`, doubling, up to `attempts`
  times; each attempt is its own run with trigger `retry` and `retryOf` naming the first run. Not after a cause a
  retry cannot fix (bad credentials, a mapping or validation error, the delete guard, ...).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from erp_sync.clock import Clock
from erp_sync.db import run_events, totals
from erp_sync.db.repository import IntegrationRecord, IntegrationRepository
from erp_sync.domain.run import RunStatus, Trigger
from erp_sync.errors import ErpSyncError
from erp_sync.services.monitoring import MonitoringService
from erp_sync.services.notifications import Event, Notifier, Target
from erp_sync.services.sync import SyncRunner

log = logging.getLogger(__name__)

RETRIED_TRIGGERS = frozenset({Trigger.SCHEDULE, Trigger.RETRY})
NOT_RETRIED = frozenset({  # causes a second attempt cannot fix
    "ERP_BAD_CREDENTIALS", "INVALID_MAPPING", "VALIDATION_ERROR", "UNKNOWN_COLUMN", "UNKNOWN_TABLE",
    "UNKNOWN_SCHEMA", "FORBIDDEN_TARGET", "UNIQUE_KEY_MISSING", "TOO_MANY_ROW_ERRORS", "DELETE_GUARD",
    "CONFIGURATION_ERROR", "DECRYPTION_FAILED", "LEASE_LOST", "ERP_NOT_SUPPORTED"})


class AfterRun:
    def __init__(self, engine: Engine, repository: IntegrationRepository, clock: Clock, notifier: Notifier,
                 monitoring: MonitoringService, runner: SyncRunner, paused: Callable[[int], None]) -> None:
        """`paused(integration_id)` tells the scheduler that erp-sync deactivated an integration."""
        self._engine = engine
        self._repo = repository
        self._clock = clock
        self._notifier = notifier
        self._monitoring = monitoring
        self._runner = runner
        self._paused = paused
        self._timers: list[threading.Timer] = []
        self._closed = threading.Event()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="erp-sync-after-run")

    def __call__(self, integration_id: int, trigger: str, outcome: Any) -> None:
        """Queue the follow-ups of a run that ended; returns at once."""
        if outcome.run_id is None or outcome.status == RunStatus.SKIPPED or self._closed.is_set():
            return
        self._worker.submit(self._follow_up, integration_id, trigger, outcome)

    def _follow_up(self, integration_id: int, trigger: str, outcome: Any) -> None:
        for step in (self._fold, self._announce, self._schedule_retry):
            try:
                step(integration_id, trigger, outcome)
            except Exception:
                log.exception("after run %s of integration %s: %s failed", outcome.run_id, integration_id,
                              step.__name__, extra={"integration_id": integration_id, "run_id": outcome.run_id})

    def _fold(self, integration_id: int, trigger: str, outcome: Any) -> None:
        totals.fold(self._engine)

    def _announce(self, integration_id: int, trigger: str, outcome: Any) -> None:
        record = self._repo.get(integration_id)
        targets = [Target(n.type, n.url.get_secret_value(), tuple(n.events)) for n in record.spec.notifications]
        fields = {"run_id": outcome.run_id, "trigger": trigger, "status": str(outcome.status),
                  "error_code": outcome.error_code, "error_message": outcome.error_message,
                  **outcome.stats.as_dict()}
        name = record.spec.name
        if outcome.status == RunStatus.FAILED:
            self._notifier.send(Event("failed", integration_id, name, fields), targets)
            self._maybe_pause(record, targets)
        elif run_events.previous_execution_status(self._engine, integration_id, outcome.run_id) in (
                RunStatus.FAILED, RunStatus.ABANDONED):
            self._notifier.send(Event("recovered", integration_id, name, fields), targets)
        self._new_alerts(record, targets)

    def _maybe_pause(self, record: IntegrationRecord, targets: list[Target]) -> None:
        limit = record.spec.options.pause_after_failures
        if limit is None or not record.spec.is_active:
            return
        streak = self._monitoring.failure_streak(record.id)
        if streak < limit:
            return
        reason = (f"paused by erp-sync after {streak} failed runs in a row (options.pauseAfterFailures is {limit}); "
                  f"fix the cause, then activate it with PATCH /api/integrations/{record.id} {{\"isActive\": true}}")
        if run_events.pause(self._engine, record.id, reason, self._clock.now()):
            log.warning("integration %s paused: %s", record.id, reason, extra={"integration_id": record.id})
            self._paused(record.id)
            self._notifier.send(Event("paused", record.id, record.spec.name, {"reason": reason}), targets)

    def _new_alerts(self, record: IntegrationRecord, targets: list[Target]) -> None:
        alerts = self._monitoring.alerts_for(record.id)
        announced = set(run_events.announced_alerts(self._engine, record.id))
        for alert in alerts:
            if alert.code not in announced:
                body = {"alert": {"code": alert.code, "severity": alert.severity, "message": alert.message,
                                  "since": alert.since.isoformat() if alert.since else None}}
                self._notifier.send(Event("alert", record.id, record.spec.name, body), targets)
        current = sorted(alert.code for alert in alerts)
        if current != sorted(announced):
            run_events.save_state(self._engine, record.id, alerts=current)

    def _schedule_retry(self, integration_id: int, trigger: str, outcome: Any) -> None:
        if outcome.status != RunStatus.FAILED or trigger not in RETRIED_TRIGGERS or \
                outcome.error_code in NOT_RETRIED or outcome.details.get("interrupted"):
            return
        policy = self._repo.get(integration_id).spec.options.retry
        first = (run_events.retry_of(self._engine, outcome.run_id) or outcome.run_id) if trigger == Trigger.RETRY \
            else outcome.run_id
        done = run_events.retries_of(self._engine, first)
        if done >= policy.attempts:
            return
        delay = timedelta(seconds=policy.backoff_seconds * 2 ** done)
        log.info("integration %s: run %s failed with %s; retry %s of %s in %s", integration_id, outcome.run_id,
                 outcome.error_code, done + 1, policy.attempts, delay,
                 extra={"integration_id": integration_id, "run_id": outcome.run_id, "retry_of": first})
        timer = threading.Timer(delay.total_seconds(), self._run_retry, args=(integration_id, first))
        timer.daemon = True
        self._timers = [t for t in self._timers if t.is_alive()] + [timer]
        timer.start()

    def _run_retry(self, integration_id: int, first: int) -> None:
        if self._closed.is_set():
            return
        try:
            if not self._repo.get(integration_id).spec.is_active:
                return
            prepared = self._runner.prepare(integration_id, Trigger.RETRY)
            if prepared is not None:
                run_events.mark_retry(self._engine, prepared.run_id, first)
                self._runner.execute(prepared)
        except ErpSyncError as exc:  # another run is going, or the integration was deleted: no retry needed
            log.info("integration %s: retry of run %s not started: %s", integration_id, first, exc,
                     extra={"integration_id": integration_id})

    def close(self) -> None:
        self._closed.set()
        for timer in self._timers:
            timer.cancel()
        self._worker.shutdown(wait=True)
        self._notifier.close()
